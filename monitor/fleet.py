"""A crawl fleet on Redis: queue a crawl's sources, follow its progress, and the one writer that stores its pages.

`repmon crawl --redis` seeds one request per source (scrapy-redis's dupefilter keeps a source from being
walked twice at once), `repmon worker` nodes walk them (spiders/fleet.py), and `repmon store` moves each
handed-over page from Redis into SQLite through the same storage code as a single-machine crawl.
The writer takes a page into a list of its own before storing it and removes it once committed: a
writer killed in between stores it again on restart, and storage is an upsert by review id.
"""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import sqlite_utils

from monitor.crawl import CrawlSummary
from monitor.db import DatabaseBusy, database_lock, open_db, storage_fault, utc_now
from monitor.store import SaveResult, crawl_runs_started_at, save_crawled
from spiders.fleet import (DUPEFILTER_KEY, ITEMS_KEY, LEASED_KEY, QUEUE_KEY, STORING_KEY, WRITER_KEY, FleetSpider,
                           SourceDupeFilter, crawl_key, encode_request, requeue_expired)
from spiders.pipelines import write_health
from spiders.review_spider import Target

WRITER_CLAIM_SECONDS = 5  # a writer killed with kill -9 is replaced this long after its last beat
BATCH = 500  # pages per transaction
BATCHES_KEPT = timedelta(days=7)  # a batch is stored again within minutes of its first commit, if ever


class FleetUnavailable(Exception):
    """Redis cannot be reached at the URL given (named without its password)."""


class CrawlLost(Exception):
    """The crawl's state is gone from Redis: a Redis restarted without its append-only file."""


class WriterBusy(Exception):
    """Another `repmon store` is the fleet's writer."""


def safe_url(url: str) -> str:
    """The Redis URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def connect(url: str) -> redis.Redis:
    """A client for the fleet's Redis, checked with a PING."""
    try:
        server = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        server.ping()
    except ValueError as error:
        raise FleetUnavailable(f"--redis {safe_url(url)}: not a Redis URL ({error})") from None
    except redis.AuthenticationError as error:
        raise FleetUnavailable(f"--redis {safe_url(url)}: Redis refused the password ({error})") from None
    except redis.RedisError as error:
        raise FleetUnavailable(f"--redis {safe_url(url)}: Redis cannot be reached ({error})") from None
    return server


# The crawl coordinator -----------------------------------------------------------------------------------

@dataclass
class FleetCrawl:
    """A crawl put on the fleet's queue: its id, its start, the sources queued and those already being walked."""

    crawl_id: str
    started_at: str
    source_ids: list[str]
    already_walking: list[str]


@dataclass
class Progress:
    sources: int
    stored: int
    pages: int
    errors: int
    queued: int
    in_flight: int
    waiting_to_store: int

    def line(self) -> str:
        return (f"fleet: {self.stored}/{self.sources} sources stored, {self.pages} pages fetched, {self.errors} errors; "
                f"{self.queued} requests queued, {self.in_flight} being fetched, {self.waiting_to_store} pages to store")


def enqueue_crawl(server: redis.Redis, targets: list[Target]) -> FleetCrawl:
    """Put one request per source on the fleet's queue; a source the fleet is walking already is left to that walk."""
    crawl = FleetCrawl(uuid.uuid4().hex[:12], utc_now(), [], [])
    spider = FleetSpider()
    dupefilter = SourceDupeFilter(server, DUPEFILTER_KEY)
    seeds = []
    for target in targets:
        request = spider.seed(crawl.crawl_id, target)
        if dupefilter.request_seen(request):
            crawl.already_walking.append(target.url)
            continue
        crawl.source_ids.append(target.source_id)
        seeds.append(encode_request(request, spider))
    with server.pipeline(transaction=True) as pipe:
        pipe.hset(crawl_key(crawl.crawl_id), mapping={"sources": len(seeds), "stored": 0, "pages": 0, "errors": 0,
                                                      "started_at": crawl.started_at})
        for seed in seeds:
            pipe.lpush(QUEUE_KEY, seed)
        pipe.execute()
    return crawl


def progress(server: redis.Redis, crawl_id: str) -> Progress:
    counts = {key.decode(): value for key, value in server.hgetall(crawl_key(crawl_id)).items()}
    return Progress(int(counts.get("sources", 0)), int(counts.get("stored", 0)), int(counts.get("pages", 0)),
                    int(counts.get("errors", 0)), int(server.llen(QUEUE_KEY)), int(server.zcard(LEASED_KEY)),
                    int(server.llen(ITEMS_KEY)) + int(server.llen(STORING_KEY)))


