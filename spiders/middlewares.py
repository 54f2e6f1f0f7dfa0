"""Retries that back off: 429 and 5xx are retried after a growing pause, honouring Retry-After."""

from __future__ import annotations

import asyncio

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.spiders import Spider
from scrapy.utils.response import response_status_message


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, with a pause of base * 2**attempt seconds (or Retry-After) before each retry."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("REPMON_BACKOFF_BASE", 2.0)
        self.cap = settings.getfloat("REPMON_BACKOFF_MAX", 60.0)

    async def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        attempt = request.meta.get("retry_times", 0)
        retry_after = response.headers.get(b"Retry-After", b"").decode("latin-1").strip()
        pause = float(retry_after) if retry_after.isdigit() else self.base * 2**attempt
        await asyncio.sleep(min(pause, self.cap))
        return self._retry(request, response_status_message(response.status)) or response
