"""The crawl node of a fleet: scrapy-redis's scheduler and dupefilter, with leased requests and a shared rate.

scrapy-redis pops a request off Redis and forgets it, so a node killed with kill -9 loses what it was
fetching. Here a popped request moves into a lease (a sorted set scored by its expiry, on Redis's
clock); the node renews its leases while it lives, and hands a page's items, the source's next request
and the lease's release over in one Lua script, so a page is handed over once or not at all. Any node
puts expired leases back on the queue.

A source's walk is a chain of one request at a time (page N names page N+1), so the request carries the
walk's state (its Target, Health and Walk) and any node can take the next step.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlsplit

import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from twisted.internet import task
from twisted.python.failure import Failure

from spiders.mentions import MentionMatcher
from spiders.review_spider import Health, ReviewSpider, Target, Walk

logger = logging.getLogger(__name__)

PREFIX = "repmon"
QUEUE_KEY = f"{PREFIX}:requests"  # waiting requests, oldest at the right
LEASED_KEY = f"{PREFIX}:requests:leased"  # token -> lease expiry (ms, Redis clock)
LEASED_DATA_KEY = f"{PREFIX}:requests:leased:data"  # token -> the request
DUPEFILTER_KEY = f"{PREFIX}:walking"  # sources whose walk is on the queue: one walk per source at a time
ITEMS_KEY = f"{PREFIX}:items"  # handed-over pages, oldest at the right
STORING_KEY = f"{PREFIX}:items:storing"  # taken by the writer, removed once committed
WRITER_KEY = f"{PREFIX}:writer"  # the one writer's name, while it lives
LEASE_SECONDS = 30.0


def crawl_key(crawl_id: str) -> str:
    """The hash of one fleet crawl's progress: sources, stored, pages, errors, started_at."""
    return f"{PREFIX}:crawl:{crawl_id}"


def rate_key(host: str) -> str:
    return f"{PREFIX}:rate:{host}"


POP = """
local data = redis.call('RPOP', KEYS[1])
if not data then return false end
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], data)
return data
"""

# Release a lease and hand over what its page gave, all or nothing; 0 when the lease was lost meanwhile.
HAND_OVER = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local at = 2
for _, key in ipairs({KEYS[3], KEYS[4]}) do
  local count = tonumber(ARGV[at])
  for i = 1, count do redis.call('LPUSH', key, ARGV[at + i]) end
  at = at + count + 1
end
if KEYS[5] then
  redis.call('HINCRBY', KEYS[5], 'pages', ARGV[at])
  redis.call('HINCRBY', KEYS[5], 'errors', ARGV[at + 1])
end
return 1
"""

RENEW = """
local now = redis.call('TIME')
local expiry = now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i]) end
return #ARGV - 1
"""

RELEASE = """
local released = 0
for i = 1, #ARGV do
  local data = redis.call('HGET', KEYS[2], ARGV[i])
  if data and redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[3], data)
    released = released + 1
  end
  redis.call('HDEL', KEYS[2], ARGV[i])
end
return released
"""

REQUEUE_EXPIRED = """
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms, 'LIMIT', 0, 500)
for _, token in ipairs(expired) do
  local data = redis.call('HGET', KEYS[2], token)
  if data then redis.call('RPUSH', KEYS[3], data) end
  redis.call('HDEL', KEYS[2], token)
  redis.call('ZREM', KEYS[1], token)
