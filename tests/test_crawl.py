"""Real Scrapy crawls of pages served on 127.0.0.1, writing to a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Crawl
from monitor.crawl import run_crawl, targets_from_urls
from monitor.loopback import LoopbackSite, Page
from monitor.sample_sites import trustpilot_listing, trustpilot_path
from tests.conftest import FILES

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "REPMON_BACKOFF_BASE": 0.01, "RETRY_TIMES": 1,
        "DOWNLOAD_TIMEOUT": 2}
ROBOTS = Page(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
DOMAIN = "hansen-vvs.dk"


def tp_reviews(count: int, start: int = 0) -> list[dict]:
    return [
        {"id": f"66f2{n:020d}", "rating": n % 5 + 1, "title": f"Anmeldelse {n}", "text": f"Tekst nummer {n}",
         "language": "da", "published": f"2026-10-{28 - n % 28:02d}T10:00:00.000Z", "author": f"Kunde {n}"}
        for n in range(start, start + count)
    ]


def publish(site: LoopbackSite, reviews: list[dict], per_page: int = 20) -> None:
    """Put a Trustpilot company listing of `reviews` (newest first) on the site."""
    for path in [p for p in site.pages if p.startswith("/review/")]:
        del site.pages[path]
    for path, body in trustpilot_listing(DOMAIN, "Hansen VVS ApS", reviews, per_page).items():
        site.pages[path] = Page(body)


def tp_path(page: int) -> str:
    return trustpilot_path(DOMAIN, page)


def crawl(db, db_path: Path, urls: list[str], parser: str = "auto", full: bool = False, business_id: str | None = None,
          names: list[str] | None = None, **settings):
    targets = targets_from_urls(db, urls, parser, business_id, names, max_pages=50, full=full)
    return run_crawl(db_path, targets, Crawl(), **(FAST | settings))


@pytest.fixture
def site():
    with LoopbackSite({"/robots.txt": ROBOTS}) as served:
        yield served


def test_trustpilot_pagination_then_incremental_stop(db, db_path, site):
    publish(site, tp_reviews(45))
    url = site.url(f"/review/{DOMAIN}")
    first = crawl(db, db_path, [url], parser="trustpilot")
    assert [(r["status"], r["pages"], r["reviews_seen"], r["new"], r["updated"], r["errors"]) for r in first.runs] == [
        ("ok", 3, 45, 45, 0, 0)
    ]
    assert db["reviews"].count == 45
    assert db.execute("SELECT business_id, source FROM reviews GROUP BY 1, 2").fetchall() == [("hansen-vvs-dk", "trustpilot")]

    site.requests.clear()
    second = crawl(db, db_path, [url], parser="trustpilot")
    assert [(r["status"], r["pages"], r["new"], r["updated"]) for r in second.runs] == [("ok", 1, 0, 0)]
    assert site.paths_requested() == [tp_path(1)]  # page 1 held only known reviews
    assert db["reviews"].count == 45
    assert db["review_history"].count == 0


def test_new_reviews_on_top_are_fetched_until_a_known_page(db, db_path, site):
    publish(site, tp_reviews(45))
    url = site.url(f"/review/{DOMAIN}")
    crawl(db, db_path, [url], parser="trustpilot")
    publish(site, tp_reviews(25, start=100) + tp_reviews(45))
    site.requests.clear()
    run = crawl(db, db_path, [url], parser="trustpilot").runs[0]
    assert (run["pages"], run["new"]) == (3, 25)  # page 2 still had 5 new ones; page 3 held only known ones
    assert site.paths_requested() == [tp_path(1), tp_path(2), tp_path(3)]


def test_edited_review_and_new_reply_land_in_history(db, db_path, site):
    reviews = tp_reviews(3)
    publish(site, reviews)
    url = site.url(f"/review/{DOMAIN}")
    crawl(db, db_path, [url], parser="trustpilot")
    reviews[1] = reviews[1] | {"text": "Opdateret: de kom tilbage og fiksede det", "rating": 4,
                               "updated": "2026-11-01T12:00:00.000Z",
                               "reply": {"message": "Tak for din opdatering!", "published": "2026-11-02T08:00:00.000Z"}}
    publish(site, reviews)
    run = crawl(db, db_path, [url], parser="trustpilot").runs[0]
    assert (run["new"], run["updated"]) == (0, 1)
    rows = db.execute("SELECT review_id, field, old_value, new_value FROM review_history ORDER BY id").fetchall()
    review_id = f"trustpilot:{reviews[1]['id']}"
    assert rows == [
        (review_id, "rating", "2.0", "4.0"),
        (review_id, "body", "Tekst nummer 1", "Opdateret: de kom tilbage og fiksede det"),
        (review_id, "edited_at", None, "2026-11-01T12:00:00Z"),
        (review_id, "reply_body", None, "Tak for din opdatering!"),
        (review_id, "reply_at", None, "2026-11-02T08:00:00Z"),
    ]


def test_removed_review_is_marked_on_a_complete_walk(db, db_path, site):
    reviews = tp_reviews(30)
    publish(site, reviews)
    url = site.url(f"/review/{DOMAIN}")
    crawl(db, db_path, [url], parser="trustpilot")
    gone = reviews.pop(5)
    publish(site, reviews)
    incremental = crawl(db, db_path, [url], parser="trustpilot").runs[0]
    assert incremental["removed"] == 0  # stopped at page 1: the listing was not seen whole
    full = crawl(db, db_path, [url], parser="trustpilot", full=True).runs[0]
    assert (full["pages"], full["removed"]) == (2, 1)
    removed = db.execute("SELECT id FROM reviews WHERE removed_at IS NOT NULL").fetchall()
    assert removed == [(f"trustpilot:{gone['id']}",)]
    assert db.execute("SELECT field, old_value FROM review_history").fetchall() == [("removed_at", None)]


def test_schemaorg_site_with_broken_block_and_missing_second_page(db, db_path, site):
    site.pages["/firma/hansen-vvs"] = Page((FILES / "sites" / "directory_profile.html").read_bytes())
    run = crawl(db, db_path, [site.url("/firma/hansen-vvs")]).runs[0]
    assert (run["status"], run["pages"], run["reviews_seen"], run["new"], run["errors"]) == ("degraded", 1, 3, 3, 1)
    assert run["message"].splitlines() == [
        "1 of 2 pages failed",
        f"{site.url('/firma/hansen-vvs')}: JSON-LD at line 41 is malformed (Expecting ',' delimiter: line 2 column 142 (char 142)); skipped",
        f"{site.url('/firma/hansen-vvs?side=2')}: HTTP 404 Not Found",
    ]
    assert db.execute("SELECT reply_body FROM reviews WHERE author = 'Mette Kristensen'").fetchone() == (
        "Kære Mette, vi kommer ud mandag og ser på det. Mvh Jens",
    )


def test_server_errors_and_timeouts_are_counted_not_fatal(db, db_path, site):
    publish(site, tp_reviews(5))
    site.pages["/broken"] = Page(b"oops", status=500)
    site.pages["/slow"] = Page(b"<html></html>", delay=3)
    summary = crawl(db, db_path, [site.url(f"/review/{DOMAIN}"), site.url("/broken"), site.url("/slow")])
    by_url = {r["url"].rsplit("/", 1)[1]: r for r in summary.runs}
    assert (by_url[DOMAIN]["status"], by_url[DOMAIN]["new"]) == ("ok", 5)
    assert (by_url["broken"]["status"], by_url["broken"]["errors"], by_url["broken"]["message"]) == (
        "failed", 1, f"no page could be fetched\n{site.url('/broken')}: HTTP 500 Internal Server Error after 2 attempts",
    )
    assert by_url["slow"]["status"] == "failed"
    assert by_url["slow"]["message"].splitlines()[1] == f"{site.url('/slow')}: timed out after 2 s (2 attempts)"
    assert site.paths_requested().count("/broken") == 2  # retried once after a backoff


def test_robots_txt_is_obeyed(db, db_path, site):
    site.pages["/private/reviews"] = Page((FILES / "sites" / "directory_profile.html").read_bytes())
    run = crawl(db, db_path, [site.url("/private/reviews")]).runs[0]
    assert (run["status"], run["pages"], run["reviews_seen"]) == ("failed", 0, 0)
    assert run["message"].splitlines()[1] == f"{site.url('/private/reviews')}: forbidden by robots.txt"
    assert "/private/reviews" not in site.paths_requested()


def test_page_that_goes_quiet_is_degraded(db, db_path, site):
    publish(site, tp_reviews(3))
    url = site.url(f"/review/{DOMAIN}")
    crawl(db, db_path, [url])
    site.pages[f"/review/{DOMAIN}"] = Page(b"<html><body><div class='styles_new__x1'>Ny side</div></body></html>")
    run = crawl(db, db_path, [url]).runs[0]
    assert run["status"] == "degraded"
    assert run["message"].splitlines()[0] == (
        "no reviews found where the previous crawl found 3: the page may have changed its format"
    )
    assert db["reviews"].count == 3


def test_feed_mentions_and_conditional_get(db, db_path, site, business_id):
    site.pages["/mentions.rss"] = Page((FILES / "feeds" / "mentions.rss").read_bytes(),
                                       content_type="application/rss+xml", etag='"v1"')
    url = site.url("/mentions.rss")
    names = ["Hansen VVS ApS", "Hansen VVS", "hansen-vvs.dk"]
    first = crawl(db, db_path, [url], business_id=business_id, names=names).runs[0]
    assert (first["status"], first["new"]) == ("ok", 2)
    assert db.execute("SELECT title, rating, source FROM reviews ORDER BY published_at").fetchall() == [
        ("Anyone used hansen-vvs.dk?", None, url),
        ("Hansen VVS & Co. – vandskade efter 3 uger", None, url),
    ]
    second = crawl(db, db_path, [url], business_id=business_id, names=names).runs[0]
    assert (second["status"], second["pages"], second["new"], second["message"]) == (
        "ok", 1, 0, "not modified since the last crawl",
    )
    assert site.requests[-1][1]["if-none-match"] == '"v1"'


def test_cli_crawl_url_without_config(tmp_path, monkeypatch, site):
    publish(site, tp_reviews(4))
    site.pages["/mentions.rss"] = Page((FILES / "feeds" / "mentions.rss").read_bytes(), content_type="application/rss+xml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitor.toml").write_text("[crawl]\ndownload_delay = 0\n")
    urls = ["--url", site.url(f"/review/{DOMAIN}"), "--url", site.url("/mentions.rss")]
    refused = CliRunner().invoke(cli, ["crawl", *urls])
    assert (refused.exit_code, refused.output) == (1, "Error: there is no repmon database at data/monitor.db: create it "
                                                      "with `repmon init`, or give the right file with --db or REPMON_DB\n")
    assert not (tmp_path / "data").exists() and site.requests == []
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["crawl", *urls])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"ok       {site.url(f'/review/{DOMAIN}')}: 1 pages, 4 reviews (4 new, 0 updated, 0 removed), 0 errors"
    assert lines[1] == f"ok       {site.url('/mentions.rss')}: 1 pages, 5 reviews (5 new, 0 updated, 0 removed), 0 errors"
    assert lines[-1] == "2 sources: 9 new, 0 updated, 0 degraded, 0 failed"
    bad = CliRunner().invoke(cli, ["crawl", "--url", "ftp://example.dk/x"])
    assert bad.exit_code == 2 and "'ftp://example.dk/x' is not an http(s) URL" in bad.output


def test_link_to_an_unreachable_host_is_an_error_not_fatal(db, db_path, site):
    page = (FILES / "sites" / "directory_profile.html").read_bytes().replace(
        b'href="/firma/hansen-vvs?side=2"', b'href="http://127.0.0.1:1/firma/hansen-vvs?side=2"'
    )
    site.pages["/firma/hansen-vvs"] = Page(page)
    run = crawl(db, db_path, [site.url("/firma/hansen-vvs")]).runs[0]
    assert (run["status"], run["new"], run["errors"]) == ("degraded", 3, 1)
    assert run["message"].splitlines()[-1] == "http://127.0.0.1:1/firma/hansen-vvs?side=2: connection refused (2 attempts)"
