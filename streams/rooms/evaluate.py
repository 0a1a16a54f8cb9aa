"""How well the toxicity classifier does on the labelled chat messages kept in the repo
(``streams/rooms/evaluation/``): precision and recall of holding at a threshold, over a range of
thresholds, and the messages it gets wrong at the one asked for.

    python -m streams.rooms.evaluate [--threshold 0.9] [--labelled FILE] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from streams.rooms.classifiers import ShippedModel
from streams.rooms.model import RoomModes

LABELLED = Path(__file__).with_name("evaluation") / "chat_labelled.tsv"
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class Scored:
    threshold: float
    precision: float
    recall: float
    true_positives: int
    false_positives: int
    false_negatives: int


def read_labelled(path: Path) -> list[tuple[bool, str]]:
    with path.open(newline="") as f:
        return [(row["label"] == "toxic", row["text"]) for row in csv.DictReader(f, delimiter="\t")]


def score_at(threshold: float, labels: list[bool], scores: list[float]) -> Scored:
    tp = sum(1 for toxic, s in zip(labels, scores, strict=True) if toxic and s >= threshold)
    fp = sum(1 for toxic, s in zip(labels, scores, strict=True) if not toxic and s >= threshold)
    fn = sum(1 for toxic, s in zip(labels, scores, strict=True) if toxic and s < threshold)
    return Scored(threshold, round(tp / max(tp + fp, 1), 3), round(tp / max(tp + fn, 1), 3), tp, fp, fn)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threshold", type=float, default=RoomModes().toxicity_hold_at)
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = read_labelled(args.labelled)
    labels = [toxic for toxic, _ in rows]
    scores = asyncio.run(ShippedModel().scores([text for _, text in rows]))
    at = score_at(args.threshold, labels, scores)
    table = [score_at(t, labels, scores) for t in sorted({*THRESHOLDS, args.threshold})]
    wrong = [
        {"score": s, "labelled": "toxic" if toxic else "ok", "text": text}
        for (toxic, text), s in zip(rows, scores, strict=True)
        if (s >= args.threshold) != toxic
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "messages": len(rows),
                    "at": asdict(at),
                    "thresholds": [asdict(t) for t in table],
                    "wrong": wrong,
                }
            )
        )
        return 0
    print(f"{len(rows)} labelled messages ({sum(labels)} toxic), model {ShippedModel.name}")
    print(f"at threshold {at.threshold}: precision {at.precision}, recall {at.recall}")
    print("threshold  precision  recall  tp  fp  fn")
    for t in table:
        print(
            f"{t.threshold:9}  {t.precision:9}  {t.recall:6}  {t.true_positives:2}  {t.false_positives:2}  {t.false_negatives:2}"
        )
    print(f"wrong at {at.threshold}:")
    for w in wrong:
        print(f"  {w['score']:.3f}  labelled {w['labelled']:5}  {w['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
