"""The owner's pages in a real headless Chromium: every button pressed as an owner presses it, the home
page in five languages at a phone's width, and the screenshots the README shows."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from monitor.owner_pages import LANGUAGES, texts
from tests.test_browser import ARTIFACTS, CHROMIUM, page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
SCREENSHOTS = ARTIFACTS / "manual"  # copied to docs/screenshots/ when the pages change


def one(tmp_path: Path, sql: str, params: list | tuple = ()) -> tuple | None:
    with closing(sqlite3.connect(tmp_path / "data" / "demo.db")) as db:
        return db.execute(sql, params).fetchone()


def message(tab) -> str:
    return tab.locator("p.message-info, p.message-error").first.inner_text()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_home_page_at_a_phones_width_in_each_language(server, page, lang):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/?lang={lang}")
    t = texts(lang)
    assert page.locator("main h1").inner_text() == t["week_title"]
    assert page.locator("main").get_attribute("lang") == lang
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off to the side
    first = page.locator(".repmon-complaint").first
    assert first.locator(".repmon-review").is_visible()
    assert first.get_by_role("button", name=t["answered"], exact=True).is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"week_{lang}_390.png"), full_page=False)


def test_review_text_is_readable_without_scrolling_sideways(server, page):
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{server}/-/complaints?lang=da")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    text = page.locator(".repmon-complaint .repmon-review").first
    box = text.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1366
    assert "vand" in text.inner_text().lower()


def test_every_button_as_the_owner_presses_it(server, page, tmp_path):
    page.set_viewport_size({"width": 1366, "height": 900})
    t = texts("da")
    # complaints: answered
    page.goto(f"{server}/-/complaints?lang=da")
    first = page.locator(".repmon-complaint").first
    review = first.get_attribute("data-review")
    count = page.locator(".repmon-complaint").count()
    first.get_by_role("button", name=t["answered"], exact=True).click()
    assert message(page) == t["done_answered"]
    assert page.locator(".repmon-complaint").count() == count - 1
    assert one(tmp_path, "SELECT handled_by FROM reviews WHERE id = ?", [review]) == ("local user",)
    # matches: another of the candidate jobs, then not our customer
    page.goto(f"{server}/-/matches")
    card = page.locator(".repmon-match").first
    other = card.locator("tbody tr:not(.repmon-proposed)").first
    job_number = other.locator("td").first.inner_text()
    ambiguous = one(tmp_path, "SELECT COUNT(*) FROM matches WHERE status = 'ambiguous'")[0]
    other.get_by_role("button", name=t["this_job"]).click()
    assert message(page) == t["done_match"]
    assert one(tmp_path, "SELECT j.job_id FROM matches m JOIN jobs j ON j.id = m.job_id WHERE m.status = 'confirmed'") == (
        job_number,)
    # A matched review's own card (the demo has one ambiguous match): not our customer.
    matched = one(tmp_path, "SELECT review_id FROM matches WHERE status = 'auto' ORDER BY review_id LIMIT 1")[0]
    page.goto(f"{server}/-/matches?review={quote(matched)}")
    page.locator(".repmon-match").first.get_by_role("button", name=t["not_customer"]).click()
    assert message(page) == t["done_not_customer"]
    assert one(tmp_path, "SELECT status, job_id FROM matches WHERE review_id = ?", [matched]) == ("rejected", None)
    assert one(tmp_path, "SELECT COUNT(*) FROM matches WHERE status = 'ambiguous'")[0] == ambiguous - 1
    # calls: called with a note, and moved to another day
    page.goto(f"{server}/-/calls")
    call = page.locator(".repmon-call").first
    call.get_by_label(t["note"]).fill("Kommer mandag kl. 8")
    call.get_by_role("button", name=t["called"]).click()
    assert message(page) == t["done_called"]
    assert one(tmp_path, "SELECT COUNT(*) FROM follow_ups WHERE note = 'Kommer mandag kl. 8' AND done_by = 'local user'") == (1,)
    later = date.today() + timedelta(days=7)
    page.locator(".repmon-call").first.get_by_label(t["call_again_on"]).fill(later.isoformat())
    page.locator(".repmon-call").first.get_by_role("button", name=t["call_again"]).click()
    assert message(page).startswith(t["done_rescheduled"].split("{")[0])
    assert one(tmp_path, "SELECT COUNT(*) FROM follow_ups WHERE call_again_on = ?", [later.isoformat()]) == (1,)
    # patterns: seen, then closed
    page.goto(f"{server}/-/patterns")
    pattern = page.locator(".repmon-pattern", has_text="Kasper")  # the planted leak
    cluster = pattern.locator("input[name=pattern]").first.input_value().splitlines()  # one card, several patterns
    pattern.get_by_role("button", name=t["seen"]).click()
    assert message(page) == t["done_seen"]
    page.locator(".repmon-pattern", has_text="Kasper").get_by_role("button", name=t["closed"]).click()
    assert message(page) == t["done_closed"]
    assert one(tmp_path, "SELECT COUNT(*) FROM patterns WHERE acknowledged_by = 'local user' AND closed_by = 'local user'") == (
        len(cluster),)
    assert len(cluster) == 3  # the planted leak: business-wide, crew Kasper and job type Badeværelse
    assert page.evaluate("window.hacked") is None and page.dialogs == []


def test_screenshots_for_the_manual(server, page):
    """The pictures in the README: the home page and a complaint with its buttons, in Danish."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{server}/?lang=da")
    page.screenshot(path=str(SCREENSHOTS / "this-week.png"))
    page.locator(".repmon-complaint").first.screenshot(path=str(SCREENSHOTS / "complaint.png"))
    assert (SCREENSHOTS / "this-week.png").stat().st_size > 20_000
