"""Matching speed and memory: 100,000 reviews against 50,000 jobs with every signal.

    python benchmarks/match_speed.py [--reviews 100000] [--jobs 50000]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import Counter

from monitor.match import JobIndex, match_all
from monitor.synthetic import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=50_000)
    args = parser.parse_args()
    start = time.perf_counter()
    world = generate(seed=5, jobs=args.jobs, reviews=args.reviews)
    print(f"generated {len(world.jobs):,} jobs and {len(world.reviews):,} reviews in {time.perf_counter() - start:.1f} s")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    JobIndex.build(world.jobs)
    built = time.perf_counter() - start
    start = time.perf_counter()
    results = match_all(world.reviews, world.jobs)  # builds its own index: included in the time
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    statuses = Counter(result.status for result in results)
    print(f"index alone: {built:.2f} s; index + matching with every signal: {seconds:.1f} s "
          f"({len(results) / seconds:,.0f} reviews/s); peak RSS {peak / 1024:.0f} MB (before: {before / 1024:.0f} MB)")
    print("statuses: " + ", ".join(f"{status} {count:,}" for status, count in statuses.most_common()))


if __name__ == "__main__":
    main()
