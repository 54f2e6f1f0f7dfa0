"""The owner's pages: this week and its lists in five languages, and every button with valid, unknown,
other-business and hostile input; afterwards analysis runs and every foreign key holds."""

from __future__ import annotations

import json
import re
import string
from datetime import date, datetime, timedelta, timezone
from html import unescape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from monitor.config import Config, parse_config
from monitor.explorer import build_datasette
from monitor.match import run_matching
from monitor.owner_pages import LANGUAGES, texts
from monitor.analyze import run_analysis
from monitor.store import ensure_business, save_jobs, save_reviews
from monitor.themes import vocabulary
from tests.test_explorer_actions import consistent, snapshot
from tests.test_explorer_queries import TODAY, explorer, run  # noqa: F401  (fixture)

HOSTILE = ["x' OR '1'='1", "'; DROP TABLE matches; --", "<script>alert(1)</script>", ""]


def visible(html: str) -> str:
    """The text a reader sees: no tags, no attribute values, no scripts."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    html = re.sub(r"</?(strong|span|a|em|bdi)\b[^>]*>", "", html)  # inline: no gap where the tag was
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def press(datasette, page: str, data: dict, cookies: dict | None = None) -> str:
    """Press a button as a browser on `page` does (CSRF token and cookie); return the page it leads back to.

    The token comes from the calls page, which always has buttons here (a list emptied by the
    presses before has none)."""
    form = run(datasette.client.get("/-/calls", cookies=cookies or {}))
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    jar = (cookies or {}) | {"ds_csrftoken": form.cookies["ds_csrftoken"]}
    answer = run(datasette.client.post("/-/act", data=data | {"csrftoken": token, "back": data.get("back", page)},
                                       cookies=jar))
    assert answer.status_code == 302, answer.text
    jar |= {"ds_messages": answer.cookies["ds_messages"]}
    return visible(run(datasette.client.get(answer.headers["location"], cookies=jar)).text)


def business_config(lang: str) -> Config:
    return parse_config({"business": [{"name": "Hansen VVS ApS", "languages": [lang]}]})


def test_every_language_has_every_text_with_the_same_fields():
    english = texts("en")
    fields = {key: {f for _, f, _, _ in string.Formatter().parse(value) if f} for key, value in english.items()}
    for lang in LANGUAGES:
        assert set(texts(lang)) == set(english), lang
        for key, value in texts(lang).items():
            assert {f for _, f, _, _ in string.Formatter().parse(value) if f} == fields[key], (lang, key)


@pytest.mark.parametrize("lang,late,written", [
    ("da", "dage over svarfristen", "Skrevet for"),
    ("nb", "dager over svarfristen", "Skrevet for"),
    ("sv", "dagar efter svarsfristen", "Skrivet för"),
    ("de", "Tage überschritten", "Geschrieben vor"),
    ("en", "days past the reply deadline", "Written"),
])
def test_this_week_speaks_the_business_language(explorer, db, db_path, lang, late, written):
    datasette = build_datasette(db_path, business_config(lang))
    page = run(datasette.client.get("/"))
    assert page.status_code == 200
    t = texts(lang)
    assert f'<main lang="{lang}">' in page.text
    seen = visible(page.text)
    for key in ("week_title", "complaints_title", "patterns_title", "calls_title", "matches_title", "crawl_title"):
        assert t[key] in seen, key
    assert f"3 {t['nav_complaints']}" in seen
    assert "Kunde 241" in seen and late in seen and written in seen
    label = vocabulary().label("leak", lang)
    assert label[:1].upper() + label[1:] in seen  # German nouns keep their capitals
    for raw in ("trustpilot:c0", "hansen-vvs-aps", "age_hours", "emerging", "job_type", "SELECT"):
        assert raw not in seen, raw
    assert lang == "en" or "leak" not in seen
    assert "★☆☆☆☆" in seen


def test_the_viewer_can_switch_language_and_it_sticks(explorer, db_path):
    datasette = build_datasette(db_path, business_config("da"))
    german = run(datasette.client.get("/?lang=de"))
    assert "<h1>Diese Woche</h1>" in german.text
    assert german.cookies["repmon_lang"] == "de"
    again = run(datasette.client.get("/-/complaints", cookies={"repmon_lang": "de"}))
    assert "<h1>Beschwerden ohne Antwort</h1>" in again.text
    assert "<h1>Denne uge</h1>" in run(datasette.client.get("/?lang=xx")).text


def test_answered_marks_the_complaint_once(explorer, db):
    seen = press(explorer, "/-/complaints", {"action": "answered", "review": "trustpilot:c0"})
    assert "The complaint is marked as answered." in seen
    assert db.execute("SELECT handled_by FROM reviews WHERE id = 'trustpilot:c0'").fetchone() == ("local user",)
    assert "2 complaints" not in seen and "Kunde 241" not in seen  # gone from the list
    again = press(explorer, "/-/complaints", {"action": "answered", "review": "trustpilot:c0"})
    assert "That was already done. Nothing was changed." in again
    consistent(db)


@pytest.mark.parametrize("action,field,message", [
    ("answered", "review", "That review does not exist (any more). Nothing was saved."),
    ("this_job", "review", "That review does not exist (any more). Nothing was saved."),
    ("not_customer", "review", "That review does not exist (any more). Nothing was saved."),
    ("called", "call", "That call does not exist. Nothing was saved."),
    ("call_again", "call", "That call does not exist. Nothing was saved."),
    ("seen", "pattern", "That pattern does not exist. Nothing was saved."),
    ("closed", "pattern", "That pattern does not exist. Nothing was saved."),
])
def test_unknown_and_hostile_input_writes_nothing(explorer, db, action, field, message):
    before = snapshot(db)
    for hostile in HOSTILE:
        assert message in press(explorer, "/", {"action": action, field: hostile, "job": hostile, "date": "2099-01-01"})
    assert snapshot(db) == before
    assert "Unknown action. Nothing was saved." in press(explorer, "/", {"action": "drop_table"})
    assert snapshot(db) == before


def test_right_job_and_another_candidate_job(explorer, db):
    review = "trustpilot:c0"
    proposed = db.execute("SELECT job_id FROM matches WHERE review_id = ? AND status = 'auto'", [review]).fetchone()[0]
    page = visible(run(explorer.client.get(f"/-/matches?review={review}")).text)
    assert "Possible jobs" in page and "Kunde 241" in page and "J241 (Proposed)" in page
    other = "hansen-vvs-aps:J240"
    assert "The job is saved for the review." in press(explorer, f"/-/matches?review={review}",
                                                       {"action": "this_job", "review": review, "job": other})
    assert db.execute("SELECT job_id, status FROM matches WHERE review_id = ?", [review]).fetchall() == [(other, "confirmed")]
    assert proposed != other
    assert "That was already done." in press(explorer, "/-/matches", {"action": "this_job", "review": review, "job": other})
    consistent(db)
    assert db.execute("SELECT job_id, status FROM matches WHERE review_id = ?", [review]).fetchall() == [(other, "confirmed")]


def test_a_job_of_another_business_or_unknown_is_refused(explorer, db):
    elsewhere = ensure_business(db, "Jensen El")
    save_jobs(db, elsewhere, [{"job_id": "J1", "customer_name": "Ole", "completed_at": "2025-03-01"}])
    before = snapshot(db)
    for job in ("jensen-el:J1", "hansen-vvs-aps:J9999", *HOSTILE):
        assert "That job does not belong to the review's business. Nothing was saved." in press(
            explorer, "/-/matches", {"action": "this_job", "review": "trustpilot:c0", "job": job})
    assert snapshot(db) == before


def test_not_our_customer_stays_through_matching(explorer, db):
    review = "trustpilot:c1"
    assert "Saved: the reviewer is not your customer." in press(explorer, "/", {"action": "not_customer", "review": review})
    rows = [("rejected", None, "local user")]
    assert db.execute("SELECT status, job_id, decided_by FROM matches WHERE review_id = ?", [review]).fetchall() == rows
    run_matching(db)
    consistent(db)
    assert db.execute("SELECT status, job_id, decided_by FROM matches WHERE review_id = ?", [review]).fetchall() == rows
    assert "That was already done." in press(explorer, "/", {"action": "not_customer", "review": review})
    assert "Fits none of your jobs" in visible(run(explorer.client.get("/-/complaints")).text)
    # and a person may still change their mind: the right job after all
    assert "The job is saved" in press(explorer, "/", {"action": "this_job", "review": review, "job": "hansen-vvs-aps:J261"})
    assert db.execute("SELECT status, job_id FROM matches WHERE review_id = ?", [review]).fetchall() == [
        ("confirmed", "hansen-vvs-aps:J261")]


def test_calls_called_with_a_note_and_moved_to_another_day(explorer, db):
    first, second = [row[0] for row in db.execute(
        "SELECT id FROM follow_ups WHERE kind = 'urgent' ORDER BY id LIMIT 2").fetchall()]
    page = visible(run(explorer.client.get("/-/calls")).text)
    assert "Urgent: after a complaint" in page and "days overdue" in page
    seen = press(explorer, "/-/calls", {"action": "called", "call": first, "note": "Kommer mandag"})
    assert "The call is marked as done." in seen
    assert db.execute("SELECT done_by, note FROM follow_ups WHERE id = ?", [first]).fetchone() == ("local user", "Kommer mandag")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    for bad in (yesterday, "2026-02-30", "next week", ""):
        assert "Pick today or a later date. Nothing was saved." in press(
            explorer, "/-/calls", {"action": "call_again", "call": second, "date": bad})
    later = date.today() + timedelta(days=7)
    moved = press(explorer, "/-/calls", {"action": "call_again", "call": second, "date": later.isoformat()})
    assert f"The call is moved to {later:%-d %b %Y}." in moved
    assert db.execute("SELECT call_again_on, done_at FROM follow_ups WHERE id = ?", [second]).fetchone() == (
        later.isoformat(), None)
    consistent(db)  # analysis recomputes due_at, never the day a person chose
    assert db.execute("SELECT call_again_on FROM follow_ups WHERE id = ?", [second]).fetchone() == (later.isoformat(),)
    assert "That was already done." in press(explorer, "/-/calls", {"action": "called", "call": first})


def test_a_cluster_of_patterns_is_one_card_seen_then_closed_as_one(explorer, db):
    """The business-wide, crew and job-type leak patterns are one problem: one card saying where it
    concentrates, whose buttons act on all three."""
    html = run(explorer.client.get("/-/patterns")).text
    page = visible(html)
    assert page.count("Water leak and moisture") == 1
    assert "Water leak and moisture, crew Mads, job type Badeværelse (new)" in page
    assert "3 complaints, " in page and page.count("Mark as seen") == 1
    cluster = unescape(re.search(r'name="action" value="seen">.*?name="pattern" value="([^"]*)"', html, re.S).group(1))
    ids = ["hansen-vvs-aps:defect:leak:business:", "hansen-vvs-aps:defect:leak:crew:Mads",
           "hansen-vvs-aps:defect:leak:job_type:Badeværelse"]
    assert sorted(cluster.split("\n")) == ids
    assert "The pattern is marked as seen." in press(explorer, "/-/patterns", {"action": "seen", "pattern": cluster})
    assert "That was already done." in press(explorer, "/-/patterns", {"action": "seen", "pattern": cluster})
    assert "Seen today" in visible(run(explorer.client.get("/-/patterns")).text)  # the local user is no name to show
    assert "The pattern is closed." in press(explorer, "/-/patterns", {"action": "closed", "pattern": ids[1]})
    assert "The pattern is closed." in press(explorer, "/-/patterns", {"action": "closed", "pattern": cluster})  # the rest
    assert "That was already done." in press(explorer, "/-/patterns", {"action": "closed", "pattern": cluster})
    assert db.execute("SELECT acknowledged_by, closed_by, COUNT(*) FROM patterns WHERE id LIKE '%:leak:%' "
                      "GROUP BY 1, 2").fetchall() == [("local user", "local user", 3)]
    assert "No patterns right now." in visible(run(explorer.client.get("/-/patterns")).text)
    before = snapshot(db)
    assert "That pattern does not exist. Nothing was saved." in press(
        explorer, "/-/patterns", {"action": "seen", "pattern": ids[0] + "\nhansen-vvs-aps:defect:leak:crew:Nobody"})
    assert snapshot(db) == before
    consistent(db)


def test_a_button_only_leads_back_to_this_explorer(explorer):
    form = run(explorer.client.get("/"))
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    for back in ("//evil.example/", "/\\evil.example/", "/\t/evil.example/", "https://evil.example/", "javascript:alert(1)"):
        answer = run(explorer.client.post("/-/act", data={"action": "seen", "pattern": "x", "csrftoken": token, "back": back},
                                          cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]}))
        assert (answer.status_code, answer.headers["location"]) == (302, "/")


def test_with_a_password_strangers_see_and_press_nothing(explorer, db, db_path, monkeypatch):
    from datasette_auth_passwords.utils import hash_password

    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    locked = build_datasette(db_path, parse_config({"explorer": {"password_hash_env": "REPMON_TEST_HASH"}}))
    for path in ("/", "/-/complaints", "/-/patterns", "/-/calls", "/-/matches", "/-/reviews", "/-/reviews?review=trustpilot:c0"):
        answer = run(locked.client.get(path))
        assert (answer.status_code, answer.headers.get("location")) == (302, "/-/login?" + urlencode({"next": path})), path
        assert "Kunde 241" not in answer.text
    before = snapshot(db)
    assert run(locked.client.post("/-/act", data={"action": "answered", "review": "trustpilot:c0"})).status_code == 403
    assert snapshot(db) == before
    owner = {"ds_actor": locked.sign({"a": {"id": "owner"}}, "actor")}
    assert "The complaint is marked as answered." in press(locked, "/", {"action": "answered", "review": "trustpilot:c0"},
                                                           cookies=owner)
    assert db.execute("SELECT handled_by FROM reviews WHERE id = 'trustpilot:c0'").fetchone() == ("owner",)


def test_calls_as_a_calendar_and_findings_as_a_feed(explorer, db, db_path, monkeypatch):
    calendar = run(explorer.client.get("/-/calls.ics"))
    assert calendar.status_code == 200 and calendar.headers["content-type"] == "text/calendar; charset=utf-8"
    assert calendar.text.count("BEGIN:VEVENT") == 0  # the fixture's calls are from 2025: older than 30 days
    day = date.today() + timedelta(days=2)
    db.execute("UPDATE follow_ups SET call_again_on = ? WHERE kind = 'urgent'", [day.isoformat()])
    db.execute("UPDATE businesses SET timezone = 'Europe/Copenhagen'")
    db.conn.commit()
    calendar = run(explorer.client.get("/-/calls.ics?lang=da")).text
    assert calendar.count("BEGIN:VEVENT") == 3 and "SUMMARY:Ring til Kunde 241 (J241)" in calendar
    # 08:00 in Copenhagen, the business's zone, written in UTC
    start = datetime.combine(day, datetime.min.time().replace(hour=8), tzinfo=ZoneInfo("Europe/Copenhagen"))
    assert f"DTSTART:{start.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}" in calendar
    feed = run(explorer.client.get("/-/findings.atom?lang=da"))
    assert feed.status_code == 200 and feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert feed.text.count("<entry>") == 1 + 3  # one cluster of three patterns, three complaints
    assert "<title>Klage fra Kunde 241</title>" in feed.text
    assert "<title>Vandskade og fugt, montør Mads, opgavetype Badeværelse</title>" in feed.text
    from datasette_auth_passwords.utils import hash_password

    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    locked = build_datasette(db_path, parse_config({"explorer": {"password_hash_env": "REPMON_TEST_HASH"}}))
    for path in ("/-/calls.ics", "/-/findings.atom"):
        assert run(locked.client.get(path)).status_code == 403


def test_the_dashboard_speaks_the_business_language(explorer, db, db_path):
    from monitor.explorer import load_metadata

    metadata = load_metadata(db_path, business_config("da"))
    dashboard = metadata["plugins"]["datasette-dashboards"]["repmon"]
    assert dashboard["title"] == "Overblik over omdømmet"
    charts = dashboard["charts"]
    assert charts["median-reply"]["title"] == "Typisk svartid i dage (seneste 90 dage)"
    assert "suffix" not in charts["median-reply"]["display"]  # the title says "in days": "1 dage" read wrong
    assert charts["themes-by-month"]["display"]["encoding"]["color"]["title"] == "Emne"
    themes = {row[1] for row in db.execute(charts["themes-by-month"]["query"]).fetchall()}
    assert themes == {"Vandskade og fugt"}
    table = db.execute(charts["patterns-table"]["query"])
    assert [column[0] for column in table.description] == [
        "Emne", "Hvor", "Hvad", "Status", "Klager", "Seneste", "Dage efter opgaven"]
    assert sorted(row[:4] for row in table.fetchall()) == [
        ("Vandskade og fugt", "i hele virksomheden", "", "nyt"),
        ("Vandskade og fugt", "montør", "Mads", "nyt"),
        ("Vandskade og fugt", "opgavetype", "Badeværelse", "nyt"),
    ]
    page = run(build_datasette(db_path, business_config("de")).client.get("/-/dashboards/repmon"))
    assert "Ihr Ruf auf einen Blick" in page.text and "Reputation at a glance" not in page.text


def test_a_button_press_without_the_csrf_token_is_refused(explorer, db):
    before = snapshot(db)
    answer = run(explorer.client.post("/-/act", data={"action": "answered", "review": "trustpilot:c0", "back": "/"}))
    assert answer.status_code == 403
    assert snapshot(db) == before
    assert run(explorer.client.get("/-/act")).status_code == 405


def test_a_complaint_shows_its_suggested_reply_and_records_which_one_answered_it(explorer, db):
    rows = db.execute("SELECT id, variant FROM reply_drafts WHERE review_id = 'trustpilot:c0' ORDER BY variant").fetchall()
    assert [variant for _, variant in rows] == ["contact", "general", "specific"]
    page = run(explorer.client.get("/-/complaints"))
    card = page.text[page.text.index('data-review="trustpilot:c0"'):]
    card = card[:card.index("</article>")]
    assert re.search(r'data-variant="(\w+)"', card).group(1) == "specific"  # the first choice leads
    assert card.count("<textarea") == 3 and "Copy" in card and "Answered with this suggestion" in card
    specific = dict((variant, draft) for draft, variant in rows)["specific"]
    other = db.execute("SELECT id FROM reply_drafts WHERE review_id = 'trustpilot:c1' AND variant = 'general'").fetchone()[0]
    assert "That suggestion does not belong to the complaint. Nothing was saved." in press(
        explorer, "/-/complaints", {"action": "answered", "review": "trustpilot:c0", "draft": other})
    assert "The complaint is marked as answered." in press(
        explorer, "/-/complaints", {"action": "answered", "review": "trustpilot:c0", "draft": specific})
    assert db.execute("SELECT used_by FROM reply_drafts WHERE id = ?", [specific]).fetchone() == ("local user",)
    assert db.execute("SELECT COUNT(*) FROM reply_drafts WHERE used_at IS NOT NULL").fetchone() == (1,)
    consistent(db)
    assert db.execute("SELECT used_by FROM reply_drafts WHERE id = ?", [specific]).fetchone() == ("local user",)


def praise_review(business_id: str, external_id: str = "p1", **extra) -> dict:
    return {"business_id": business_id, "source": "trustpilot", "external_id": external_id, "rating": 5,
            "author": "Kunde 301", "title": "Flot arbejde", "body": "Flot og hurtigt arbejde, tak.",
            "url": f"https://dk.trustpilot.com/reviews/{external_id}", "published_at": "2025-05-21T15:00:00Z"} | extra


def test_reviews_lists_every_review_newest_first_and_searches(explorer, db, db_path, business_id):
    save_reviews(db, [praise_review(business_id)])
    run_analysis(db, Config(), TODAY)
    datasette = build_datasette(db_path, business_config("da"))
    seen = visible(run(datasette.client.get("/-/reviews")).text)
    t = texts("da")
    assert t["reviews_title"] in seen and t["nav_reviews"] in seen
    order = [seen.index(author) for author in ("Kunde 301", "Kunde 281", "Kunde 261", "Kunde 241")]
    assert order == sorted(order)  # newest first, praise and complaints alike
    assert seen.count(t["suggest_reply"]) == 4 and seen.count(t["unanswered_complaint"]) == 3
    found = visible(run(datasette.client.get("/-/reviews", params={"q": "HURTIGT"})).text)
    assert "Kunde 301" in found and "Kunde 241" not in found
    assert t["reviews_none"] in visible(run(datasette.client.get("/-/reviews", params={"q": "' OR 1=1 --"})).text)


def test_a_suggested_reply_on_demand_for_praise_stores_nothing(explorer, db, db_path, business_id):
    save_reviews(db, [praise_review(business_id)])
    run_analysis(db, Config(), TODAY)
    before = snapshot(db)
    datasette = build_datasette(db_path, business_config("da"))
    page = run(datasette.client.get("/-/reviews", params={"review": "trustpilot:p1"}))
    seen = visible(page.text)
    assert texts("da")["reply_title"] in seen
    assert re.findall(r'data-variant="(\w+)"', page.text) == ["thanks", "thanks_short"]
    assert "Hej Kunde Mange tak for de pæne ord" not in seen  # "Kunde" is no first name to greet
    assert "Hej Mange tak for de pæne ord" in seen and "Tak fordi du tog dig tid til at skrive en anmeldelse." in seen
    assert page.text.count("<textarea") == 2 and "Kopiér" in seen
    assert 'href="https://dk.trustpilot.com/reviews/p1"' in page.text and "Svar på Trustpilot" in seen
    assert 'value="answered"' not in page.text  # praise is not a complaint to mark answered
    assert snapshot(db) == before


def test_a_suggested_reply_for_a_complaint_offers_its_stored_drafts(explorer, db):
    page = run(explorer.client.get("/-/reviews", params={"review": "trustpilot:c0"}))
    assert re.findall(r'data-variant="(\w+)"', page.text) == ["specific", "contact", "general"]
    assert page.text.count("Answered with this suggestion") == 3
    specific = db.execute("SELECT id FROM reply_drafts WHERE review_id = 'trustpilot:c0' AND variant = 'specific'").fetchone()[0]
    assert f'name="draft" value="{specific}"' in page.text
    assert "The complaint is marked as answered." in press(
        explorer, "/-/reviews?review=trustpilot:c0", {"action": "answered", "review": "trustpilot:c0", "draft": specific})
    consistent(db)


@pytest.mark.parametrize("review", ["trustpilot:none", *HOSTILE])
def test_a_suggested_reply_for_an_unknown_review_says_so(explorer, db, review):
    before = snapshot(db)
    page = run(explorer.client.get("/-/reviews", params={"review": review} if review else {}))
    assert page.status_code == 200
    seen = visible(page.text)
    if review:
        assert "That review does not exist (any more)." in seen and "<textarea" not in page.text
    else:  # an empty choice is the list
        assert "All reviews" in seen
    assert snapshot(db) == before


def test_a_suggested_reply_for_another_business_is_not_shown_under_this_one(explorer, db, db_path, business_id):
    other = ensure_business(db, "Andersen El")
    save_reviews(db, [praise_review(other, "q1", author="Ole Andersen")])
    datasette = build_datasette(db_path, Config())
    mine = visible(run(datasette.client.get("/-/reviews", params={"review": "trustpilot:q1", "business": business_id})).text)
    assert "That review does not exist (any more)." in mine
    theirs = visible(run(datasette.client.get("/-/reviews", params={"review": "trustpilot:q1", "business": other})).text)
    assert "Hi Ole," in theirs


def test_a_source_read_with_page_errors_is_a_crawl_problem_even_when_its_status_is_ok(explorer, db, business_id):
    db["sources"].insert({"id": "dir1", "business_id": business_id, "kind": "schemaorg", "name": "Håndværkerguiden",
                          "url": "https://haandvaerkerguiden.example/firma/hansen", "last_status": "ok",
                          "last_crawled_at": "2025-05-20T06:00:00Z", "created_at": "2025-01-01T00:00:00Z"})
    db["crawl_runs"].insert({"source_id": "dir1", "business_id": business_id, "url": "https://haandvaerkerguiden.example/firma/hansen",
                             "started_at": "2025-05-20T06:00:00Z", "finished_at": "2025-05-20T06:01:00Z", "pages": 8,
                             "reviews_seen": 66, "new": 66, "updated": 0, "removed": 0, "errors": 1, "status": "ok",
                             "message": "https://haandvaerkerguiden.example/firma/hansen?side=3: JSON-LD at line 1 is malformed; skipped"})
    seen = visible(run(explorer.client.get("/")).text)
    assert "Every source was read without problems." not in seen
    assert "Håndværkerguiden" in seen and "read with problems" in seen and "JSON-LD at line 1 is malformed" in seen


def test_reviews_come_in_pages_and_are_found_by_job_number_or_customer(explorer, db, business_id):
    save_reviews(db, [praise_review(business_id, f"p{n}", published_at=f"2025-03-{1 + n % 28:02d}T10:00:00Z")
                      for n in range(230)])
    first = visible(run(explorer.client.get("/-/reviews")).text)
    assert "Showing 1-200 of 233" in first and "Older reviews" in first
    second = visible(run(explorer.client.get("/-/reviews", params={"page": "2"})).text)
    assert "Showing 201-233 of 233" in second and "Older reviews" not in second
    assert second.count("Suggest a reply") == 33
    by_job = visible(run(explorer.client.get("/-/reviews", params={"q": "j241"})).text)  # c0 is matched to job J241
    assert by_job.count("Suggest a reply") == 1 and "Kunde 241" in by_job
    assert "Kunde 241" in visible(run(explorer.client.get("/-/reviews", params={"q": "kunde 241"})).text)
    assert "Showing 1-200 of 233" in visible(run(explorer.client.get("/-/reviews", params={"page": "x"})).text)  # page 1


def test_no_answer_link_to_a_review_page_on_this_machine_and_a_feed_post_is_opened(explorer, db, business_id):
    save_reviews(db, [praise_review(business_id, "local", url="http://127.0.0.1:38155/reviews/local"),
                      praise_review(business_id, "mention", source="https://lokalavisen.example.dk/rss", rating=None,
                                    url="https://lokalavisen.example.dk/a/0")])
    local = run(explorer.client.get("/-/reviews", params={"review": "trustpilot:local"})).text
    assert "127.0.0.1:38155" not in local and "Answer on" not in visible(local)
    mention_id = db.execute("SELECT id FROM reviews WHERE url = 'https://lokalavisen.example.dk/a/0'").fetchone()[0]
    mention = run(explorer.client.get("/-/reviews", params={"review": mention_id})).text
    assert 'href="https://lokalavisen.example.dk/a/0"' in mention and "Open the post" in visible(mention)
    assert "Answer on" not in visible(mention)


def test_served_without_the_configuration_it_speaks_the_language_the_database_keeps(explorer, db, db_path):
    db.execute("UPDATE businesses SET languages = '[\"de\", \"da\"]'")
    db.conn.commit()
    assert "<h1>Diese Woche</h1>" in run(build_datasette(db_path, Config()).client.get("/")).text
    assert "<h1>This week</h1>" in run(build_datasette(db_path, business_config("en")).client.get("/")).text


def test_the_sign_in_page_without_a_password_says_there_is_none(explorer):
    page = visible(run(explorer.client.get("/-/login")).text)
    assert "No password is set up, so there is nothing to sign in with" in page
    assert "Wrong username or password." not in page and "Password" not in page


def test_another_job_is_found_by_number_customer_or_address_and_chosen_with_a_button(explorer, db):
    review = "trustpilot:c0"  # matched to J241
    page = run(explorer.client.get("/-/matches", params={"review": review, "job": "kunde 39"}))
    seen = visible(page.text)
    assert "Jobs with “kunde 39”" in seen
    found = re.findall(r'name="job" value="hansen-vvs-aps:(J\d+)"', page.text)
    assert found[-10:] == ["J399", "J398", "J397", "J396", "J395", "J394", "J393", "J392", "J391", "J390"]  # newest first
    assert "No job holds “zzz”." in visible(run(explorer.client.get("/-/matches", params={"review": review, "job": "zzz"})).text)
    assert "The job is saved for the review." in press(explorer, f"/-/matches?review={review}",
                                                      {"action": "this_job", "review": review, "job": "hansen-vvs-aps:J395"})
    assert db.execute("SELECT job_id FROM matches WHERE review_id = ? AND status = 'confirmed'", [review]).fetchone() == (
        "hansen-vvs-aps:J395",)
    hostile = run(explorer.client.get("/-/matches", params={"review": review, "job": "' OR 1=1 --"}))
    assert "No job holds" in visible(hostile.text)
    consistent(db)


@pytest.mark.parametrize("lang,name,days,start,weight", [
    ("da", "Navn: Kunde 241 passer på Kunde 241; navnet passer på 1 af 400 kunder",
     "Skrevet 0 dage efter opgaven blev afsluttet",
     "Udgangspunkt: omkring 16 % af anmelderne her var aldrig kunder, og hver af de 400 opgaver er lige sandsynlig",
     r"\(vægt [+-]\d+,\d\)"),
    ("nb", "Navn: Kunde 241 passer på Kunde 241; navnet passer på 1 av 400 kunder",
     "Skrevet 0 dager etter at oppdraget ble avsluttet",
     "Utgangspunkt: omtrent 16 % av anmelderne her var aldri kunder, og hvert av de 400 oppdragene er like sannsynlig",
     r"\(vekt [+-]\d+,\d\)"),
    ("sv", "Namn: Kunde 241 passar på Kunde 241; namnet passar på 1 av 400 kunder",
     "Skriven 0 dagar efter att uppdraget avslutades",
     "Utgångsläge: omkring 16 % av recensenterna här var aldrig kunder, och vart och ett av de 400 uppdragen är lika sannolikt",
     r"\(vikt [+−-]\d+,\d\)"),
    ("de", "Name: Kunde 241 passt zu Kunde 241; der Name passt auf 1 von 400 Kunden",
     "0 Tage nach Abschluss des Auftrags geschrieben",
     "Ausgangspunkt: etwa 16 % der Verfasser hier waren nie Kunden, und jeder der 400 Aufträge ist gleich wahrscheinlich",
     r"\(Gewicht [+-]\d+,\d\)"),
    ("en", "Name: Kunde 241 fits Kunde 241; the name fits 1 of 400 customers",
     "Written 0 days after completion",
     "Starting point: about 16% of this firm's reviewers were never customers, and each of its 400 jobs is as likely",
     r"\(weight [+-]\d+\.\d\)"),
])
def test_a_match_shows_its_evidence_in_the_viewers_language(explorer, db, lang, name, days, start, weight):
    review = "trustpilot:c0"
    reasons = json.loads(db.execute("SELECT reasons FROM matches WHERE review_id = ?", [review]).fetchone()[0])
    assert [piece["kind"] for piece in reasons["evidence"]] == ["name", "days", "never_customers"]
    assert round(reasons["evidence"][-1]["share"] * 100) == 16  # the firm's own estimate, as the page words it
    page = visible(run(explorer.client.get(f"/-/matches?review={review}&lang={lang}")).text)
    evidence = page[page.index(texts(lang)["evidence_title"]):]
    for line in (name, days, start):
        assert re.search(re.escape(line) + " " + weight, evidence), (lang, line)
    if lang == "en":  # each weight as stored, rounded to tenths
        shown = [float(w) for w in re.findall(r"\(weight ([+-]\d+\.\d)\)", evidence)]
        assert shown == [round(piece["weight"], 1) for piece in reasons["evidence"]]


def test_the_dashboard_follows_the_language_the_viewer_chose(explorer, db, db_path):
    datasette = build_datasette(db_path, business_config("da"))
    assert "Overblik over omdømmet" in run(datasette.client.get("/-/dashboards/repmon")).text
    chosen = run(datasette.client.get("/-/dashboards/repmon", cookies={"repmon_lang": "de"})).text
    assert "Ihr Ruf auf einen Blick" in chosen and "Overblik over omdømmet" not in chosen
    assert "Reputation at a glance" in run(datasette.client.get("/-/dashboards/repmon?lang=en")).text
    assert "Overblik over omdømmet" in run(datasette.client.get("/-/dashboards/repmon", cookies={"repmon_lang": "xx"})).text


def test_an_unmatched_reviews_best_candidate_leads_its_possible_jobs(explorer, db):
    """The evidence shown is the best candidate's: that job leads the list, not only the runner-up."""
    review = "trustpilot:c0"
    reasons = {"job": "hansen-vvs-aps:J241", "runner_up": {"job": "hansen-vvs-aps:J240", "score": 0.2}, "candidates": 2,
               "evidence": [{"kind": "days", "days": 3, "weight": 2.5}]}
    with db.conn:
        db.execute("UPDATE matches SET status = 'unmatched', job_id = NULL, score = 0.55, reasons = ? WHERE review_id = ?",
                    [json.dumps(reasons), review])
    page = visible(run(explorer.client.get(f"/-/matches?review={review}")).text)
    assert "J241 (Proposed)" not in page
    assert page.index("J241") < page.index("J240")
    assert page.split("J241", 1)[1].split("J240")[0].count("55") == 1  # the best candidate's score beside it
