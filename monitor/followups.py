"""Context flags on complaints, and the follow-up calls every job and every complaint calls for."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlite_utils

from monitor.db import utc_now

MATCHED = ("auto", "confirmed")


def run_flags(db: sqlite_utils.Database, settings: dict[str, Any]) -> dict[str, int]:
    """payment_dispute, warranty and no_job flags on complaints; rewritten each run, set-equal runs change nothing."""
    from monitor.config import Thresholds

    wanted: dict[tuple[str, str], tuple[str, str | None]] = {}
    rows = db.query(
        """SELECT r.id, r.business_id, r.published_at, m.status, j.id AS job, j.invoice_no, j.due_at, j.paid_at,
                  j.completed_at, (SELECT COUNT(*) FROM jobs WHERE business_id = r.business_id) AS jobs,
                  EXISTS (SELECT 1 FROM review_themes t WHERE t.review_id = r.id AND t.theme = 'invoice_dispute') AS disputes
           FROM reviews r
           LEFT JOIN matches m ON m.review_id = r.id AND m.status IN ('auto', 'confirmed', 'unmatched')
           LEFT JOIN jobs j ON j.id = m.job_id AND m.status IN ('auto', 'confirmed')
           WHERE r.complaint = 1 AND r.removed_at IS NULL"""
    )
    for row in rows:
        thresholds = settings[row["business_id"]].thresholds if row["business_id"] in settings else Thresholds()
        published = row["published_at"][:10]
        if row["job"]:
            due, paid = row["due_at"], row["paid_at"]
            if due and due < published and (paid is None or paid > published):
                days = (date.fromisoformat(published) - date.fromisoformat(due)).days
                invoice = row["invoice_no"] or "the invoice"
                detail = f"{invoice} was {days} days overdue when the complaint was written"
                if row["disputes"]:
                    detail += "; the complaint is about the invoice"
                wanted[(row["id"], "payment_dispute")] = (detail, row["job"])
            completed = date.fromisoformat(row["completed_at"][:10])
            age = (date.fromisoformat(published) - completed).days
            if 0 <= age <= thresholds.warranty_days:
                wanted[(row["id"], "warranty")] = (f"{age} days after completion, inside the warranty", row["job"])
        elif row["status"] == "unmatched" and row["jobs"]:
            wanted[(row["id"], "no_job")] = ("matches no job: another business, a fake, or a customer under another name", None)
    stored = {(r["review_id"], r["flag"]): (r["detail"], r["job_id"]) for r in db.query("SELECT * FROM review_flags")}
    now = utc_now()
    with db.atomic():
        for key in stored.keys() - wanted.keys():
            db.execute("DELETE FROM review_flags WHERE review_id = ? AND flag = ?", list(key))
        changed = [(key, value) for key, value in wanted.items() if stored.get(key) != value]
        db.table("review_flags").upsert_all(
            ({"review_id": k[0], "flag": k[1], "detail": v[0], "job_id": v[1], "updated_at": now} for k, v in changed),
            pk=("review_id", "flag"),
        )
    counts = {"payment_dispute": 0, "warranty": 0, "no_job": 0}
    for _, flag in wanted:
        counts[flag] += 1
    return counts | {"changed": len(changed) + len(stored.keys() - wanted.keys())}


HISTORY_DAYS = 30  # routine calls that fell due longer ago than this are history, not work to do
URGENT_HISTORY_DAYS = 90  # and calls after a complaint: a first run over two years of reviews calls no one from 2024


def run_follow_ups(db: sqlite_utils.Database, settings: dict[str, Any], today: date | None = None) -> dict[str, int]:
    """A routine call after every recently completed job; an urgent one for each complaint on a job.

    Routine calls due more than HISTORY_DAYS before `today`, and urgent ones due more than
    URGENT_HISTORY_DAYS before it, are not created (an export of two years of jobs and reviews
    is not two years of calls to make). Due dates follow the data; done_at, done_by and note
    are a person's and never touched.
    """
    today = today or date.today()
    oldest = today - timedelta(days=HISTORY_DAYS)
    from monitor.config import Thresholds

    wanted: dict[str, dict[str, Any]] = {}
    for job in db.query("SELECT id, business_id, job_type, completed_at FROM jobs"):
        thresholds = settings[job["business_id"]].thresholds if job["business_id"] in settings else Thresholds()
        days = thresholds.follow_up_days_by_job_type.get((job["job_type"] or "").strip(), thresholds.follow_up_days)
        due = date.fromisoformat(job["completed_at"][:10]) + timedelta(days=days)
        if due < oldest:
            continue
        wanted[f"{job['id']}:routine"] = {"business_id": job["business_id"], "job_id": job["id"], "review_id": None,
                                          "kind": "routine", "due_at": due.isoformat()}
    for row in db.query(
        """SELECT r.id, r.business_id, r.published_at, m.job_id FROM reviews r
           JOIN matches m ON m.review_id = r.id AND m.status IN ('auto', 'confirmed')
           WHERE r.complaint = 1 AND r.removed_at IS NULL"""
    ):
        thresholds = settings[row["business_id"]].thresholds if row["business_id"] in settings else Thresholds()
        published = datetime.fromisoformat(row["published_at"].replace("Z", "+00:00"))
        due = (published + timedelta(hours=thresholds.reply_deadline_hours)).astimezone(timezone.utc)
        if due.date() < today - timedelta(days=URGENT_HISTORY_DAYS):
            continue
        wanted[f"{row['job_id']}:urgent:{row['id']}"] = {
            "business_id": row["business_id"], "job_id": row["job_id"], "review_id": row["id"], "kind": "urgent",
            "due_at": due.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        }
    stored = {r["id"]: r for r in db.query("SELECT id, business_id, job_id, review_id, kind, due_at FROM follow_ups")}
    now = utc_now()
    changed = 0
    with db.atomic():
        for follow_id, row in wanted.items():
            old = stored.get(follow_id)
            if old is None:
                db.table("follow_ups").insert(row | {"id": follow_id, "created_at": now})
                changed += 1
            elif any(old[key] != value for key, value in row.items()):
                db.table("follow_ups").update(follow_id, row)
                changed += 1
    counts = {"routine": 0, "urgent": 0}
    for row in wanted.values():
        counts[row["kind"]] += 1
    return counts | {"changed": changed}
