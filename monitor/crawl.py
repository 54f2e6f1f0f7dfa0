"""Crawl sources with Scrapy: build targets from config or URLs, run one crawl, summarise its health."""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from monitor.config import Config, Crawl
from monitor.store import ensure_business, ensure_source, known_review_ids, review_ids_seen_before, walk_checkpoint
from spiders.review_spider import Resume, Target
from spiders.settings import scrapy_settings
from spiders.trustpilot import page_url

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class CrawlFailed(Exception):
    """The crawl process itself died; what it stored before that is kept."""


@dataclass
class CrawlSummary:
    """Totals over the sources of one crawl, and each source's crawl_runs row."""

    runs: list[dict[str, Any]] = field(default_factory=list)

    def total(self, column: str) -> int:
        return sum(run[column] or 0 for run in self.runs)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [run for run in self.runs if run["status"] == "failed"]

    @property
    def degraded(self) -> list[dict[str, Any]]:
        return [run for run in self.runs if run["status"] == "degraded"]


def targets_from_config(db: sqlite_utils.Database, config: Config, full: bool = False) -> list[Target]:
    """Every configured source of every business (config already synced to the database)."""
    targets = []
    for business in config.business:
        business_id = ensure_business(db, business.name, business)
        for source in business.source:
            source_id = ensure_source(db, business_id, source.kind, source.url, source.name)
            targets.append(
                _target(db, source.url, business_id, source_id, source.kind,
                        [business.name, *business.aliases] if source.kind == "feed" else None,
                        source.max_pages or config.crawl.max_pages, full)
            )
    return targets


def targets_from_urls(db: sqlite_utils.Database, urls: list[str], parser: str, business_id: str | None,
                      mention_names: list[str] | None, max_pages: int, full: bool = False) -> list[Target]:
    """Ad-hoc URLs; without a business each is stored under a business named after the site it reviews."""
    targets = []
    for url in urls:
        owner = business_id or ensure_business(db, reviewed_site(url))
        source_id = ensure_source(db, owner, parser, url)
        targets.append(_target(db, url, owner, source_id, parser, mention_names if business_id else None, max_pages, full))
    return targets


def reviewed_site(url: str) -> str:
    """'dk.trustpilot.com/review/hansen-vvs.dk' -> 'hansen-vvs.dk'; any other URL -> its host."""
    parts = urlsplit(url)
    if parts.path.startswith("/review/"):
        return parts.path.split("/")[2]
    return parts.hostname or url


def _target(db: sqlite_utils.Database, url: str, business_id: str, source_id: str, parser: str,
            mention_names: list[str] | None, max_pages: int, full: bool) -> Target:
    source = db.table("sources").get(source_id)
    resume = None if full else _resume(db, source_id, url, parser)
    return Target(
        url=url,
        business_id=business_id,
        source_id=source_id,
        parser=parser,
        mention_names=mention_names,
        known_ids=known_review_ids(db, source_id),
        max_pages=max_pages,
        full=full,
        etag=source.get("etag"),
        last_modified=source.get("last_modified"),
        resume=resume,
    )


def crawl_log_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".crawl.log")


def _resume(db: sqlite_utils.Database, source_id: str, url: str, parser: str) -> Resume | None:
    """Where the previous walk of a source stopped, when it stopped before its end (killed, failed, page limit)."""
    walk = walk_checkpoint(db, source_id)
    if walk is None or walk["walk_complete"]:
        return None
    page, resume_url = int(walk["last_page"]), walk["last_url"]
    if parser == "trustpilot":  # rebuilt from its number, so a listing that moved host or port resumes too
        resume_url = page_url(url, page)
    elif urlsplit(resume_url).netloc != urlsplit(url).netloc:
        page, resume_url = 1, url  # the source moved: its old pages are no guide; walk it again from the start
    known_before = set() if walk["walk_full"] else review_ids_seen_before(db, source_id, walk["walk_started_at"])
    return Resume(resume_url, page, walk["walk_started_at"], bool(walk["walk_full"]), known_before)


def run_crawl(db_path: Path, targets: list[Target], crawl: Crawl, **settings: Any) -> CrawlSummary:
    """Crawl all targets in one Scrapy run and return the crawl_runs rows it wrote.

    Twisted's reactor cannot be restarted in a process, so the crawl runs in a forked
    child: `repmon run`, the demo and the tests can crawl many times in one process.
    """
    if not targets:
        return CrawlSummary()
    db = sqlite_utils.Database(db_path)
    before = db.execute("SELECT COALESCE(MAX(id), 0) FROM crawl_runs").fetchone()[0]
    db.close()
    context = multiprocessing.get_context("fork")
    # Scrapy's own log, tracebacks and all, goes beside the database; the command prints each source's health.
    quiet = {"LOG_FILE": str(crawl_log_path(db_path)), "LOG_FILE_APPEND": True}
    faults = context.SimpleQueue()
    child = context.Process(target=_crawl, args=(targets, scrapy_settings(crawl, db_path, **(quiet | settings)),
                                                 os.getpid(), faults))
    child.start()
    child.join()
    if child.exitcode == EXIT_STORAGE_FAULT and not faults.empty():
        raise CrawlFailed(f"{db_path}: {faults.get()}; the reviews stored before that are kept")
    db = sqlite_utils.Database(db_path)
    runs = list(db.query("SELECT * FROM crawl_runs WHERE id > ? ORDER BY id", [before]))
    db.close()
    if child.exitcode != 0 and len(runs) < len(targets):
        raise CrawlFailed(f"the crawl process stopped with exit code {child.exitcode}; reviews saved before that are kept")
    return CrawlSummary(runs)


def _crawl(targets: list[Target], settings: dict[str, Any], parent: int, faults: Any) -> None:
    # What the parent had open (a caller's SQLite connection, say) must never be finalised here: closing
    # an inherited SQLite handle drops this process's locks on the file and can checkpoint its WAL.
    gc.freeze()
    die_with_parent(parent)
    from scrapy.crawler import CrawlerProcess

    from spiders.pipelines import STORAGE_FAULT
    from spiders.review_spider import ReviewSpider

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ReviewSpider)
    process.crawl(crawler, targets=targets)
    process.start()
    fault = crawler.stats.get_value(STORAGE_FAULT)
    if fault:
        faults.put(fault)
        sys.exit(EXIT_STORAGE_FAULT)


EXIT_STORAGE_FAULT = 3


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), so no crawl goes on unwatched.

    A parent killed with SIGKILL cannot stop its child itself; a crawl left running would write
    to the database beside the next one. Elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
