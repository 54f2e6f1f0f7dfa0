"""Recurring complaint patterns: one theme piling up in a rolling window, against the business's own baseline.

Defect themes (a fault in the work: leak, crack, not working ...) are counted for the business and within
each job type, crew member and material of the jobs complaints are matched to; service themes (how the
firm deals with customers) for the business, and those a crew does (no-show, waiting, rudeness) for each
crew member too: a refused claim or a wrong invoice is the office's, not the fitter's. Complaints are counted in a rolling window. A
pattern emerges when the count reaches the minimum and is unlikely under the baseline:
P(X >= count) below the configured p, for X Poisson with a rate only as sure as the events it was
learned from (gamma-Poisson: a rare theme's rate, learned from two complaints, may well be twice as
high). The baseline is the business's own rate of that theme before the window, with half an event
per half year as a prior so a short history still gives a baseline; a subgroup expects its share
of the jobs. History starts at the first review or job, whichever is earlier. A pattern is emerging for its first 30 days, then ongoing, and resolved
once a whole window passes without new evidence. Bursts of low ratings from people who
match no job are patterns of their own kind.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from monitor.db import utc_now

EMERGING_DAYS = 30
AFTER_COMPLETION_DAYS = 14  # median delay from completion to complaint that makes it "discovered after"
SUBGROUP_LOOKBACK = 180  # jobs completed this long before a window still expose it (defects surface late)
MIN_SHARE = 0.02
# The baseline starts from a prior of one complaint of a theme per year (half a one in half a year), so
# the first complaints of a young history are compared with something; the prior fades as history grows
# (see _baseline).
PRIOR_EVENTS, PRIOR_DAYS = 0.5, 180
YEAR_DAYS = 365


def predictive_tail(count: int, expected: float, evidence: float) -> float:
    """P(X >= count) for X ~ Poisson(rate x window) with the rate gamma-distributed, learned from `evidence`
    events (negative binomial with shape `evidence` and mean `expected`); Poisson as evidence grows."""
    if count <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    q = expected / (expected + evidence)
    term = (1 - q) ** evidence
    below = term
    for k in range(1, count):
        term *= (k - 1 + evidence) / k * q
        below += term
    return max(0.0, 1.0 - below)


def poisson_tail(count: int, expected: float) -> float:
    """P(X >= count) for X ~ Poisson(expected)."""
    if count <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    term = math.exp(-expected)
    below = term
    for i in range(1, count):
        term *= expected / i
        below += term
    return max(0.0, 1.0 - below)


@dataclass
class Event:
    day: int
    review_id: str
    delay: int | None = None  # days from job completion to the complaint


@dataclass
class Episode:
    detected: int  # the day it became significant
    last: int
    count: int
    expected: float
    p_value: float
    members: list[Event] = field(default_factory=list)


def _day(text: str) -> int:
    return date.fromisoformat(text[:10]).toordinal()


def latest_episode(events: list[Event], window: int, minimum: int, max_p: float | Callable[[int], float], expected_at: Any,
                   today: int) -> Episode | None:
    """Scan the events up to `today`; return the most recent run of significant windows, if any.

    `expected_at(day)`: the count expected in the window ending that day, and the events behind that rate;
    `max_p`: the threshold, or the threshold on a day."""
    threshold = max_p if callable(max_p) else (lambda day: max_p)
    days = [e.day for e in events]
    episode: Episode | None = None
    start = 0
    for index, event in enumerate(events):
        if event.day > today:
            break
        while days[start] <= event.day - window:
            start += 1
        count = index + 1 - start
        expected, evidence = expected_at(event.day)
        p_value = predictive_tail(count, expected, evidence)
        if count >= minimum and p_value <= threshold(event.day):
            if episode is None or event.day - episode.last > window:
                episode = Episode(event.day, event.day, count, expected, p_value)
            episode.last, episode.count, episode.expected, episode.p_value = event.day, count, expected, p_value
            episode.members = events[start:index + 1]
    return episode


def cluster_key(pattern: dict[str, Any]) -> str:
    """A theme's business-wide, crew and job-type patterns are one problem to the owner: one card, one alert.
    A burst of reviews from non-customers stands alone."""
    if pattern["kind"] == "non_customer_burst":
        return pattern["id"]
    return f"{pattern['business_id']}:{pattern['kind']}:{pattern['theme']}"


def cluster_status(statuses: list[str]) -> str:
    """Emerging while any of its patterns is, else ongoing while any is, else resolved."""
    return next((status for status in ("emerging", "ongoing") if status in statuses), "resolved")


def run_patterns(db: sqlite_utils.Database, settings: dict[str, Any], today: date, words: Any = None) -> dict[str, int]:
    """Find defect and service patterns and non-customer bursts for every business as of `today`; write what changed.

    The totals count clusters (`cluster_key`), as the owner sees them.
    `words`: the Vocabulary that says each theme's kind and groups (the shipped taxonomy's when not given)."""
    if words is None:
        from monitor.themes import vocabulary

        words = vocabulary()
    totals = {"emerging": 0, "ongoing": 0, "resolved": 0, "changed": 0}
    for (business_id,) in db.execute("SELECT id FROM businesses").fetchall():
        thresholds = settings[business_id].thresholds if business_id in settings else None
        found = _business_patterns(db, business_id, thresholds, today.toordinal(), words)
        clusters: dict[str, list[str]] = {}
        for row, _ in found.values():
            clusters.setdefault(cluster_key(row), []).append(row["status"])
        for statuses in clusters.values():
            totals[cluster_status(statuses)] += 1
        totals["changed"] += _save(db, business_id, found)
    return totals


def _business_patterns(db: sqlite_utils.Database, business_id: str, thresholds: Any, today: int,
                       words: Any) -> dict[str, tuple[dict, list[Event]]]:
    from monitor.config import Thresholds

    thresholds = thresholds or Thresholds()
    window, minimum, max_p = thresholds.pattern_window_days, thresholds.pattern_min_count, thresholds.pattern_max_p_value
    rows = list(db.query(
        """SELECT r.id, r.published_at, t.theme, j.job_type, j.crew, j.materials, j.completed_at
           FROM reviews r JOIN review_themes t ON t.review_id = r.id
           LEFT JOIN matches m ON m.review_id = r.id AND m.status IN ('auto', 'confirmed')
           LEFT JOIN jobs j ON j.id = m.job_id
           WHERE r.business_id = ? AND r.complaint = 1 AND r.removed_at IS NULL
           ORDER BY r.published_at""",
        [business_id],
    ))
    # History starts with the first review or the first job: months of jobs without complaints are evidence too.
    first = db.execute(
        "SELECT MIN(d) FROM (SELECT MIN(published_at) AS d FROM reviews WHERE business_id = ? "
        "UNION ALL SELECT MIN(completed_at) FROM jobs WHERE business_id = ?)", [business_id, business_id]
    ).fetchone()[0]
    if not first:
        return {}
    history_start = _day(first)
    jobs = [(_day(j["completed_at"]), j) for j in db.query(
        "SELECT completed_at, job_type, crew, materials FROM jobs WHERE business_id = ? ORDER BY completed_at", [business_id])]
    job_days = [day for day, _ in jobs]

    groups: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
    theme_days: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        day = _day(row["published_at"])
        delay = day - _day(row["completed_at"]) if row["completed_at"] else None
        event = Event(day, row["id"], delay)
        theme_days[row["theme"]].append(day)
        for dimension, value in _dimensions(row, words.groups(row["theme"])):
            groups[(row["theme"], dimension, value)].append(event)

    found: dict[str, tuple[dict, list[Event]]] = {}
    # Every group with enough events is a test; across many themes, crews and job types some would
    # pass p < 0.05 by chance, so the threshold is shared out among them (Bonferroni). And each group is
    # tested again every window: shared also among the windows of the last year, a steady business sees a
    # false pattern less than once in twenty years; a young history, tested few times yet, keeps its edge.
    tested = [key for key, events in groups.items() if len(events) >= minimum]

    def max_p_on(day: int, shared: float = max_p / max(len(tested), 1)) -> float:
        """The threshold on a day: shared among the windows of history so far, at most a year's."""
        return shared / min(max((day - history_start) / window, 1.0), YEAR_DAYS / window)

    for theme, dimension, value in tested:
        events = groups[(theme, dimension, value)]
        before = theme_days[theme]

        def expected_at(day: int, before: list[int] = before, dimension: str = dimension,
                        value: str = value) -> tuple[float, float]:
            window_start = day - window
            evidence, rate = _baseline(bisect.bisect_right(before, window_start), window_start - history_start)
            share = _share(jobs, job_days, dimension, value, window_start - SUBGROUP_LOOKBACK, day)
            return rate * window * share, evidence

        episode = latest_episode(events, window, minimum, max_p_on, expected_at, today)
        if episode is not None:
            kind = words.kind(theme)
            pattern_id = f"{business_id}:{kind}:{theme}:{dimension}:{value}"
            found[pattern_id] = (_row(pattern_id, business_id, kind, theme, dimension, value, episode, window, today), episode.members)

    bursts = _bursts(db, business_id, thresholds, today, history_start)
    found.update(bursts)
    return found


