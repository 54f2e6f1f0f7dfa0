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

from spiders.dates import warm_up
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


@dataclass
class Health:
    """What one crawl of one source saw: the crawl_runs row in the making."""

    pages: int = 0  # responses received
    reviews_seen: int = 0
    failed_requests: int = 0  # no usable response: refused, timed out, HTTP error, robots.txt
    bad_pages: int = 0  # a response, but nothing readable in it
    complete: bool = False  # every page of the listing was read
    not_modified: bool = False
    parser: str = ""
    etag: str | None = None
    last_modified: str | None = None
    seen_ids: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

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
        self.matchers = [MentionMatcher(t.mention_names) if t.mention_names else None for t in targets]
        warm_up()

    async def start(self):
        for index, target in enumerate(self.targets):
            yield self._request(index, self._first_url(target), page=1)

    def _first_url(self, target: Target) -> str:
        return page_url(target.url, 1) if target.parser == "trustpilot" else target.url

    def _request(self, index: int, url: str, page: int) -> Request:
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
            meta={"target": index, "page": page, "handle_httpstatus_list": [304]},
            dont_filter=True,
        )

    def parse(self, response: Response) -> Iterator[Any]:
        index, page = response.meta["target"], response.meta["page"]
        target, health = self.targets[index], self.health[index]
        health.pages += 1
        if response.status == 304:
            health.not_modified = health.complete = True
            health.etag, health.last_modified = target.etag, target.last_modified
            return
        result = self._parse_page(index, response)
        health.parser = health.parser or result.parser
        health.problems.extend(result.problems)
        if result.problems and not result.reviews:
            health.bad_pages += 1
        if page == 1 and result.parser == "feed":
            health.etag = _header(response, b"ETag")
            health.last_modified = _header(response, b"Last-Modified")
        already_known = 0
        for review in result.reviews:
            review |= {"business_id": target.business_id, "source_id": target.source_id}
            health.seen_ids.add(review["id"])
            already_known += review["id"] in target.known_ids
        health.reviews_seen += len(result.reviews)
        if result.reviews:
            # One item per page, not per review: Scrapy's per-item overhead is the crawl's largest cost.
            yield {"target": index, "reviews": result.reviews}
        if result.last_page or result.next_url is None:
            health.complete = True
            return
        if page >= target.max_pages:
            health.problems.append(f"{target.url}: stopped at the page limit ({target.max_pages})")
            return
        if not target.full and result.reviews and already_known == len(result.reviews):
            return  # incremental: this page held only reviews stored before
        yield self._request(index, result.next_url, page + 1)

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