def wait_for_crawl(server: redis.Redis, crawl: FleetCrawl, report: Callable[[str], None],
                   every_seconds: float = 10.0, poll_seconds: float = 0.5) -> Progress:
    """Wait until the writer has stored every source of the crawl, reporting progress; expired leases go back."""
    last_report = 0.0
    unreachable = False
    while True:
        try:
            requeue_expired(server)
            state = progress(server, crawl.crawl_id)
            present = server.exists(crawl_key(crawl.crawl_id))
        except redis.ConnectionError as error:
            if not unreachable:
                report(f"fleet: Redis unreachable ({error}); waiting for it")
            unreachable = True
            time.sleep(1.0)
            continue
        if unreachable:
            report("fleet: Redis is back; the crawl goes on")
            unreachable = False
        if not present:
            raise CrawlLost(f"crawl {crawl.crawl_id} is gone from Redis (restarted without appendonly?); what was "
                            "stored is kept: run the crawl again and it goes on from each source's checkpoint")
        if state.stored >= state.sources:
            return state
        if time.monotonic() - last_report >= every_seconds:
            report(state.line())
            last_report = time.monotonic()
        time.sleep(poll_seconds)


def crawl_summary(db_path: Path, crawl: FleetCrawl) -> CrawlSummary:
    """The crawl_runs rows the writer wrote for this crawl's sources."""
    db = sqlite_utils.Database(db_path)
    try:
        wanted = set(crawl.source_ids)
        return CrawlSummary([run for run in crawl_runs_started_at(db, crawl.started_at) if run["source_id"] in wanted])
    finally:
        db.close()


# The writer ----------------------------------------------------------------------------------------------

CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]); return 1 end
return 0
"""


class Writer:
    """Drains handed-over pages from Redis into the database, one batch per transaction, each page exactly once."""

    def __init__(self, server: redis.Redis, db_path: Path, max_error_rate: float, name: str,
                 report: Callable[[str], None]):
        self.server, self.db_path, self.max_error_rate, self.name, self.report = (
            server, db_path, max_error_rate, name, report)
        self._claim = server.register_script(CLAIM)
        with self._locked():  # shaping the database must not race a crawl reading its sources
            self.db = open_db(db_path)

    def claim(self, wait: bool = True) -> None:
        """Become the fleet's one writer, waiting for a writer that stopped to lapse."""
        told = False
        while not self._claim(keys=[WRITER_KEY], args=[self.name, WRITER_CLAIM_SECONDS]):
            if not wait:
                raise WriterBusy(f"{self.server.get(WRITER_KEY).decode()} is the fleet's writer already")
            if not told:
                self.report(f"store: {self.server.get(WRITER_KEY).decode()} is the fleet's writer; waiting until "
                            f"it stops (at most {WRITER_CLAIM_SECONDS} s after its last beat)")
                told = True
            time.sleep(1.0)

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Store pages as they come until `stop()`; Redis going away is waited out."""
        self.claim()
        while not stop():
            try:
                self._claim(keys=[WRITER_KEY], args=[self.name, WRITER_CLAIM_SECONDS])
                batch = self.take()
                if batch:
                    self.store(batch)
            except redis.ConnectionError as error:
                self.report(f"store: Redis unreachable ({error}); trying again")
                time.sleep(1.0)

    def take(self) -> list[bytes]:
        """Pages moved to the writer's own list: those a killed writer left there first, then new ones."""
        if not self.server.llen(STORING_KEY):
            if self.server.blmove(ITEMS_KEY, STORING_KEY, 1, "RIGHT", "LEFT") is None:
                return []
            with self.server.pipeline(transaction=False) as pipe:
                for _ in range(BATCH - 1):
                    pipe.lmove(ITEMS_KEY, STORING_KEY, "RIGHT", "LEFT")
                pipe.execute()
        return list(reversed(self.server.lrange(STORING_KEY, 0, -1)))  # oldest first

    def store(self, batch: list[bytes]) -> None:
        """Commit the batch to the database, then note it in Redis (counts, sources done) and let it go."""
        self.note(batch, self.commit(batch))

    def commit(self, batch: list[bytes]) -> dict[tuple[str, str], SaveResult]:
        """The batch's reviews, walks and health rows in one transaction, with what it counted per source.

        A batch committed before (its writer was killed before noting it in Redis) is stored again, which
        changes nothing, and counts what it counted the first time."""
        items = [pickle.loads(data) for data in batch]
        key = hashlib.sha1(b"".join(batch)).hexdigest()
        saved: dict[tuple[str, str], SaveResult] = {}
        with self._locked():
            with self.db.atomic():
                counted = {(crawl_id, source_id): SaveResult(new=new, updated=updated)
                           for crawl_id, source_id, new, updated in self.db.execute(
                               "SELECT crawl_id, source_id, new, updated FROM fleet_batches WHERE batch = ?", [key])}
                for group in _by_source(items):
                    ids = (group[0]["crawl_id"], group[0]["source_id"])
                    result = self._save(group)
                    saved[ids] = counted.get(ids, result) if counted else result
                    saved[ids].rejected = result.rejected
                if not counted:
                    now = utc_now()
                    self.db["fleet_batches"].insert_all(
                        [{"batch": key, "crawl_id": crawl_id, "source_id": source_id, "new": result.new,
                          "updated": result.updated, "stored_at": now} for (crawl_id, source_id), result in saved.items()])
                    self.db.execute("DELETE FROM fleet_batches WHERE stored_at < ?",
                                    [(datetime.now(timezone.utc) - BATCHES_KEPT).strftime("%Y-%m-%dT%H:%M:%SZ")])
                for item in items:
                    if item["done"]:
                        self._write_health(item, saved.get((item["crawl_id"], item["source_id"]), SaveResult()))
        return saved

    def note(self, batch: list[bytes], saved: dict[tuple[str, str], SaveResult]) -> None:
        done = [item for item in (pickle.loads(data) for data in batch) if item["done"]]
        with self.server.pipeline(transaction=True) as pipe:
            for (crawl_id, source_id), result in saved.items():
                pipe.hincrby(crawl_key(crawl_id) + ":saved", f"{source_id}:new", result.new)
                pipe.hincrby(crawl_key(crawl_id) + ":saved", f"{source_id}:updated", result.updated)
            for item in done:
                pipe.hincrby(crawl_key(item["crawl_id"]), "stored", 1)
                pipe.srem(DUPEFILTER_KEY, item["source_id"])
            pipe.delete(STORING_KEY)
            pipe.execute()

    def _save(self, group: list[dict[str, Any]]) -> SaveResult:
        reviews = [review for item in group for review in item["reviews"]]
        walks = [item["walk"] for item in group if item["walk"]]
        stats = [item["stats"] for item in group if item["stats"]]
        try:
            return save_crawled(self.db, reviews, walks, stats)
        except sqlite3.Error as error:
            if storage_fault(error, self.db_path):
                raise
        result = SaveResult()  # one record SQLite refuses loses only that record
        for record in reviews:
            try:
                one = save_crawled(self.db, [record], [], [])
            except sqlite3.Error as error:
                if storage_fault(error, self.db_path):
                    raise
                result.rejected.append((0, f"review {record.get('id', '?')}: not stored ({error})"))
                continue
            result.new, result.updated = result.new + one.new, result.updated + one.updated
        save_crawled(self.db, [], walks, stats)
        return result

    def _write_health(self, item: dict[str, Any], this_batch: SaveResult) -> None:
        """The source's crawl_runs row, once: a batch stored again after a killed writer finds it written."""
        crawl_id, source_id = item["crawl_id"], item["source_id"]
        started_at = (self.server.hget(crawl_key(crawl_id), "started_at") or b"").decode() or utc_now()
        if any(run["source_id"] == source_id for run in crawl_runs_started_at(self.db, started_at)):
            return
        earlier = self.server.hmget(crawl_key(crawl_id) + ":saved", [f"{source_id}:new", f"{source_id}:updated"])
        saved = SaveResult(new=this_batch.new + int(earlier[0] or 0), updated=this_batch.updated + int(earlier[1] or 0))
        saved.rejected = this_batch.rejected
        done = item["done"]
        write_health(self.db, done["target"], done["health"], saved, started_at, utc_now(), self.max_error_rate)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The database's lock for one batch; while analyze or match hold it, pages wait in Redis."""
        told = False
        with ExitStack() as stack:
            while True:
                try:
                    stack.enter_context(database_lock(self.db_path))
                    break
                except DatabaseBusy as error:
                    if not told:
                        self.report(f"store: {error}; waiting")
                        told = True
                    time.sleep(0.5)
            yield

    def close(self) -> None:
        self.db.close()
        if self.server.get(WRITER_KEY) == self.name.encode():
            self.server.delete(WRITER_KEY)


def _by_source(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Pages grouped by crawl and source, each group in the order handed over (checkpoints move forward)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault((item["crawl_id"], item["source_id"]), []).append(item)
    return list(groups.values())
