"""Matching speed and memory: 100,000 reviews against 50,000 jobs with every signal.

    python benchmarks/match_speed.py [--reviews 100000] [--jobs 50000] [--runs 3]

Each run is a fresh forked process (cold caches, as in `repmon analyze`); the median is the figure
to quote, because a shared virtual machine's runs vary by a second or two.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import resource
import statistics
import time
from collections import Counter

from monitor.match import JobIndex, match_all
from monitor.synthetic import World, generate

_WORLD: World | None = None


def measure_once(results: multiprocessing.Queue) -> None:
    gc.disable()  # as match_all does while it builds and matches
    start = time.perf_counter()
    JobIndex.build(_WORLD.jobs)
    built = time.perf_counter() - start
    gc.enable()
    start = time.perf_counter()
    matched = match_all(_WORLD.reviews, _WORLD.jobs)  # builds its own index: included in the time
    seconds = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    results.put((built, seconds, peak / 1024, Counter(result.status for result in matched)))


def main() -> None:
    global _WORLD
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    _WORLD = generate(seed=5, jobs=args.jobs, reviews=args.reviews)
    print(f"generated {len(_WORLD.jobs):,} jobs and {len(_WORLD.reviews):,} reviews in {time.perf_counter() - start:.1f} s")
    context = multiprocessing.get_context("fork")
    walls = []
    for run in range(1, args.runs + 1):
        results = context.Queue()
        child = context.Process(target=measure_once, args=(results,))
        child.start()
        built, seconds, peak_mb, statuses = results.get()
        child.join()
        walls.append(seconds)
        print(f"run {run}: index alone {built:.2f} s; index + matching with every signal {seconds:.1f} s "
              f"({args.reviews / seconds:,.0f} reviews/s); peak RSS of one process {peak_mb:.0f} MB")
    print(f"median {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}); statuses: "
          + ", ".join(f"{status} {count:,}" for status, count in statuses.most_common()))


if __name__ == "__main__":
    main()
