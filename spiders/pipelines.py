"""The pipeline that hands review records to storage and writes each source's crawl health."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import sqlite_utils
from scrapy.crawler import Crawler

from monitor.db import storage_fault, utc_now
from monitor.store import SaveResult, last_crawl_run, mark_removed, record_crawl_run, save_crawled
from spiders.review_spider import Health, Target

STORAGE_FAULT = "repmon/storage_fault"  # crawler stat: why the database refused the crawl's writes

BATCH = 500
LISTING_PARSERS = ("trustpilot", "schemaorg")  # sources that list every review (feeds roll over)


class StoragePipeline:
    """Saves reviews in batches (one transaction each) and, at the end, one crawl_runs row per source."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.settings = crawler.settings
        self.buffers: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.results: dict[int, SaveResult] = defaultdict(SaveResult)
        # Per source, the latest walk checkpoint and platform figures, saved with the buffered reviews.
        self.walks: dict[int, dict[str, Any]] = {}
        self.stats: dict[int, dict[str, Any]] = {}
        self.started_at = utc_now()
        self.fault: str | None = None  # the database refused writes: nothing more can be stored

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        return cls(crawler)

    def open_spider(self, spider: Any = None) -> None:
        self.db = sqlite_utils.Database(self.settings.get("REPMON_DB"))
        self.db.execute("PRAGMA foreign_keys = ON")

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        if self.fault:
            return item
        buffer = self.buffers[item["target"]]
        buffer.extend(item["reviews"])
        self._note_walk(item)
        if len(buffer) >= BATCH:
            self._flush(item["target"])
        return item

    def close_spider(self, spider: Any = None) -> None:
        spider = self.crawler.spider
        for index in list(self.buffers):
            self._flush(index)
        if self.fault:
            self.db.close()
            return
        finished_at = utc_now()
        max_error_rate = self.settings.getfloat("REPMON_MAX_ERROR_RATE", 0.25)
        for index, (target, health) in enumerate(zip(spider.targets, spider.health)):
            write_health(self.db, target, health, self.results[index], self.started_at, finished_at, max_error_rate)
        self.db.close()

    def _note_walk(self, item: dict[str, Any]) -> None:
        if item.get("walk"):
            self.walks[item["target"]] = item["walk"]
        if item.get("stats"):
            self.stats[item["target"]] = item["stats"]

    def _flush(self, index: int) -> None:
        batch, self.buffers[index] = self.buffers[index], []
        walks = [self.walks.pop(index)] if index in self.walks else []
        stats = [self.stats.pop(index)] if index in self.stats else []
        if (batch or walks or stats) and not self.fault:
            result = self._save(batch, walks, stats)
            total = self.results[index]
            total.new += result.new
            total.updated += result.updated
            total.unchanged += result.unchanged
            total.rejected.extend(result.rejected)


    def _save(self, batch: list[dict[str, Any]], walks: list[dict[str, Any]], stats: list[dict[str, Any]]) -> SaveResult:
        """One transaction for the batch; if SQLite refuses it for one record, each record alone, so only that one is lost."""
        try:
            return save_crawled(self.db, batch, walks, stats)
        except sqlite3.Error as error:
            if self._stop_on(error):
                return SaveResult()
        result = SaveResult()
        for position, record in enumerate(batch):
            try:
                one = save_crawled(self.db, [record], [], [])
            except sqlite3.Error as error:
                if self._stop_on(error):
                    return result
                result.rejected.append((position, f"review {record.get('id', '?')}: not stored ({error})"))
                continue
            result.new, result.updated, result.unchanged = (result.new + one.new, result.updated + one.updated,
                                                            result.unchanged + one.unchanged)
            result.rejected.extend(one.rejected)
        if not self.fault:
            try:
                save_crawled(self.db, [], walks, stats)
            except sqlite3.Error as error:
                self._stop_on(error)
        return result

    def _stop_on(self, error: sqlite3.Error) -> bool:
        """A full disk or a read-only file: stop the crawl and say so (the parent exits non-zero with the cause)."""
        cause = storage_fault(error, Path(self.settings.get("REPMON_DB")))
        if cause is None:
            return False
        self.fault = f"{cause} ({error})"
        self.crawler.stats.set_value(STORAGE_FAULT, self.fault)  # read by monitor.crawl when the crawl ends
        return True


def write_health(db: sqlite_utils.Database, target: Target, health: Health, saved: SaveResult, started_at: str,
                 finished_at: str, max_error_rate: float) -> int:
    """A source's crawl_runs row from what its crawl saw and stored; reviews gone from a whole walk marked removed."""
    removed = 0
    # Only a whole walk read through the page's primary format says what is gone.
    if (health.complete and health.errors == 0 and not health.not_modified and not health.fallback_pages
            and health.parser in LISTING_PARSERS):
        removed = mark_removed(db, target.source_id, health.seen_ids, finished_at)
    for _, problem in saved.rejected:
        health.problems.append(problem)
    health.dropped += len(saved.rejected)
    status, message = judge(health, last_crawl_run(db, target.source_id), max_error_rate)
    return record_crawl_run(
        db,
        {
            "source_id": target.source_id,
            "business_id": target.business_id,
            "url": target.url,
            "started_at": started_at,
            "finished_at": finished_at,
            "pages": health.pages,
            "reviews_seen": health.reviews_seen,
            "new": saved.new,
            "updated": saved.updated,
            "removed": removed,
            "errors": health.errors + len(saved.rejected),
            "status": status,
            "message": "\n".join([message, *health.problems][:50]).strip() or None,
            "dropped": health.dropped,
        },
        health.etag,
        health.last_modified,
    )


def judge(health: Health, previous: dict[str, Any] | None, max_error_rate: float) -> tuple[str, str]:
    """ok, degraded or failed, and why: silent breakage is what a health check is for."""
    if health.pages == 0:
        return "failed", "no page could be fetched"
    if health.not_modified:
        return "ok", "not modified since the last crawl"
    if health.walk_stopped:
        return "degraded", "the source answered with a page other than the one asked for"
    if health.fallback_pages:
        return "degraded", (f"{health.fallback_pages} of {health.pages} pages read through the JSON-LD fallback "
                            "(the embedded review data is missing or renamed): stored replies and ratings are kept "
                            "as they were and no review is marked removed")
    if health.dropped:
        return "degraded", f"{health.dropped} malformed review records dropped; the others are stored"
    # A feed rolls over and a week without a mention is normal; a listing that empties is not.
    if health.reviews_seen == 0 and previous and (previous.get("reviews_seen") or 0) > 0 and health.parser != "feed":
        return "degraded", (
            f"no reviews found where the previous crawl found {previous['reviews_seen']}: "
            "the page may have changed its format"
        )
    if health.errors and health.error_rate > max_error_rate:
        return "degraded", f"{health.errors} of {health.pages + health.failed_requests} pages failed"
    return "ok", ""
