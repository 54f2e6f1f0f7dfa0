"""The fleet's shared state in Redis: a request queue with leases, the item hand-over, crawl records, politeness.

Every change that must not be half done is one Lua script, so Redis applies it whole or not at all:
taking a request (it moves into the in-flight set with a lease), handing a page over (its item, the next
request and the release of its lease), re-queueing expired leases, and reserving a domain's next slot.
Times come from Redis's own clock (TIME), so machines whose clocks differ still agree on leases and rates.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

PREFIX = "repmon:fleet"


@dataclass(frozen=True)
class Keys:
    """Names of the fleet's Redis keys; `crawl_*` ones belong to one crawl."""

    prefix: str = PREFIX

    @property
    def queue(self) -> str:  # sorted set: request token -> order (re-queued leases go first)
        return f"{self.prefix}:requests"

    @property
    def payloads(self) -> str:  # hash: request token -> the serialised request
        return f"{self.prefix}:payloads"

    @property
    def inflight(self) -> str:  # sorted set: request token -> lease expiry (Redis time, seconds)
        return f"{self.prefix}:inflight"

    @property
    def sequence(self) -> str:
        return f"{self.prefix}:sequence"

    @property
    def items(self) -> str:  # list of page items, oldest first, for the writer
        return f"{self.prefix}:items"

    @property
    def processing(self) -> str:  # the items the writer has taken and not yet stored
        return f"{self.prefix}:items:processing"

    @property
    def active(self) -> str:  # set of crawl ids not yet finished
        return f"{self.prefix}:crawls"

    @property
    def workers(self) -> str:  # sorted set: worker name -> when its heartbeat runs out
        return f"{self.prefix}:workers"

    def crawl(self, crawl_id: str) -> str:  # hash: the crawl's record and progress counters
        return f"{self.prefix}:crawl:{crawl_id}"

    def crawl_targets(self, crawl_id: str) -> str:  # hash: target number -> pickled Target
        return f"{self.prefix}:crawl:{crawl_id}:targets"

    def crawl_dupefilter(self, crawl_id: str) -> str:  # set of walk-position fingerprints
        return f"{self.prefix}:crawl:{crawl_id}:dupefilter"

    def crawl_recorded(self, crawl_id: str) -> str:  # set of target numbers whose crawl_runs row is written
        return f"{self.prefix}:crawl:{crawl_id}:recorded"

    def crawl_seen(self, crawl_id: str, target: str) -> str:  # review ids seen by a resumed walk
        return f"{self.prefix}:crawl:{crawl_id}:seen:{target}"

    def rate(self, host: str) -> str:  # the next moment a request to `host` may start
        return f"{self.prefix}:rate:{host}"


KEYS = Keys()

_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
while true do
  local first = redis.call('ZPOPMIN', KEYS[1])
  if #first == 0 then return false end
  local data = redis.call('HGET', KEYS[3], first[1])
  if data then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), first[1])
    return {first[1], data}
  end
end
"""

# KEYS: items, queue, payloads, inflight, sequence, dupefilter, crawl record, seen set
# ARGV: lease token, item (or ''), pages, errors, number of requests, then token/fingerprint/data per request,
#       then the review ids to remember
_HAND_OVER = """
if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[2]) end
local count = tonumber(ARGV[5])
local at = 6
for _ = 1, count do
  if redis.call('SADD', KEYS[6], ARGV[at + 1]) == 1 then
    redis.call('HSET', KEYS[3], ARGV[at], ARGV[at + 2])
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[5]), ARGV[at])
  end
  at = at + 3
end
if ARGV[1] ~= '' then
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
if tonumber(ARGV[3]) > 0 then redis.call('HINCRBY', KEYS[7], 'pages', ARGV[3]) end
if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[7], 'errors', ARGV[4]) end
for i = at, #ARGV do redis.call('SADD', KEYS[8], ARGV[i]) end
return 1
"""

_RENEW = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
if #KEYS > 1 then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[#ARGV]) end
return 1
"""

