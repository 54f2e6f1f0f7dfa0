"""Fit the theme model (monitor/theme_model.py) on the labelled real complaints that are not the test part.

    python benchmarks/fit_theme_model.py [--splits dev,train,train2] [--measure-on SPLIT] [--labels DIR] [--save monitor/data/theme_model.npz]

Labels: benchmarks/theme_labels/labels_<split>_<lang>.jsonl (record ids and themes; the texts are read from
../shared/corpus). The `test` part is never read here. Each theme with at least MIN_POSITIVES labelled examples
gets a logistic regression (scikit-learn, L2) over the vocabulary's hits, the language and the hashed stems;
its regularisation and its threshold are chosen by cross-validation over the fitting records (folds by a hash
of the id), and the out-of-fold figures are printed per language and per theme. A theme whose model does no
better out of fold than the vocabulary's words alone is left to the words. The others are refitted on all
fitting records and saved.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression

try:
    from benchmarks.real_corpus import CORPUS_DIR, LABELS_DIR, labelled
except ModuleNotFoundError:  # run as a script
    from real_corpus import CORPUS_DIR, LABELS_DIR, labelled
from monitor import theme_model as tm
from monitor.language import detect
from monitor.themes import vocabulary

MIN_POSITIVES = 12
FOLDS = 5
STRENGTHS = (0.03, 0.1, 0.3, 1.0)  # scikit-learn's C: inverse regularisation
BETA = 1.0
THRESHOLDS = np.round(np.arange(0.05, 0.81, 0.05), 2)


def read_records(splits: list[str], labels: Path, corpus: Path) -> list[dict]:
    """Per labelled record: id, language, the vocabulary's themes, stems, labelled themes."""
    words = vocabulary()
    rows = []
    for split in splits:
        if split == "test":
            raise SystemExit("the test part is for measuring only")
        for record, themes in labelled(split, labels, corpus):
            lang = detect(record["text"], fallback=record["lang"])
            finding = words.analyse(record["text"], record["rating"], lang, learnt=False)
            rows.append({"id": record["id"], "lang": record["lang"], "detected": lang, "hits": set(finding.themes),
                         "stems": finding.stems, "wanted": {t["theme"] for t in themes}})
    return rows


def design(rows: list[dict], themes: tuple[str, ...]) -> csr_matrix:
    """Dense values (hits, language) beside the stem buckets."""
    dense = np.array([tm.dense_values(row["hits"], row["detected"], themes) for row in rows])
    indices, pointers = [], [0]
    for row in rows:
        buckets = tm.stem_buckets(row["stems"])
        indices.extend(buckets.tolist())
        pointers.append(len(indices))
    sparse = csr_matrix((np.ones(len(indices), dtype=np.float32), indices, pointers), shape=(len(rows), 1 << tm.BITS))
    return hstack([csr_matrix(dense), sparse]).tocsr()


def fold_of(record_id: str) -> int:
    return int(hashlib.sha1(f"fold:{record_id}".encode()).hexdigest(), 16) % FOLDS


def fit_one(x: csr_matrix, y: np.ndarray, strength: float) -> LogisticRegression:
    return LogisticRegression(C=strength, solver="liblinear", max_iter=2000).fit(x, y)


def out_of_fold(x: csr_matrix, y: np.ndarray, folds: np.ndarray, strength: float) -> np.ndarray:
    chances = np.zeros(len(y))
    for fold in range(FOLDS):
        train, held = folds != fold, folds == fold
        if y[train].sum() == 0:
            continue
        chances[held] = fit_one(x[train], y[train], strength).predict_proba(x[held])[:, 1]
    return chances


def f_beta(named: np.ndarray, y: np.ndarray, beta: float = 1.0) -> float:
    """F-score; beta below 1 weighs precision more than recall."""
    tp = float((named & (y == 1)).sum())
    return (1 + beta ** 2) * tp / max(float(named.sum() + beta ** 2 * y.sum()), 1.0)


def tallies(rows: list[dict], found_by_id: dict[str, set[str]]) -> dict[str, Counter]:
    """tp, fp, fn, records and unthemed records per language."""
    per_lang: dict[str, Counter] = {}
    for row in rows:
        found, wanted = found_by_id[row["id"]], row["wanted"]
        tally = per_lang.setdefault(row["lang"], Counter())
        tally["tp"] += len(found & wanted)
        tally["fp"] += len(found - wanted)
        tally["fn"] += len(wanted - found)
        tally["records"] += 1
        tally["unthemed"] += not found
    return per_lang


def figures(tally: Counter) -> str:
    precision = tally["tp"] / max(tally["tp"] + tally["fp"], 1)
    recall = tally["tp"] / max(tally["tp"] + tally["fn"], 1)
    return f"{precision:.2f} {recall:.2f} {tally['unthemed'] / tally['records']:>4.0%}"


