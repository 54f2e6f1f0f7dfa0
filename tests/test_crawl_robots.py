"""robots.txt holds for every request that waited for it, not only the first (Scrapy's asyncio-reactor gap)."""

from __future__ import annotations

from monitor.config import Crawl
from monitor.crawl import run_crawl, targets_from_urls
from monitor.db import open_db
from monitor.loopback import LoopbackSite, Page
from tests.test_crawl import ROBOTS


def test_robots_txt_forbids_every_request_that_waited_for_it(tmp_path):
    pages = {"/robots.txt": ROBOTS} | {f"/private/{n}": Page(b"<html></html>") for n in range(4)}
    with LoopbackSite(pages) as site:
        db_path = tmp_path / "monitor.db"
        db = open_db(db_path)
        targets = targets_from_urls(db, [site.url(f"/private/{n}") for n in range(4)], "schemaorg", None, None, 5)
        db.close()
        summary = run_crawl(db_path, targets, Crawl(download_delay=0, autothrottle=False))
    assert site.paths_requested() == []
    assert [run["message"].splitlines()[-1] for run in summary.runs] == [
        f"{site.url(f'/private/{n}')}: forbidden by robots.txt" for n in range(4)]
