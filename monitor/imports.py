"""Job exports and review exports -> records -> store. Bad rows are reported; the rest is kept."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.schema import JOB_IMPORT_FIELDS, REVIEW_SOURCE_FIELDS, TABLES_BY_NAME
from monitor.store import SaveResult, review_id, save_jobs, save_reviews
from monitor.tabular import (BadRow, ImportProblem, column_key, decode, file_kind, parse_amount, parse_day,
                             read_table)
from spiders.dates import parse_date

REQUIRED_JOB_FIELDS = ("job_id", "customer_name", "completed_at")
DATE_FIELDS = ("started_at", "completed_at", "due_at", "paid_at")
# What an export may carry: the fields a source owns, plus the keys (analysis and people's columns are repmon's).
REVIEW_IMPORT_FIELDS = tuple(
    c for c in TABLES_BY_NAME["reviews"].columns if c in {"id", "source", "external_id", "lang", *REVIEW_SOURCE_FIELDS}
)
REQUIRED_REVIEW_FIELDS = ("source", "external_id", "published_at")
REVIEW_DATE_FIELDS = ("published_at", "experienced_at", "edited_at", "reply_at")
GOOGLE_STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
LONGEST_DATE = 100  # characters; longer text is no date, and the localised date parser is slow on it
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class ImportReport:
    """What an import did: the key stored for each saved line, and each refused line with its reason."""

    file: Path
    rows: int = 0
    saved: SaveResult = field(default_factory=SaveResult)
    stored: dict[int, str] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)
    label: str = "line"

    @property
    def problems(self) -> list[str]:
        """Each refused row as 'line N: reason' ('record N' in a JSON list), in file order."""
        return [f"{self.label} {line}: {reason}" for line, reason in sorted(self.refused.items())]


def column_mapping(header: list[str], configured: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """File column -> job field: configured names, then --map, then columns already named as fields."""
    columns = _columns_by_key(header)
    mapping = {columns[column_key(c)]: job_field for c, job_field in configured.items() if column_key(c) in columns}
    mapping |= {columns.get(column_key(c), c): job_field for c, job_field in overrides.items()}
    mapped = set(mapping.values())
    for column in header:
        name = column_key(column)
        if column and column not in mapping and name in JOB_IMPORT_FIELDS and name not in mapped:
            mapping[column] = name
            mapped.add(name)
    return mapping


def _columns_by_key(header: list[str]) -> dict[str, str]:
    columns: dict[str, str] = {}
    for column in header:
        columns.setdefault(column_key(column), column)
    return columns


def import_jobs(db: sqlite_utils.Database, path: Path, business_id: str, configured: dict[str, str],
                overrides: dict[str, str] | None = None, header_row: int | None = None) -> ImportReport:
    """Read a CSV/XLSX job export and upsert its rows on job id."""
    overrides = overrides or {}
    report = ImportReport(path)
    raw = path.read_bytes()
    kind = file_kind(path, raw, ("csv", "xlsx"))
    header, rows = read_table(path, raw, kind, [*configured, *overrides, *JOB_IMPORT_FIELDS], header_row)
    mapping = column_mapping(header, configured, overrides)
    _check_job_columns(path, header, mapping, configured, overrides)
    jobs: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, row in rows:
        report.rows += 1
        try:
            if isinstance(row, BadRow):
                raise ValueError(row.reason)
            job = _job(row, mapping)
        except ValueError as error:
            report.refused[line] = str(error)
            continue
        if job["job_id"] in jobs:
            earlier = jobs[job["job_id"]][0]
            report.refused[earlier] = f"job_id {job['job_id']!r} is on line {line} too; the later row is kept"
        jobs[job["job_id"]] = (line, job)
    report.saved = save_jobs(db, business_id, [job for _, job in jobs.values()])
    report.stored = {line: f"{business_id}:{job_id}" for job_id, (line, _) in jobs.items()}
    return report


def _check_job_columns(path: Path, header: list[str], mapping: dict[str, str], configured: dict[str, str],
                       overrides: dict[str, str]) -> None:
    """Refuse the file when a column the mapping names is missing, doubled, or a required field has no column."""
    columns = ", ".join(name for name in header if name)
    keys = [column_key(name) for name in header]
    unknown = sorted(column for column in overrides if column_key(column) not in keys)
    if unknown:
        raise ImportProblem(f"{path}: --map names column {unknown[0]!r}, which the file does not have "
                            f"(columns: {columns})")
    missing = [f for f in REQUIRED_JOB_FIELDS if f not in mapping.values()]
    if missing:
        raise ImportProblem(
            f"{path}: no column for {', '.join(missing)}; map one with --map COLUMN={missing[0]} or "
            f"[business.jobs_columns], or name the header row with --header-row N (columns: {columns})"
        )
    absent = [(column, job_field) for column, job_field in configured.items()
              if column_key(column) not in keys and job_field not in mapping.values()]
    if absent:
        named = ", ".join(f"{column!r} ({job_field})" for column, job_field in absent)
        raise ImportProblem(f"{path}: [business.jobs_columns] names {named}, which the file does not have; "
                            f"remove it from the config or map another column with --map (columns: {columns})")
    doubled = sorted({column for column in mapping if keys.count(column_key(column)) > 1})
    if doubled:
        raise ImportProblem(f"{path}: column {doubled[0]!r} appears {keys.count(column_key(doubled[0]))} times in "
                            "the header, so which one holds the values is unclear")


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


def import_reviews(db: sqlite_utils.Database, path: Path, business_id: str,
                   header_row: int | None = None) -> ImportReport:
    """Reviews from a generic CSV/XLSX/JSON/JSONL export or a Google Business Profile reviews list."""
    raw = path.read_bytes()
    kind = file_kind(path, raw)
    report = ImportReport(path, label="record" if kind == "json" else "line")
    candidates: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, item in _review_rows(path, raw, kind, header_row):
        report.rows += 1
        try:
            if isinstance(item, BadRow):
                raise ValueError(item.reason)
            record = _google_review(item) if _is_google(item) else _generic_review(item)
        except ValueError as error:
            report.refused[line] = str(error)
            continue
        if record["id"] in candidates:
            earlier = candidates[record["id"]][0]
            report.refused[earlier] = f"review {record['id']!r} is {report.label} {line} too; the later one is kept"
        candidates[record["id"]] = (line, record | {"business_id": business_id})
    lines = [line for line, _ in candidates.values()]
    report.saved = save_reviews(db, [record for _, record in candidates.values()])
    for position, reason in report.saved.rejected:
        report.refused[lines[position]] = reason
    report.stored = {line: record["id"] for line, record in candidates.values() if line not in report.refused}
    return report


def _review_rows(path: Path, raw: bytes, kind: str, header_row: int | None) -> Iterator[tuple[int, Any]]:
    if kind in ("csv", "xlsx"):
        header, rows = read_table(path, raw, kind, REVIEW_IMPORT_FIELDS, header_row)
        _check_review_columns(path, header)
        return rows
    if header_row is not None:
        raise ImportProblem(f"{path}: --header-row applies to CSV and XLSX files, not {kind.upper()}")
    text, _ = decode(raw, path)
    if not text.strip():
        raise ImportProblem(f"{path}: the file is empty")
    return _json_records(path, text) if kind == "json" else _jsonl_records(text)


def _check_review_columns(path: Path, header: list[str]) -> None:
    """A review table's columns are review fields, each once, with the required ones present."""
    keys = [column_key(name) for name in header if name]
    unknown = [name for name in header if name and column_key(name) not in REVIEW_IMPORT_FIELDS]
    if unknown:
        raise ImportProblem(f"{path}: column {unknown[0]!r} is not a review field "
                            f"(expected: {', '.join(REVIEW_IMPORT_FIELDS)}; --header-row N if the names are lower down)")
    doubled = sorted({key for key in keys if keys.count(key) > 1})
    if doubled:
        raise ImportProblem(f"{path}: column {doubled[0]!r} appears {keys.count(doubled[0])} times in the header")
    missing = [name for name in REQUIRED_REVIEW_FIELDS if name not in keys]
    if missing:
        raise ImportProblem(f"{path}: no column {', '.join(missing)} (columns: {', '.join(n for n in header if n)})")


