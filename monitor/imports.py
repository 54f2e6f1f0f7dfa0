"""Job exports and review exports -> records -> store. Bad rows are reported; the rest is kept."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.schema import JOB_IMPORT_FIELDS, REVIEW_SOURCE_FIELDS, TABLES_BY_NAME
from monitor.store import SaveResult, save_jobs, save_reviews
from monitor.tabular import ImportProblem, decode, parse_amount, parse_day, read_rows
from spiders.dates import parse_date

REQUIRED_JOB_FIELDS = ("job_id", "customer_name", "completed_at")
DATE_FIELDS = ("started_at", "completed_at", "due_at", "paid_at")
# What an export may carry: the fields a source owns, plus the keys (analysis and people's columns are repmon's).
REVIEW_IMPORT_FIELDS = tuple(
    c for c in TABLES_BY_NAME["reviews"].columns if c in {"id", "source", "external_id", "lang", *REVIEW_SOURCE_FIELDS}
)
GOOGLE_STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}


@dataclass
class ImportReport:
    """What an import did, and each refused row as 'line N: reason'."""

    file: Path
    rows: int = 0
    saved: SaveResult = field(default_factory=SaveResult)
    problems: list[str] = field(default_factory=list)


def column_mapping(header: list[str], configured: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """File column -> job field: configured names, then --map, then columns already named as fields."""
    mapping = {column: job_field for column, job_field in configured.items() if column in header}
    mapping |= {column: job_field for column, job_field in overrides.items()}
    mapped = set(mapping.values())
    for column in header:
        name = column.strip().lower()
        if column not in mapping and name in JOB_IMPORT_FIELDS and name not in mapped:
            mapping[column] = name
    return mapping


def import_jobs(db: sqlite_utils.Database, path: Path, business_id: str, configured: dict[str, str],
                overrides: dict[str, str] | None = None) -> ImportReport:
    """Read a CSV/XLSX job export and upsert its rows on job id."""
    report = ImportReport(path)
    header, rows = read_rows(path)
    mapping = column_mapping(header, configured, overrides or {})
    unknown = sorted(column for column in (overrides or {}) if column not in header)
    if unknown:
        raise ImportProblem(f"{path}: --map names column {unknown[0]!r}, which the file does not have "
                            f"(columns: {', '.join(header)})")
    missing = [f for f in REQUIRED_JOB_FIELDS if f not in mapping.values()]
    if missing:
        raise ImportProblem(
            f"{path}: no column for {', '.join(missing)}; map one with --map COLUMN={missing[0]} or "
            f"[business.jobs_columns] (columns: {', '.join(header)})"
        )
    jobs: dict[str, dict[str, Any]] = {}
    first_line: dict[str, int] = {}
    for line, row in rows:
        report.rows += 1
        try:
            job = _job(row, mapping)
        except ValueError as error:
            report.problems.append(f"line {line}: {error}")
            continue
        if job["job_id"] in jobs:
            report.problems.append(
                f"line {line}: job_id {job['job_id']!r} is also on line {first_line[job['job_id']]}; the later row is kept"
            )
        first_line.setdefault(job["job_id"], line)
        jobs[job["job_id"]] = job
    report.saved = save_jobs(db, business_id, list(jobs.values()))
    return report


def _job(row: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    job: dict[str, Any] = {}
    for column, job_field in mapping.items():
        value = row.get(column)
        if isinstance(value, str):
            value = value.strip() or None
        try:
            if job_field in DATE_FIELDS:
                value = parse_day(value)
            elif job_field == "amount":
                value = parse_amount(value)
            elif value is not None:
                value = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        except ValueError as error:
            raise ValueError(f"{job_field} ({column}): {error}") from None
        job[job_field] = value
    for required in REQUIRED_JOB_FIELDS:
        if not job.get(required):
            column = next(c for c, f in mapping.items() if f == required)
            raise ValueError(f"{required} ({column}) is empty")
    return job


def import_reviews(db: sqlite_utils.Database, path: Path, business_id: str) -> ImportReport:
    """Reviews from a generic CSV/JSON/JSONL export or a Google Business Profile reviews list."""
    report = ImportReport(path)
    records: list[tuple[int, dict[str, Any]]] = []
    label = "line"
    for line, raw in _review_rows(path):
        label = "record" if path.suffix.lower() == ".json" else "line"
        report.rows += 1
        try:
            record = _google_review(raw) if _is_google(raw) else _generic_review(raw)
        except ValueError as error:
            report.problems.append(f"{label} {line}: {error}")
            continue
        records.append((line, record | {"business_id": business_id}))
    report.saved = save_reviews(db, [record for _, record in records])
    for position, reason in report.saved.rejected:
        report.problems.append(f"{label} {records[position][0]}: {reason}")
    return report


def _review_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl", ".ndjson"):
        header, rows = read_rows(path)
        return list(rows)
    text, _ = decode(path.read_bytes())
    if not text.strip():
        raise ImportProblem(f"{path}: the file is empty")
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ImportProblem(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
        items = data.get("reviews", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ImportProblem(f"{path}: expected a list of reviews or an object with 'reviews'")
        return [(number, item) for number, item in enumerate(items, start=1)]
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            rows.append((number, {"__error__": f"not valid JSON ({error.msg})"}))
    return rows


def _is_google(raw: Any) -> bool:
    return isinstance(raw, dict) and "starRating" in raw and "reviewer" in raw


def _generic_review(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    if "__error__" in raw:
        raise ValueError(raw["__error__"])
    unknown = sorted(set(raw) - set(REVIEW_IMPORT_FIELDS))
    if unknown:
        raise ValueError(f"unknown column {unknown[0]!r} (expected: {', '.join(REVIEW_IMPORT_FIELDS)})")
    record = {key: (value.strip() or None) if isinstance(value, str) else value for key, value in raw.items()}
    for required in ("source", "external_id", "published_at"):
        if not record.get(required):
            raise ValueError(f"{required} is empty")
    record["external_id"] = str(record["external_id"])
    for name in ("published_at", "experienced_at", "edited_at", "reply_at"):
        if record.get(name):
            parsed = parse_date(record[name])
            if parsed is None:
                raise ValueError(f"{name} {record[name]!r} is not a date")
            record[name] = parsed
    if record.get("rating") is not None:
        try:
            record["rating"] = float(str(record["rating"]).replace(",", "."))
        except ValueError:
            raise ValueError(f"rating {record['rating']!r} is not a number") from None
    return record


def _google_review(raw: dict[str, Any]) -> dict[str, Any]:
    """One review of the Google Business Profile API's accounts.locations.reviews.list."""
    review_id = raw.get("reviewId") or str(raw.get("name", "")).rsplit("/", 1)[-1]
    if not review_id:
        raise ValueError("reviewId is missing")
    stars = GOOGLE_STARS.get(str(raw.get("starRating")))
    if stars is None:
        raise ValueError(f"starRating {raw.get('starRating')!r} is not ONE to FIVE")
    created = parse_date(raw.get("createTime"))
    if created is None:
        raise ValueError(f"createTime {raw.get('createTime')!r} is not a date")
    updated = parse_date(raw.get("updateTime"))
    reply = raw.get("reviewReply") or {}
    reviewer = raw.get("reviewer") or {}
    return {
        "source": "google",
        "external_id": review_id,
        "author": None if reviewer.get("isAnonymous") else reviewer.get("displayName"),
        "rating": float(stars),
        "body": _original_text(raw.get("comment")),
        "published_at": created,
        "edited_at": updated if updated and updated != created else None,
        "reply_body": reply.get("comment"),
        "reply_at": parse_date(reply.get("updateTime")),
    }


def _original_text(comment: str | None) -> str | None:
    """Google shows '(Translated by Google) ... (Original) ...'; keep what the customer wrote."""
    if not comment:
        return None
    marker = "(Original)"
    if comment.startswith("(Translated by Google)") and marker in comment:
        return comment.split(marker, 1)[1].strip()
    return comment
