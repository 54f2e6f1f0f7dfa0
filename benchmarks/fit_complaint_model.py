"""Fit the complaint-from-text model on the real reviews in ../shared/corpus, measure it on held-out sources, save it.

Labels: 1-2 stars (or `negative`) is a complaint, 4-5 (or `positive`) is not; 3 stars are left out of
fitting and reported apart (they have no label: only the share called complaints). Features are those of
`monitor.complaint_model` (hashed character and word n-grams, shared and per language, lexicon valences,
cue counts and theme hits of `monitor.themes`); the fit is scikit-learn's logistic regression.

Held-out sources: for each language its sources are dealt into two folds (largest first, alternating);
the model is fitted on every other language plus one fold and measured on the other fold, then the other
way round, so no review is scored by a model that saw its source: a source's reviews in other languages
(the Danish Trustpilot files hold some English and German ones) are left out of that fit too. Figures are for the decision as shipped (`monitor.complaint_model.decide`, weights
pruned and float16 as saved, ratings hidden), next to the model alone and the cue rule alone.

Lexicons are read at fit time from the asent and textblob-de wheels (MIT; their lexicons: AFINN-da and
Sentida for Danish, NorSentLex for Norwegian, a translated VADER for Swedish, VADER for English, the German
Polarity Lexicon); only their single words' CRC-32 keys and valences are saved, and for a word a lexicon lacks
the mean valence of its words with the same Snowball stem (`--no-stem-lexicon`: words as written only):

    pip download --no-deps -d /tmp/lexicons asent==0.8.3 textblob-de==0.4.3
    python benchmarks/fit_complaint_model.py --lexicons /tmp/lexicons [--save monitor/data/complaint_model.npz]
        [--no-held-out]  (only fit on everything and save)
        [--balance language]  (complaints and the rest balanced per language only, not within each source)
        [--scores FILE]  (each held-out review's probability and counts, by id, for looking at thresholds)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from monitor import complaint_model as cm
from monitor.text import load_data
from monitor.themes import vocabulary

# ../shared/corpus from the project root; a git worktree one level deeper finds it one level further up.
CORPUS = next((p / "shared" / "corpus" for p in Path(__file__).resolve().parents[2:4]
               if (p / "shared" / "corpus" / "reviews.jsonl").exists()), Path(__file__).resolve().parents[2] / "shared" / "corpus")
ASENT_FILES = {  # language -> (file in asent's wheel, scale to -1..1); the first file that has a word wins
    "da": [("da_lexicon_afinn_v1.txt", 5), ("da_lexicon_sentida_lemma_v1.csv", 5)],
    "nb": [("no_lexicon_v1.txt", 5)],
    "sv": [("sv_lexicon_v1.txt", 5)],
    "en": [("en_lexicon_v1.txt", 4)],
}
C = 4.0
# Classes are balanced per language and source in fitting (see balanced()), so 0.5 is the even-odds point; no threshold
# is tuned, so none can be tuned on the fold reported.
THRESHOLD = 0.5


def load(corpus: Path) -> tuple[list[dict], list[dict]]:
    """Labelled reviews (complaint: 1-2 stars or negative; not: 4-5 or positive) and the 3-star ones."""
    labelled, three = [], []
    for name in ("reviews.jsonl", "reviews_polarity_only.jsonl"):
        for line in (corpus / name).open(encoding="utf-8"):
            record = json.loads(line)
            record["text"] = "\n".join(filter(None, [record.get("title"), record["text"]]))
            rating = record.get("rating")
            if rating == 3:
                three.append(record)
                continue
            record["complaint"] = rating <= 2 if rating is not None else record["polarity"] == "negative"
            labelled.append(record)
    return labelled, three


def read_lexicons(folder: Path) -> dict[str, dict[str, float]]:
    """Single-word valences (-1..1) per language from the asent and textblob-de wheels in `folder`."""
    lexicons: dict[str, dict[str, float]] = defaultdict(dict)
    with zipfile.ZipFile(next(folder.glob("asent-*.whl"))) as wheel:
        for lang, files in ASENT_FILES.items():
            for name, scale in files:
                text = wheel.read(f"asent/lexicons/{name}").decode("utf-8")
                separator = "," if name.endswith(".csv") else "\t"
                for line in text.splitlines()[1 if name.endswith(".csv") else 0:]:
                    parts = line.split(separator)
                    word = parts[0].strip().lower()
                    if len(parts) < 2 or " " in word or not word:
                        continue
                    try:
                        lexicons[lang].setdefault(word, max(-1.0, min(1.0, float(parts[1]) / scale)))
                    except ValueError:
                        continue
    with zipfile.ZipFile(next(folder.glob("textblob_de-*.whl"))) as wheel:
        values: dict[str, list[float]] = defaultdict(list)
        for entry in ElementTree.fromstring(wheel.read("textblob_de/data/de-sentiment.xml")).iter("word"):
            form = entry.get("form", "").lower()
            if form and " " not in form:
                values[form].append(float(entry.get("polarity", "0")))
        lexicons["de"] = {form: sum(v) / len(v) for form, v in values.items() if any(v)}
    return {lang: {w: v for w, v in words.items() if v} for lang, words in lexicons.items()}


def keyed(lexicons: dict[str, dict[str, float]]) -> dict[str, dict[int, float]]:
    return {lang: {zlib.crc32(w.encode("utf-8")): v for w, v in words.items()} for lang, words in lexicons.items()}


def stem_keyed(lexicons: dict[str, dict[str, float]]) -> dict[str, dict[int, float]]:
    """Per language the mean valence of the lexicon words sharing a stem, keyed by the stem's CRC-32."""
    return keyed({lang: cm.stem_lexicon(words, lang) for lang, words in lexicons.items()})


