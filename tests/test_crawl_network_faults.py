"""Each network fault a source can show, served for real on 127.0.0.1 and reported as what it is."""

from __future__ import annotations

import gzip
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Crawl
from monitor.crawl import run_crawl, targets_from_urls
from spiders.middlewares import retry_after_seconds
from tests.conftest import FILES

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "REPMON_BACKOFF_BASE": 0.01, "RETRY_TIMES": 2,
        "DOWNLOAD_TIMEOUT": 2}
FEED = (FILES / "feeds" / "mentions.rss").read_bytes()  # 5 entries
RSS = {"Content-Type": "application/rss+xml"}
# Longer than DNS allows (253 characters): the resolver refuses it without sending a query anywhere.
UNRESOLVABLE_HOST = ".".join(["a" * 60] * 4) + ".invalid"


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str | Callable[[], str]] = field(default_factory=dict)  # a callable is asked when serving
    body: bytes = b""
    delay: float = 0.0  # seconds before answering


class FaultSite:
    """A loopback server answering each path with its replies in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {"/robots.txt": [Reply(404)]}
        self.requests: list[tuple[str, float]] = []  # path, time.monotonic() when it arrived
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.requests.append((self.path, time.monotonic()))
                queue = site.replies.get(self.path) or [Reply(404, body=b"not found")]
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
                time.sleep(reply.delay)
                head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}",
                        f"Content-Length: {len(reply.body)}", *(f"{k}: {v() if callable(v) else v}" for k, v in reply.headers.items())]
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def times(self, path: str) -> list[float]:
        return [moment for requested, moment in self.requests if requested == path]


@pytest.fixture
def site():
    served = FaultSite()
    served.thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


def crawl(db, db_path: Path, urls: list[str], crawl_config: Crawl | None = None, **settings) -> dict[str, dict]:
    """Crawl `urls` as one run; each source's crawl_runs row by its URL."""
    targets = targets_from_urls(db, urls, "auto", None, None, max_pages=5)
    summary = run_crawl(db_path, targets, crawl_config or Crawl(), **(FAST | settings))
    return {run["url"]: run for run in summary.runs}


def in_seconds(seconds: float) -> str:
    """An HTTP-date `seconds` from now."""
    return formatdate(time.time() + seconds, usegmt=True)


def problems(run: dict) -> list[str]:
    """The message lines after the verdict: one per failed request."""
    return run["message"].splitlines()[1:]


def test_retry_after_both_forms_are_read():
    now = datetime(2026, 10, 21, 7, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds(" 0 ", now) == 0.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now) == 1680.0
    assert retry_after_seconds("Wed, 21 Oct 2026 06:00:00 GMT", now) == 0.0  # a date passed: retry now
    assert retry_after_seconds("Wed, 21 Oct 2026 07:00:30 -0000", now) == 30.0
    assert retry_after_seconds("-5", now) is None
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("Wed, 21 Oct 99999 07:28:00 GMT", now) is None


def test_retry_after_seconds_is_waited_for_then_the_source_is_read(db, db_path, site):
    site.replies["/feed"] = [Reply(503, {"Retry-After": "1"}), Reply(200, RSS, FEED)]
    run = crawl(db, db_path, [site.url("/feed")], Crawl(max_retry_after_seconds=3))[site.url("/feed")]
    assert (run["status"], run["new"], run["errors"]) == ("ok", 5, 0)
    first, second = site.times("/feed")
    assert 1.0 <= second - first < 2.0  # the server's pause, not the 0.01 s backoff


def test_retry_after_http_date_is_waited_for(db, db_path, site):
    site.replies["/feed"] = [Reply(429, {"Retry-After": lambda: in_seconds(2)}),
                             Reply(200, RSS, FEED)]
    run = crawl(db, db_path, [site.url("/feed")], Crawl(max_retry_after_seconds=3))[site.url("/feed")]
    assert (run["status"], run["new"]) == ("ok", 5)
    first, second = site.times("/feed")
    assert 1.0 <= second - first < 2.5  # the date has whole seconds: 1 to 2 s after the first answer


def test_retry_after_beyond_the_maximum_is_reported_without_waiting(db, db_path, site):
    site.replies["/seconds"] = [Reply(429, {"Retry-After": "3600"})]
    site.replies["/date"] = [Reply(503, {"Retry-After": lambda: in_seconds(7200)})]
    started = time.monotonic()
    runs = crawl(db, db_path, [site.url("/seconds"), site.url("/date")], Crawl(max_retry_after_seconds=3))
    assert time.monotonic() - started < 3  # neither source was waited for
    assert problems(runs[site.url("/seconds")]) == [
        f"{site.url('/seconds')}: rate-limited: server asked to wait 3600 s (more than the maximum 3 s)"
    ]
    # The date has whole seconds, so the wait left is 7199 or 7200 s depending on when it is read.
    assert re.fullmatch(
        re.escape(site.url("/date")) + r": rate-limited: server asked to wait 7(199|200) s \(more than the maximum 3 s\)",
        "\n".join(problems(runs[site.url("/date")])),
    )
    assert [path for path, _ in site.requests if path != "/robots.txt"].count("/seconds") == 1


def test_server_error_names_status_and_attempts(db, db_path, site):
    site.replies["/busy"] = [Reply(503, body=b"busy")]
    site.replies["/gone"] = [Reply(404, body=b"gone")]
    runs = crawl(db, db_path, [site.url("/busy"), site.url("/gone")])
    assert (runs[site.url("/busy")]["status"], problems(runs[site.url("/busy")])) == (
        "failed", [f"{site.url('/busy')}: HTTP 503 Service Unavailable after 3 attempts"]
    )
    assert problems(runs[site.url("/gone")]) == [f"{site.url('/gone')}: HTTP 404 Not Found"]
    assert len(site.times("/busy")) == 3 and len(site.times("/gone")) == 1


