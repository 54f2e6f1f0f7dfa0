"""Choose the real complaints to label with themes: ids only, read from ../shared/corpus.

    python benchmarks/theme_labels/select.py [--corpus ../shared/corpus]

Writes benchmarks/theme_labels/sample.tsv (id, lang, split). The order is a hash of the id, so the
sample is fixed and spread over every source of a language; the `test` part is labelled first and
never read while the vocabulary is written or the theme model fitted; `dev` and `train` follow it in the
same order (`train`, then `train2` and `train3`, were added later, after the records already chosen, which each leaves as
they were).
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).parent
PARTS = ("test", "dev", "train", "train2", "train3")
# complaints per language in each part, in the order of PARTS
PART_SIZES = {"da": (100, 70, 250, 250, 400), "de": (100, 70, 250, 250, 400), "en": (100, 70, 250, 250, 400),
              "sv": (60, 40, 150, 200, 300)}
MIN_CHARS, MAX_CHARS = 40, 1200  # long enough to say something, short enough to label with care


def complaints(corpus: Path) -> dict[str, list[str]]:
    """Ids of 1-2 star reviews per language (Swedish from the polarity-only file)."""
    ids: dict[str, list[str]] = {lang: [] for lang in PART_SIZES}
    for name in ("reviews.jsonl", "reviews_polarity_only.jsonl"):
        for line in (corpus / name).open(encoding="utf-8"):
            record = json.loads(line)
            negative = record.get("rating", 3) <= 2 or record.get("polarity") == "negative"
            if record["lang"] in ids and negative and MIN_CHARS <= len(record["text"]) <= MAX_CHARS:
                ids[record["lang"]].append(record["id"])
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE.parents[1].parent / "shared" / "corpus")
    args = parser.parse_args()
    rows = ["id\tlang\tsplit"]
    for lang, ids in complaints(args.corpus).items():
        ordered = sorted(set(ids), key=lambda i: hashlib.sha1(f"themes:{i}".encode()).hexdigest())
        start = 0
        for split, size in zip(PARTS, PART_SIZES[lang]):
            rows += [f"{i}\t{lang}\t{split}" for i in ordered[start:start + size]]
            start += size
    (HERE / "sample.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