def _baseline(earlier: int, days: int) -> tuple[float, float]:
    """The events behind a rate (the prior's share included) and the rate per day, from `earlier` events in
    `days` of history. The prior weighs as the history is short: all of it on a new business, a quarter after
    18 months, so a common theme's long history is not pulled down towards one complaint a year."""
    days = max(days, 0)
    weight = PRIOR_DAYS / (days + PRIOR_DAYS)
    evidence = earlier + PRIOR_EVENTS * weight
    return evidence, evidence / (days + PRIOR_DAYS * weight)


def _dimensions(row: dict[str, Any], groups: tuple[str, ...]) -> list[tuple[str, str]]:
    """The groups a complaint counts in: the business, and those of its job the theme is counted by."""
    dimensions = [("business", "")]
    if row["job_type"] and "job_type" in groups:
        dimensions.append(("job_type", row["job_type"].strip()))
    for dimension in ("crew", "materials"):
        if dimension in groups:
            dimensions += [(dimension, value.strip()) for value in (row[dimension] or "").split(",") if value.strip()]
    return dimensions


def _share(jobs: list[tuple[int, dict]], job_days: list[int], dimension: str, value: str, start: int, end: int) -> float:
    """The part of the business's jobs in [start, end] that belongs to the subgroup (1 for the whole business)."""
    if dimension == "business":
        return 1.0
    low, high = bisect.bisect_left(job_days, start), bisect.bisect_right(job_days, end)
    period = [job for _, job in jobs[low:high]]
    if not period:
        return MIN_SHARE
    column = {"job_type": "job_type", "crew": "crew", "materials": "materials"}[dimension]
    if dimension == "job_type":
        mine = sum(1 for job in period if (job[column] or "").strip() == value)
    else:
        mine = sum(1 for job in period if value in [v.strip() for v in (job[column] or "").split(",")])
    return max(mine / len(period), MIN_SHARE)


