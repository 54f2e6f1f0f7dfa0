"""Matching speed and memory: 100,000 reviews against 50,000 jobs with every signal.

    python benchmarks/match_speed.py [--reviews 100000] [--jobs 50000] [--runs 3]

Each measurement is a fresh forked process (cold caches, as in `repmon analyze`); the median is the figure
to quote, because a shared virtual machine's runs vary by a second or two. Memory is the peak of
the proportional set size (PSS, Linux) of the benchmark, the measuring process and its forked
workers together, sampled every 0.5 s (--memory-every): pages they share count once. Reading a
process's PSS walks its page tables, about 13 ms of kernel time for a 460 MB process: every 0.1 s,
the four processes' readings took close to half a core from the two that match.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import resource
import statistics
import threading
import time
from collections import Counter
from typing import Any

from monitor.match import JobIndex, match_all
from monitor.synthetic import World, generate

_WORLD: World | None = None
SITES = ("trustpilot", "google", "facebook")


def _pss_kb(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except OSError:  # a worker that has just exited
        return 0


def _tree_pss_kb() -> int:
    """This process, its workers, and the benchmark's own process, which generated the data and
    shares its pages with the rest: PSS counts each shared page once across them all."""
    me = os.getpid()
    children = []
    for task in os.listdir(f"/proc/{me}/task"):
        try:
            with open(f"/proc/{me}/task/{task}/children") as listed:
                children += listed.read().split()
        except OSError:
            pass
    return _pss_kb(os.getppid()) + _pss_kb(me) + sum(_pss_kb(child) for child in children)


def measure_index(results: multiprocessing.Queue) -> None:
    gc.disable()  # as match_all does while it builds and matches
    start = time.perf_counter()
    JobIndex.build(_WORLD.jobs)
    results.put(time.perf_counter() - start)


MEMORY_EVERY = 0.5  # seconds between PSS samples


def measure_matching(results: multiprocessing.Queue) -> None:
    data_kb = _tree_pss_kb()  # the generated jobs and reviews, as they would be read from the database
    peak_kb = [data_kb]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(MEMORY_EVERY):
            peak_kb[0] = max(peak_kb[0], _tree_pss_kb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start, processor_start = time.perf_counter(), _processor_seconds()
    matched = match_all(_WORLD.reviews, _WORLD.jobs)  # builds its own index: included in the time
    seconds, processor = time.perf_counter() - start, _processor_seconds() - processor_start
    done.set()
    sampler.join()
    results.put((seconds, processor, data_kb / 1024, peak_kb[0] / 1024, Counter(result.status for result in matched)))


def _processor_seconds() -> float:
    """User and system time of this process and of its workers that have ended."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def in_fresh_process(measure) -> Any:
    """A forked child measures, so every run starts with the caches of a new `repmon analyze`."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=measure, args=(results,))
    child.start()
    result = results.get()
    child.join()
    return result


def main() -> None:
    global _WORLD, MEMORY_EVERY
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-every", type=float, default=MEMORY_EVERY, help="seconds between memory samples")
    args = parser.parse_args()
    MEMORY_EVERY = args.memory_every
    start = time.perf_counter()
    _WORLD = generate(seed=5, jobs=args.jobs, reviews=args.reviews)
    for number, review in enumerate(_WORLD.reviews):  # read from three sites, so each site's name habits are learnt too
        review["source"] = SITES[number % len(SITES)]
    print(f"generated {len(_WORLD.jobs):,} jobs and {len(_WORLD.reviews):,} reviews in {time.perf_counter() - start:.1f} s")
    walls = []
    for run in range(1, args.runs + 1):
        built = in_fresh_process(measure_index)
        seconds, processor, data_mb, peak_mb, statuses = in_fresh_process(measure_matching)
        walls.append(seconds)
        print(f"run {run}: index alone {built:.2f} s; index + matching with every signal {seconds:.1f} s "
              f"({args.reviews / seconds:,.0f} reviews/s, processor {processor:.1f} s); memory in all: {data_mb:.0f} MB "
              f"with the data loaded, peak {peak_mb:.0f} MB")
    print(f"median {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}); statuses: "
          + ", ".join(f"{status} {count:,}" for status, count in statuses.most_common()))


if __name__ == "__main__":
    main()