def choose(rows: list[dict], x: csr_matrix, themes: tuple[str, ...], beta: float
           ) -> tuple[dict[str, tuple[float, float]], dict[str, set[str]]]:
    """Per theme the model's (C, threshold) where it beats the words out of fold; each record's themes out of fold."""
    folds = np.array([fold_of(row["id"]) for row in rows])
    counts = Counter(theme for row in rows for theme in row["wanted"])
    candidates = tuple(theme for theme in themes if counts[theme] >= MIN_POSITIVES)
    chosen: dict[str, tuple[float, float]] = {}
    decided = {row["id"]: set(row["hits"] - set(candidates)) for row in rows}
    print(f"{'theme':<16} {'n':>4}  C     thr   vocabulary F -> model F (out of fold)")
    for theme in candidates:
        y = np.array([theme in row["wanted"] for row in rows], dtype=int)
        hits = np.array([theme in row["hits"] for row in rows])
        best = (-1.0, 0.0, 0.5, None)
        for strength in STRENGTHS:
            chances = out_of_fold(x, y, folds, strength)
            for threshold in THRESHOLDS:
                score = f_beta(chances >= threshold, y, beta)
                if score > best[0]:
                    best = (score, strength, float(threshold), chances)
        score, strength, threshold, chances = best
        alone = f_beta(hits, y, beta)
        if score <= alone:  # the words alone do better out of fold: the model does not decide this theme
            for row in rows:
                if theme in row["hits"]:
                    decided[row["id"]].add(theme)
            print(f"{theme:<16} {counts[theme]:>4}  words alone {alone:.2f} >= model {score:.2f}")
            continue
        chosen[theme] = (strength, threshold)
        for row, named in zip(rows, chances >= threshold):
            if named:
                decided[row["id"]].add(theme)
        print(f"{theme:<16} {counts[theme]:>4}  {strength:<5} {threshold:<5} {alone:.2f} -> {score:.2f}")
    return chosen, decided


def fitted_models(rows: list[dict], x: csr_matrix, chosen: dict[str, tuple[float, float]]
                  ) -> dict[str, LogisticRegression]:
    return {theme: fit_one(x, np.array([theme in row["wanted"] for row in rows], dtype=int), strength)
            for theme, (strength, _) in chosen.items()}


def print_tallies(rows: list[dict], decided: dict[str, set[str]], heading: str) -> None:
    print(f"per language: precision recall no-theme, the vocabulary alone -> the model ({heading})")
    vocabulary_alone, learnt_too = tallies(rows, {row["id"]: row["hits"] for row in rows}), tallies(rows, decided)
    for lang in sorted(learnt_too):
        print(f"  {lang}  {learnt_too[lang]['records']:>4}  {figures(vocabulary_alone[lang])} -> {figures(learnt_too[lang])}")
    total_words, total_model = sum(vocabulary_alone.values(), Counter()), sum(learnt_too.values(), Counter())
    print(f"  all  {total_model['records']:>4}  {figures(total_words)} -> {figures(total_model)}")


def measured_on(split: str, rows: list[dict], x: csr_matrix, chosen: dict[str, tuple[float, float]],
                args: argparse.Namespace, themes: tuple[str, ...]) -> None:
    """The model fitted on `rows` against the vocabulary on another labelled part, which neither was written on."""
    held = read_records([split], args.labels, args.corpus)
    x_held = design(held, themes)
    models = fitted_models(rows, x, chosen)
    decided = {row["id"]: {t for t in row["hits"] if t not in chosen} for row in held}
    for theme, model in models.items():
        for row, chance in zip(held, model.predict_proba(x_held)[:, 1]):
            if chance >= chosen[theme][1]:
                decided[row["id"]].add(theme)
    print_tallies(held, decided, f"fitted on the other parts, measured on {split}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", default="dev,train,train2")
    parser.add_argument("--labels", type=Path, default=LABELS_DIR)
    parser.add_argument("--extra-labels", type=Path, help="another folder of labels_<split>_<lang>.jsonl")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--beta", type=float, default=BETA, help="the F-score each theme's threshold is chosen by")
    parser.add_argument("--measure-on", metavar="SPLIT", help="a labelled part left out of fitting to compare on")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    splits = args.splits.split(",")
    rows = read_records(splits, args.labels, args.corpus)
    if args.extra_labels:
        rows += read_records(splits, args.extra_labels, args.corpus)
    themes = tuple(vocabulary().themes)
    x = design(rows, themes)
    print(f"{len(rows)} labelled complaints ({Counter(row['lang'] for row in rows)}), splits {splits}")
    chosen, decided = choose(rows, x, themes, args.beta)
    print_tallies(rows, decided, "out of fold")
    if args.measure_on:
        measured_on(args.measure_on, rows, x, chosen, args, themes)
    learnt = tuple(theme for theme in themes if theme in chosen)
    if args.save:
        models = fitted_models(rows, x, chosen)
        dense_rows, bucket_columns, intercepts, thresholds = [], [], [], []
        for theme in learnt:
            weights = models[theme].coef_[0]
            dense_rows.append(weights[:len(themes) + len(tm.LANGUAGES)])
            bucket_columns.append(weights[len(themes) + len(tm.LANGUAGES):])
            intercepts.append(models[theme].intercept_[0])
            thresholds.append(chosen[theme][1])
        version = hashlib.sha1(repr((learnt, chosen, sorted(row["id"] for row in rows))).encode()).hexdigest()[:12]
        tm.save(args.save, themes, learnt, np.array(dense_rows), np.array(bucket_columns).T, np.array(intercepts),
                np.array(thresholds), version)
        print(f"saved {args.save}: {len(learnt)} learnt themes, version {version}")


if __name__ == "__main__":
    main()
