"""Every explorer action checks what it is given: the row must exist, belong to the review's business and
have something to change; otherwise nothing is written and the answer says why."""

from __future__ import annotations

import re

import pytest
import sqlite_utils

from monitor.analyze import run_analysis
from monitor.config import Config
from monitor.store import ensure_business, save_jobs
from tests.test_explorer_queries import TODAY, explorer, run  # noqa: F401  (fixture)

ACTIONS_ON = {
    "confirm_match": ("review_id", "job_id"),
    "reject_match": ("review_id", "job_id"),
    "mark_complaint_handled": ("review_id",),
    "acknowledge_pattern": ("pattern_id",),
    "close_pattern": ("pattern_id",),
    "follow_up_done": ("follow_up_id", "note"),
}
HOSTILE = ["x' OR '1'='1", "'; DROP TABLE matches; --", "<script>alert(1)</script>", ""]


def act(datasette, query: str, data: dict) -> dict:
    """Post the action's form the way a browser does (CSRF token and cookie) and return Datasette's answer."""
    form = run(datasette.client.get(f"/monitor/{query}"))
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    response = run(datasette.client.post(f"/monitor/{query}", data=data | {"csrftoken": token, "_json": "1"},
                                         cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]}))
    assert response.status_code == 200, response.text
    return response.json()


def snapshot(db: sqlite_utils.Database) -> dict[str, list]:
    return {table: db.execute(f"SELECT * FROM [{table}] ORDER BY 1").fetchall()
            for table in ("matches", "reviews", "patterns", "follow_ups")}


def consistent(db: sqlite_utils.Database) -> None:
    run_analysis(db, Config(), TODAY)  # analysis runs with foreign keys on: a dangling row would fail it
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_confirm_match_takes_the_job_number_from_the_export(explorer, db):
    answer = act(explorer, "confirm_match", {"review_id": "trustpilot:c0", "job_id": "J240"})
    assert answer == {"ok": True, "message": "The match is confirmed.", "redirect": None}
    assert db.execute("SELECT job_id, status, decided_by FROM matches WHERE review_id = 'trustpilot:c0'").fetchall() == [
        ("hansen-vvs-aps:J240", "confirmed", "local user")]
    consistent(db)
    assert db.execute("SELECT job_id, status FROM matches WHERE review_id = 'trustpilot:c0'").fetchall() == [
        ("hansen-vvs-aps:J240", "confirmed")]


def test_reject_match_by_job_number_keeps_the_review_away_from_that_job(explorer, db):
    assert act(explorer, "reject_match", {"review_id": "trustpilot:c0", "job_id": "J241"})["ok"] is True
    consistent(db)
    assert db.execute("SELECT job_id, status FROM matches WHERE review_id = 'trustpilot:c0' AND status = 'rejected'"
                      ).fetchall() == [("hansen-vvs-aps:J241", "rejected")]
    assert db.execute("SELECT count(*) FROM matches WHERE review_id = 'trustpilot:c0' AND job_id = 'hansen-vvs-aps:J241'"
                      " AND status IN ('auto', 'confirmed')").fetchone() == (0,)


@pytest.mark.parametrize("review_id,job_id,message", [
    ("trustpilot:c0", "J-10213", "This business has no job with that number: nothing was saved."),
    ("trustpilot:c0", "andet-firma:J5", "This business has no job with that number: nothing was saved."),
    ("trustpilot:c0", "J5-other", "This business has no job with that number: nothing was saved."),
    ("trustpilot:nope", "J240", "There is no such review: nothing was saved."),
])
def test_match_decisions_refuse_unknown_and_other_business_jobs(explorer, db, review_id, job_id, message):
    other = ensure_business(db, "Andet Firma")
    save_jobs(db, other, [{"job_id": "J5-other", "customer_name": "Kunde X", "completed_at": "2026-01-01"}])
    db.execute("UPDATE jobs SET id = 'andet-firma:J5' WHERE business_id = ?", [other])
    before = snapshot(db)
    for query in ("confirm_match", "reject_match"):
        assert act(explorer, query, {"review_id": review_id, "job_id": job_id}) == {
            "ok": False, "message": message, "redirect": None}
    assert snapshot(db) == before
    consistent(db)


@pytest.mark.parametrize("query", sorted(ACTIONS_ON))
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_input_writes_nothing(explorer, db, query, hostile):
    before = snapshot(db)
    answer = act(explorer, query, {field: hostile for field in ACTIONS_ON[query]})
    assert answer["ok"] is False and answer["message"].endswith("nothing was saved.")
    assert snapshot(db) == before
    consistent(db)


def test_done_is_said_only_when_something_changed(explorer, db):
    pattern = "hansen-vvs-aps:defect:leak:crew:Mads"
    follow_up = db.execute("SELECT id FROM follow_ups ORDER BY id LIMIT 1").fetchone()[0]
    first = [act(explorer, "mark_complaint_handled", {"review_id": "trustpilot:c1"}),
             act(explorer, "acknowledge_pattern", {"pattern_id": pattern}),
             act(explorer, "follow_up_done", {"follow_up_id": follow_up, "note": "Ringet"})]
    assert [a["message"] for a in first] == ["The complaint is marked as handled.", "The pattern is acknowledged.",
                                            "The follow-up is marked as done."]
    before = snapshot(db)
    again = [act(explorer, "mark_complaint_handled", {"review_id": "trustpilot:c1"}),
             act(explorer, "acknowledge_pattern", {"pattern_id": pattern}),
             act(explorer, "follow_up_done", {"follow_up_id": follow_up, "note": "Igen"})]
    assert [(a["ok"], a["message"]) for a in again] == [
        (False, "This complaint is already marked as handled: nothing was changed."),
        (False, "This pattern is already acknowledged: nothing was changed."),
        (False, "This call is already marked as done: nothing was changed."),
    ]
    assert snapshot(db) == before
    assert act(explorer, "close_pattern", {"pattern_id": pattern})["message"] == "The pattern is closed."
    assert act(explorer, "close_pattern", {"pattern_id": pattern}) == {
        "ok": False, "message": "This pattern is already closed: nothing was changed.", "redirect": None}
    assert act(explorer, "acknowledge_pattern", {"pattern_id": pattern})["message"] == (
        "This pattern is already closed: nothing was changed.")
    consistent(db)


def test_a_review_that_is_no_complaint_cannot_be_marked_handled(explorer, db):
    db.execute("UPDATE reviews SET complaint = 0 WHERE id = 'trustpilot:c2'")
    assert act(explorer, "mark_complaint_handled", {"review_id": "trustpilot:c2"}) == {
        "ok": False, "message": "There is no such complaint: nothing was saved.", "redirect": None}
    assert db.execute("SELECT handled_at FROM reviews WHERE id = 'trustpilot:c2'").fetchone() == (None,)


def test_only_the_explorers_actions_can_be_written_through_the_action_view(db):
    with pytest.raises(sqlite_utils.db.sqlite3.IntegrityError, match="Unknown action: nothing was saved."):
        db.execute("INSERT INTO explorer_actions (action, review_id) VALUES ('delete_everything', 'x')")
