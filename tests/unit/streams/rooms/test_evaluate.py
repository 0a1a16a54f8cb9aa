"""The classifier's evaluation on the labelled chat messages: the figures it reports are the
confusion counts of the shipped model's scores, and the set is what its README says."""

from __future__ import annotations

import json
import subprocess
import sys

from streams.rooms.evaluate import LABELLED, read_labelled, score_at
from streams.settings import REPO_ROOT


def test_precision_and_recall_come_from_the_confusion_counts() -> None:
    labels, scores = [True, True, False, False, True], [0.95, 0.4, 0.91, 0.1, 0.99]
    at = score_at(0.9, labels, scores)
    assert (at.true_positives, at.false_positives, at.false_negatives) == (2, 1, 1)
    assert (at.precision, at.recall) == (0.667, 0.667)


def test_the_labelled_set_and_the_command_report_on_the_shipped_model() -> None:
    rows = read_labelled(LABELLED)
    assert (len(rows), sum(toxic for toxic, _ in rows)) == (168, 60)
    out = subprocess.run(
        [sys.executable, "-m", "streams.rooms.evaluate", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    at = report["at"]
    assert at["threshold"] == 0.9, "the rooms' default hold threshold"
    assert at["true_positives"] + at["false_negatives"] == 60
    assert len(report["wrong"]) == at["false_positives"] + at["false_negatives"]
    assert 0.5 < at["precision"] <= 1.0