def negators() -> dict[str, frozenset[str]]:
    cues = load_data("complaint_cues.toml")
    return {lang: frozenset(w.lower() for w in cues[lang]["negators"]) for lang in ("da", "nb", "sv", "de", "en")}


def prepare(records: list[dict], lexicons: dict[str, dict[int, float]], negating: dict[str, frozenset[str]],
            stems: dict[str, dict[int, float]]) -> None:
    """Words, hashed features, lexicon values and cue counts of every record, computed once."""
    words = vocabulary()
    size = 1 << cm.BITS
    offset = {name: i * size for i, name in enumerate(cm.blocks())}
    for r in records:
        lang = r["lang"]
        finding = words.analyse(r["text"], 5, lang)  # a rating keeps the text model out: only the counts are wanted
        r["cues"] = (finding.negative, finding.positive, len(finding.themes))
        r["words"] = cm.words_of(r["text"])
        hashes = cm.word_hashes(r["words"])
        chars = cm.char_buckets(r["words"]).astype(np.int64)
        grams = cm.word_buckets(hashes).astype(np.int64)
        block = lang if lang in cm.LANGUAGES else cm.BLOCK_OF[lang]
        r["columns"] = np.concatenate([chars + offset["chars"], chars + offset[f"chars:{block}"],
                                       grams + offset["words"], grams + offset[f"words:{block}"]])
        r["values"] = np.concatenate([np.full(2 * len(chars), 1 / np.sqrt(max(len(chars), 1))),
                                      np.full(2 * len(grams), 1 / np.sqrt(max(len(grams), 1)))])
        by_stem = cm.stem_valences(r["words"], stems[lang], lang) if stems.get(lang) else None
        positive, negative = cm.lexicon_values(r["words"], hashes, lexicons.get(lang, {}), negating[lang], by_stem)
        r["dense"] = cm.dense_values(positive, negative, len(r["words"]), *r["cues"])


def matrix(records: list[dict]) -> csr_matrix:
    hashed = len(cm.blocks()) << cm.BITS
    rows, columns, values = [], [], []
    for i, r in enumerate(records):
        rows.append(np.full(len(r["columns"]) + len(r["dense"]), i))
        columns += [r["columns"], hashed + np.arange(len(r["dense"]))]
        values += [r["values"], np.asarray(r["dense"], dtype=np.float64)]
    return csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
                      shape=(len(records), hashed + len(cm.DENSE)))


