"""Complaint detection and themes, on the hand-written corpus and on real complaints.

1. The hand-written corpus in tests/files/corpus (40 complaints and 40 other texts per language):
   per-language precision/recall/F1 of the complaint decision, per-theme precision/recall, micro-F1.
2. Real complaints labelled with themes (benchmarks/theme_labels, the `test` part unless --split dev):
   theme precision and recall per language (a theme counts as found when its key matches) and the share
   of found themes whose words overlap the labelled span.
3. All 1-2 star reviews of the shared corpus (../shared/corpus): the share per language that gets no
   theme, and the largest clusters of those (the clustering `repmon analyze` stores as theme_candidates),
   clustered without the labelled test records.
4. With --lexicons DIR (the asent 0.8.3 and textblob-de 0.4.3 wheels, `pip download --no-deps`): complaint
   from text on the corpus with ratings hidden, per language, each source scored by a model fitted without it
   (benchmarks/fit_complaint_model.py's measurement).

    python benchmarks/findings_quality.py [--split dev|train|train2|train3] [--labels DIR] [--show-errors] [--no-corpus]
        [--lexicons DIR]

--show-errors lists the hand-written corpus's errors and, for every part but `test`, the labelled records'
errors of the themes as analysed: the test part's texts are never printed.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

try:
    from benchmarks.real_corpus import CORPUS_DIR, LABELS_DIR, complaints, labelled, split_ids
except ModuleNotFoundError:  # run as a script: python benchmarks/findings_quality.py
    from real_corpus import CORPUS_DIR, LABELS_DIR, complaints, labelled, split_ids
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


def evaluate_labels(split: str = "test", labels: Path = LABELS_DIR, corpus: Path = CORPUS_DIR,
                    show_errors: bool = False, learnt: bool = True) -> dict[str, Counter]:
    """Theme tp/fp/fn per language on labelled real complaints, and how many found spans overlap the label's.

    `learnt`: themes as the shipped theme model decides them (as `repmon analyze` does); False: the vocabulary's."""
    words = vocabulary()
    per_lang: dict[str, Counter] = {}
    for record, themes in labelled(split, labels, corpus):
        text = record["text"]  # label offsets are into the text, not the title
        finding = words.analyse(text, record["rating"], detect(text, fallback=record["lang"]), learnt=learnt)
        wanted = {t["theme"]: (t["start"], t["end"]) for t in themes}
        counts = per_lang.setdefault(record["lang"], Counter())
        counts["records"] += 1
        counts["unthemed"] += not finding.themes
        for theme in finding.themes.keys() | wanted.keys():
            key = "tp" if theme in finding.themes and theme in wanted else "fp" if theme in finding.themes else "fn"
            counts[key] += 1
            if key == "tp":
                (start, end), (label_start, label_end) = finding.spans[theme], wanted[theme]
                counts["overlap"] += start < label_end and label_start < end
            elif show_errors and split != "test":
                span = finding.spans.get(theme) or wanted[theme]
                print(f"{key} {theme:<15} {record['lang']} {record['id']} ...{text[max(0, span[0] - 60):span[1] + 40]!r}")
    return per_lang


def corpus_without_theme(corpus: Path = CORPUS_DIR, clusters: int = 8, cluster_sample: int = 1500,
                         labels: Path = LABELS_DIR) -> dict[str, dict]:
    """Per language: complaints, those without a theme, and the largest clusters of the unthemed ones
    (at most `cluster_sample` of them, in a fixed order, never a labelled test record)."""
    from monitor.discovery import cluster_texts

    words = vocabulary()
    test = split_ids("test", labels)
    result: dict[str, dict] = {}
    for record in complaints(corpus):
        lang = record["lang"]
        entry = result.setdefault(lang, {"complaints": 0, "unthemed": 0, "texts": []})
        text = " ".join(part for part in (record.get("title"), record["text"]) if part)
        finding = words.analyse(text, record["rating"], detect(text, fallback=lang))
        entry["complaints"] += 1
        if not finding.themes:
            entry["unthemed"] += 1
            if record["id"] not in test:
                entry["texts"].append((record["id"], text))
    for entry in result.values():
        sample = [text for _, text in sorted(entry.pop("texts"))[:cluster_sample]]  # ids are hashes: a fixed spread
        entry["clustered"] = len(sample)
        entry["clusters"] = [(len(members), top) for members, top in cluster_texts(sample)[:clusters]] if clusters else []
    return result


def prf(counts: Counter) -> tuple[float, float, float]:
    precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def held_out_complaints(corpus: Path, lexicon_wheels: Path) -> None:
    """Complaint from text (ratings hidden) on the corpus, each source scored by a model fitted without it."""
    try:
        from benchmarks import fit_complaint_model as fitting
    except ModuleNotFoundError:  # run as a script
        import fit_complaint_model as fitting
    print(f"== complaint from text on held-out sources of {corpus}")
    fitting.print_held_out(fitting.held_out(*fitting.prepared(corpus, lexicon_wheels)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--split", choices=("test", "dev", "train", "train2", "train3"), default="test")
    parser.add_argument("--labels", type=Path, default=LABELS_DIR, help="folder of labels_<split>_<lang>.jsonl and sample.tsv")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--lexicons", type=Path, metavar="DIR",
                        help="the asent and textblob-de wheels: also measure complaint from text on held-out sources "
                             "(benchmarks/fit_complaint_model.py, 3-6 minutes)")
    parser.add_argument("--no-corpus", action="store_true", help="leave out the no-theme share and clusters of the whole corpus")
    args = parser.parse_args()
    print("== hand-written corpus (tests/files/corpus)")
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
    if not (args.corpus / "reviews.jsonl").exists():
        print(f"no corpus at {args.corpus}: real complaints not measured")
        return
    if args.lexicons:
        held_out_complaints(args.corpus, args.lexicons)
    for learnt, how in ((True, "as analysed: vocabulary and theme model"), (False, "the vocabulary alone")):
        if learnt and vocabulary().theme_model is None:
            continue
        print(f"== real complaints labelled with themes ({args.split} part of {args.labels}), {how}")
        print("  lang  records  precision  recall  span overlap  no theme")
        total = Counter()
        # errors of the themes as analysed: the model's where one is installed, else the vocabulary's
        show_errors = args.show_errors and (learnt or vocabulary().theme_model is None)
        for lang, counts in sorted(evaluate_labels(args.split, args.labels, args.corpus, show_errors, learnt).items()):
            p, r, _ = prf(counts)
            total.update(counts)
            print(f"  {lang}    {counts['records']:>4}     {p:.2f}      {r:.2f}      {counts['overlap'] / max(counts['tp'], 1):.2f}"
                  f"        {counts['unthemed'] / counts['records']:.0%}")
        p, r, _ = prf(total)
        print(f"  all   {total['records']:>5}     {p:.2f}      {r:.2f}      {total['overlap'] / max(total['tp'], 1):.2f}"
              f"        {total['unthemed'] / max(total['records'], 1):.0%}")
    if args.no_corpus:
        return
    print(f"== all 1-2 star reviews of {args.corpus}: share without a theme, largest clusters of those")
    for lang, entry in sorted(corpus_without_theme(args.corpus, labels=args.labels).items()):
        print(f"  {lang}  {entry['unthemed']:,} of {entry['complaints']:,} complaints without a theme "
              f"({entry['unthemed'] / entry['complaints']:.1%}); clusters of {entry['clustered']:,} of them:")
        for size, top in entry["clusters"]:
            print(f"      {size:>4}  {', '.join(top)}")


if __name__ == "__main__":
    main()
