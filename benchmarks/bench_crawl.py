"""Crawl throughput on loopback, politeness off: the real pipeline (SQLite, history, FTS, health)
against bare Scrapy with a no-op pipeline, on the same generated Trustpilot pages; and parse cost.

    python benchmarks/bench_crawl.py [--companies 200] [--pages 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # so the crawl process can import NullPipeline

from monitor.config import Crawl  # noqa: E402
from monitor.crawl import run_crawl, targets_from_urls  # noqa: E402
from monitor.db import open_db  # noqa: E402
from monitor.loopback import LoopbackSite, Page  # noqa: E402
from monitor.sample_sites import trustpilot_page, trustpilot_path  # noqa: E402
from spiders.pipelines import StoragePipeline  # noqa: E402
from spiders.settings import impolite, scrapy_settings  # noqa: E402
from spiders.trustpilot import parse_trustpilot  # noqa: E402

PER_PAGE = 20


class NullPipeline(StoragePipeline):
    """Bare Scrapy: items are dropped on the floor; only the per-source health row is written."""

    def process_item(self, item, spider=None):
        return item


def build_site(companies: int, pages: int) -> dict[str, Page]:
    site = {}
    for company in range(companies):
        domain = f"firma{company:04d}.dk"
        for page in range(1, pages + 1):
            reviews = [
                {"id": f"{company:06d}{page:04d}{n:014d}", "rating": n % 5 + 1, "title": f"Anmeldelse {n}",
                 "text": "Montøren kom til tiden og efterlod badeværelset pænt. " * 3, "language": "da",
                 "published": f"2026-{(page % 12) + 1:02d}-{n + 1:02d}T10:00:00.000Z", "author": f"Kunde {n}",
                 "reply": {"message": "Tak!", "published": "2026-11-01T10:00:00.000Z"} if n % 3 == 0 else None}
                for n in range(PER_PAGE)
            ]
            site[trustpilot_path(domain, page)] = Page(trustpilot_page(domain, f"Firma {company}", reviews, page, pages, pages * PER_PAGE))
    return site


def crawl_once(site: LoopbackSite, companies: int, folder: Path, label: str, **overrides) -> tuple[float, int]:
    db_path = folder / f"{label}.db"
    db = open_db(db_path)
    urls = [site.url(trustpilot_path(f"firma{c:04d}.dk", 1)) for c in range(companies)]
    targets = targets_from_urls(db, urls, "trustpilot", None, None, max_pages=1000)
    db.close()
    settings = impolite(scrapy_settings(Crawl(), db_path)) | {"LOG_LEVEL": "ERROR"} | overrides
    start = time.perf_counter()
    summary = run_crawl(db_path, targets, Crawl(), **settings)
    return time.perf_counter() - start, summary.total("pages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=200)
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    pages = build_site(args.companies, args.pages)
    bodies = list(pages.items())[:200]
    start = time.perf_counter()
    for path, page in bodies:
        parse_trustpilot(page.body, "http://127.0.0.1" + path)
    per_page = (time.perf_counter() - start) / len(bodies)
    print(f"parse only: {per_page * 1000:.2f} ms/page ({1 / per_page:,.0f} pages/s), {len(bodies[0][1].body) / 1000:.0f} kB/page")
    with LoopbackSite(pages) as site, tempfile.TemporaryDirectory() as folder:
        bare_seconds, bare_pages = crawl_once(site, args.companies, Path(folder), "bare",
                                              ITEM_PIPELINES={"bench_crawl.NullPipeline": 300})
        real_seconds, real_pages = crawl_once(site, args.companies, Path(folder), "real")
        reviews = real_pages * PER_PAGE
    bare_rate, real_rate = bare_pages / bare_seconds, real_pages / real_seconds
    print(f"bare Scrapy, no-op pipeline: {bare_pages} pages in {bare_seconds:.1f} s = {bare_rate:,.0f} pages/s")
    print(f"real pipeline (SQLite, history, FTS, health): {real_pages} pages in {real_seconds:.1f} s = "
          f"{real_rate:,.0f} pages/s, {reviews / real_seconds:,.0f} reviews/s")
    print(f"real / bare: {real_rate / bare_rate:.0%}")


if __name__ == "__main__":
    main()
