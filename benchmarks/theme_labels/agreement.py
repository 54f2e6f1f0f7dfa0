"""How far two readers agree on the themes of the same real complaints.

    python benchmarks/theme_labels/agreement.py

second_reader/labels_<split>_<lang>.jsonl holds a second reader's labels of records that the first reader
(labels_<split>_<lang>.jsonl beside this file) also labelled; neither saw the other's. The first reader is
taken as the truth, as the theme figures take it: the second reader's precision and recall against it are
the figures a perfect reader of the same instructions would reach, which the vocabulary's can be set against.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent


def themes_by_id(path: Path) -> dict[str, set[str]]:
    labels = (json.loads(line) for line in path.open(encoding="utf-8") if line.strip())
    return {label["id"]: {theme["theme"] for theme in label["themes"]} for label in labels}


def agreement(first: dict[str, set[str]], second: dict[str, set[str]]) -> Counter:
    tally: Counter = Counter()
    for record_id in second.keys() & first.keys():
        truth, read = first[record_id], second[record_id]
        tally.update(records=1, same=truth == read, tp=len(truth & read), fp=len(read - truth), fn=len(truth - read))
    return tally


def main() -> None:
    print("second reader against the first: records, precision, recall, records with the same themes")
    for path in sorted((HERE / "second_reader").glob("labels_*.jsonl")):
        tally = agreement(themes_by_id(HERE / path.name), themes_by_id(path))
        precision = tally["tp"] / max(tally["tp"] + tally["fp"], 1)
        recall = tally["tp"] / max(tally["tp"] + tally["fn"], 1)
        print(f"  {path.stem.removeprefix('labels_'):<10} {tally['records']:>4}  {precision:.2f}  {recall:.2f}  "
              f"{tally['same'] / max(tally['records'], 1):.0%}")


if __name__ == "__main__":
    main()
