"""Writes: businesses, sources and reviews, as idempotent upserts that keep history.

Everything that changes the database from outside data goes through here; a batch
is one transaction, so a failure halfway leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from monitor.config import Business, Config
from monitor.db import index_new_rows, utc_now, write_transaction
from monitor.schema import REVIEW_CRAWL_FIELDS, REVIEW_SOURCE_FIELDS, TABLES_BY_NAME

BATCH_SIZE = 500
REVIEW_COLUMNS = tuple(TABLES_BY_NAME["reviews"].columns)
REVIEW_TYPES: dict[str, type] = dict(TABLES_BY_NAME["reviews"].columns)
_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@dataclass
class SaveResult:
    """What a save did: counts, and the records refused with their reasons."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def saved(self) -> int:
        return self.new + self.updated + self.unchanged


def slugify(name: str) -> str:
    """A stable ASCII key for a name: 'Hansen VVS ApS' -> 'hansen-vvs-aps', 'Ørsted' -> 'oersted'."""
    folded = unicodedata.normalize("NFKD", name.casefold().translate(_FOLD))
    ascii_only = folded.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-") or "business"


def stable_id(*parts: str) -> str:
    """A short key from text parts that is the same in every process (unlike hash())."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def ensure_business(db: sqlite_utils.Database, name: str, business: Business | None = None) -> str:
    """Create or update the business called `name` and return its id."""
    business_id = slugify(name)
    now = utc_now()
    row: dict[str, Any] = {"id": business_id, "name": name, "updated_at": now}
    if business is not None:
        row |= {
            "country": business.country,
            "languages": json.dumps(business.languages),
            "aliases": json.dumps(business.aliases, ensure_ascii=False),
            "timezone": business.timezone,
            "reply_deadline_hours": business.thresholds.reply_deadline_hours,
        }
    table = db.table("businesses")
    with db.atomic():
        existing = next(table.rows_where("id = ?", [business_id]), None)
        if existing is None:
            table.insert(row | {"created_at": now})
        elif any(existing.get(key) != value for key, value in row.items() if key != "updated_at"):
            table.update(business_id, row)
    return business_id


def ensure_source(db: sqlite_utils.Database, business_id: str, kind: str, url: str, name: str | None = None) -> str:
    """Create the source row for this business, kind and URL (or name, when given) if missing; return its id.

    A named source keeps its id, history and health when its URL changes.
    """
    source_id = stable_id(business_id, kind, name or url)
    table = db.table("sources")
    existing = next(table.rows_where("id = ?", [source_id]), None)
    with db.atomic():
        if existing is None:
            table.insert({"id": source_id, "business_id": business_id, "kind": kind, "url": url, "name": name,
                          "created_at": utc_now()})
        elif existing["url"] != url:
            table.update(source_id, {"url": url})
    return source_id


def sync_config(db: sqlite_utils.Database, config: Config) -> dict[str, str]:
    """Write every configured business and source; return business name -> id."""
    ids = {}
    for business in config.business:
        business_id = ensure_business(db, business.name, business)
        for source in business.source:
            ensure_source(db, business_id, source.kind, source.url, source.name)
        ids[business.name] = business_id
    return ids


def review_id(source: str, external_id: str) -> str:
    """The stable key of a review: '<source>:<platform id>', e.g. 'trustpilot:64f1c0...'."""
    return f"{source}:{external_id}"


def save_reviews(db: sqlite_utils.Database, records: Iterable[dict[str, Any]], now: str | None = None) -> SaveResult:
    """Upsert review records in one transaction, writing a review_history row per changed field.

    A record seen again unchanged only moves last_seen_at (and clears removed_at);
    a record with a problem is refused and listed in the result, the others are kept.
    """
    now = now or utc_now()
    result = SaveResult()
    with db.atomic():
        for batch in _batches(_valid(records, result), BATCH_SIZE):
            _save_batch(db, batch, now, result)
    return result


def mark_removed(db: sqlite_utils.Database, source_id: str, seen_ids: set[str], now: str | None = None) -> int:
    """Mark reviews of a fully listed source that were not seen as removed; return how many."""
    now = now or utc_now()
    rows = db.execute("SELECT id FROM reviews WHERE source_id = ? AND removed_at IS NULL", [source_id])
    gone = [row[0] for row in rows.fetchall() if row[0] not in seen_ids]
    with db.atomic():
        for review in gone:
            db.execute("UPDATE reviews SET removed_at = ? WHERE id = ?", [now, review])
        db.table("review_history").insert_all(
            {"review_id": review, "changed_at": now, "field": "removed_at", "old_value": None, "new_value": now}
            for review in gone
        )
    return len(gone)


PARTIAL = "_partial"  # set on records read through a fallback format: what it does not carry stays as stored


def _valid(records: Iterable[dict[str, Any]], result: SaveResult) -> Iterator[dict[str, Any]]:
    for position, record in enumerate(records):
        partial = bool(record.get(PARTIAL))
        record = {key: value for key, value in record.items() if key != PARTIAL}
        problem = _problem(record)
        if problem:
            result.rejected.append((position, problem))
            continue
        record = {key: _encodable(value) for key, value in record.items() if key in REVIEW_COLUMNS}
        if partial:  # a missing value is not a deleted one: never write NULL over what is stored
            record = {key: value for key, value in record.items() if value is not None}
        record.setdefault("id", review_id(record["source"], str(record["external_id"])))
        if record.get("rating") is not None:
            record["rating"] = float(record["rating"])
        yield record


MAX_TEXT = {"body": 100_000, "reply_body": 100_000}  # characters; any other text field: 10,000
MAX_OTHER_TEXT = 10_000
_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number"}


def record_problem(record: dict[str, Any]) -> str | None:
    """Why a review record cannot be stored, naming the field, or None: the check every record passes first."""
    return _problem({key: value for key, value in record.items() if key != PARTIAL})


def _problem(record: dict[str, Any]) -> str | None:
    """Why a record cannot be stored, or None."""
    label = record.get("id") or record.get("external_id") or "?"
    if not isinstance(label, (str, int)) or isinstance(label, bool):
        label = "?"
    label = str(label)[:80]
    for required in ("business_id", "source", "external_id", "published_at"):
        if record.get(required) in (None, ""):
            return f"review {label}: {required} is missing"
    unknown = sorted(set(record) - set(REVIEW_COLUMNS), key=str)
    if unknown:
        return f"review {label}: unknown field {str(unknown[0])[:80]!r}"
    for name, value in record.items():
        problem = _type_problem(name, value)
        if problem:
            return f"review {label}: {name} {problem}"
    rating = record.get("rating")
    if rating is not None:
        try:
            rating = float(rating)
        except (TypeError, ValueError):
            return f"review {label}: rating {rating!r} is not a number"
        if not 1 <= rating <= 5:
            return f"review {label}: rating {rating} is outside 1-5"
    for name in ("published_at", "experienced_at", "edited_at", "reply_at"):
        value = record.get(name)
        if value is not None and not _is_iso(value):
            return f"review {label}: {name} {value!r} is not an ISO-8601 date"
    return None


def _type_problem(name: str, value: Any) -> str | None:
    """What is wrong with one field's value for its column's type and length, or None."""
    if value is None or name == "rating":  # ratings are checked as numbers below: "4" from a CSV is fine
        return None
    expected = REVIEW_TYPES.get(name, str)
    if name == "external_id" and isinstance(value, int) and not isinstance(value, bool):
        return None  # platform ids may come as numbers; they are stored as text
    if expected is str:
        if not isinstance(value, str):
            return f"is {_kind(value)}, expected text"
        limit = MAX_TEXT.get(name, MAX_OTHER_TEXT)
        if len(value) > limit:
            return f"is {len(value):,} characters long, more than {limit:,}"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float) if expected is float else int):
        return f"is {_kind(value)}, expected {_TYPE_NAMES[expected]}"
    return None


def _encodable(value: Any) -> Any:
    """Text SQLite can store: a lone surrogate (from a JSON escape such as \\ud800) becomes U+FFFD."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", value)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", str: "text", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _is_iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _save_batch(db: sqlite_utils.Database, batch: list[dict[str, Any]], now: str, result: SaveResult) -> None:
    ids = list({record["id"] for record in batch})
    placeholders = ", ".join("?" for _ in ids)
    cursor = db.execute(f"SELECT * FROM reviews WHERE id IN ({placeholders})", ids)
    names = [d[0] for d in cursor.description]
    stored = {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}

    inserts: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    seen_only: list[str] = []
    for record in batch:
        old = stored.get(record["id"])
        if old is None:
            row = {column: record.get(column) for column in REVIEW_COLUMNS}
            row |= {"first_seen_at": now, "last_seen_at": now, "removed_at": None}
            inserts.append(row)
            stored[record["id"]] = row
            result.new += 1
            continue
        changes = {
            name: record[name]
            for name in REVIEW_SOURCE_FIELDS
            if name in record and record[name] != old.get(name)
        }
        if old.get("removed_at") is not None:
            changes["removed_at"] = None
        if not changes:
            seen_only.append(record["id"])
            result.unchanged += 1
            continue
        history.extend(
            {
                "review_id": record["id"],
                "changed_at": now,
                "field": name,
                "old_value": _text(old.get(name)),
                "new_value": _text(value),
            }
            for name, value in changes.items()
        )
        assignments = ", ".join(f"[{name}] = ?" for name in changes)
        db.execute(
            f"UPDATE reviews SET {assignments}, last_seen_at = ? WHERE id = ?",
            [*changes.values(), now, record["id"]],
        )
        old.update(changes)
        result.updated += 1

    if inserts:
        # Rows are built from REVIEW_COLUMNS, so the column list is fixed and safe to format.
        columns = ", ".join(f"[{c}]" for c in REVIEW_COLUMNS)
        marks = ", ".join("?" for _ in REVIEW_COLUMNS)
        db.conn.executemany(
            f"INSERT INTO reviews ({columns}) VALUES ({marks})",
            [[row[c] for c in REVIEW_COLUMNS] for row in inserts],
        )
        index_new_rows(db, "reviews", [row["id"] for row in inserts])
    if seen_only:
        db.conn.executemany("UPDATE reviews SET last_seen_at = ? WHERE id = ?", [(now, i) for i in seen_only])
    if history:
        db.table("review_history").insert_all(history)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def known_review_ids(db: sqlite_utils.Database, source_id: str) -> set[str]:
    """Ids of the reviews already stored from a source, for the incremental stop."""
    return {row[0] for row in db.execute("SELECT id FROM reviews WHERE source_id = ?", [source_id]).fetchall()}


