"""Explorer response times on a million reviews: every canned query, the main table pages and every
dashboard chart, through Datasette's own client (no network), p50 and p95 over repeated requests.

    python benchmarks/explorer_speed.py [--reviews 1000000] [--repeat 10] [--db bench.db]

With --db the database is built once into that file and reused by later runs.
"""

from __future__ import annotations

import argparse
import gc
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

from monitor.config import Config
from monitor.db import open_db
from monitor.explorer import DEFAULT_METADATA, build_datasette
from monitor.store import ensure_business
from monitor.summaries import run_summaries

THEMES = ["leak", "crack", "delay", "no_show", "extra_cost", "mess", "rude", "communication"]


def fill(db, business_id: str, count: int) -> None:
    rng = random.Random(3)
    start = date(2023, 1, 1)
    jobs = [(f"{business_id}:J{n}", business_id, f"J{n}", f"Kunde {n}", (start + timedelta(days=n % 1400)).isoformat(),
             rng.choice(["Badeværelse", "Køkken", "Afløb"]), rng.choice(["Kasper", "Mads", "Emil"])) for n in range(50_000)]
    with db.atomic():
        db.conn.executemany("INSERT INTO jobs (id, business_id, job_id, customer_name, completed_at, job_type, crew) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", jobs)
    columns = ("id, business_id, source, external_id, author, rating, title, body, lang, published_at, reply_body, reply_at, "
               "complaint, first_seen_at, last_seen_at")
    batch, themes, matches = [], [], []
    for n in range(count):
        day = start + timedelta(days=rng.randrange(1400))
        complaint = rng.random() < 0.12
        replied = rng.random() < 0.6
        published = f"{day.isoformat()}T10:00:00Z"
        batch.append((f"r:{n}", business_id, rng.choice(["trustpilot", "google", "schemaorg:example.dk"]), str(n), f"Kunde {n % 50000}",
                      rng.choice([1, 2]) if complaint else rng.choice([4, 5]), "Titel", "Vand under gulvet efter arbejdet" if complaint
                      else "Flot arbejde, tak", "da", published, "Tak" if replied else None,
                      f"{(day + timedelta(days=1)).isoformat()}T10:00:00Z" if replied else None, int(complaint), published, published))
        if complaint:
            themes.append((f"r:{n}", rng.choice(THEMES), "Vand under gulvet"))
        if n % 10 == 0:
            matches.append((f"r:{n}>{business_id}:J{n % 50000}", f"r:{n}", f"{business_id}:J{n % 50000}", 0.9, "auto"))
        if len(batch) == 50_000:
            _flush(db, columns, batch, themes, matches)
            batch, themes, matches = [], [], []
    _flush(db, columns, batch, themes, matches)
    with db.atomic():
        db.execute("INSERT INTO reviews_fts (reviews_fts) VALUES ('rebuild')")
        for n in range(20):
            pattern_id = f"{business_id}:defect:{THEMES[n % 8]}:crew:K{n}"
            db.table("patterns").insert({"id": pattern_id, "business_id": business_id, "kind": "defect", "theme": THEMES[n % 8],
                                         "dimension": "crew", "dimension_value": f"K{n}", "status": "emerging",
                                         "evidence_count": 3, "last_evidence_at": "2026-10-01"})
            db.table("pattern_members").insert_all({"pattern_id": pattern_id, "review_id": f"r:{n * 1000 + k}"} for k in range(3))
        db.conn.executemany("INSERT INTO follow_ups (id, business_id, job_id, kind, due_at) VALUES (?, ?, ?, 'routine', ?)",
                            [(f"{j[0]}:routine", business_id, j[0], j[4]) for j in jobs])


def _flush(db, columns, batch, themes, matches) -> None:
    with db.atomic():
        db.conn.executemany(f"INSERT INTO reviews ({columns}) VALUES ({', '.join('?' * 15)})", batch)
        db.conn.executemany("INSERT INTO review_themes (review_id, theme, evidence) VALUES (?, ?, ?)", themes)
        db.conn.executemany("INSERT INTO matches (id, review_id, job_id, score, status) VALUES (?, ?, ?, ?, ?)", matches)


PARAMS = {"unanswered_complaints": {"business": ""}, "pattern_evidence": {"pattern_id": "hansen-vvs-aps:defect:leak:crew:K0"},
          "job_timeline": {"job_id": "J17"}, "follow_ups_due": {"today": "2026-10-01", "days_ahead": "7"},
          "search_reviews": {"q": "gulvet"}}


async def measure(datasette, path: str, params: dict, repeat: int) -> list[float]:
    await datasette.client.get(path, params=params, follow_redirects=True)  # warm up: templates compiled, connection open
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = await datasette.client.get(path, params=params, follow_redirects=True)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:300]}")
    return times


async def run_all(db_path: Path, repeat: int, only: str = "") -> list[tuple[str, float, float]]:
    datasette = build_datasette(db_path, Config())
    await datasette.client.get("/")
    gc.freeze()  # as explorer.serve_forever does
    metadata = yaml.safe_load(DEFAULT_METADATA.read_text(encoding="utf-8"))
    name_of_db = db_path.stem
    targets = [("home page", "/", {}), ("database page", f"/{name_of_db}", {})]
    targets += [(f"query {name}", f"/{name_of_db}/{name}", PARAMS.get(name, {}))  # the HTML page a person reads
                for name, query in metadata["databases"]["monitor"]["queries"].items() if not query.get("write")]
    tables = [row[0] for row in sqlite3.connect(db_path).execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'reviews_fts%' "
        "AND name NOT LIKE 'sqlite_%' AND name != '_migrations' ORDER BY type, rowid")]
    targets += [(f"table {table}", f"/{name_of_db}/{table}", {}) for table in tables]
    targets += [("table reviews, search box (redirects to search_reviews)", f"/{name_of_db}/reviews", {"_search": "gulvet"})]
    targets += [(f"chart {name}", f"/{name_of_db}.json", {"sql": chart["query"], "_shape": "array"})
                for name, chart in metadata["plugins"]["datasette-dashboards"]["repmon"]["charts"].items()]
    targets += [("dashboard page", "/-/dashboards/repmon", {})]
    results = []
    for label, path, params in targets:
        if only not in label:
            continue
        times = sorted(await measure(datasette, path, params, repeat))
        results.append((label, statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]))
    return results


def build(db_path: Path, reviews: int) -> None:
    db = open_db(db_path)
    business_id = ensure_business(db, "Hansen VVS ApS")
    start = time.perf_counter()
    fill(db, business_id, reviews)
    summaries = time.perf_counter()
    run_summaries(db)
    print(f"built {reviews:,} reviews in {summaries - start:.0f} s; summaries in {time.perf_counter() - summaries:.1f} s")
    db.execute("ANALYZE")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", default="", help="measure only pages whose label contains this")
    parser.add_argument("--db", type=Path, help="build the database into this file once and reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_path = args.db or Path(folder) / "bench.db"
        if not db_path.exists():
            build(db_path, args.reviews)
        else:  # a database built by an earlier version: bring its shape up to date
            db = open_db(db_path)
            db.execute("ANALYZE")
            db.close()
        results = asyncio.run(run_all(db_path, args.repeat, args.only))
    print(f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8}")
    for label, p50, p95 in results:
        print(f"{label:<44} {p50:8.1f} {p95:8.1f}{'  over 100 ms' if p95 > 100 else ''}")


if __name__ == "__main__":
    main()
