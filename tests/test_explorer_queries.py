"""The explorer's canned queries and actions, through a real Datasette (its test client), CSRF included."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest
import yaml
from datasette_auth_passwords.utils import hash_password

from monitor.analyze import run_analysis
from monitor.config import Config, parse_config
from monitor.explorer import DEFAULT_METADATA, build_datasette
from monitor.store import save_reviews
from tests.test_findings import START, complaint, seed_jobs

TODAY = START + timedelta(days=140)
QUERIES = yaml.safe_load(DEFAULT_METADATA.read_text(encoding="utf-8"))["databases"]["monitor"]["queries"]


def run(coro):
    return asyncio.run(coro)


def three_leak_complaints(db, business_id: str) -> None:
    """Three leak complaints about Mads's bathroom jobs 241, 261 and 281, ten days apart."""
    seed_jobs(db, business_id)
    save_reviews(db, [complaint(business_id, n, START + timedelta(days=120 + 10 * n), job=job)
                      for n, job in enumerate((241, 261, 281))])


@pytest.fixture
def explorer(db, db_path, business_id):
    three_leak_complaints(db, business_id)
    run_analysis(db, Config(), TODAY)
    return build_datasette(db_path, Config())


def rows(datasette, query: str, **params) -> list[dict]:
    response = run(datasette.client.get(f"/monitor/{query}.json", params={"_shape": "array", **params}))
    assert response.status_code == 200, response.text
    return response.json()


def test_every_query_has_a_title_and_a_description():
    assert len(QUERIES) == 18
    for name, query in QUERIES.items():
        assert query["title"] and len(query["description"]) > 30, name


def test_unanswered_complaints_oldest_first_with_job_and_crew(explorer):
    found = rows(explorer, "unanswered_complaints", business="")
    assert [(r["review_id"], r["job_id"], r["crew"]) for r in found] == [
        ("trustpilot:c0", "hansen-vvs-aps:J241", "Mads"),
        ("trustpilot:c1", "hansen-vvs-aps:J261", "Mads"),
        ("trustpilot:c2", "hansen-vvs-aps:J281", "Mads"),
    ]


def test_patterns_and_their_evidence(explorer):
    assert [r["pattern_id"] for r in rows(explorer, "patterns_open")] == [
        "hansen-vvs-aps:defect:leak:business:", "hansen-vvs-aps:defect:leak:crew:Mads",
        "hansen-vvs-aps:defect:leak:job_type:Badeværelse",
    ]
    evidence = rows(explorer, "pattern_evidence", pattern_id="hansen-vvs-aps:defect:leak:crew:Mads")
    assert [(r["author"], r["job_id"], r["days_after_completion"], r["evidence"]) for r in evidence] == [
        ("Kunde 241", "hansen-vvs-aps:J241", 0, "Vand under gulvet efter arbejdet."),
        ("Kunde 261", "hansen-vvs-aps:J261", 0, "Vand under gulvet efter arbejdet."),
        ("Kunde 281", "hansen-vvs-aps:J281", 0, "Vand under gulvet efter arbejdet."),
    ]


def test_job_timeline(explorer):
    timeline = rows(explorer, "job_timeline", job_id="J241")
    assert [(r["at"][:10], r["what"]) for r in timeline] == [
        ("2025-05-01", "completed"),
        ("2025-05-01", "complaint"),
        ("2025-05-03", "call_urgent"),
        ("2025-05-15", "call_routine"),
    ]
    assert (timeline[1]["detail"], timeline[1]["themes"]) == ("1 ★ Vand under gulvet efter arbejdet.", "leak")


def test_other_read_queries_answer(explorer):
    assert rows(explorer, "complaints_without_job") == []
    due = rows(explorer, "follow_ups_due", today=TODAY.isoformat(), days_ahead="0")
    assert due[0]["kind"] == "urgent"
    assert all(r["state"] == "overdue" or r["due_at"][:10] == TODAY.isoformat() for r in due)
    assert rows(explorer, "payment_dispute_risk") == []
    assert rows(explorer, "response_times")[0] == {"month": "2025-05", "source": "trustpilot", "complaints": 3,
                                                  "replied": 0, "reply_rate_percent": 0.0, "median_days": None}
    assert rows(explorer, "rating_trend") == [{"month": "2025-05", "source": "trustpilot", "reviews": 3,
                                              "average_rating": 1.0, "complaints": 3}]
    assert rows(explorer, "theme_trend") == [{"month": "2025-05", "theme": "leak", "complaints": 3}]
    assert rows(explorer, "crawl_health") == []


def test_search_newest_first_with_snippet_and_job(explorer):
    found = rows(explorer, "search_reviews", q="gulvet")
    assert [(r["review_id"], r["found"], r["job_id"]) for r in found] == [
        ("trustpilot:c2", "Vand under [gulvet] efter arbejdet.", "hansen-vvs-aps:J281"),
        ("trustpilot:c1", "Vand under [gulvet] efter arbejdet.", "hansen-vvs-aps:J261"),
        ("trustpilot:c0", "Vand under [gulvet] efter arbejdet.", "hansen-vvs-aps:J241"),
    ]