def last_crawl_run(db: sqlite_utils.Database, source_id: str) -> dict[str, Any] | None:
    """The previous crawl of a source, to tell a page that went quiet from one that always was."""
    return next(db.query("SELECT * FROM crawl_runs WHERE source_id = ? ORDER BY id DESC LIMIT 1", [source_id]), None)


def crawl_runs_started_at(db: sqlite_utils.Database, started_at: str) -> list[dict[str, Any]]:
    """The crawl_runs rows of one crawl, known by its start (a fleet crawl's rows are written as its walks end)."""
    return list(db.query("SELECT * FROM crawl_runs WHERE started_at = ? ORDER BY id", [started_at]))


def record_crawl_run(db: sqlite_utils.Database, run: dict[str, Any], etag: str | None, last_modified: str | None) -> int:
    """Write one crawl_runs row and the source's latest status and feed validators; return the row id."""
    with db.atomic():
        row_id = db.table("crawl_runs").insert(run).last_pk
        db.table("sources").update(
            run["source_id"],
            {
                "last_crawled_at": run["finished_at"],
                "last_status": run["status"],
                "etag": etag,
                "last_modified": last_modified,
            },
        )
    return int(row_id)


def save_jobs(db: sqlite_utils.Database, business_id: str, jobs: list[dict[str, Any]], now: str | None = None) -> SaveResult:
    """Upsert jobs on '<business id>:<job_id>' in one transaction; unchanged rows are left as they are."""
    now = now or utc_now()
    result = SaveResult()
    table = db.table("jobs")
    with db.atomic():
        for batch in _batches(iter(jobs), BATCH_SIZE):
            ids = [f"{business_id}:{job['job_id']}" for job in batch]
            marks = ", ".join("?" for _ in ids)
            cursor = db.execute(f"SELECT * FROM jobs WHERE id IN ({marks})", ids)
            names = [d[0] for d in cursor.description]
            stored = {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}
            inserts = []
            for job_key, job in zip(ids, batch):
                old = stored.get(job_key)
                if old is None:
                    inserts.append(job | {"id": job_key, "business_id": business_id, "imported_at": now, "updated_at": now})
                    result.new += 1
                    continue
                changes = {name: value for name, value in job.items() if old.get(name) != value}
                if changes:
                    table.update(job_key, changes | {"updated_at": now})
                    result.updated += 1
                else:
                    result.unchanged += 1
            if inserts:
                table.insert_all(inserts)
    return result