def test_redirect_loop_is_named_not_blamed_on_robots_txt(db, db_path, site):
    site.replies["/a"] = [Reply(302, {"Location": "/b"})]
    site.replies["/b"] = [Reply(301, {"Location": site.url("/a")})]
    site.replies["/refresh"] = [Reply(200, {"Content-Type": "text/html"},
                                      b'<html><head><meta http-equiv="refresh" content="0; url=/refresh"></head></html>')]
    runs = crawl(db, db_path, [site.url("/a"), site.url("/refresh")])
    assert (runs[site.url("/a")]["status"], runs[site.url("/a")]["errors"]) == ("failed", 1)
    assert problems(runs[site.url("/a")]) == [f"{site.url('/a')}: redirect loop (2 redirects) at {site.url('/b')}"]
    assert problems(runs[site.url("/refresh")]) == [
        f"{site.url('/refresh')}: redirect loop (1 redirect) at {site.url('/refresh')}"
    ]
    assert [path for path, _ in site.requests if path in ("/a", "/b")] == ["/a", "/b"]  # stopped when /a came round


def test_too_many_redirects_are_named(db, db_path, site):
    for number in range(6):
        site.replies[f"/hop/{number}"] = [Reply(302, {"Location": f"/hop/{number + 1}"})]
    run = crawl(db, db_path, [site.url("/hop/0")], REDIRECT_MAX_TIMES=3)[site.url("/hop/0")]
    assert problems(run) == [f"{site.url('/hop/0')}: more than 3 redirects, the last at {site.url('/hop/3')}"]


def test_gzip_bomb_stops_at_the_size_limit_and_other_sources_go_on(db, db_path, site):
    bomb = gzip.compress(b"\0" * 50 * 2**20, compresslevel=9)
    assert len(bomb) < 100_000  # 50 MB of zeros in under 100 KB: only the decompressed size is over 5 MB
    site.replies["/bomb"] = [Reply(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, bomb)]
    site.replies["/feed"] = [Reply(200, RSS, FEED)]
    runs = crawl(db, db_path, [site.url("/bomb"), site.url("/feed")], Crawl(max_response_mb=5))
    assert (runs[site.url("/bomb")]["status"], problems(runs[site.url("/bomb")])) == (
        "failed", [f"{site.url('/bomb')}: response larger than the limit of 5 MB (decompressed)"]
    )
    assert (runs[site.url("/feed")]["status"], runs[site.url("/feed")]["new"]) == ("ok", 5)


def test_plain_response_over_the_size_limit(db, db_path, site):
    site.replies["/huge"] = [Reply(200, {"Content-Type": "text/html"}, b"<p>" + b"x" * (2 * 2**20) + b"</p>")]
    run = crawl(db, db_path, [site.url("/huge")], Crawl(max_response_mb=1.5))[site.url("/huge")]
    assert problems(run) == [f"{site.url('/huge')}: response larger than the limit of 1.5 MB"]


def test_timeout_refusal_and_dns_failure_are_named(db, db_path, site):
    site.replies["/slow"] = [Reply(200, body=b"<html></html>", delay=1.2)]
    refused, unresolvable = "http://127.0.0.1:1/reviews", f"http://{UNRESOLVABLE_HOST}/reviews"
    runs = crawl(db, db_path, [site.url("/slow"), refused, unresolvable], DOWNLOAD_TIMEOUT=0.5, RETRY_TIMES=1)
    assert problems(runs[site.url("/slow")]) == [f"{site.url('/slow')}: timed out after 0.5 s (2 attempts)"]
    assert problems(runs[refused]) == [f"{refused}: connection refused (2 attempts)"]
    assert problems(runs[unresolvable]) == [f"{unresolvable}: DNS lookup failed for {UNRESOLVABLE_HOST} (2 attempts)"]


def test_robots_txt_blames_robots_only_when_it_forbids(db, db_path, site):
    site.replies["/robots.txt"] = [Reply(200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n")]
    site.replies["/moved"] = [Reply(302, {"Location": "/private/reviews"})]
    site.replies["/public"] = [Reply(302, {"Location": "/public"})]
    runs = crawl(db, db_path, [site.url("/moved"), site.url("/public")])
    assert problems(runs[site.url("/moved")]) == [f"{site.url('/private/reviews')}: forbidden by robots.txt"]
    assert problems(runs[site.url("/public")]) == [f"{site.url('/public')}: redirect loop (1 redirect) at {site.url('/public')}"]
    assert "/private/reviews" not in [path for path, _ in site.requests]


def test_cli_prints_what_happened_to_each_source(tmp_path, monkeypatch, site):
    site.replies["/a"] = [Reply(302, {"Location": "/a"})]
    site.replies["/bomb"] = [Reply(200, {"Content-Encoding": "gzip"}, gzip.compress(b"\0" * 8 * 2**20))]
    site.replies["/feed"] = [Reply(200, RSS, FEED)]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitor.toml").write_text("[crawl]\ndownload_delay = 0\nautothrottle = false\nmax_response_mb = 2\n")
    urls = [site.url("/a"), site.url("/bomb"), site.url("/feed")]
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["crawl", *sum((["--url", url] for url in urls), [])])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"failed   {urls[0]}: redirect loop (1 redirect) at {urls[0]}",
        f"failed   {urls[1]}: response larger than the limit of 2 MB (decompressed)",
        f"ok       {urls[2]}: 1 pages, 5 reviews (5 new, 0 updated, 0 removed), 0 errors",
        "3 sources: 5 new, 0 updated, 0 degraded, 2 failed",
    ]
