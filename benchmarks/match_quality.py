"""Matcher quality on labelled synthetic data: precision, recall, share ambiguous; and fitting its model.

    python benchmarks/match_quality.py            # evaluate the shipped model
    python benchmarks/match_quality.py --fit      # refit monitor/data/match_model.json, then evaluate

The model is fitted on four worlds of different sizes (seeds 101-104), its threshold chosen on
another (seed 999), and it is evaluated on four more (seeds 202-505).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from monitor.match import (FEATURES, MODEL_PATH, JobIndex, Model, Settings, candidates, match_all, model_threshold,
                           scored_candidates, view)
from monitor.synthetic import generate


def labelled_reviews(seed: int, jobs: int, reviews: int) -> tuple[list[list[float]], list[tuple[int, int]]]:
    """Each review's weighed candidates as feature rows, and per review (how many, which is the true job or -1)."""
    world = generate(seed=seed, jobs=jobs, reviews=reviews)
    index = JobIndex.build(world.jobs)
    rows, choices = [], []
    for review in world.reviews:
        rv = view(review)
        found = candidates(index, rv, set())
        pairs = scored_candidates(index, rv, found) if found else []
        chosen = -1  # none of them: a never-customer, or a job blocking did not find
        for number, (position, f, _) in enumerate(pairs):
            rows.append([f.get(name, 0.0) for name in FEATURES])
            if index.ids[position] == world.truth[review["id"]]:
                chosen = number
        choices.append((len(pairs), chosen))
    return rows, choices


def conditional_logit(rows: list[list[float]], choices: list[tuple[int, int]], l2: float = 1.0) -> Model:
    """Maximum likelihood of each review's true job among its candidates and 'none' (utility 0), L2-penalised."""
    import numpy as np
    from scipy.optimize import minimize

    x = np.array(rows, dtype=float)
    sizes = np.array([size for size, _ in choices])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    review_of_row = np.repeat(np.arange(len(choices)), sizes)
    chosen_rows = np.array([start + chosen for start, (_, chosen) in zip(starts, choices) if chosen >= 0])

    def loss(theta: "np.ndarray") -> tuple[float, "np.ndarray"]:
        bias, weights = theta[0], theta[1:]
        utility = np.clip(x @ weights + bias, -40, 40)
        odds = np.exp(utility)
        total = 1 + np.bincount(review_of_row, weights=odds, minlength=len(choices))
        probability = odds / total[review_of_row]
        log_likelihood = utility[chosen_rows].sum() - np.log(total).sum()
        gradient_weights = x[chosen_rows].sum(0) - (probability[:, None] * x).sum(0) - l2 * weights
        gradient_bias = len(chosen_rows) - probability.sum()
        return -log_likelihood + 0.5 * l2 * weights @ weights, -np.concatenate([[gradient_bias], gradient_weights])

    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    return Model(round(float(theta[0]), 4), {name: round(float(w), 4) for name, w in zip(FEATURES, theta[1:])})


# Businesses differ in size, and how often a name fits by chance grows with the history: fit on several sizes.
FITTING_WORLDS = ((101, 10_000), (102, 5_000), (103, 2_500), (104, 2_500))  # (seed, jobs = reviews)


def fit() -> Model:
    rows: list[list[float]] = []
    choices: list[tuple[int, int]] = []
    for seed, size in FITTING_WORLDS:
        world_rows, world_choices = labelled_reviews(seed, jobs=size, reviews=size)
        rows += world_rows
        choices += world_choices
    model = conditional_logit(rows, choices)
    threshold = choose_threshold(model)
    MODEL_PATH.write_text(json.dumps({"intercept": model.intercept, "weights": model.weights, "threshold": threshold,
                                      "fitted_on": [f"monitor.synthetic.generate(seed={seed}, jobs={size}, reviews={size})"
                                                    for seed, size in FITTING_WORLDS],
                                      "threshold_chosen_on": f"seed {TUNING_SEED}: the lowest with precision >= 0.975 "
                                                             "and never-customers unmatched >= 0.96",
                                      "reviews": len(choices), "candidates": len(rows),
                                      "with_true_candidate": sum(1 for _, chosen in choices if chosen >= 0)},
                                     indent=2) + "\n")
    model_threshold.cache_clear()
    print(f"fitted on {len(choices)} reviews with {len(rows)} candidates, threshold {threshold} -> {MODEL_PATH}")
    return model