def _bursts(db: sqlite_utils.Database, business_id: str, thresholds: Any, today: int, history_start: int) -> dict[str, tuple[dict, list[Event]]]:
    """Low ratings from reviewers who match no job, piling up in a short window."""
    if not db.execute("SELECT 1 FROM jobs WHERE business_id = ? LIMIT 1", [business_id]).fetchone():
        return {}  # without jobs everyone "matches no job"
    events = [Event(_day(r["published_at"]), r["id"]) for r in db.query(
        """SELECT r.id, r.published_at FROM reviews r JOIN matches m ON m.review_id = r.id AND m.status = 'unmatched'
           WHERE r.business_id = ? AND r.rating <= 2 AND r.removed_at IS NULL ORDER BY r.published_at""", [business_id])]
    window, minimum = thresholds.burst_window_days, thresholds.burst_min_count
    days = [e.day for e in events]

    def expected_at(day: int) -> tuple[float, float]:
        window_start = day - window
        evidence, rate = _baseline(bisect.bisect_right(days, window_start), window_start - history_start)
        return rate * window, evidence

    episode = latest_episode(events, window, minimum, thresholds.pattern_max_p_value, expected_at, today)
    if episode is None:
        return {}
    pattern_id = f"{business_id}:non_customer_burst::business:"
    return {pattern_id: (_row(pattern_id, business_id, "non_customer_burst", "", "business", "", episode, window, today), episode.members)}


