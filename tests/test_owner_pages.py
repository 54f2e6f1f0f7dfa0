"""The owner's pages: this week and its lists in five languages, and every button with valid, unknown,
other-business and hostile input; afterwards analysis runs and every foreign key holds."""

from __future__ import annotations

import json
import re
from html import unescape
import string
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from monitor.config import Config, parse_config
from monitor.explorer import build_datasette
from monitor.match import run_matching
from monitor.owner_pages import LANGUAGES, texts
from monitor.store import ensure_business, save_jobs
from monitor.themes import vocabulary
from tests.test_explorer_actions import consistent, snapshot
from tests.test_explorer_queries import explorer, run  # noqa: F401  (fixture)

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
    ("de", "Tage über der Antwortfrist", "Geschrieben vor"),
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
    assert vocabulary().label("leak", lang).capitalize() in seen
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
        assert "Pick a date from today on. Nothing was saved." in press(
            explorer, "/-/calls", {"action": "call_again", "call": second, "date": bad})
    later = date.today() + timedelta(days=7)
    moved = press(explorer, "/-/calls", {"action": "call_again", "call": second, "date": later.isoformat()})
    assert f"The call is moved to {later:%-d %b %Y}." in moved
    assert db.execute("SELECT call_again_on, done_at FROM follow_ups WHERE id = ?", [second]).fetchone() == (
        later.isoformat(), None)
    consistent(db)  # analysis recomputes due_at, never the day a person chose
    assert db.execute("SELECT call_again_on FROM follow_ups WHERE id = ?", [second]).fetchone() == (later.isoformat(),)
    assert "That was already done." in press(explorer, "/-/calls", {"action": "called", "call": first})


def test_patterns_seen_then_closed(explorer, db):
    pattern = "hansen-vvs-aps:defect:leak:crew:Mads"
    page = visible(run(explorer.client.get("/-/patterns")).text)
    assert "Water leak and moisture, crew Mads (new)" in page
    assert "The pattern is marked as seen." in press(explorer, "/-/patterns", {"action": "seen", "pattern": pattern})
    assert "That was already done." in press(explorer, "/-/patterns", {"action": "seen", "pattern": pattern})
    assert "The pattern is closed." in press(explorer, "/-/patterns", {"action": "closed", "pattern": pattern})
    assert "That was already done." in press(explorer, "/-/patterns", {"action": "closed", "pattern": pattern})
    assert db.execute("SELECT acknowledged_by, closed_by FROM patterns WHERE id = ?", [pattern]).fetchone() == (
        "local user", "local user")
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
    for path in ("/", "/-/complaints", "/-/patterns", "/-/calls", "/-/matches"):
        assert run(locked.client.get(path)).status_code == 403, path
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
    assert feed.text.count("<entry>") == 3 + 3  # three patterns, three complaints
    assert "<title>Klage fra Kunde 241</title>" in feed.text
    assert "<title>Vandskade og fugt, montør Mads</title>" in feed.text
    from datasette_auth_passwords.utils import hash_password

    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    locked = build_datasette(db_path, parse_config({"explorer": {"password_hash_env": "REPMON_TEST_HASH"}}))
    for path in ("/-/calls.ics", "/-/findings.atom"):
        assert run(locked.client.get(path)).status_code == 403


