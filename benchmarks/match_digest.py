"""A digest of matching's results, to show that a change to the matcher's speed changes no result.

    python benchmarks/match_digest.py [--out results.tsv]     # the speed benchmark's world and zoo seeds 2003, 2007
    python benchmarks/match_digest.py --compare a.tsv b.tsv   # every review's job, score (to 1e-9), status, reasons

Each line is a world, a review, its job, its score, its status and the SHA-256 of its stored reasons; the
digest is the SHA-256 of the lines.
"""

from __future__ import annotations

import argparse
import hashlib
import sys

from monitor import zoo
from monitor.match import match_all
from monitor.synthetic import generate

ZOO_SEEDS = (2003, 2007)


def result_lines() -> list[str]:
    """world, review id, job id, score, status, reasons' SHA-256: one line per review of each world."""
    worlds = [("speed", generate(seed=5, jobs=50_000, reviews=100_000))]
    worlds += [(f"zoo-{seed}", zoo.generate(seed)) for seed in ZOO_SEEDS]
    lines = []
    for name, world in worlds:
        results = match_all(world.reviews, world.jobs)
        lines += [f"{name}\t{r.review_id}\t{r.job_id}\t{r.score!r}\t{r.status}\t{_sha256(r.reasons_json)}" for r in results]
    return lines


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def differences(first: list[str], second: list[str]) -> list[str]:
    """Reviews whose job, status or reasons differ, or whose scores differ by more than 1e-9."""
    if len(first) != len(second):
        return [f"{len(first)} results against {len(second)}"]
    found = []
    for a, b in zip(first, second):
        world_a, review_a, job_a, score_a, status_a, reasons_a = a.split("\t")
        world_b, review_b, job_b, score_b, status_b, reasons_b = b.split("\t")
        if ((world_a, review_a, job_a, status_a, reasons_a) != (world_b, review_b, job_b, status_b, reasons_b)
                or abs(float(score_a) - float(score_b)) > 1e-9):
            found.append(f"{a}  |  {b}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="write the result lines here")
    parser.add_argument("--compare", nargs=2, metavar="FILE", help="compare two files of result lines")
    args = parser.parse_args()
    if args.compare:
        first, second = (open(path).read().splitlines() for path in args.compare)
        found = differences(first, second)
        print(f"{len(first):,} results, {len(found):,} different")
        print("\n".join(found[:20]))
        sys.exit(1 if found else 0)
    lines = result_lines()
    if args.out:
        with open(args.out, "w") as out:
            out.write("\n".join(lines) + "\n")
    print(f"{len(lines):,} results, digest {_sha256(chr(10).join(lines))}")


if __name__ == "__main__":
    main()
