"""Complaint detection and themes on the hand-written corpus in tests/files/corpus (40 complaints and
40 other texts per language): per-language precision/recall/F1, per-theme precision/recall, micro-F1.

    python benchmarks/findings_quality.py [--show-errors]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from monitor.language import detect
from monitor.themes import vocabulary

BUSINESS_NAMES = ("Hansen VVS", "hansen-vvs.dk", "Müller Sanitär")  # the corpus's businesses, masked as analyze does
CORPUS = Path(__file__).parent.parent / "tests" / "files" / "corpus"


def load_corpus() -> list[dict]:
    items = []
    for path in sorted(CORPUS.glob("*.psv")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            lang, rating, complaint, themes, text = line.split("|", 4)
            items.append({"file": path.name, "line": number, "lang": lang, "rating": None if rating == "-" else float(rating),
                          "complaint": complaint == "1", "themes": set() if themes == "-" else set(themes.split(",")), "text": text})
    return items


def evaluate(show_errors: bool = False) -> dict:
    words = vocabulary()
    per_lang: dict[str, Counter] = {}
    per_theme: dict[str, Counter] = {}
    languages = Counter()
    for item in load_corpus():
        lang = detect(item["text"], fallback=item["lang"])
        languages["right" if lang == item["lang"] else "wrong"] += 1
        finding = words.analyse(item["text"], item["rating"], lang, mask=BUSINESS_NAMES)
        counts = per_lang.setdefault(item["lang"], Counter())
        key = ("tp" if item["complaint"] else "fp") if finding.complaint else ("fn" if item["complaint"] else "tn")
        counts[key] += 1
        if show_errors and key in ("fp", "fn"):
            print(f"{key} {item['file']}:{item['line']} {item['text']!r} neg={finding.negative} pos={finding.positive}")
        if item["complaint"]:
            found = set(finding.themes)
            for theme in found | item["themes"]:
                result = per_theme.setdefault(theme, Counter())
                result["tp" if theme in found and theme in item["themes"] else "fp" if theme in found else "fn"] += 1
                if show_errors and not (theme in found and theme in item["themes"]):
                    print(f"theme {theme} {'extra' if theme in found else 'missed'} {item['file']}:{item['line']} {item['text']!r}")
    return {"languages": languages, "per_lang": per_lang, "per_theme": per_theme}


def prf(counts: Counter) -> tuple[float, float, float]:
    precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    result = evaluate(args.show_errors)
    right = result["languages"]["right"]
    print(f"language detected right: {right} of {right + result['languages']['wrong']}")
    print("complaint detection  precision recall  F1")
    for lang, counts in sorted(result["per_lang"].items()):
        p, r, f = prf(counts)
        print(f"  {lang}  ({sum(counts.values())} texts)  {p:.2f}     {r:.2f}   {f:.2f}")
    print("themes (on complaints)  precision recall")
    total = Counter()
    for theme, counts in sorted(result["per_theme"].items()):
        p, r, _ = prf(counts)
        total.update(counts)
        print(f"  {theme:<16} {p:.2f}     {r:.2f}   (n={counts['tp'] + counts['fn']})")
    print(f"theme micro-F1: {prf(total)[2]:.2f}")


if __name__ == "__main__":
    main()