def _json_records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        raise ImportProblem(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise ImportProblem(f"{path}: JSON nested too deeply to read (lists or objects inside each other "
                            "about a thousand levels down)") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise ImportProblem(f"{path}: not readable JSON ({error})") from None
    items = data.get("reviews") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportProblem(f"{path}: expected a list of reviews or an object with a 'reviews' list")
    return enumerate(items, start=1)


def _jsonl_records(text: str) -> Iterator[tuple[int, Any]]:
    # Only '\n' ends a record: str.splitlines() would also split at U+2028, U+0085, form feeds and the
    # like, which JSON text may hold inside its strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line, strict=False)
        except json.JSONDecodeError as error:
            yield number, BadRow(f"not valid JSON ({error.msg})")
        except RecursionError:
            yield number, BadRow("JSON nested too deeply to read")
        except ValueError as error:
            yield number, BadRow(f"not readable JSON ({error})")


def _is_google(raw: Any) -> bool:
    return isinstance(raw, dict) and "starRating" in raw and "reviewer" in raw


def _generic_review(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"not an object but {_kind(raw)}")
    raw = {column_key(key) if isinstance(key, str) else key: value for key, value in raw.items()}
    unknown = sorted(set(raw) - set(REVIEW_IMPORT_FIELDS))
    if unknown:
        raise ValueError(f"unknown column {unknown[0]!r} (expected: {', '.join(REVIEW_IMPORT_FIELDS)})")
    wrong = [problem for key, value in raw.items() if (problem := _field_problem(key, value))]
    if wrong:
        raise ValueError("; ".join(wrong))
    record = {key: _text(value) for key, value in raw.items()}
    for required in REQUIRED_REVIEW_FIELDS:
        if not record.get(required):
            raise ValueError(f"{required} is empty")
    for name in REVIEW_DATE_FIELDS:
        if record.get(name):
            record[name] = _date(name, record[name])
    if record.get("rating") is not None:
        try:
            record["rating"] = float(str(record["rating"]).replace(",", "."))
        except ValueError:
            raise ValueError(f"rating {record['rating'][:40]!r} is not a number") from None
    record["id"] = record.get("id") or review_id(record["source"], record["external_id"])
    return record


def _field_problem(name: str, value: Any) -> str | None:
    """Why a JSON value cannot go in a review field, or None: fields hold text, numbers or nothing."""
    if value is None or (isinstance(value, (str, int, float, date)) and not isinstance(value, bool)):
        if isinstance(value, str) and _SURROGATE.search(value):
            return f"{name} holds a lone UTF-16 surrogate, which is not text"
        return None
    return f"{name} is {_kind(value)}, expected {'a number' if name == 'rating' else 'text'}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None if value is None else str(value)


def _date(name: str, value: Any) -> str:
    """ISO-8601 UTC text of a date field, or ValueError naming it."""
    if value is None or value == "":
        raise ValueError(f"{name} is missing")
    text = str(value)
    try:
        parsed = parse_date(text) if len(text) <= LONGEST_DATE else None
    except (ValueError, OverflowError):  # a timezone offset can push year 1 or 9999 out of range
        parsed = None
    if parsed is None:
        raise ValueError(f"{name} {text[:40]!r} is not a date")
    return parsed


def _google_review(raw: dict[str, Any]) -> dict[str, Any]:
    """One review of the Google Business Profile API's accounts.locations.reviews.list."""
    reviewer, reply = _object(raw, "reviewer"), _object(raw, "reviewReply")
    wrong = [problem for holder, prefix, names in (
        (raw, "", ("reviewId", "name", "comment", "createTime", "updateTime")),
        (reviewer, "reviewer.", ("displayName",)),
        (reply, "reviewReply.", ("comment", "updateTime")),
    ) for name in names if (problem := _field_problem(prefix + name, holder.get(name)))]
    if wrong:
        raise ValueError("; ".join(wrong))
    review_id_text = _text(raw.get("reviewId")) or str(raw.get("name") or "").rsplit("/", 1)[-1]
    if not review_id_text:
        raise ValueError("reviewId is missing")
    stars = GOOGLE_STARS.get(str(raw.get("starRating")))
    if stars is None:
        raise ValueError(f"starRating {str(raw.get('starRating'))[:40]!r} is not ONE to FIVE")
    created = _date("createTime", raw.get("createTime"))
    updated = _date("updateTime", raw["updateTime"]) if raw.get("updateTime") else None
    return {
        "id": review_id("google", review_id_text),
        "source": "google",
        "external_id": review_id_text,
        "author": None if reviewer.get("isAnonymous") else _text(reviewer.get("displayName")),
        "rating": float(stars),
        "body": _original_text(_text(raw.get("comment"))),
        "published_at": created,
        "edited_at": updated if updated and updated != created else None,
        "reply_body": _text(reply.get("comment")),
        "reply_at": _date("reviewReply.updateTime", reply["updateTime"]) if reply.get("updateTime") else None,
    }


def _object(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} is {_kind(value)}, expected an object")
    return value


def _original_text(comment: str | None) -> str | None:
    """Google shows '(Translated by Google) ... (Original) ...'; keep what the customer wrote."""
    if not comment:
        return None
    marker = "(Original)"
    if comment.startswith("(Translated by Google)") and marker in comment:
        return comment.split(marker, 1)[1].strip()
    return comment