MACHINE_MATCH_STATUSES = ("auto", "ambiguous", "unmatched")


def save_matches(db: sqlite_utils.Database, results: list[Any], now: str | None = None) -> int:
    """Write the matcher's verdicts; a person's confirmed/rejected rows are never touched. Returns rows changed.

    The stored rows are read inside the write transaction: a decision made in the explorer
    while the matcher was computing is seen here and wins over the now stale verdict.
    """
    now = now or utc_now()
    marks = ", ".join("?" for _ in MACHINE_MATCH_STATUSES)
    changed = 0
    table = db.table("matches")
    with write_transaction(db):
        stored: dict[str, dict[str, Any]] = {}
        decided: set[str] = set()  # reviews a person confirmed
        human_rows: set[str] = set()  # ids of rows a person confirmed or rejected
        for row in db.query("SELECT id, review_id, job_id, score, status, reasons FROM matches"):
            if row["status"] in MACHINE_MATCH_STATUSES:
                stored[row["review_id"]] = row
                continue
            human_rows.add(row["id"])
            if row["status"] == "confirmed" or row["job_id"] is None:  # confirmed, or not our customer
                decided.add(row["review_id"])
        for result in results:
            row = {
                "id": f"{result.review_id}>{result.job_id or ''}",
                "review_id": result.review_id,
                "job_id": result.job_id,
                "score": result.score,
                "status": result.status,
                "reasons": result.reasons_json,
            }
            if result.review_id in decided or row["id"] in human_rows:
                continue
            old = stored.get(result.review_id)
            if old is not None and all(old[key] == row[key] for key in row):
                continue
            if old is not None and old["id"] != row["id"]:
                table.delete(old["id"])
            table.upsert(row | {"updated_at": now}, pk="id")
            changed += 1
    return changed


