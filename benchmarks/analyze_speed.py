"""Text analysis throughput (language, complaint, themes) and memory, streaming reviews in batches.

    python benchmarks/analyze_speed.py [--reviews 1000000] [--unrated]

Ratings are drawn from none and 1-5 alike, so a third of the reviews go to the text model (no rating, 3 stars);
`--unrated` gives every review no rating, the worst case. Besides wall time it prints the processor time of all
processes (parent and workers), which a machine busy with other work disturbs less.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from monitor.analyze import BusinessSettings, analyse_texts
from monitor.db import open_db
from monitor.store import ensure_business

TEXTS = [line.split("|", 4)[4] for path in sorted((Path(__file__).parent.parent / "tests/files/corpus").glob("*.psv"))
         for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


def fill(db, business_id: str, count: int, unrated: bool = False) -> None:
    rng = random.Random(1)
    columns = "id, business_id, source, external_id, rating, body, published_at, first_seen_at, last_seen_at"
    batch = []
    for number in range(count):
        text = rng.choice(TEXTS) + (" " + rng.choice(TEXTS) if rng.random() < 0.5 else "")
        rating = rng.choice([None, 1, 2, 3, 4, 5])  # drawn either way: the same texts with and without --unrated
        batch.append((f"bench:{number}", business_id, "bench", str(number), None if unrated else rating, text,
                      "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
        if len(batch) == 50_000:
            with db.atomic():
                db.conn.executemany(f"INSERT INTO reviews ({columns}) VALUES ({', '.join('?' * 9)})", batch)
            batch = []
    if batch:
        with db.atomic():
            db.conn.executemany(f"INSERT INTO reviews ({columns}) VALUES ({', '.join('?' * 9)})", batch)


def processor_seconds() -> float:
    """User and system time of this process and of its ended children (the analysis workers, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--unrated", action="store_true", help="no review has a rating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "bench.db")
        business_id = ensure_business(db, "Hansen VVS ApS")
        start = time.perf_counter()
        fill(db, business_id, args.reviews, args.unrated)
        print(f"stored {args.reviews:,} reviews in {time.perf_counter() - start:.1f} s")
        settings = {business_id: BusinessSettings(names=("Hansen VVS",))}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        processor = processor_seconds()
        start = time.perf_counter()
        summary = analyse_texts(db, settings)
        seconds = time.perf_counter() - start
        processor = processor_seconds() - processor
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"language + complaint + themes: {summary.analysed:,} reviews in {seconds:.1f} s = "
              f"{summary.analysed / seconds:,.0f} reviews/s; peak RSS {peak / 1024:.0f} MB (before {before / 1024:.0f} MB); "
              f"processor time of all processes {processor:.1f} s = {summary.analysed / processor:,.0f} reviews per second of it")
        start = time.perf_counter()
        again = analyse_texts(db, settings)
        print(f"second run, nothing changed: {again.unchanged:,} reviews checked in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
