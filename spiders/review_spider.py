"""One Scrapy spider for every source: it fetches, picks the parser, follows pages and counts health."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Iterator

import scrapy
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from monitor.store import PARTIAL, record_problem
from spiders.dates import to_utc_text, warm_up
from spiders.feeds import looks_like_feed, parse_feed
from spiders.items import PageResult
from spiders.mentions import MentionMatcher
from spiders.middlewares import describe_failure
from spiders.parse_limit import ParseWorker
from spiders.schemaorg import parse_schemaorg
from spiders.trustpilot import is_trustpilot_page, page_url, parse_trustpilot

PARSERS = ("auto", "trustpilot", "schemaorg", "feed")
logger = logging.getLogger(__name__)


@dataclass
class Target:
    """One source to crawl, and what the crawl needs to know of it from the database."""

    url: str
    business_id: str
    source_id: str
    parser: str = "auto"
    mention_names: list[str] | None = None  # None keeps every feed entry
    known_ids: set[str] = field(default_factory=set)
    max_pages: int = 50
    full: bool = False
    etag: str | None = None
    last_modified: str | None = None
    resume: "Resume | None" = None  # the previous walk did not finish: go on from its checkpoint


@dataclass
class Resume:
    """An unfinished walk through a source's pages, as its checkpoint in source_walks left it."""

    url: str  # the last page whose reviews were committed: fetched again, as pages shift when reviews go
    page: int
    started_at: str
    full: bool
    known_before: set[str] = field(default_factory=set)  # reviews stored before the walk began


@dataclass
class Walk:
    """One pass through a source's pages in order, page 1 first unless it goes on from a checkpoint."""

    started_at: str
    full: bool
    stop_at: set[str]  # a page holding only these reviews ends the walk: the rest was read by a finished walk
    from_first_page: bool


@dataclass
class Health:
    """What one crawl of one source saw: the crawl_runs row in the making."""

    pages: int = 0  # responses received
    reviews_seen: int = 0
    failed_requests: int = 0  # no usable response: refused, timed out, HTTP error, robots.txt
    bad_pages: int = 0  # a response, but nothing readable in it
    complete: bool = False  # every page of the listing was read in this crawl, page 1 to the last
    not_modified: bool = False
    parser: str = ""
    etag: str | None = None
    last_modified: str | None = None
    seen_ids: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    walk_stopped: str | None = None  # why the walk was stopped: the source answered with the wrong page
    fallback_pages: int = 0  # pages read through a fallback format (layout drift): never a reason to remove
    dropped: int = 0  # malformed records refused, each named in problems
    stats_taken: bool = False

    @property
    def errors(self) -> int:
        return self.failed_requests + self.bad_pages

    @property
    def error_rate(self) -> float:
        return self.errors / max(self.pages + self.failed_requests, 1)