def test_the_dashboard_speaks_the_business_language(explorer, db, db_path):
    from monitor.explorer import load_metadata

    metadata = load_metadata(db_path, business_config("da"))
    dashboard = metadata["plugins"]["datasette-dashboards"]["repmon"]
    assert dashboard["title"] == "Omdømmet på et øjeblik"
    charts = dashboard["charts"]
    assert charts["median-reply"]["title"] == "Typisk svartid i dage (seneste 90 dage)"
    assert charts["median-reply"]["display"]["suffix"] == " dage"
    assert charts["themes-by-month"]["display"]["encoding"]["color"]["title"] == "Emne"
    themes = {row[1] for row in db.execute(charts["themes-by-month"]["query"]).fetchall()}
    assert themes == {"Vandskade og fugt"}
    table = db.execute(charts["patterns-table"]["query"])
    assert [column[0] for column in table.description] == [
        "Emne", "Hvor", "Hvad", "Status", "Klager", "Seneste", "Dage efter jobbet"]
    assert sorted(row[:4] for row in table.fetchall()) == [
        ("Vandskade og fugt", "i hele virksomheden", "", "ny"),
        ("Vandskade og fugt", "montør", "Mads", "ny"),
        ("Vandskade og fugt", "opgavetype", "Badeværelse", "ny"),
    ]
    page = run(build_datasette(db_path, business_config("de")).client.get("/-/dashboards/repmon"))
    assert "Der Ruf auf einen Blick" in page.text and "Reputation at a glance" not in page.text


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


@pytest.mark.parametrize("lang,name,days,start,weight", [
    ("da", "Navn: Kunde 241 passer på Kunde 241; navnet passer på 1 af 400 kunder",
     "skrevet 0 dage efter opgaven blev afsluttet",
     "udgangspunkt: omkring 17 % af anmelderne her var aldrig kunder, og hver af de 400 opgaver er lige sandsynlig",
     r"\(vægt [+-]\d+,\d\)"),
    ("nb", "Navn: Kunde 241 passer på Kunde 241; navnet passer på 1 av 400 kunder",
     "skrevet 0 dager etter at oppdraget ble avsluttet",
     "utgangspunkt: omtrent 17 % av anmelderne her var aldri kunder, og hvert av de 400 oppdragene er like sannsynlig",
     r"\(vekt [+-]\d+,\d\)"),
    ("sv", "Namn: Kunde 241 passar på Kunde 241; namnet passar på 1 av 400 kunder",
     "skriven 0 dagar efter att uppdraget avslutades",
     "utgångsläge: omkring 17 % av recensenterna här var aldrig kunder, och vart och ett av de 400 uppdragen är lika sannolikt",
     r"\(vikt [+−-]\d+,\d\)"),
    ("de", "Name: Kunde 241 passt zu Kunde 241; der Name passt auf 1 von 400 Kunden",
     "0 Tage nach Abschluss des Auftrags geschrieben",
     "Ausgangspunkt: etwa 17 % der Verfasser hier waren nie Kunden, und jeder der 400 Aufträge ist gleich wahrscheinlich",
     r"\(Gewicht [+-]\d+,\d\)"),
    ("en", "Name: Kunde 241 fits Kunde 241; the name fits 1 of 400 customers",
     "written 0 days after completion",
     "starting point: about 17% of this firm's reviewers were never customers, and each of its 400 jobs is as likely",
     r"\(weight [+-]\d+\.\d\)"),
])
def test_a_match_shows_its_evidence_in_the_viewers_language(explorer, db, lang, name, days, start, weight):
    review = "trustpilot:c0"
    reasons = json.loads(db.execute("SELECT reasons FROM matches WHERE review_id = ?", [review]).fetchone()[0])
    assert [piece["kind"] for piece in reasons["evidence"]] == ["name", "days", "never_customers"]
    assert round(reasons["evidence"][-1]["share"] * 100) == 17  # the firm's own estimate, as the page words it
    page = visible(run(explorer.client.get(f"/-/matches?review={review}&lang={lang}")).text)
    evidence = page[page.index(texts(lang)["evidence_title"]):]
    for line in (name, days, start):
        assert re.search(re.escape(line) + " " + weight, evidence), (lang, line)
    if lang == "en":  # each weight as stored, rounded to tenths
        shown = [float(w) for w in re.findall(r"\(weight ([+-]\d+\.\d)\)", evidence)]
        assert shown == [round(piece["weight"], 1) for piece in reasons["evidence"]]