# Expired leases go back to the front of the queue (score 0; new requests count up from 1).
_REAP = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 500)
for _, token in ipairs(expired) do
  redis.call('ZREM', KEYS[1], token)
  if redis.call('HEXISTS', KEYS[3], token) == 1 then redis.call('ZADD', KEYS[2], 0, token) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
return #expired
"""

_RELEASE = """
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 and redis.call('HEXISTS', KEYS[3], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], 0, ARGV[i])
  end
end
return 1
"""

# A reservation: each request takes the next free slot of its domain and waits until then, so
# requests from every worker are spaced `delay` apart however many there are.
_RESERVE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local delay = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(slot + delay), 'PX', math.ceil((slot - now + delay) * 1000) + 1000)
return tostring(slot - now)
"""


@dataclass
class OutgoingRequest:
    """A request ready for the queue: its token, its walk-position fingerprint and its serialised form."""

    token: str
    fingerprint: str
    data: bytes


class Fleet:
    """The Redis side of a crawl fleet, for the coordinator, the workers and the writer alike."""

    def __init__(self, client: redis.Redis, keys: Keys = KEYS):
        self.client = client
        self.keys = keys
        self._take = client.register_script(_TAKE)
        self._hand_over = client.register_script(_HAND_OVER)
        self._renew = client.register_script(_RENEW)
        self._reap = client.register_script(_REAP)
        self._release = client.register_script(_RELEASE)
        self._reserve = client.register_script(_RESERVE)

    # Requests ---------------------------------------------------------------------------------------------

    def take(self, lease_seconds: float) -> tuple[str, bytes] | None:
        """The next request (token, data), now leased to the caller for `lease_seconds`; None when none wait."""
        taken = self._take(keys=[self.keys.queue, self.keys.inflight, self.keys.payloads], args=[lease_seconds])
        if not taken:
            return None
        return taken[0].decode(), taken[1]

    def hand_over(self, crawl_id: str, lease: str | None, item: bytes | None, requests: list[OutgoingRequest],
                  pages: int = 0, errors: int = 0, seen: tuple[str, list[str]] | None = None) -> None:
        """In one step: push the page's item, queue its next requests (unless their walk position was queued
        before) and release the lease of the request it answered."""
        seen_target, seen_ids = seen or ("-", [])
        args: list[Any] = [lease or "", item or b"", pages, errors, len(requests)]
        for request in requests:
            args += [request.token, request.fingerprint, request.data]
        args += seen_ids
        keys = [self.keys.items, self.keys.queue, self.keys.payloads, self.keys.inflight, self.keys.sequence,
                self.keys.crawl_dupefilter(crawl_id), self.keys.crawl(crawl_id),
                self.keys.crawl_seen(crawl_id, seen_target)]
        self._hand_over(keys=keys, args=args)

    def renew(self, tokens: list[str], lease_seconds: float, worker: str | None = None) -> None:
        """Extend the leases a live worker holds (and its own heartbeat, when named)."""
        keys = [self.keys.inflight] + ([self.keys.workers] if worker else [])
        self._renew(keys=keys, args=[lease_seconds, *tokens, *([worker] if worker else [])])

    def reap(self) -> int:
        """Put requests whose lease ran out (their worker died or hung) back on the queue; how many."""
        return int(self._reap(keys=[self.keys.inflight, self.keys.queue, self.keys.payloads, self.keys.workers]))

    def release(self, tokens: list[str]) -> None:
        """Give leased requests back to the queue at once (a worker stopping cleanly)."""
        if tokens:
            self._release(keys=[self.keys.inflight, self.keys.queue, self.keys.payloads], args=tokens)

    def waiting(self) -> tuple[int, int]:
        """Requests queued, and requests in flight."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.queue).zcard(self.keys.inflight)
            queued, inflight = pipe.execute()
        return int(queued), int(inflight)

    def workers_alive(self) -> int:
        return int(self.client.zcard(self.keys.workers))

    # Politeness -------------------------------------------------------------------------------------------

    def reserve(self, host: str, delay: float) -> float:
        """Seconds to wait before a request to `host` may start, with `delay` seconds between any two."""
        return float(self._reserve(keys=[self.keys.rate(host)], args=[delay]))

    # Crawls -----------------------------------------------------------------------------------------------

    def active_crawls(self) -> list[str]:
        return sorted(member.decode() for member in self.client.smembers(self.keys.active))

    def start_crawl(self, crawl_id: str, record: dict[str, Any], targets: list[Any],
                    requests: list[OutgoingRequest]) -> None:
        """Publish a crawl, its targets and its first requests in one transaction: all of it or nothing."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.crawl(crawl_id), mapping={**record, "targets": len(targets)})
            pipe.hset(self.keys.crawl_targets(crawl_id),
                      mapping={str(number): pickle.dumps(target) for number, target in enumerate(targets)})
            pipe.sadd(self.keys.active, crawl_id)
            for request in requests:
                pipe.sadd(self.keys.crawl_dupefilter(crawl_id), request.fingerprint)
                pipe.hset(self.keys.payloads, request.token, request.data)
                pipe.zadd(self.keys.queue, {request.token: 1})
            pipe.execute()

    def crawl_record(self, crawl_id: str) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.client.hgetall(self.keys.crawl(crawl_id)).items()}

    def target(self, crawl_id: str, number: str) -> Any:
        data = self.client.hget(self.keys.crawl_targets(crawl_id), number)
        if data is None:
            raise KeyError(f"crawl {crawl_id} has no target {number} (the crawl was finished or removed)")
        return pickle.loads(data)

    def seen_ids(self, crawl_id: str, target: str) -> set[str]:
        return {member.decode() for member in self.client.smembers(self.keys.crawl_seen(crawl_id, target))}

    def mark_recorded(self, crawl_id: str, target: str, finished_at: str) -> bool:
        """Note a source's health row as written; True when that was the crawl's last one (the crawl is finished)."""
        self.client.sadd(self.keys.crawl_recorded(crawl_id), target)
        total = int(self.client.hget(self.keys.crawl(crawl_id), "targets") or 0)
        if int(self.client.scard(self.keys.crawl_recorded(crawl_id))) < total:
            return False
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.keys.crawl(crawl_id), "finished_at", finished_at)
            pipe.srem(self.keys.active, crawl_id)
            pipe.delete(self.keys.crawl_dupefilter(crawl_id))
            pipe.execute()
        for key in self.client.scan_iter(match=self.keys.crawl_seen(crawl_id, "*")):
            self.client.delete(key)
        return True

    def recorded_count(self, crawl_id: str) -> int:
        return int(self.client.scard(self.keys.crawl_recorded(crawl_id)))

    # Items ------------------------------------------------------------------------------------------------

    def take_items(self, most: int, wait_seconds: float) -> list[bytes]:
        """Move up to `most` items into the writer's processing list (waiting for the first); they stay there
        until `done_with` removes them, so a writer killed meanwhile finds them again."""
        first = self.client.blmove(self.keys.items, self.keys.processing, wait_seconds, "LEFT", "RIGHT")
        if first is None:
            return []
        taken = [first]
        while len(taken) < most:
            item = self.client.lmove(self.keys.items, self.keys.processing, "LEFT", "RIGHT")
            if item is None:
                break
            taken.append(item)
        return taken

    def unfinished_items(self) -> list[bytes]:
        """Items a previous writer took and may not have stored."""
        return list(self.client.lrange(self.keys.processing, 0, -1))

    def done_with(self, items: list[bytes]) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            for item in items:
                pipe.lrem(self.keys.processing, 1, item)
            pipe.execute()

    def items_waiting(self) -> int:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.llen(self.keys.items).llen(self.keys.processing)
            return sum(int(n) for n in pipe.execute())


def connect(url: str) -> redis.Redis:
    """A Redis client for `url` (redis://, rediss:// or unix://), checked with a PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=30, health_check_interval=30)
    client.ping()
    return client


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username + ':' if parts.username else ':'}***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