def test_query_results_link_to_the_review_and_its_job(explorer):
    page = run(explorer.client.get("/monitor/search_reviews", params={"q": "gulvet"})).text
    # A review opens on the owner's page of it, with its suggested replies; a job on its row.
    assert '<a href="/-/reviews?review=trustpilot%3Ac2" title="trustpilot:c2">Open</a>' in page
    assert '<a href="/monitor/jobs/hansen-vvs-aps~3AJ281" title="hansen-vvs-aps:J281">J281</a>' in page
    assert '<pre id="sql-query">' not in page and "_show_sql=1" in page  # the SQL waits behind a link
    shown = run(explorer.client.get("/monitor/search_reviews", params={"q": "gulvet", "_show_sql": "1"})).text
    assert '<pre id="sql-query">with hits as (' in shown
    row = run(explorer.client.get("/monitor/reviews/trustpilot~3Ac2.json?_shape=objects")).json()
    assert row["rows"][0]["author"] == "Kunde 281"
    # The same ids on a table page are Datasette's own: foreign keys link there already, nothing doubled.
    table = run(explorer.client.get("/monitor/matches")).text
    assert table.count('href="/monitor/reviews/trustpilot~3Ac2"') == 1


def test_match_reasons_read_as_words_and_stay_escaped(explorer, db):
    page = run(explorer.client.get("/monitor/matches", params={"review_id": "trustpilot:c0"})).text
    assert ('<ul class="reasons" style="min-width: 24em; margin: 0; padding-left: 1.1em"><li>name: &#39;Kunde 241&#39; ~ &#39;Kunde 241&#39;: first name exact, surname exact</li>'
            '<li>commonness: the name would fit about 1.0 of the 400 jobs by chance</li>'
            '<li>date: review 0 days after completion</li><li>candidates: 1</li></ul>') in page
    hostile = json.dumps({"candidates": 2, "explained": {"name": "'<script>x()</script>' ~ 'Jens'"},
                          "runner_up": {"job": "<b>J</b>", "score": 0.2}})
    db.execute("UPDATE matches SET reasons = ? WHERE review_id = 'trustpilot:c1'", [hostile])
    page = run(explorer.client.get("/monitor/matches", params={"review_id": "trustpilot:c1"})).text
    assert "<script>x()" not in page and "<b>J</b>" not in page
    assert "<li>name: &#39;&lt;script&gt;x()&lt;/script&gt;&#39; ~ &#39;Jens&#39;</li>" in page
    assert "<li>runner-up: &lt;b&gt;J&lt;/b&gt; (score 0.2)</li>" in page


@pytest.mark.parametrize("typed,count", [
    ("gulv*", 3),  # a word start
    ("VAND   gulvet", 3),  # every word, any case, however spaced
    ('"vand', 3),  # a stray quote is not FTS syntax
    ("vand OR tag", 0),  # OR, NOT, column: are words here, not operators
    ("body:gulvet", 0),
    ("*", 0),
    ("", 0),
])
def test_search_takes_what_people_type(explorer, typed, count):
    assert len(rows(explorer, "search_reviews", q=typed)) == count


def test_table_search_box_opens_the_search_query(explorer):
    page = run(explorer.client.get("/monitor/reviews", params={"_search": "gulv* vand"}))
    assert (page.status_code, page.headers["location"]) == (302, "/monitor/search_reviews?q=gulv%2A+vand")
    # With other filters, or through the JSON API, Datasette's own table search answers.
    filtered = run(explorer.client.get("/monitor/reviews.json", params={"_search": "gulvet", "rating": "1", "_shape": "array"}))
    assert sorted(r["id"] for r in filtered.json()) == ["trustpilot:c0", "trustpilot:c1", "trustpilot:c2"]
    assert run(explorer.client.get("/monitor/reviews", params={"_search": "gulvet", "rating": "5"})).status_code == 200


def test_follow_ups_due_reads_the_open_follow_ups_index(explorer, db):
    sql = QUERIES["follow_ups_due"]["sql"]
    plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", {"today": TODAY.isoformat(), "days_ahead": "7"}))
    assert "USING INDEX follow_ups_open" in plan and "TEMP B-TREE" not in plan


def post_action(datasette, query: str, data: dict, cookies: dict | None = None):
    form = run(datasette.client.get(f"/monitor/{query}", cookies=cookies or {}))
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    return run(datasette.client.post(f"/monitor/{query}", data=data | {"csrftoken": token},
                                     cookies=(cookies or {}) | {"ds_csrftoken": form.cookies["ds_csrftoken"]}))