def decide_match(db: sqlite_utils.Database, review_id: str, job_id: str, decision: str, who: str, now: str | None = None) -> None:
    """A person confirms or rejects that a review is about a job; the matcher keeps that decision."""
    if decision not in ("confirmed", "rejected"):
        raise ValueError(f"decision must be 'confirmed' or 'rejected', not {decision!r}")
    now = now or utc_now()
    with db.atomic():
        if decision == "confirmed":  # one confirmed job per review: drop the matcher's other proposals
            marks = ", ".join("?" for _ in MACHINE_MATCH_STATUSES)
            db.execute(f"DELETE FROM matches WHERE review_id = ? AND status IN ({marks})", [review_id, *MACHINE_MATCH_STATUSES])
        existing = next(db.table("matches").rows_where("id = ?", [f"{review_id}>{job_id}"]), None)
        row = {"id": f"{review_id}>{job_id}", "review_id": review_id, "job_id": job_id, "status": decision,
               "decided_by": who, "decided_at": now, "updated_at": now}
        if existing is None:
            row |= {"score": None, "reasons": json.dumps({"decided_by": who})}
        db.table("matches").upsert(row, pk="id")


# Crawl walks and source statistics -------------------------------------------------------------------------

STATS_COLUMNS = ("trust_score", "stars", "number_of_reviews", "one_star", "two_stars", "three_stars", "four_stars",
                 "five_stars")


def save_crawled(db: sqlite_utils.Database, records: list[dict[str, Any]], walks: list[dict[str, Any]],
                 stats: list[dict[str, Any]], now: str | None = None) -> SaveResult:
    """Save crawled reviews with the walk checkpoints and source statistics they came with, in one transaction.

    A checkpoint is never ahead of the reviews it vouches for: a crawl killed at any moment
    loses at most pages the next run fetches again.
    """
    now = now or utc_now()
    with db.atomic():
        keep_estimated_dates(db, records, now)
        result = save_reviews(db, records, now)
        update_crawl_fields(db, records, now)
        for walk in walks:
            save_walk(db, walk, now)
        for row in stats:
            save_source_stats(db, row["source_id"], row, now)
    return result


