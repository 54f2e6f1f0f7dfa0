"""A time limit per document: a pathological feed or page is stopped and named; the other sources go on."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from monitor.config import Crawl
from monitor.crawl import run_crawl, targets_from_urls
from monitor.loopback import LoopbackSite, Page
from spiders.parse_limit import ParseStopped, ParseWorker
from tests.conftest import FILES

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 5}
ATOM = "application/atom+xml"


def atom_feed(author: str) -> bytes:
    """An Atom feed of one entry naming Hansen VVS; `author` is the XML inside its <author>."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Forum</title>'
        '<id>urn:forum</id><updated>2026-11-02T10:00:00Z</updated><entry><title>Hansen VVS kom til tiden</title>'
        f'<id>urn:post:1</id><updated>2026-11-02T10:00:00Z</updated><author>{author}</author>'
        '<summary>Fint arbejde.</summary></entry></feed>'
    ).encode()


def review_page(date_published: str) -> bytes:
    """A schema.org page with one review dated `date_published`."""
    data = {"@context": "https://schema.org", "@type": "LocalBusiness", "name": "Hansen VVS ApS",
            "review": [{"@type": "Review", "author": {"@type": "Person", "name": "Mette"}, "reviewBody": "Godt arbejde",
                        "reviewRating": {"@type": "Rating", "ratingValue": 5}, "datePublished": date_published}]}
    return f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head></html>'.encode()


def crawl(db, db_path: Path, urls: list[str], seconds: float) -> dict[str, dict]:
    targets = targets_from_urls(db, urls, "auto", None, None, max_pages=5)
    summary = run_crawl(db_path, targets, Crawl(parse_time_limit_seconds=seconds), **FAST)
    return {run["url"]: run for run in summary.runs}


@pytest.fixture
def site():
    with LoopbackSite() as served:
        yield served


def test_feed_with_a_megabyte_author_is_stopped_and_the_other_feed_is_read(db, db_path, site):
    # feedparser searches the author text for an e-mail address in quadratic time: about an hour for 1 MB.
    site.pages["/bad.atom"] = Page(atom_feed("a" * 2**20), content_type=ATOM)
    site.pages["/good.rss"] = Page((FILES / "feeds" / "mentions.rss").read_bytes(), content_type="application/rss+xml")
    started = time.monotonic()
    runs = crawl(db, db_path, [site.url("/bad.atom"), site.url("/good.rss")], seconds=1)
    assert time.monotonic() - started < 60  # an hour without the limit; a minute leaves room for a loaded machine
    bad, good = runs[site.url("/bad.atom")], runs[site.url("/good.rss")]
    assert (bad["status"], bad["pages"], bad["new"], bad["errors"]) == ("degraded", 1, 0, 1)
    assert bad["message"].splitlines() == [
        "1 of 1 pages failed",
        f"feed {site.url('/bad.atom')}: parsing stopped after 1 s (document too complex)",
    ]
    assert (good["status"], good["new"], good["errors"]) == ("ok", 5, 0)


def test_feed_with_a_short_author_is_read_as_before(db, db_path, site):
    site.pages["/small.atom"] = Page(atom_feed("<name>Mette</name><email>mette@example.dk</email>"), content_type=ATOM)
    run = crawl(db, db_path, [site.url("/small.atom")], seconds=1)[site.url("/small.atom")]
    assert (run["status"], run["new"]) == ("ok", 1)
    assert db.execute("SELECT author, title FROM reviews").fetchall() == [("Mette (mette@example.dk)", "Hansen VVS kom til tiden")]


def test_page_too_complex_to_parse_is_stopped_and_the_next_page_is_read(db, db_path, site):
    # dateparser reads a 300 kB "date" word by word: about 8 s.
    site.pages["/slow"] = Page(review_page("1. januar " * 30_000))
    site.pages["/fine"] = Page(review_page("2026-10-02T08:15:00Z"))
    runs = crawl(db, db_path, [site.url("/slow"), site.url("/fine")], seconds=0.5)
    assert runs[site.url("/slow")]["message"].splitlines()[1:] == [
        f"{site.url('/slow')}: parsing stopped after 0.5 s (document too complex)"
    ]
    assert (runs[site.url("/fine")]["status"], runs[site.url("/fine")]["new"]) == ("ok", 1)


def test_parser_error_is_reported_for_its_page(db, db_path, site):
    nested = b'<html><head><script type="application/ld+json">' + b"[" * 100_000 + b"]" * 100_000 + b"</script></head></html>"
    site.pages["/nested"] = Page(nested)
    run = crawl(db, db_path, [site.url("/nested")], seconds=5)[site.url("/nested")]
    assert (run["status"], run["errors"]) == ("degraded", 1)
    assert run["message"].splitlines()[1:] == [
        f"{site.url('/nested')}: JSON-LD at line 1 is malformed (maximum recursion depth exceeded "
        "while decoding a JSON array from a unicode string); skipped"
    ]


def test_worker_is_replaced_after_a_timeout():
    worker = ParseWorker(0.3)
    first = worker.call(os.getpid)
    with pytest.raises(ParseStopped, match=r"^parsing stopped after 0\.3 s \(document too complex\)$"):
        worker.call(time.sleep, 5)
    second = worker.call(os.getpid)
    assert os.getpid() not in (first, second) and first != second
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # killed and reaped, not left as a zombie
    worker.stop()


def test_worker_holds_none_of_the_crawl_files(tmp_path):
    with open(tmp_path / "monitor.db", "wb") as database:
        worker = ParseWorker(5)
        pid = worker.call(os.getpid)
        open_in_worker = os.listdir(f"/proc/{pid}/fd")
        database_fd = str(database.fileno())
        worker.stop()
    assert len(open_in_worker) == 4  # stdin, stdout, stderr and its pipe
    assert database_fd not in open_in_worker


def test_worker_ends_when_the_crawl_process_ends():
    read_end, write_end = os.pipe()
    crawl_process = os.fork()
    if crawl_process == 0:  # a crawl process that dies without cleaning up
        os.write(write_end, str(ParseWorker(5).call(os.getpid)).encode())
        os._exit(0)
    os.waitpid(crawl_process, 0)
    worker_pid = int(os.read(read_end, 20))
    deadline = time.monotonic() + 5
    while _running(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _running(worker_pid)


def _running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting for a parent that is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