def _row(pattern_id: str, business_id: str, kind: str, theme: str, dimension: str, value: str, episode: Episode,
         window: int, today: int) -> dict[str, Any]:
    # How long after completion customers find a defect; a service pattern has no such delay to tell.
    delays = [e.delay for e in episode.members if e.delay is not None and e.delay >= 0] if kind == "defect" else []
    median_delay = statistics.median(delays) if delays else None
    if today - episode.last > window:
        status = "resolved"
    elif today - episode.detected <= EMERGING_DAYS:
        status = "emerging"
    else:
        status = "ongoing"
    return {
        "id": pattern_id,
        "business_id": business_id,
        "kind": kind,
        "theme": theme,
        "dimension": dimension,
        "dimension_value": value,
        "status": status,
        "evidence_count": len(episode.members),
        "baseline_rate": round(episode.expected, 4),
        "p_value": round(episode.p_value, 6),
        "window_days": window,
        "first_evidence_at": _iso(min(e.day for e in episode.members)),
        "last_evidence_at": _iso(episode.last),
        "median_days_after_completion": median_delay,
        "after_completion": None if median_delay is None else int(median_delay >= AFTER_COMPLETION_DAYS),
        "detected_at": _iso(episode.detected),
    }


def _iso(day: int) -> str:
    return date.fromordinal(day).isoformat()


MACHINE_COLUMNS = ("business_id", "kind", "theme", "dimension", "dimension_value", "status", "evidence_count",
                   "baseline_rate", "p_value", "window_days", "first_evidence_at", "last_evidence_at",
                   "median_days_after_completion", "after_completion", "detected_at")


def _save(db: sqlite_utils.Database, business_id: str, found: dict[str, tuple[dict, list[Event]]]) -> int:
    """Upsert patterns and their members; a person's acknowledged/closed columns are left alone."""
    now = utc_now()
    stored = {row["id"]: row for row in db.query("SELECT * FROM patterns WHERE business_id = ?", [business_id])}
    members = defaultdict(set)
    for pattern_id, review_id in db.execute(
        "SELECT pattern_id, review_id FROM pattern_members WHERE pattern_id IN (SELECT id FROM patterns WHERE business_id = ?)",
        [business_id],
    ).fetchall():
        members[pattern_id].add(review_id)
    changed = 0
    with db.atomic():
        for pattern_id, (row, events) in found.items():
            old = stored.get(pattern_id)
            new_members = {e.review_id for e in events}
            if old is None:
                db.table("patterns").insert(row | {"updated_at": now})
            elif any(old[c] != row[c] for c in MACHINE_COLUMNS):
                db.table("patterns").update(pattern_id, row | {"updated_at": now})
            elif members[pattern_id] == new_members:
                continue
            if members[pattern_id] != new_members:
                db.execute("DELETE FROM pattern_members WHERE pattern_id = ?", [pattern_id])
                db.table("pattern_members").insert_all({"pattern_id": pattern_id, "review_id": r} for r in sorted(new_members))
            changed += 1
        for pattern_id, old in stored.items():  # evidence gone (review removed, no longer a complaint)
            if pattern_id not in found and old["status"] != "resolved":
                db.table("patterns").update(pattern_id, {"status": "resolved", "updated_at": now})
                changed += 1
    return changed