_ROWS: dict[str, csr_matrix] = {}


def fit(records: list[dict]) -> LogisticRegression:
    """Logistic regression on the records' rows of the feature matrix (built once, see main)."""
    model = LogisticRegression(C=C, max_iter=300, solver="liblinear", dual=True)  # dual: features outnumber reviews, 2x faster
    model.fit(_ROWS["all"][[r["row"] for r in records]], [r["complaint"] for r in records], sample_weight=balanced(records))
    return model


def balanced(records: list[dict]) -> np.ndarray:
    """Weights that give complaints and non-complaints equal weight in each language and, within it, each source.

    Three German reviews in four are complaints (Deutsche Bahn): unweighted, German text as such leaned
    towards complaint and a German news mention of the firm was read as one. Within a language the same holds
    for a source: the Danish shops whose files hold only complaints (CDON, Komplett, ASOS) made ordering and
    delivery words complaint words, and the Danish banks' files (nine reviews in ten praise) made banking ones
    praise. Balanced within each source, what a source is about says nothing of whether a review complains; a
    source with only one kind weighs half, a rare kind in a source at most SOURCE_CAP times its reviews' weight.
    """
    sizes = Counter((r["lang"], r["complaint"]) for r in records)
    per_lang = Counter(r["lang"] for r in records)
    weights = np.array([per_lang[r["lang"]] / (2 * sizes[(r["lang"], r["complaint"])]) for r in records])
    if BALANCE == "language":
        return weights
    by_source = Counter((r["source"], r["complaint"]) for r in records)
    source_size = Counter(r["source"] for r in records)
    within = np.array([min(source_size[r["source"]] / (2 * by_source[(r["source"], r["complaint"])]), SOURCE_CAP)
                       if by_source[(r["source"], not r["complaint"])] else ONE_CLASS_WEIGHT for r in records])
    weights = weights * within
    langs = np.array([r["lang"] for r in records])
    for lang, size in per_lang.items():  # each language keeps its total weight
        weights[langs == lang] *= size / weights[langs == lang].sum()
    return weights


BALANCE = "source"
SOURCE_CAP = 5.0
ONE_CLASS_WEIGHT = 0.5


def set_balance(balance: str) -> None:
    global BALANCE
    BALANCE = balance


SMALLEST_WEIGHT = 5e-3  # smaller hashed weights are not saved (14% fewer of them)


