"""Scrapy settings shared by every crawl: polite by default, identified, throttled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.config import Crawl

RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 522, 524]


def scrapy_settings(crawl: Crawl, db_path: Path, **overrides: Any) -> dict[str, Any]:
    """Settings for one crawl writing to `db_path`; `overrides` win (tests, benchmarks)."""
    settings: dict[str, Any] = {
        "BOT_NAME": "repmon",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "DOWNLOAD_TIMEOUT": crawl.timeout_seconds,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.5),
        "AUTOTHROTTLE_MAX_DELAY": 60,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "REPMON_BACKOFF_BASE": 2.0,  # seconds before the first retry; doubles each time
        "REPMON_BACKOFF_MAX": 60.0,  # without Retry-After
        "REPMON_MAX_RETRY_AFTER": crawl.max_retry_after_seconds,
        # Scrapy's default (1 GB) let a gzip bomb take 1.2 GB of memory; the limit applies after decompression.
        "DOWNLOAD_MAXSIZE": int(crawl.max_response_mb * 2**20),
        "DOWNLOAD_WARNSIZE": int(crawl.max_response_mb * 2**20) // 2,
        "REPMON_PARSE_TIME_LIMIT": crawl.parse_time_limit_seconds,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "spiders.middlewares.RobotsForEveryWaiter": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "spiders.middlewares.BackoffRetryMiddleware": 550,
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "spiders.middlewares.LoopNamingMetaRefreshMiddleware": 580,
            "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
            "spiders.middlewares.SizeNamingCompressionMiddleware": 590,
            "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
            "spiders.middlewares.LoopNamingRedirectMiddleware": 600,
        },
        "HTTPCACHE_ENABLED": crawl.http_cache,
        "HTTPCACHE_DIR": str(Path(".scrapy") / "httpcache"),
        "ITEM_PIPELINES": {"spiders.pipelines.StoragePipeline": 300},
        "REPMON_DB": str(db_path),
        "REPMON_MAX_ERROR_RATE": crawl.max_error_rate,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
    settings.update(overrides)
    return settings


def impolite(settings: dict[str, Any]) -> dict[str, Any]:
    """Politeness off, for loopback benchmarks only: no delay, no throttle, no robots.txt."""
    return settings | {
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    }