class ReviewSpider(scrapy.Spider):
    name = "repmon"

    def __init__(self, targets: list[Target], now: datetime | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.targets = targets
        self.now = now or datetime.now(timezone.utc)
        self.health = [Health() for _ in targets]
        self.walks: list[Walk | None] = [None] * len(targets)
        self.matchers = [MentionMatcher(t.mention_names) if t.mention_names else None for t in targets]
        warm_up()

    async def start(self):
        for index in range(len(self.targets)):
            yield self._start_request(index)

    def _start_request(self, index: int) -> Request:
        """Where the crawl of a source begins: its unfinished walk's checkpoint, else page 1."""
        target = self.targets[index]
        resume = target.resume
        if resume is not None and not target.full:
            self.walks[index] = Walk(resume.started_at, resume.full, set() if resume.full else resume.known_before,
                                     from_first_page=False)
            return self._request(index, resume.url, page=resume.page)
        return self._first_page(index)

    def _first_page(self, index: int) -> Request:
        """Begin a new walk at page 1; it may stop at the first page of reviews already stored."""
        target = self.targets[index]
        known = set() if target.full else target.known_ids | self.health[index].seen_ids
        self.walks[index] = Walk(to_utc_text(datetime.now(timezone.utc)), target.full, known, from_first_page=True)
        trustpilot = target.parser == "trustpilot" or (target.parser == "auto" and is_trustpilot_page(target.url, b""))
        url = page_url(target.url, 1) if trustpilot else target.url  # so page 1 is newest first as well
        return self._request(index, url, page=1)

    def _request(self, index: int, url: str, page: int, previous_ids: frozenset[str] = frozenset()) -> Request:
        target = self.targets[index]
        headers = {}
        if page == 1 and not target.full:
            if target.etag:
                headers["If-None-Match"] = target.etag
            if target.last_modified:
                headers["If-Modified-Since"] = target.last_modified
        return Request(
            url,
            headers=headers,
            callback=self.parse,
            errback=self.failed,
            meta={"target": index, "page": page, "previous_ids": previous_ids, "handle_httpstatus_list": [304]},
            dont_filter=True,
        )

    def parse(self, response: Response) -> Iterator[Any]:
        index, page = response.meta["target"], response.meta["page"]
        target, health, walk = self.targets[index], self.health[index], self.walks[index]
        health.pages += 1
        if response.status == 304:
            health.not_modified = health.complete = True
            health.etag, health.last_modified = target.etag, target.last_modified
            return
        result = self._parse_page(index, response)
        health.parser = health.parser or result.parser
        health.problems.extend(result.problems)
        bad_page = bool(result.problems) and not result.reviews
        health.bad_pages += bad_page
        if page == 1 and result.parser == "feed":
            health.etag = _header(response, b"ETag")
            health.last_modified = _header(response, b"Last-Modified")
        ids = [review["id"] for review in result.reviews]
        wrong_page = self._wrong_page(response, page, result, ids)
        if result.fallback:
            health.fallback_pages += 1
        result.reviews = self._checked(response.url, result, target, health)
        ids = [review["id"] for review in result.reviews]
        health.seen_ids.update(ids)
        health.reviews_seen += len(result.reviews)
        if wrong_page:
            health.walk_stopped = wrong_page
            health.problems.append(wrong_page)
            # Its reviews are real and kept; the checkpoint stays at the last right page.
            yield {"target": index, "reviews": result.reviews, "walk": None, "stats": None}
            return
        known_page = bool(ids) and not walk.full and result.newest_first and walk.stop_at.issuperset(ids)
        finished = (result.last_page and not bad_page) or known_page
        # One item per page, not per review: Scrapy's per-item overhead is the crawl's largest cost.
        yield {"target": index, "reviews": result.reviews, "walk": self._checkpoint(index, response.url, page, finished),
               "stats": self._stats(index, result)}
        if finished:
            health.complete = health.complete or (walk.from_first_page and result.last_page and not bad_page)
            if not walk.from_first_page and health.pages < target.max_pages:
                yield self._first_page(index)  # the unfinished walk is done: now the reviews added on top
            return
        if result.next_url is None:
            if not bad_page:
                health.problems.append(f"{response.url}: no link to the next page; the walk goes on from here next time")
            return
        if health.pages >= target.max_pages:
            health.problems.append(f"{target.url}: stopped at the page limit ({target.max_pages}); "
                                   "the next crawl goes on from here")
            return
        yield self._request(index, result.next_url, page + 1, frozenset(ids))

    def _checked(self, url: str, result: PageResult, target: Target, health: Health) -> list[dict[str, Any]]:
        """The page's records that can be stored; each other one is named with its page and field, and counted."""
        kept = []
        for review in result.reviews:
            review |= {"business_id": target.business_id, "source_id": target.source_id}
            problem = record_problem(review)
            if problem:
                health.problems.append(f"{url}: {problem}; dropped")
                health.dropped += 1
                continue
            if result.fallback:
                review[PARTIAL] = True
            kept.append(review)
        return kept

    def _wrong_page(self, response: Response, page: int, result: PageResult, ids: list[str]) -> str | None:
        """Why this response is not the page asked for, or None: a wrong page must not move the walk on."""
        if result.page_number is not None and result.page_number != page:
            return (f"{response.url}: asked for page {page}, the response is page {result.page_number}; "
                    "stopped the walk")
        previous = response.meta["previous_ids"]
        if ids and previous and previous.issuperset(ids):
            return f"{response.url}: page {page} repeats the reviews of page {page - 1}; stopped the walk"
        return None

    def _checkpoint(self, index: int, url: str, page: int, finished: bool) -> dict[str, Any]:
        walk = self.walks[index]
        return {"source_id": self.targets[index].source_id, "walk_started_at": walk.started_at,
                "walk_full": int(walk.full), "last_page": page, "last_url": url, "walk_complete": finished}

    def _stats(self, index: int, result: PageResult) -> dict[str, Any] | None:
        """The platform's figures, once per crawl of a source."""
        health = self.health[index]
        if result.stats is None or health.stats_taken:
            return None
        health.stats_taken = True
        return result.stats | {"source_id": self.targets[index].source_id}

    def _parse_page(self, index: int, response: Response) -> PageResult:
        target = self.targets[index]
        body, url = response.body, response.url
        parser = target.parser
        if parser == "auto":
            content_type = _header(response, b"Content-Type") or ""
            if looks_like_feed(content_type.lower(), body):
                parser = "feed"
            elif is_trustpilot_page(url, body):
                parser = "trustpilot"
            else:
                parser = "schemaorg"
        if parser == "feed":
            headers = {k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items()}
            return self.parse_worker.parse(url, parser, parse_feed, body, url, self.matchers[index], self.now, headers)
        if parser == "trustpilot":
            return self.parse_worker.parse(url, parser, parse_trustpilot, body, url, self.now)
        return self.parse_worker.parse(url, parser, parse_schemaorg, body, url, None, self.now)

    @cached_property
    def parse_worker(self) -> ParseWorker:
        """Where documents are parsed, each within [crawl] parse_time_limit_seconds."""
        return ParseWorker(self.settings.getfloat("REPMON_PARSE_TIME_LIMIT", 20.0))

    def failed(self, failure: Failure) -> None:
        request = failure.request
        index = request.meta["target"]
        health = self.health[index]
        health.failed_requests += 1
        url, reason = describe_failure(failure, self.settings.getint("DOWNLOAD_MAXSIZE"))
        health.problems.append(f"{url}: {reason}")
        logger.warning("%s: %s", url, reason)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