def test_actions_record_who_and_when_and_survive_analysis(explorer, db):
    review = "trustpilot:c0"
    other_job = "hansen-vvs-aps:J240"
    assert post_action(explorer, "confirm_match", {"review_id": review, "job_id": other_job}).status_code == 302
    assert post_action(explorer, "mark_complaint_handled", {"review_id": "trustpilot:c1"}).status_code == 302
    pattern = "hansen-vvs-aps:defect:leak:crew:Mads"
    assert post_action(explorer, "acknowledge_pattern", {"pattern_id": pattern}).status_code == 302
    follow_up = db.execute("SELECT id FROM follow_ups WHERE kind = 'urgent' ORDER BY id LIMIT 1").fetchone()[0]
    assert post_action(explorer, "follow_up_done", {"follow_up_id": follow_up, "note": "Ringet, kommer mandag"}).status_code == 302
    run_analysis(db, Config(), TODAY)
    assert db.execute("SELECT job_id, status, decided_by FROM matches WHERE review_id = ?", [review]).fetchall() == [
        (other_job, "confirmed", "local user")
    ]
    assert db.execute("SELECT handled_by FROM reviews WHERE id = 'trustpilot:c1'").fetchone() == ("local user",)
    assert [r["review_id"] for r in rows(explorer, "unanswered_complaints", business="")] == ["trustpilot:c0", "trustpilot:c2"]
    assert db.execute("SELECT acknowledged_by, status FROM patterns WHERE id = ?", [pattern]).fetchone()[0] == "local user"
    assert db.execute("SELECT done_by, note FROM follow_ups WHERE id = ?", [follow_up]).fetchone() == (
        "local user", "Ringet, kommer mandag")
    assert post_action(explorer, "close_pattern", {"pattern_id": pattern}).status_code == 302
    assert "hansen-vvs-aps:defect:leak:crew:Mads" not in [r["pattern_id"] for r in rows(explorer, "patterns_open")]


def test_action_without_csrf_token_is_refused(explorer, db):
    # A browser always sends its cookies; a form posted from another site cannot know the token.
    response = run(explorer.client.post("/monitor/mark_complaint_handled", data={"review_id": "trustpilot:c0"},
                                        cookies={"ds_csrftoken": "forged"}))
    assert response.status_code == 403
    assert db.execute("SELECT handled_at FROM reviews WHERE id = 'trustpilot:c0'").fetchone() == (None,)


def test_anonymous_cannot_act_when_a_password_is_set(db, db_path, business_id, monkeypatch):
    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    locked = build_datasette(db_path, parse_config({"explorer": {"password_hash_env": "REPMON_TEST_HASH"}}))
    assert run(locked.client.get("/monitor/mark_complaint_handled")).status_code == 403
    signed_in = {"ds_actor": locked.sign({"a": {"id": "owner"}}, "actor")}
    save_reviews(db, [complaint(business_id, 0, START)])
    run_analysis(db, Config(), TODAY)
    assert post_action(locked, "mark_complaint_handled", {"review_id": "trustpilot:c0"}, signed_in).status_code == 302
    assert db.execute("SELECT handled_by FROM reviews WHERE id = 'trustpilot:c0'").fetchone() == ("owner",)


def test_dashboard_page_and_every_chart_query(explorer, db):
    page = run(explorer.client.get("/-/dashboards/repmon"))
    assert page.status_code == 200
    for title in ("Patterns forming", "Average rating by month and source", "Complaints by theme over time",
                  "Share of complaints answered, by month", "Typical days to reply (last 90 days)", "Open patterns"):
        assert title in page.text
    charts = yaml.safe_load(DEFAULT_METADATA.read_text())["plugins"]["datasette-dashboards"]["repmon"]["charts"]
    assert len(charts) == 8
    for name, chart in charts.items():
        db.execute(chart["query"]).fetchall()  # every chart's SQL runs on a real database
    assert db.execute(charts["open-patterns"]["query"]).fetchone() == (1,)  # three leak patterns: one cluster


def test_untrusted_text_is_escaped_and_links_are_nofollow(db, db_path, business_id):
    save_reviews(db, [complaint(business_id, 0, START, '<script>alert("x")</script> <a href="javascript:alert(1)">klik</a>')
                      | {"url": "https://dk.trustpilot.com/reviews/abc"}])
    page = run(build_datasette(db_path, Config()).client.get("/monitor/reviews"))
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert '<a href="javascript:' not in page.text
    assert '<a href="https://dk.trustpilot.com/reviews/abc" rel="nofollow noopener">' in page.text


def test_no_markdown_rendering_even_for_markdown_named_columns(db, db_path, business_id):
    save_reviews(db, [complaint(business_id, 0, START, "**fed** [klik](javascript:alert(1))")])
    page = run(build_datasette(db_path, Config()).client.get(
        "/monitor", params={"sql": "select body as body_markdown from reviews"})).text
    assert "**fed** [klik](javascript:alert(1))" in page
    assert "<strong>fed</strong>" not in page and 'href="javascript' not in page
