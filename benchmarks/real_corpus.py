"""The shared corpus of real reviews and the theme labels of its complaints, read where they lie.

Texts stay in ../shared/corpus (never copied into the project); benchmarks/theme_labels holds ids,
themes and character offsets only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# ../shared/corpus from the project root; a git worktree one level deeper finds it one level further up.
CORPUS_DIR = next((p / "shared" / "corpus" for p in PROJECT.parents[0:2] if (p / "shared" / "corpus" / "reviews.jsonl").exists()),
                  PROJECT.parent / "shared" / "corpus")
LABELS_DIR = PROJECT / "benchmarks" / "theme_labels"


def records(corpus: Path = CORPUS_DIR) -> Iterator[dict]:
    """Every corpus record: rated reviews, then the Swedish ones with only a polarity (rating 1 or 5 then)."""
    for line in (corpus / "reviews.jsonl").open(encoding="utf-8"):
        yield json.loads(line)
    polarity = corpus / "reviews_polarity_only.jsonl"
    if polarity.exists():
        for line in polarity.open(encoding="utf-8"):
            record = json.loads(line)
            yield record | {"rating": 1 if record.get("polarity") == "negative" else 5}


def complaints(corpus: Path = CORPUS_DIR) -> Iterator[dict]:
    """The corpus's 1-2 star reviews (negative ones of the polarity-only file)."""
    return (record for record in records(corpus) if record["rating"] <= 2)


def split_ids(split: str, labels: Path = LABELS_DIR) -> set[str]:
    """Ids of one part of sample.tsv: `test`, `dev` or `train`."""
    rows = (line.rstrip("\n").split("\t") for line in (labels / "sample.tsv").open(encoding="utf-8"))
    return {row[0] for row in rows if len(row) == 3 and row[2] == split}


def labelled(split: str, labels: Path = LABELS_DIR, corpus: Path = CORPUS_DIR) -> list[tuple[dict, list[dict]]]:
    """(corpus record, its labelled themes) for every labelled record of a split, in file order per language."""
    wanted: dict[str, list[dict]] = {}
    for path in sorted(labels.glob(f"labels_{split}_*.jsonl")):
        for line in path.open(encoding="utf-8"):
            if line.strip():
                label = json.loads(line)
                wanted[label["id"]] = label["themes"]
    found = [(record, wanted[record["id"]]) for record in records(corpus) if record["id"] in wanted]
    return sorted(found, key=lambda pair: pair[0]["lang"])