PRIOR_STRENGTH = 30.0  # pseudo-reviews: a firm with a few hundred reviews soon outweighs them


def fit_prior() -> dict[str, object]:
    """The level chances on the fitting worlds, counted with their labels: where each firm's EM starts."""
    from monitor.estimate import COMPARISONS

    rows: list[list[float]] = []
    choices: list[tuple[int, int]] = []
    for seed, size in FITTING_WORLDS:
        world_rows, world_choices = labelled_reviews(seed, jobs=size, reviews=size)
        rows += world_rows
        choices += world_choices
    matched = [False] * len(rows)
    start = 0
    for size, chosen in choices:
        if chosen >= 0:
            matched[start + chosen] = True
        start += size
    column = {name: i for i, name in enumerate(FEATURES)}
    m: dict[str, float] = {}
    u: dict[str, float] = {}
    for levels in COMPARISONS.values():
        for chances, wanted in ((m, True), (u, False)):
            counts = [sum(row[column[level]] for row, is_match in zip(rows, matched) if is_match == wanted) + 0.5
                      for level in levels]  # half a pseudo-count: a level never seen is not impossible
            for level, count in zip(levels, counts):
                # A tenth spread evenly: the generator's certainties (every date of experience right) are not a firm's.
                chances[level] = round(0.9 * count / sum(counts) + 0.1 / len(levels), 5)
    from monitor.estimate import TRAITS, WRITTEN
    from monitor.match import review_traits, written_as
    from monitor.names import parse_name

    written = dict.fromkeys(WRITTEN, 0.5)

    told = {False: dict.fromkeys(TRAITS, 0.5), True: dict.fromkeys(TRAITS, 0.5)}  # by: about none?
    reviews = {False: 1.0, True: 1.0}
    for seed, size in FITTING_WORLDS:
        world = generate(seed=seed, jobs=size, reviews=size)
        index = JobIndex.build(world.jobs)
        for review in world.reviews:
            about_none = world.truth[review["id"]] is None
            reviews[about_none] += 1
            if about_none and review["author"]:
                written[written_as(parse_name(review["author"]))] += 1
            for trait in review_traits(index, view(review)):
                told[about_none][trait] += 1
    prior = {"m": m, "u": u, "written": {w: round(0.9 * n / sum(written.values()) + 0.1 / len(WRITTEN), 5) for w, n in written.items()},
             "told": {t: round(0.9 * n / reviews[False] + 0.05, 5) for t, n in told[False].items()},
             # Strangers told as much as customers until a firm's own reviews show otherwise: the generator's
             # strangers say nothing, the zoo's say what customers say.
             "told_by_none": {t: round(0.9 * n / reviews[False] + 0.05, 5) for t, n in told[False].items()},
             "none_share": round(sum(1 for _, chosen in choices if chosen < 0) / len(choices), 4),
             "strength": PRIOR_STRENGTH,
             "counted_on": [f"monitor.synthetic.generate(seed={seed}, jobs={size}, reviews={size})" for seed, size in FITTING_WORLDS]}
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["prior"] = prior
    MODEL_PATH.write_text(json.dumps(data, indent=2) + "\n")
    return prior


TUNING_SEED = 999  # a world of its own for the threshold: neither the fitting world nor the measured ones


def choose_threshold(model: Model) -> float:
    """The lowest threshold (most recall) that keeps precision and never-customers unmatched above target."""
    for step in range(6, 17):
        threshold = step / 20
        figures = evaluate(TUNING_SEED, model, Settings(threshold=threshold))
        # A point above the targets (0.97, 0.95): one world's share of never-customers moves by about that much.
        if figures["precision"] >= 0.975 and figures["never_customers_unmatched"] >= 0.96:
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
    parser.add_argument("--fit-prior", action="store_true", help="recount the estimates' prior before evaluating")
    args = parser.parse_args()
    model = fit() if args.fit else None
    if args.fit_prior:
        fit_prior()
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
