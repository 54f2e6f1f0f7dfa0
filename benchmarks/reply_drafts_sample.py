"""Reply drafts for 30 real complaints per language, printed by corpus record id for a careful reader.

    python -m benchmarks.reply_drafts_sample [--corpus ../shared/corpus/reviews.jsonl] [--lang da] [--per-lang 30]

Complaints come from the shared corpus (da, de, en, sv; Swedish 1-2 star ones from its polarity-only file): the first ones in a fixed hash order that the
theme vocabulary finds to be complaints, 24 rated 1-2 and 6 rated 3-5, reviews of trades firms first and
then those with a theme, so that drafts are read against the complaints repmon is for. The corpus has no Norwegian reviews: the nb drafts are built for the themes
and ratings of the Danish sample (a draft never quotes the review, so only theme, rating and situation shape
it) plus the demo world's Norwegian complaint. Each record gets one situation in turn (matched job,
no matching job, unpaid invoice, no job export) and a reviewer name of another form, with and without a
configured contact, so every variant and branch of the templates is read. Texts are read from the corpus
folder and never written anywhere; the output names records by id only and prints no review text.
Exit status 1 when any draft fails the platform rules.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from monitor.replies import LANGUAGES, Case, Contact, build_drafts, primary_theme
from monitor.themes import vocabulary

# ../shared/corpus from the project root; a git worktree one level deeper finds it one level further up.
CORPUS = next((p / "shared" / "corpus" / "reviews.jsonl" for p in Path(__file__).resolve().parents[2:4]
               if (p / "shared" / "corpus" / "reviews.jsonl").exists()),
              Path(__file__).resolve().parents[2] / "shared" / "corpus" / "reviews.jsonl")
SITUATIONS = ("matched", "no_match", "unpaid", "no_jobs")
# Invented reviewer names in the forms review sites show (the corpus has none).
AUTHORS = ("Jens Peter Hansen", "anne k.", "Anonym", "M. Berg", "SØREN", "Lise-Lotte Møller", "Kunde 17", "Ole")
CONTACTS = (Contact("Hansen VVS ApS", "Mette Hansen", "+45 12 34 56 78", "kontakt@hansen-vvs.dk"),
            Contact("Hansen VVS ApS", None, None, None, "https://www.hansen-vvs.dk/kontakt"),
            Contact("Hansen VVS ApS"))


def sample(corpus: Path, lang: str, per_lang: int) -> list[dict]:
    """`per_lang` complaints of one language: about four in five rated 1-2, the rest higher; trades and themed first.

    Swedish 1-2 star reviews exist only with a polarity (reviews_polarity_only.jsonl): they count as rated 1.
    """
    words = vocabulary()
    records = _records(corpus, lang)
    records.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
    found: dict[bool, list[dict]] = {True: [], False: []}
    for record in records:
        finding = words.analyse("\n".join(filter(None, [record["title"], record["text"]])), record["rating"], lang)
        if finding.complaint:
            found[record["rating"] <= 2].append({"id": record["id"], "rating": record["rating"], "trades":
                                                 record.get("domain") == "trades", "themes": tuple(sorted(finding.themes))})
    chosen = []
    for pool, wanted in ((found[True], per_lang - per_lang // 5), (found[False], per_lang // 5)):
        chosen += sorted(pool, key=lambda r: (not r["trades"], not r["themes"]))[:wanted]
    return chosen


def _records(corpus: Path, lang: str) -> list[dict]:
    with corpus.open(encoding="utf-8") as lines:
        records = [r for r in map(json.loads, lines) if r["lang"] == lang]
    polarity_only = corpus.with_name("reviews_polarity_only.jsonl")
    if polarity_only.exists():
        with polarity_only.open(encoding="utf-8") as lines:
            records += [r | {"rating": 1} for r in map(json.loads, lines)
                        if r["lang"] == lang and r["polarity"] == "negative"]
    return records


def demo_norwegian() -> list[dict]:
    """The demo world's Norwegian complaint, by the theme the vocabulary finds in it."""
    from monitor.demo import BACKGROUND_COMPLAINTS

    words = vocabulary()
    return [{"id": f"demo:nb:{n}", "rating": 2, "trades": True, "themes": tuple(sorted(words.analyse(text, 2, "nb").themes))}
            for n, text in enumerate(BACKGROUND_COMPLAINTS["nb"])]


def case_for(record: dict, lang: str, position: int) -> Case:
    situation = SITUATIONS[position % len(SITUATIONS)]
    return Case(AUTHORS[position % len(AUTHORS)], record["rating"], lang, "trustpilot", record["themes"],
                matched=situation in ("matched", "unpaid"), has_jobs=situation != "no_jobs",
                unpaid=situation == "unpaid", forbidden=("Kasper", "Vestergade 12"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--lang", choices=LANGUAGES, action="append")
    parser.add_argument("--per-lang", type=int, default=30)
    args = parser.parse_args(argv)
    refused_total = 0
    for lang in args.lang or LANGUAGES:
        records = (sample(args.corpus, "da", args.per_lang - 1) + demo_norwegian() if lang == "nb"
                   else sample(args.corpus, lang, args.per_lang))
        variants: Counter = Counter()
        for position, record in enumerate(records):
            case = case_for(record, lang, position)
            contact = CONTACTS[(position // len(SITUATIONS)) % len(CONTACTS)]
            drafts, refused = build_drafts(case, contact)
            refused_total += len(refused)
            print(f"=== {lang} {record['id']} rating {record['rating']:g} themes {','.join(record['themes']) or '-'} "
                  f"-> {primary_theme(case.themes, lang)}; {SITUATIONS[position % len(SITUATIONS)]}; "
                  f"author {case.author!r}; contact {'+'.join(k for k in ('phone', 'email', 'url') if getattr(contact, k)) or 'none'}")
            for draft in drafts:
                variants[draft.variant] += 1
                print(f"--- {draft.variant}\n{draft.text}\n")
            for variant, problems in refused:
                print(f"--- {variant} REFUSED: {problems}\n")
        print(f"### {lang}: {len(records)} complaints, drafts {dict(variants)}\n")
    print(f"### refused drafts: {refused_total}")
    return 1 if refused_total else 0


if __name__ == "__main__":
    sys.exit(main())