def kept(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """Buckets and float16 weights of the hashed features that are saved."""
    coef = model.coef_[0][:len(cm.blocks()) << cm.BITS]
    keep = np.flatnonzero(np.abs(coef) >= SMALLEST_WEIGHT)
    return keep, coef[keep].astype(np.float16)


def as_shipped(model: LogisticRegression, threshold: float, lexicons: dict[str, dict[int, float]],
               negating: dict[str, frozenset[str]], stems: dict[str, dict[int, float]]) -> cm.ComplaintModel:
    """The model as the saved file gives it back: small weights dropped, float16."""
    hashed = len(cm.blocks()) << cm.BITS
    keep, weight = kept(model)
    weights = np.zeros(hashed, dtype=np.float32)
    weights[keep] = weight
    return cm.ComplaintModel.from_weights(cm.BITS, cm.blocks(), weights, model.coef_[0][hashed:].astype(np.float32).tolist(),
                                          float(np.float32(model.intercept_[0])), threshold, lexicons, negating, "fold",
                                          stems)


def probabilities(model: cm.ComplaintModel, records: list[dict]) -> list[cm.Reading]:
    """The model's readings in batches, as `repmon analyze` reads them."""
    readings: list[cm.Reading] = []
    for start in range(0, len(records), 2500):
        part = records[start:start + 2500]
        readings += model.read_many([r["words"] for r in part], [r["lang"] for r in part], [r["cues"] for r in part])
    return readings


def decisions(model: cm.ComplaintModel, records: list[dict], scores: list[cm.Reading], threshold: float,
              three_stars: bool = False) -> list[bool]:
    return [cm.decide(p, threshold, len(r["words"]), *r["cues"], three_stars) for r, p in zip(records, scores)]


def folds(records: list[dict]) -> dict[str, dict[str, int]]:
    """Per language, source -> fold 0 or 1, dealt largest first so the folds are of similar size."""
    sizes: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        sizes[r["lang"]][r["source"]] += 1
    assignment = {}
    for lang, counter in sizes.items():
        totals = [0, 0]
        assignment[lang] = {}
        for source, size in counter.most_common():
            fold = 0 if totals[0] <= totals[1] else 1
            assignment[lang][source] = fold
            totals[fold] += size
    return assignment


def outcome(guess: bool, truth: bool) -> str:
    return "tp" if guess and truth else "fp" if guess else "fn" if truth else "tn"


def cue_rule(r: dict) -> bool:
    negative, positive, _ = r["cues"]
    return negative >= 1 and negative > positive


def held_out(records: list[dict], three: list[dict], lexicons, negating, stems,
             scores_out=None) -> dict[str, dict[str, Counter]]:
    """Confusion counts per language for model, cues and shipped decision; every review scored blind to its source."""
    assignment = folds(records)
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for lang in sorted(assignment):
        for fold in (0, 1):
            test = [r for r in records if r["lang"] == lang and assignment[lang][r["source"]] == fold]
            if not test:
                continue
            held = {r["source"] for r in test}  # also the other languages' reviews in the same files
            train = [r for r in records if r["source"] not in held]
            model = as_shipped(fit(train), THRESHOLD, lexicons, negating, stems)
            threshold = THRESHOLD
            scores = probabilities(model, test)
            for r, p, guess in zip(test, scores, decisions(model, test, scores, threshold)):
                if scores_out:
                    scores_out.write(json.dumps({"id": r["id"], "lang": lang, "fold": fold, "complaint": r["complaint"],
                                                 "p": p.probability, "lp": p.lexicon_positive, "ln": p.lexicon_negative,
                                                 "words": len(r["words"]), "cues": r["cues"]}) + "\n")
                counts[lang]["shipped"][outcome(guess, r["complaint"])] += 1
                counts[lang]["model"][outcome(p.probability >= threshold, r["complaint"])] += 1
                counts[lang]["cues"][outcome(cue_rule(r), r["complaint"])] += 1
            # 3-star reviews of this language's held-out sources: no label, only the share called complaints
            seen = {t["source"] for t in train}
            stars = [r for r in three if r["lang"] == lang and assignment[lang].get(r["source"], 0) == fold
                     and r["source"] not in seen]
            if stars:
                star_scores = probabilities(model, stars)
                for guess in decisions(model, stars, star_scores, threshold, three_stars=True):
                    counts[lang]["three"]["complaint" if guess else "not"] += 1
            print(f"  fitted {lang} fold {fold}: {len(train):,} train, {len(test):,} test, threshold {threshold:.2f}",
                  flush=True)
    return counts


def f1(counts: Counter) -> tuple[float, float, float]:
    precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def save(path: Path, model: LogisticRegression, threshold: float, lexicons: dict[str, dict[int, float]],
         negating: dict[str, frozenset[str]], stems: dict[str, dict[int, float]]) -> None:
    coef = model.coef_[0]
    hashed = len(cm.blocks()) << cm.BITS
    keep, weight = kept(model)
    langs = sorted(lexicons)
    lexicon_lang = np.array([lang for lang in langs for _ in lexicons[lang]])
    lexicon_key = np.array([k for lang in langs for k in lexicons[lang]], dtype=np.uint32)
    lexicon_value = np.array([v for lang in langs for v in lexicons[lang].values()], dtype=np.float16)
    stem_langs = sorted(stems)
    version = hashlib.sha1(weight.tobytes() + keep.astype(np.uint32).tobytes() + coef[hashed:].tobytes()).hexdigest()[:12]
    np.savez_compressed(path, bits=np.int32(cm.BITS), blocks=np.array(cm.blocks()),
                        index_gaps=np.diff(keep, prepend=0).astype(np.uint32),  # gaps compress to a third of indices
                        weight=weight, dense=coef[hashed:].astype(np.float32), intercept=np.float32(model.intercept_[0]),
                        threshold=np.float32(threshold), lexicon_lang=lexicon_lang, lexicon_key=lexicon_key,
                        lexicon_value=lexicon_value,
                        stem_lexicon_lang=np.array([lang for lang in stem_langs for _ in stems[lang]], dtype="U2"),
                        stem_lexicon_key=np.array([k for lang in stem_langs for k in stems[lang]], dtype=np.uint32),
                        stem_lexicon_value=np.array([v for lang in stem_langs for v in stems[lang].values()], dtype=np.float16),
                        negator_lang=np.array(sorted(negating)),
                        negators=np.array([" ".join(sorted(negating[lang])) for lang in sorted(negating)]),
                        version=np.array(version))
    print(f"saved {len(keep):,} weights to {path} ({path.stat().st_size / 1e6:.2f} MB), threshold {threshold:.2f}, "
          f"version {version}")


def prepared(corpus: Path, lexicon_wheels: Path, stem_lexicon: bool = True):
    """The corpus's labelled and 3-star reviews with their features, and the lexicons, negators and stems."""
    records, three = load(corpus)
    words_valences = read_lexicons(lexicon_wheels)
    lexicons = keyed(words_valences)
    stems = stem_keyed(words_valences) if stem_lexicon else {}
    negating = negators()
    prepare(records + three, lexicons, negating, stems)
    for row, record in enumerate(records):
        record["row"] = row
    _ROWS["all"] = matrix(records)
    print(f"{len(records):,} labelled reviews and {len(three):,} with 3 stars from {corpus}; lexicon words: "
          + ", ".join(f"{lang} {len(words):,}" for lang, words in sorted(lexicons.items()))
          + ("; stems: " + ", ".join(f"{lang} {len(keys):,}" for lang, keys in sorted(stems.items())) if stems else ""))
    return records, three, lexicons, negating, stems


def print_held_out(counts: dict[str, dict[str, Counter]]) -> None:
    print("complaint from text, ratings hidden, held-out sources: precision recall F1 (reviews)")
    for lang, kinds in sorted(counts.items()):
        line = [f"  {lang} ({sum(kinds['shipped'].values()):,})"]
        for kind in ("shipped", "model", "cues"):
            p, r, f = f1(kinds[kind])
            line.append(f"{kind} {p:.3f} {r:.3f} {f:.3f}")
        three_counts = kinds["three"]
        if three_counts:
            total = sum(three_counts.values())
            line.append(f"3 stars: {three_counts['complaint'] / total:.0%} of {total:,} called complaints")
        print("  |  ".join(line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--lexicons", type=Path, required=True, help="folder with the asent and textblob-de wheels")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--no-held-out", action="store_true", help="only fit on everything and save")
    parser.add_argument("--scores", type=Path, help="write each held-out review's reading here (JSON lines, ids only)")
    parser.add_argument("--balance", choices=("source", "language"), default=BALANCE,
                        help="balance complaints against the rest within each source (default) or only per language")
    parser.add_argument("--no-stem-lexicon", action="store_true", help="look words up in the lexicons as written only")
    args = parser.parse_args()
    set_balance(args.balance)
    start = time.perf_counter()
    records, three, lexicons, negating, stems = prepared(args.corpus, args.lexicons, not args.no_stem_lexicon)
    scores_out = args.scores.open("w") if args.scores else None
    counts = {} if args.no_held_out else held_out(records, three, lexicons, negating, stems, scores_out)
    print_held_out(counts)
    if args.save:
        save(args.save, fit(records), THRESHOLD, lexicons, negating, stems)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
