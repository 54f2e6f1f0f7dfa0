"""The default match threshold for the estimated model, chosen on worlds free for tuning.

    python benchmarks/match_tuning.py [--write]

Worlds: zoo seeds 2001-2010 with at most 10,000 jobs (the zoo's evaluation seeds 1001-1012 are never
read here) and synthetic worlds 2001-2003 with 5%, 15% and 40% never-customers. Each world is matched
once with every candidate kept; each threshold then decides as match._decide does. The threshold is
the lowest at which the worlds' mean precision is >= 0.975 and their mean never-customers unmatched >= 0.96
(a point above the targets: a small world's figures move by a few points with a few reviews);
--write stores it in monitor/data/match_model.json ("prior" -> "threshold").
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator

from monitor import synthetic, zoo
from monitor.match import MODEL_PATH, MatchResult, Settings, match_business

THRESHOLDS = tuple(step / 20 for step in range(10, 20))  # 0.50 ... 0.95
MARGIN = Settings().margin


def tuning_worlds() -> Iterator[tuple[str, list[dict], list[dict], dict[str, str | None]]]:
    for seed in range(zoo.FREE_SEEDS_FROM, zoo.FREE_SEEDS_FROM + 10):
        if zoo.draw_params(seed)["jobs"] <= 10_000:
            world = zoo.generate(seed)
            yield f"zoo {seed}", world.jobs, world.reviews, world.truth
    for seed, share in ((2001, 0.05), (2002, 0.15), (2003, 0.40)):
        world = synthetic.generate(seed=seed, jobs=5_000, reviews=5_000, non_customer_share=share)
        yield f"synthetic {seed} ({share:.0%} never customers)", world.jobs, world.reviews, world.truth


def status_at(result: MatchResult, threshold: float) -> tuple[str, str | None]:
    """The status and job match._decide gives at this threshold, from the best and the runner-up's scores."""
    reasons = result.reasons
    best = result.score
    runner_up = reasons.get("runner_up", {}).get("score")
    if runner_up is not None and best - runner_up < MARGIN and best + runner_up >= threshold:
        return "ambiguous", reasons.get("job")
    return ("unmatched", None) if best < threshold else ("auto", reasons.get("job"))


def figures(results: list[MatchResult], truth: dict[str, str | None], threshold: float) -> dict[str, float]:
    customers = sum(1 for job in truth.values() if job is not None)
    strangers = len(truth) - customers
    right = wrong = strangers_unmatched = ambiguous = 0
    for result in results:
        status, job = status_at(result, threshold)
        ambiguous += status == "ambiguous"
        if truth[result.review_id] is None:
            strangers_unmatched += status == "unmatched"
        if status == "auto":
            right += job == truth[result.review_id]
            wrong += job != truth[result.review_id]
    return {"precision": right / max(right + wrong, 1), "recall": right / max(customers, 1),
            "never_customers_unmatched": strangers_unmatched / max(strangers, 1), "ambiguous": ambiguous / len(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="store the chosen threshold in match_model.json")
    args = parser.parse_args()
    by_threshold: dict[float, list[dict[str, float]]] = {threshold: [] for threshold in THRESHOLDS}
    for name, jobs, reviews, truth in tuning_worlds():
        results, estimates = match_business(reviews, jobs, settings=Settings(threshold=0.0, margin=0.0))
        print(f"{name}: {len(jobs):,} jobs, {len(reviews):,} reviews, never-customers "
              f"{sum(1 for job in truth.values() if job is None) / len(truth):.2f}, estimated {estimates.none_share:.2f}")
        for threshold in THRESHOLDS:
            by_threshold[threshold].append(figures(results, truth, threshold))
        print("  at 0.80: " + ", ".join(f"{key} {value:.3f}" for key, value in by_threshold[0.8][-1].items()))
    chosen = None
    for threshold, worlds in by_threshold.items():
        mean = {key: sum(world[key] for world in worlds) / len(worlds) for key in worlds[0]}
        lowest_precision = min(world["precision"] for world in worlds)
        print(f"threshold {threshold:.2f}: " + ", ".join(f"mean {key} {value:.3f}" for key, value in mean.items())
              + f", lowest precision {lowest_precision:.3f}")
        if chosen is None and mean["precision"] >= 0.975 and mean["never_customers_unmatched"] >= 0.96:
            chosen = threshold
    chosen = chosen or THRESHOLDS[-1]
    print(f"chosen threshold {chosen:.2f}")
    if args.write:
        data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
        data["prior"]["threshold"] = chosen
        data["prior"]["threshold_chosen_on"] = "benchmarks/match_tuning.py: zoo seeds 2001-2010 up to 10,000 jobs, " \
                                               "synthetic 2001-2003; the lowest with mean precision >= 0.975 and mean never-customers unmatched >= 0.96"
        MODEL_PATH.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
