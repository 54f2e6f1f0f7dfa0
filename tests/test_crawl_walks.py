"""Walks through a source's pages: checkpoints, resuming, wrong pages, and what Trustpilot says of itself.

Real Scrapy crawls of Trustpilot-format pages on 127.0.0.1 into a real SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Crawl
from monitor.crawl import run_crawl, targets_from_urls
from monitor.loopback import LoopbackSite, Page
from monitor.sample_sites import rss_feed, trustpilot_listing, trustpilot_page, trustpilot_path
from tests.test_crawl import DOMAIN, FAST, ROBOTS, tp_reviews

NAME = "Hansen VVS ApS"


@pytest.fixture
def site():
    with LoopbackSite({"/robots.txt": ROBOTS}) as served:
        yield served


def publish(site: LoopbackSite, reviews: list[dict], trust_score: float = 3.9) -> None:
    for path in [p for p in site.pages if p.startswith("/review/")]:
        del site.pages[path]
    site.pages |= {path: Page(body) for path, body in trustpilot_listing(DOMAIN, NAME, reviews, 20, trust_score).items()}


def crawl(db, db_path: Path, site: LoopbackSite, max_pages: int = 50, full: bool = False) -> dict:
    targets = targets_from_urls(db, [site.url(f"/review/{DOMAIN}")], "trustpilot", None, None, max_pages, full)
    return run_crawl(db_path, targets, Crawl(), **FAST).runs[0]


def stored_ids(db) -> list[str]:
    return [row[0] for row in db.execute("SELECT external_id FROM reviews ORDER BY external_id")]


def walk_row(db) -> tuple:
    return db.execute("SELECT last_page, walk_complete, walk_full FROM source_walks").fetchone()


def page(number: int) -> str:
    return trustpilot_path(DOMAIN, number)


def test_walk_checkpoint_is_stored_and_marks_a_finished_walk(db, db_path, site):
    publish(site, tp_reviews(45))
    crawl(db, db_path, site)
    assert walk_row(db) == (3, 1, 0)
    assert db.execute("SELECT last_url FROM source_walks").fetchone() == (site.url(page(3)),)


def test_walk_broken_by_a_failing_page_is_resumed_from_its_checkpoint(db, db_path, site):
    reviews = tp_reviews(100)
    publish(site, reviews)
    site.pages[page(4)] = Page(b"oops", status=500)
    first = crawl(db, db_path, site)
    assert (first["pages"], first["new"]) == (3, 60)
    assert walk_row(db) == (3, 0, 0)

    publish(site, reviews)
    site.requests.clear()
    second = crawl(db, db_path, site)
    # Page 3 again (the last committed one), on to the end, then page 1 of a new walk: nothing new on top.
    assert site.paths_requested() == [page(3), page(4), page(5), page(1)]
    assert (second["status"], second["new"], second["removed"]) == ("ok", 40, 0)
    assert stored_ids(db) == sorted(r["id"] for r in reviews)
    assert walk_row(db) == (1, 1, 0)


def test_resumed_walk_then_new_reviews_on_top(db, db_path, site):
    reviews = tp_reviews(100)
    publish(site, reviews)
    site.pages[page(4)] = Page(b"oops", status=500)
    crawl(db, db_path, site)
    newer = tp_reviews(25, start=500) + reviews  # 25 new on top push every old review 25 places down
    publish(site, newer)
    site.requests.clear()
    run = crawl(db, db_path, site)
    # The walk goes on to the end; then a new one from page 1 reads the 25 on top (page 2 holds five of them).
    assert site.paths_requested() == [page(3), page(4), page(5), page(6), page(7), page(1), page(2), page(3)]
    assert run["new"] == 65
    assert stored_ids(db) == sorted(r["id"] for r in newer)
    assert db.execute("SELECT COUNT(*) FROM reviews").fetchone() == (125,)


def test_page_limit_leaves_the_walk_to_the_next_crawl(db, db_path, site):
    reviews = tp_reviews(100)
    publish(site, reviews)
    first = crawl(db, db_path, site, max_pages=3)
    assert (first["new"], walk_row(db)) == (60, (3, 0, 0))
    assert f"{site.url(f'/review/{DOMAIN}')}: stopped at the page limit (3); the next crawl goes on from here" in first["message"]
    site.requests.clear()
    second = crawl(db, db_path, site, max_pages=3)
    assert site.paths_requested() == [page(3), page(4), page(5)]  # no new walk: the limit was reached
    assert (second["new"], walk_row(db)) == (40, (5, 1, 0))
    site.requests.clear()
    crawl(db, db_path, site, max_pages=3)
    assert site.paths_requested() == [page(1)]  # the walk finished: stop at the first page of known reviews


def test_full_walk_cut_short_is_resumed_to_the_end(db, db_path, site):
    reviews = tp_reviews(100)
    publish(site, reviews)
    crawl(db, db_path, site)
    site.pages[page(3)] = Page(b"oops", status=500)
    crawl(db, db_path, site, full=True)
    assert walk_row(db) == (2, 0, 1)
    publish(site, reviews)
    site.requests.clear()
    crawl(db, db_path, site)
    # Every page is known, but a full walk stops only at the end.
    assert site.paths_requested() == [page(2), page(3), page(4), page(5), page(1)]


def test_server_answering_page_two_with_page_one_stops_the_walk_degraded(db, db_path, site):
    reviews = tp_reviews(60)
    publish(site, reviews)
    site.pages[page(2)] = site.pages[page(1)]
    run = crawl(db, db_path, site)
    assert site.paths_requested() == [page(1), page(2)]
    assert (run["status"], run["pages"], run["new"]) == ("degraded", 2, 20)
    assert run["message"].splitlines() == [
        "the source answered with a page other than the one asked for",
        f"{site.url(page(2))}: asked for page 2, the response is page 1; stopped the walk",
    ]
    assert walk_row(db) == (1, 0, 0)  # the next crawl tries page 1 and 2 again


def test_page_repeating_the_previous_pages_reviews_stops_the_walk_degraded(db, db_path, site):
    reviews = tp_reviews(60)
    publish(site, reviews)
    site.pages[page(3)] = Page(trustpilot_page(DOMAIN, NAME, reviews[20:40], 3, 3, 60))  # says page 3, holds page 2
    run = crawl(db, db_path, site)
    assert site.paths_requested() == [page(1), page(2), page(3)]
    assert (run["status"], run["new"]) == ("degraded", 40)
    assert run["message"].splitlines()[1] == f"{site.url(page(3))}: page 3 repeats the reviews of page 2; stopped the walk"
    assert walk_row(db) == (2, 0, 0)


def test_listing_in_relevance_order_is_walked_to_the_end(db, db_path, site):
    reviews = tp_reviews(60)
    publish(site, reviews)
    crawl(db, db_path, site)
    for number in (1, 2, 3):
        site.pages[page(number)] = Page(site.pages[page(number)].body.replace(b'"sort": "recency"', b'"sort": "relevance"'))
    site.requests.clear()
    run = crawl(db, db_path, site)
    assert site.paths_requested() == [page(1), page(2), page(3)]
    assert (run["status"], run["new"]) == ("ok", 0)


def test_verification_labels_and_reviewer_counts_are_stored(db, db_path, site):
    reviews = tp_reviews(3)
    reviews[0] |= {"verified": True, "reviewer_verified": True, "author_reviews": 12}
    reviews[1] |= {"verified": True, "author_reviews": 2}
    publish(site, reviews)
    crawl(db, db_path, site)
    rows = db.execute("SELECT author, verified, reviewer_verified, reviewer_review_count FROM reviews ORDER BY author")
    assert rows.fetchall() == [("Kunde 0", 1, 1, 12), ("Kunde 1", 1, 0, 2), ("Kunde 2", 0, 0, 1)]
    reviews[0] |= {"author_reviews": 13}
    publish(site, reviews)
    crawl(db, db_path, site, full=True)
    assert db.execute("SELECT field, old_value, new_value FROM review_history").fetchall() == [
        ("reviewer_review_count", "12", "13"),
    ]


def test_trustscore_and_star_distribution_are_kept_over_time(db, db_path, site):
    reviews = tp_reviews(45)  # ratings n % 5 + 1: nine reviews of each star
    publish(site, reviews, trust_score=3.9)
    crawl(db, db_path, site)
    crawl(db, db_path, site)  # the same figures: no new row
    publish(site, tp_reviews(5, start=100) + reviews, trust_score=4.1)
    crawl(db, db_path, site)
    rows = db.execute("SELECT trust_score, stars, number_of_reviews, one_star, two_stars, three_stars, four_stars, "
                      "five_stars FROM source_stats ORDER BY observed_at, rowid").fetchall()
    assert rows == [(3.9, 4.0, 45, 9, 9, 9, 9, 9), (4.1, 4.0, 50, 10, 10, 10, 10, 10)]


def test_undated_feed_entry_keeps_its_first_seen_date(db, db_path, site, business_id):
    entries = [{"guid": "e1", "title": "Hansen VVS kom for sent", "link": "https://avis.example/1",
                "description": "Hansen VVS kom for sent", "pubDate": "snart"}]
    site.pages["/nyheder.rss"] = Page(rss_feed("Avis", "https://avis.example", entries), content_type="application/rss+xml")
    targets = targets_from_urls(db, [site.url("/nyheder.rss")], "feed", business_id, ["Hansen VVS"], 5)
    first = run_crawl(db_path, targets, Crawl(), **FAST).runs[0]
    assert first["message"] == f"{site.url('/nyheder.rss')}: entry 1 has no readable date; dated by when it was first seen"
    (first_seen, published, estimated), = db.execute("SELECT first_seen_at, published_at, published_at_estimated FROM reviews")
    assert (published, estimated) == (first_seen, 1)
    db.execute("UPDATE reviews SET published_at = '2026-01-05T00:00:00Z', first_seen_at = '2026-01-05T00:00:00Z'")
    db.conn.commit()
    targets = targets_from_urls(db, [site.url("/nyheder.rss")], "feed", business_id, ["Hansen VVS"], 5)
    second = run_crawl(db_path, targets, Crawl(), **FAST).runs[0]
    assert (second["new"], second["updated"]) == (0, 0)
    assert db.execute("SELECT published_at, published_at_estimated FROM reviews").fetchall() == [("2026-01-05T00:00:00Z", 1)]
    assert db["review_history"].count == 0


def directory_page(first: int, next_path: str | None) -> bytes:
    reviews = ",".join(
        f'{{"@type":"Review","@id":"/firma/x/anmeldelse/{n}","author":"Kunde {n}","datePublished":"2026-10-{n % 28 + 1:02d}",'
        f'"reviewBody":"Tekst {n}","reviewRating":{{"ratingValue":{n % 5 + 1}}}}}'
        for n in range(first, first + 10)
    )
    link = f'<link rel="next" href="{next_path}">' if next_path else ""
    return (f'<html><head>{link}<script type="application/ld+json">{{"@context":"https://schema.org",'
            f'"@type":"LocalBusiness","name":"X","review":[{reviews}]}}</script></head><body></body></html>').encode()


def test_walk_of_linked_pages_resumes_from_the_last_committed_url(db, db_path, site):
    paths = ["/firma/x", "/firma/x?side=2", "/firma/x?side=3"]
    for number, path in enumerate(paths):
        site.pages[path] = Page(directory_page(number * 10, paths[number + 1] if number < 2 else None))
    kept = site.pages.pop(paths[2])
    targets = targets_from_urls(db, [site.url(paths[0])], "schemaorg", None, None, 50)
    run_crawl(db_path, targets, Crawl(), **FAST)
    assert walk_row(db) == (2, 0, 0)
    site.pages[paths[2]] = kept
    site.requests.clear()
    targets = targets_from_urls(db, [site.url(paths[0])], "schemaorg", None, None, 50)
    run = run_crawl(db_path, targets, Crawl(), **FAST).runs[0]
    assert site.paths_requested() == [paths[1], paths[2], paths[0]]
    assert (run["new"], db["reviews"].count) == (10, 30)
