"""Downloader middlewares that name what went wrong, and the one place that turns a failed request into words.

Retries back off and honour Retry-After (both forms) up to a maximum; redirect loops and responses over
the size limit raise their own exceptions, so a crawl never reports them as something else.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.spiders import Spider
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet import error as twisted_errors
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

ROBOTS_MESSAGE = "Forbidden by robots.txt"  # what Scrapy's RobotsTxtMiddleware raises IgnoreRequest with


class NamedFailure(IgnoreRequest):
    """A request given up for a reason repmon names itself; `url` is where the crawl of it began."""

    def __init__(self, reason: str, url: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.url = url


class RateLimited(NamedFailure):
    """The server asked for a longer pause than the configured maximum."""


class RedirectLoop(NamedFailure):
    """Redirects that come back to a URL already visited, or more of them than allowed."""


class ResponseTooLarge(NamedFailure):
    """A response body (after decompression) over DOWNLOAD_MAXSIZE."""


def retry_after_seconds(value: str, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for: delta-seconds or an HTTP-date; None when unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000" means UTC with no claim about local time
        moment = moment.replace(tzinfo=timezone.utc)
    return max((moment - now).total_seconds(), 0.0)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, pausing Retry-After seconds (up to a maximum) or base * 2**attempt before each retry."""

    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.base = settings.getfloat("REPMON_BACKOFF_BASE", 2.0)
        self.cap = settings.getfloat("REPMON_BACKOFF_MAX", 60.0)
        self.max_retry_after = settings.getfloat("REPMON_MAX_RETRY_AFTER", 300.0)

    async def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        header = response.headers.get(b"Retry-After", b"").decode("latin-1")
        asked = retry_after_seconds(header, datetime.now(timezone.utc)) if header else None
        if asked is not None and asked > self.max_retry_after:
            raise RateLimited(
                f"rate-limited: server asked to wait {math.ceil(asked)} s "
                f"(more than the maximum {self.max_retry_after:g} s)"
            )
        attempt = request.meta.get("retry_times", 0)
        if attempt >= request.meta.get("max_retry_times", self.max_retry_times):
            return response  # no retry left: waiting would only delay the report
        await asyncio.sleep(asked if asked is not None else min(self.base * 2**attempt, self.cap))
        return self._retry(request, response_status_message(response.status)) or response


class RobotsForEveryWaiter(RobotsTxtMiddleware):
    """Scrapy's robots.txt check, where every request waiting for a host's robots.txt gets its rules.

    Under the asyncio reactor Scrapy hands the parsed rules only to the first request waiting on the
    download; the others got None and went out unchecked (seen: a Disallow'd page fetched when three
    requests to one host started together).
    """

    async def robot_parser(self, request: Request):
        parser = await super().robot_parser(request)
        stored = self._parsers.get(urlparse_cached(request).netloc)
        return parser if isinstance(stored, Deferred) else stored


class _NamedRedirects:
    """Raise RedirectLoop, naming the loop, where Scrapy would drop the request as 'max redirections reached'."""

    max_redirect_times: int

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            count = f"{len(chain)} redirect" + ("s" if len(chain) > 1 else "")
            raise RedirectLoop(f"redirect loop ({count}) at {request.url}", url=chain[0])
        try:
            return super()._redirect(redirected, request, reason)  # type: ignore[misc]
        except IgnoreRequest:
            raise RedirectLoop(f"more than {self.max_redirect_times} redirects, the last at {request.url}",
                               url=chain[0]) from None


class LoopNamingRedirectMiddleware(_NamedRedirects, RedirectMiddleware):
    """HTTP 3xx redirects, with loops named."""


class LoopNamingMetaRefreshMiddleware(_NamedRedirects, MetaRefreshMiddleware):
    """<meta http-equiv="refresh"> redirects, with loops named."""


class SizeNamingCompressionMiddleware(HttpCompressionMiddleware):
    """Decompression as Scrapy does it (stopping at DOWNLOAD_MAXSIZE), with a bomb reported as too large."""

    def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        try:
            return super().process_response(request, response)
        except IgnoreRequest as error:
            if isinstance(error.__cause__, _DecompressionMaxSizeExceeded):
                limit = request.meta.get("download_maxsize", self._max_size)
                raise ResponseTooLarge(f"{_too_large(limit)} (decompressed)") from error
            raise


def describe_failure(failure: Failure, max_size: int) -> tuple[str, str]:
    """The URL a failed request is reported under, and what happened to it, in a few words."""
    request: Request = failure.request
    url = request.url
    if isinstance(failure.value, NamedFailure):
        return failure.value.url or url, failure.value.reason
    return url, _reason(failure, request, max_size) + _attempts(request, failure)


def _reason(failure: Failure, request: Request, max_size: int) -> str:
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {_status_text(value.response.status)}"
    if isinstance(value, (DownloadTimeoutError, twisted_errors.TimeoutError, twisted_errors.TCPTimedOutError)):
        timeout = request.meta.get("download_timeout")
        return f"timed out after {timeout:g} s" if timeout else "timed out"
    if isinstance(value, (DownloadConnectionRefusedError, twisted_errors.ConnectionRefusedError)):
        return "connection refused"
    if isinstance(value, (CannotResolveHostError, twisted_errors.DNSLookupError)):
        return f"DNS lookup failed for {urlsplit(request.url).hostname}"
    if isinstance(value, DownloadCancelledError) and "max size" in str(value):
        return _too_large(request.meta.get("download_maxsize", max_size))
    if isinstance(value, (ResponseDataLossError, twisted_errors.ConnectionLost, twisted_errors.ConnectionDone)):
        return "connection closed before the response was complete"
    if isinstance(value, IgnoreRequest) and str(value) == ROBOTS_MESSAGE:
        return "forbidden by robots.txt"
    message = failure.getErrorMessage()
    return f"{failure.type.__name__}: {message}" if message else failure.type.__name__


def _attempts(request: Request, failure: Failure) -> str:
    """How often a retried request was tried: 'HTTP 503 ... after 3 attempts', 'connection refused (3 attempts)'."""
    retries = request.meta.get("retry_times", 0)
    if not retries:
        return ""
    return f" after {retries + 1} attempts" if failure.check(HttpError) else f" ({retries + 1} attempts)"


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _too_large(limit_bytes: int) -> str:
    return f"response larger than the limit of {round(limit_bytes / 2**20, 2):g} MB"
