"""Summary tables for the explorer: a million reviews grouped by month once per analysis, not per page view."""

from __future__ import annotations

import statistics
from collections import defaultdict

import sqlite_utils


def run_summaries(db: sqlite_utils.Database) -> dict[str, int]:
    """Rebuild summary_monthly and summary_themes from reviews; the same data gives the same rows."""
    hours: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for month, business_id, source, reply_hours in db.execute(
        """SELECT substr(published_at, 1, 7), business_id, source, (julianday(reply_at) - julianday(published_at)) * 24
           FROM reviews WHERE complaint = 1 AND reply_at IS NOT NULL AND removed_at IS NULL"""
    ):
        hours[(month, business_id, source)].append(reply_hours)
    monthly = [
        {"month": month, "business_id": business_id, "source": source, "reviews": reviews, "rated": rated,
         "average_rating": round(average, 3) if average is not None else None, "complaints": complaints,
         "replied": replied,
         "median_reply_hours": round(statistics.median(hours[(month, business_id, source)]), 1)
         if hours.get((month, business_id, source)) else None}
        for month, business_id, source, reviews, rated, average, complaints, replied in db.execute(
            """SELECT substr(published_at, 1, 7), business_id, source, COUNT(*), COUNT(rating), AVG(rating),
                      COALESCE(SUM(complaint), 0), SUM(complaint = 1 AND reply_at IS NOT NULL)
               FROM reviews WHERE removed_at IS NULL GROUP BY 1, 2, 3"""
        )
    ]
    themes = [
        {"month": month, "business_id": business_id, "theme": theme, "complaints": complaints}
        for month, business_id, theme, complaints in db.execute(
            """SELECT substr(r.published_at, 1, 7), r.business_id, t.theme, COUNT(*)
               FROM review_themes t JOIN reviews r ON r.id = t.review_id
               WHERE r.complaint = 1 AND r.removed_at IS NULL GROUP BY 1, 2, 3"""
        )
    ]
    with db.atomic():
        db.execute("DELETE FROM summary_monthly")
        db.execute("DELETE FROM summary_themes")
        db.table("summary_monthly").insert_all(monthly)
        db.table("summary_themes").insert_all(themes)
    return {"months": len({row["month"] for row in monthly}), "rows": len(monthly) + len(themes)}