def keep_estimated_dates(db: sqlite_utils.Database, records: list[dict[str, Any]], now: str) -> None:
    """Records the source gave no readable date are dated by their first_seen_at: `now` when new, else the stored date."""
    estimated = [record for record in records if record.get("published_at_estimated") and record.get("id")]
    if not estimated:
        return
    ids = [record["id"] for record in estimated]
    marks = ", ".join("?" for _ in ids)
    stored = {row[0]: (row[1], row[2]) for row in db.execute(
        f"SELECT id, published_at, published_at_estimated FROM reviews WHERE id IN ({marks})", ids).fetchall()}
    for record in estimated:
        record["published_at"], record["published_at_estimated"] = stored.get(record["id"], (now, 1))


def update_crawl_fields(db: sqlite_utils.Database, records: list[dict[str, Any]], now: str) -> int:
    """Write changed REVIEW_CRAWL_FIELDS of stored reviews, each change with a review_history row; return how many."""
    valid = {record["id"]: record for record in records if record.get("id") and _problem(record) is None}
    if not valid:
        return 0
    columns = ", ".join(f"[{name}]" for name in REVIEW_CRAWL_FIELDS)
    marks = ", ".join("?" for _ in valid)
    rows = db.execute(f"SELECT id, {columns} FROM reviews WHERE id IN ({marks})", list(valid)).fetchall()
    history = []
    for review_id, *old_values in rows:
        record = valid[review_id]
        changes = {name: record[name] for name, old in zip(REVIEW_CRAWL_FIELDS, old_values)
                   if name in record and record[name] != old}
        if not changes:
            continue
        assignments = ", ".join(f"[{name}] = ?" for name in changes)  # names from REVIEW_CRAWL_FIELDS only
        db.execute(f"UPDATE reviews SET {assignments} WHERE id = ?", [*changes.values(), review_id])
        history += [{"review_id": review_id, "changed_at": now, "field": name,
                     "old_value": _text(old_values[REVIEW_CRAWL_FIELDS.index(name)]), "new_value": _text(value)}
                    for name, value in changes.items()]
    if history:
        db.table("review_history").insert_all(history)
    return len(history)


def save_walk(db: sqlite_utils.Database, walk: dict[str, Any], now: str | None = None) -> None:
    """Record how far the current walk through a source's pages got (one row per source)."""
    row = {key: walk.get(key) for key in ("source_id", "walk_started_at", "walk_full", "last_page", "last_url")}
    row |= {"walk_complete": int(bool(walk.get("walk_complete"))), "updated_at": now or utc_now()}
    db.table("source_walks").upsert(row, pk="source_id")


def walk_checkpoint(db: sqlite_utils.Database, source_id: str) -> dict[str, Any] | None:
    """The latest walk through a source's pages, or None before the first crawl."""
    return next(db.table("source_walks").rows_where("source_id = ?", [source_id]), None)


def review_ids_seen_before(db: sqlite_utils.Database, source_id: str, moment: str) -> set[str]:
    """Ids of a source's reviews first stored before `moment`: those an unfinished walk may stop at."""
    rows = db.execute("SELECT id FROM reviews WHERE source_id = ? AND first_seen_at < ?", [source_id, moment])
    return {row[0] for row in rows.fetchall()}


def save_source_stats(db: sqlite_utils.Database, source_id: str, stats: dict[str, Any], now: str | None = None) -> bool:
    """Add a source_stats row when the platform's figures differ from the latest stored; True when added."""
    row = {column: stats.get(column) for column in STATS_COLUMNS}
    latest = next(db.query("SELECT * FROM source_stats WHERE source_id = ? ORDER BY observed_at DESC LIMIT 1",
                           [source_id]), None)
    if latest is not None and all(latest[column] == row[column] for column in STATS_COLUMNS):
        return False
    db.table("source_stats").upsert(row | {"source_id": source_id, "observed_at": now or utc_now()},
                                    pk=("source_id", "observed_at"))
    return True
