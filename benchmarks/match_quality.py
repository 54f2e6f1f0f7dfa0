"""Matcher quality on labelled synthetic data: precision, recall, share ambiguous; and fitting its model.

    python benchmarks/match_quality.py            # evaluate the shipped model
    python benchmarks/match_quality.py --fit      # refit monitor/data/match_model.json, then evaluate

The model is fitted on one world (seed 101) and evaluated on four others (seeds 202-505).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from monitor.match import (FEATURES, MODEL_PATH, JobIndex, Model, Settings, add_rivals, candidates, features,
                           match_all, model_threshold, view)
from monitor.synthetic import generate


def labelled_pairs(seed: int, jobs: int, reviews: int) -> tuple[list[list[float]], list[int]]:
    """Every blocked candidate pair of a world, as features and 'is the true job'."""
    world = generate(seed=seed, jobs=jobs, reviews=reviews)
    index = JobIndex.build(world.jobs)
    rows, labels = [], []
    for review in world.reviews:
        rv = view(review)
        found = candidates(index, rv, set())
        cheap = [(index.name_fit(review.get("author"), p)[0], rv.day - index.completed[p], p) for p in found]
        pairs = [(p, features(index, p, rv)) for p in found]
        add_rivals(pairs, cheap)
        for position, f in pairs:
            rows.append([f.get(name, 0.0) for name in FEATURES])
            labels.append(int(world.truth[review["id"]] == index.jobs[position]["id"]))
    return rows, labels


def fit(seed: int = 101) -> Model:
    from sklearn.linear_model import LogisticRegression

    rows, labels = labelled_pairs(seed, jobs=10_000, reviews=10_000)
    regression = LogisticRegression(C=1.0, max_iter=2000).fit(rows, labels)
    model = Model(float(regression.intercept_[0]), {n: round(float(w), 4) for n, w in zip(FEATURES, regression.coef_[0])})
    threshold = choose_threshold(model)
    MODEL_PATH.write_text(json.dumps({"intercept": round(model.intercept, 4), "weights": model.weights,
                                      "threshold": threshold,
                                      "fitted_on": f"monitor.synthetic.generate(seed={seed}, jobs=10000, reviews=10000)",
                                      "threshold_chosen_on": f"seed {TUNING_SEED}: the lowest with precision >= 0.975 "
                                                             "and never-customers unmatched >= 0.955",
                                      "pairs": len(labels), "positives": sum(labels)}, indent=2) + "\n")
    model_threshold.cache_clear()
    print(f"fitted on {len(labels)} candidate pairs ({sum(labels)} true), threshold {threshold} -> {MODEL_PATH}")
    return model


TUNING_SEED = 999  # a world of its own for the threshold: neither the fitting world nor the measured ones


def choose_threshold(model: Model) -> float:
    """The lowest threshold (most recall) that keeps precision and never-customers unmatched above target."""
    for step in range(10, 17):
        threshold = step / 20
        figures = evaluate(TUNING_SEED, model, Settings(threshold=threshold))
        if figures["precision"] >= 0.975 and figures["never_customers_unmatched"] >= 0.955:
            return threshold
    return 0.8


def evaluate(seed: int, model: Model | None = None, settings: Settings | None = None) -> dict[str, float]:
    world = generate(seed=seed, jobs=5_000, reviews=5_000)
    results = match_all(world.reviews, world.jobs, model=model, settings=settings)
    outcome = Counter()
    for result in results:
        truth = world.truth[result.review_id]
        kind = world.name_kind[result.review_id]
        outcome[f"kind:{kind}"] += 1
        if result.status == "auto" and result.job_id == truth:
            outcome[f"kind_right:{kind}"] += 1
        if truth is None:
            outcome["never_customer"] += 1
            outcome[f"never_customer_{result.status}"] += 1
            if result.status == "auto":
                outcome["auto_wrong"] += 1
        else:
            outcome["customer"] += 1
            outcome[f"customer_{result.status}"] += 1
            if result.status == "auto":
                outcome["auto_right" if result.job_id == truth else "auto_wrong"] += 1
    auto = outcome["auto_right"] + outcome["auto_wrong"]
    by_kind = {key[5:]: outcome[f"kind_right:{key[5:]}"] / outcome[key] for key in outcome if key.startswith("kind:")}
    return {
        "by_kind": by_kind,
        "precision": outcome["auto_right"] / max(auto, 1),
        "recall": outcome["auto_right"] / max(outcome["customer"], 1),
        "ambiguous_share": (outcome["customer_ambiguous"] + outcome["never_customer_ambiguous"]) / len(results),
        "never_customers_unmatched": outcome["never_customer_unmatched"] / max(outcome["never_customer"], 1),
        "never_customers_not_auto": 1 - outcome["never_customer_auto"] / max(outcome["never_customer"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fit", action="store_true", help="refit the model before evaluating")
    args = parser.parse_args()
    model = fit() if args.fit else None
    print(f"default threshold {Settings().threshold}, ambiguity margin {Settings().margin}; 5,000 jobs, 5,000 reviews per world")
    totals: dict[str, list[float]] = {}
    for seed in SEEDS:
        figures = evaluate(seed, model)
        by_kind = figures.pop("by_kind")
        for name, value in figures.items():
            totals.setdefault(name, []).append(value)
        print(f"seed {seed}: " + ", ".join(f"{name} {value:.3f}" for name, value in figures.items()))
        print("  recall by how the name was written: " + ", ".join(
            f"{kind} {share:.2f}" for kind, share in sorted(by_kind.items(), key=lambda item: -item[1])))
    print(f"mean of {len(SEEDS)} worlds: " + ", ".join(f"{name} {sum(values) / len(values):.3f}" for name, values in totals.items()))


SEEDS = (202, 303, 404, 505)  # a world holds ~750 never-customers: one seed's share moves by a point


if __name__ == "__main__":
    main()
