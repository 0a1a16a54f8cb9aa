"""The package rules of ARCHITECTURE.md are enforced: `make lint` runs import-linter with the
contracts in pyproject.toml, and a sample with an upward import is refused by them."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from streams.settings import REPO_ROOT

LINT_IMPORTS = REPO_ROOT / ".venv" / "bin" / "lint-imports"


def write_sample(root: Path, modules: dict[str, str]) -> None:
    """Every root package of the contracts, empty, plus ``modules`` (dotted name -> source)."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for package in config["root_packages"]:
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
    for name, source in modules.items():
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            if parent != Path("."):
                (root / parent / "__init__.py").touch()
        path.write_text(source)
    # The package layering (contracts over whole packages; the others name modules of this repo).
    layering = [c for c in config["contracts"] if all("." not in m for m in c["source_modules"])]
    lines = [
        "[tool.importlinter]",
        f"root_packages = {config['root_packages']!r}",
        "include_external_packages = true",
    ]
    for contract in layering:
        lines += [
            "",
            "[[tool.importlinter.contracts]]",
            f"name = {contract['name']!r}",
            'type = "forbidden"',
            f"source_modules = {contract['source_modules']!r}",
            f"forbidden_modules = {contract['forbidden_modules']!r}",
        ]
    (root / "pyproject.toml").write_text("\n".join(lines).replace("'", '"') + "\n")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_upward_import_from_the_core_to_the_edge_fails_the_lint(tmp_path: Path) -> None:
    write_sample(
        tmp_path, {"streams.ledger": "import serving.api\n", "serving.api": "import streams.ledger\n"}
    )
    result = lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "streams is the core: it imports no other package of the platform BROKEN" in result.stdout
    assert "streams.ledger -> serving.api" in result.stdout


def test_the_allowed_direction_passes(tmp_path: Path) -> None:
    write_sample(tmp_path, {"streams.ledger": "", "serving.api": "import streams.ledger\n"})
    result = lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