end
return #expired
"""

# The next moment a host may be asked, shared by every node: reserve it and say how long to wait (ms).
RATE = """
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
local slot = math.max(ms, tonumber(redis.call('GET', KEYS[1]) or 0))
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + interval, 'PX', slot + interval - ms + 1000)
return slot - ms
"""


class Leases:
    """The requests this node holds, renewed while it lives; expired ones (any node's) go back on the queue."""

    def __init__(self, server: redis.Redis, seconds: float = LEASE_SECONDS):
        self.server = server
        self.ms = int(seconds * 1000)
        self.held: set[str] = set()
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.counter = itertools.count()
        self._pop = server.register_script(POP)
        self._hand_over = server.register_script(HAND_OVER)
        self._renew = server.register_script(RENEW)
        self._requeue = server.register_script(REQUEUE_EXPIRED)
        self._release = server.register_script(RELEASE)

    def pop(self) -> tuple[str, bytes] | None:
        token = f"{self.name}:{next(self.counter)}"
        data = self._pop(keys=[QUEUE_KEY, LEASED_KEY, LEASED_DATA_KEY], args=[token, self.ms])
        if data is None:
            return None
        self.held.add(token)
        return token, data

    def hand_over(self, token: str, items: list[bytes], requests: list[bytes], crawl_id: str | None,
                  pages: int = 0, errors: int = 0) -> bool:
        """Items and follow-up requests of a leased request, and its release, in one step; False if the lease was lost."""
        self.held.discard(token)
        keys = [LEASED_KEY, LEASED_DATA_KEY, ITEMS_KEY, QUEUE_KEY] + ([crawl_key(crawl_id)] if crawl_id else [])
        args = [token, len(items), *items, len(requests), *requests, pages, errors]
        return bool(self._hand_over(keys=keys, args=args))

    def release(self) -> int:
        """Put this node's requests back on the queue now, as a node that stops cleanly does."""
        held, self.held = list(self.held), set()
        return int(self._release(keys=[LEASED_KEY, LEASED_DATA_KEY, QUEUE_KEY], args=held)) if held else 0

    def tick(self) -> int:
        """Renew this node's leases and put every expired lease back on the queue; how many went back."""
        if self.held:
            self._renew(keys=[LEASED_KEY], args=[self.ms, *self.held])
        return int(self._requeue(keys=[LEASED_KEY, LEASED_DATA_KEY, QUEUE_KEY]))


def requeue_expired(server: redis.Redis) -> int:
    """Put every expired lease back on the queue (the crawl coordinator does this too, so no node need be up)."""
    return int(server.register_script(REQUEUE_EXPIRED)(keys=[LEASED_KEY, LEASED_DATA_KEY, QUEUE_KEY]))


class LeasedQueue(Base):
    """scrapy-redis's FIFO queue, where a popped request is leased instead of gone."""

    def __len__(self) -> int:
        try:
            return int(self.server.llen(self.key))
        except redis.ConnectionError:
            return 0

    def push(self, request: Request) -> None:
        """A retry or a redirect of a leased request takes its lease's place on the queue."""
        token = request.meta.pop("fleet_lease", None)
        data = self._encode_request(request)
        if token is None:
            self.server.lpush(self.key, data)
        elif not self.spider.leases.hand_over(token, [], [data], None):
            logger.warning("%s: its lease expired while it was retried; another node fetches it", request.url)

    def pop(self, timeout: int = 0) -> Request | None:
        try:
            popped = self.spider.leases.pop()
        except redis.ConnectionError as error:
            logger.warning("Redis unreachable (%s); trying again", error)
            return None
        if popped is None:
            return None
        token, data = popped
        request = self._decode_request(data)
        request.meta["fleet_lease"] = token
        return request


class SourceDupeFilter(RFPDupeFilter):
    """scrapy-redis's dupefilter keyed by source: a source already being walked by the fleet is not queued twice.

    Requests that come back (expired leases, retries) never pass through it: they are not new walks.
    """

    def request_fingerprint(self, request: Request) -> str:
        return request.meta["fleet"].target.source_id


@dataclass
class WalkState:
    """What a source's next step needs: the crawl it belongs to, the source and the walk so far."""

    crawl_id: str
    target: Target
    health: Health
    walk: Walk | None


class FleetSpider(ReviewSpider):
    """ReviewSpider taking its requests from the fleet's queue; one slot per page being handled."""

    name = "repmon-fleet"

    def __init__(self, leases: Leases | None = None, **kwargs: Any):
        super().__init__(targets=[], **kwargs)
        self.leases = leases
        self.targets, self.health, self.walks, self.matchers = {}, {}, {}, {}  # type: ignore[assignment]
        self.slots = itertools.count()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "FleetSpider":
        server = redis.Redis.from_url(crawler.settings.get("REDIS_URL"))
        leases = Leases(server, crawler.settings.getfloat("REPMON_LEASE_SECONDS", LEASE_SECONDS))
        spider = super().from_crawler(crawler, *args, leases=leases, **kwargs)
        crawler.signals.connect(spider.keep_waiting, signal=signals.spider_idle)
        crawler.signals.connect(spider.start_ticking, signal=signals.spider_opened)
        crawler.signals.connect(spider.give_back, signal=signals.spider_closed)
        return spider

    async def start(self):
        return  # every request comes from the fleet's queue
        yield

    def keep_waiting(self) -> None:
        raise DontCloseSpider  # a node waits for work until it is stopped

    def start_ticking(self) -> None:
        self.ticker = task.LoopingCall(self._tick)
        self.ticker.start(min(self.leases.ms / 3000, 2.0), now=False)
        self.poker = task.LoopingCall(self._poke)
        self.poker.start(0.1, now=False)

    def give_back(self) -> None:
        try:
            released = self.leases.release()
        except redis.ConnectionError:
            return  # their leases expire instead
        if released:
            logger.warning("stopping: %d requests this node held went back on the queue", released)

    def _tick(self) -> None:
        try:
            requeued = self.leases.tick()
        except redis.ConnectionError as error:
            logger.warning("Redis unreachable (%s); leases renewed when it is back", error)
            return
        if requeued:
            logger.warning("%d requests of a node that stopped went back on the queue", requeued)

    def _poke(self) -> None:
        # Scrapy asks the scheduler for work every 5 s when idle; a queue filled by other nodes is read sooner.
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and not self.crawler.engine.needs_backout():
            slot.nextcall.schedule()

    # A seed or a step: the spider's own logic on one source, in a slot of its own -----------------------

    def load(self, state: WalkState) -> int:
        slot = next(self.slots)
        self.targets[slot], self.health[slot], self.walks[slot] = state.target, state.health, state.walk
        names = state.target.mention_names
        self.matchers[slot] = MentionMatcher(names) if names else None
        return slot

    def unload(self, slot: int, crawl_id: str) -> WalkState:
        state = WalkState(crawl_id, self.targets.pop(slot), self.health.pop(slot), self.walks.pop(slot))
        self.matchers.pop(slot)
        return state

    def seed(self, crawl_id: str, target: Target) -> Request:
        """The first request of a source's walk, carrying the walk."""
        slot = self.load(WalkState(crawl_id, target, Health(), None))
        request = self._start_request(slot)
        request.meta["fleet"] = self.unload(slot, crawl_id)
        return request

    def parse(self, response: Response) -> Iterator[Any]:
        state: WalkState = response.meta["fleet"]
        slot = self.load(state)
        response.meta["target"] = slot
        before = self.health[slot].errors
        outputs = list(super().parse(response))
        self._hand_over(response.request, slot, state.crawl_id, outputs, self.health[slot].errors - before)
        return iter(())

    def failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        slot = self.load(request.meta["fleet"])
        request.meta["target"] = slot
        super().failed(failure)
        self._hand_over(request, slot, request.meta["fleet"].crawl_id, [], 1)
        return iter(())

    def _hand_over(self, request: Request, slot: int, crawl_id: str, outputs: list[Any], errors: int) -> None:
        follow_ups = [output for output in outputs if isinstance(output, Request)]
        pages = [output for output in outputs if not isinstance(output, Request)]
        state = self.unload(slot, crawl_id)
        items = [page_item(crawl_id, state.target.source_id, page) for page in pages]
        if not follow_ups:  # the walk ends here: the writer writes the source's health row
            items.append(page_item(crawl_id, state.target.source_id, {}, state))
        for follow_up in follow_ups:
            follow_up.meta["fleet"] = state
        token = request.meta.get("fleet_lease")
        try:
            handed = self.leases.hand_over(token, [picklecompat.dumps(item) for item in items],
                                           [encode_request(follow_up, self) for follow_up in follow_ups],
                                           crawl_id, 1, errors)
        except redis.ConnectionError as error:
            logger.warning("%s: Redis unreachable (%s); the page is fetched again when its lease expires",
                           request.url, error)
            return
        if not handed:
            logger.warning("%s: its lease expired before the page was handed over; another node fetches it",
                           request.url)


def encode_request(request: Request, spider: FleetSpider) -> bytes:
    """A request as scrapy-redis's queue stores it (its serializer, callbacks by name)."""
    return picklecompat.dumps(request.to_dict(spider=spider))


def page_item(crawl_id: str, source_id: str, page: dict[str, Any], done: WalkState | None = None) -> dict[str, Any]:
    """What the writer gets: a page's reviews, checkpoint and figures, or (done) the walk's end and health."""
    return {"crawl_id": crawl_id, "source_id": source_id, "reviews": page.get("reviews", []),
            "walk": page.get("walk"), "stats": page.get("stats"),
            "done": None if done is None else {"target": done.target, "health": done.health}}


class FleetRateLimit:
    """A per-host pause shared by the whole fleet: [crawl] download_delay between two requests to one host."""

    def __init__(self, server: redis.Redis, interval_seconds: float):
        self.interval_ms = int(interval_seconds * 1000)
        self.reserve = server.register_script(RATE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "FleetRateLimit":
        return cls(redis.Redis.from_url(crawler.settings.get("REDIS_URL")),
                   crawler.settings.getfloat("REPMON_FLEET_DOWNLOAD_DELAY", 0.0))

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if self.interval_ms <= 0:
            return None
        host = urlsplit(request.url).hostname or ""
        wait_ms = None
        while wait_ms is None:
            try:
                wait_ms = int(self.reserve(keys=[rate_key(host)], args=[self.interval_ms]))
            except redis.ConnectionError:
                await asyncio.sleep(1.0)  # no request goes out unpaced while Redis is away
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
        return None


def fleet_settings(settings: dict[str, Any], redis_url: str, lease_seconds: float = LEASE_SECONDS) -> dict[str, Any]:
    """A crawl node's Scrapy settings: the single-machine ones, with the queue, dupefilter and pause on Redis."""
    middlewares = dict(settings["DOWNLOADER_MIDDLEWARES"]) | {"spiders.fleet.FleetRateLimit": 950}
    return settings | {
        "REDIS_URL": redis_url,
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "SCHEDULER_QUEUE_CLASS": "spiders.fleet.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": QUEUE_KEY,
        "DUPEFILTER_CLASS": "spiders.fleet.SourceDupeFilter",
        "SCHEDULER_DUPEFILTER_KEY": DUPEFILTER_KEY,
        "SCHEDULER_SERIALIZER": "scrapy_redis.picklecompat",
        "SCHEDULER_PERSIST": True,  # a node that stops leaves the queue to the others
        # The pause between requests to a host is the fleet's, not each node's.
        "REPMON_FLEET_DOWNLOAD_DELAY": settings["DOWNLOAD_DELAY"] if not settings.get("AUTOTHROTTLE_ENABLED")
        else max(settings["DOWNLOAD_DELAY"], settings.get("AUTOTHROTTLE_START_DELAY", 0)),
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "REPMON_LEASE_SECONDS": lease_seconds,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "ITEM_PIPELINES": {},  # pages go to Redis with the lease's release, not through a pipeline
    }
