"""Storage throughput: reviews/s for first save, unchanged re-save and 10% edited, with history and FTS.

    python benchmarks/bench_store.py [--reviews 50000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from monitor.db import open_db
from monitor.store import ensure_business, save_reviews

WORDS = (
    "vand under gulvet badeværelse flot arbejde utæt afløb revner i fliserne for sent kom ikke "
    "ekstra regning rod efterladt Wasserschaden Fliesen Risse Verspätung vattenläcka sprickor "
    "leak crack late no show extra cost mess rude great job on time clean friendly"
).split()


def make_reviews(business_id: str, count: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "business_id": business_id,
            "source": "trustpilot",
            "external_id": f"r{number:07d}",
            "url": f"https://dk.trustpilot.com/reviews/r{number:07d}",
            "author": rng.choice(["Jens", "Mette", "Anna", "Lars", "Klaus"]) + " " + rng.choice(["Hansen", "Jensen", "Müller"]),
            "rating": rng.randint(1, 5),
            "title": " ".join(rng.choices(WORDS, k=4)),
            "body": " ".join(rng.choices(WORDS, k=40)),
            "published_at": f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        }
        for number in range(count)
    ]


def timed(label: str, count: int, fn) -> None:
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<32} {count:>8} reviews  {seconds:7.2f} s  {count / seconds:>9,.0f} reviews/s  {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "bench.db")
        business_id = ensure_business(db, "Hansen VVS ApS")
        reviews = make_reviews(business_id, args.reviews)
        timed("first save (insert + FTS)", len(reviews), lambda: save_reviews(db, reviews, now="2026-11-01T00:00:00Z"))
        timed("re-save unchanged", len(reviews), lambda: save_reviews(db, reviews, now="2026-11-08T00:00:00Z"))
        rng = random.Random(2)
        edited = [r | {"body": r["body"] + " opdateret", "reply_body": "Tak"} if rng.random() < 0.1 else r for r in reviews]
        timed("re-save, 10% edited + replied", len(edited), lambda: save_reviews(db, edited, now="2026-11-15T00:00:00Z"))
        print(f"history rows: {db['review_history'].count}, database: {Path(folder, 'bench.db').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
