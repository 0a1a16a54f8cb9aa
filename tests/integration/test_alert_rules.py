"""The alert rules are valid Prometheus rules and their unit tests pass (`promtool`, from Debian's
prometheus package); a rule changed so that it would not page makes those tests fail."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ops.observe import RULE_TESTS, RULES, ensure_observe_tools


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    ensure_observe_tools()
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_rules_check_and_their_unit_tests_pass() -> None:
    checked = promtool("check", "rules", str(RULES), cwd=RULES.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 16 rules found" in checked.stdout
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=RULES.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_a_lag_rule_that_would_not_page_fails_its_unit_test(tmp_path: Path) -> None:
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    broken = RULES.read_text().replace(
        "sum by (group) (kafka_consumer_lag) > 1000", "sum by (group) (kafka_consumer_lag) > 100000"
    )
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert "ConsumerLagHigh" in tested.stdout + tested.stderr
