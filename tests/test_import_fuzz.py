"""Mutated exports: every import either refuses the file by name or reports each row, and the database agrees.

Each mutant of a real fixture export (byte flips, truncation, inserted separators, wrong types, deep nesting)
is imported into a fresh copy of a shaped database. For every one: no exception but ImportProblem escapes,
the database passes integrity and foreign-key checks, and exactly the rows reported as stored are stored.
"""

import csv
import io
import json
import random
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils
from openpyxl import Workbook

from monitor.db import open_db
from monitor.demo import EXPORT_COLUMNS as DEMO_COLUMNS
from monitor.imports import ImportReport, import_jobs, import_reviews
from monitor.store import ensure_business
from monitor.tabular import ImportProblem

# The fixture exports are the demo's format from before it had a phone column.
EXPORT_COLUMNS = {column: field for column, field in DEMO_COLUMNS.items() if column != "Telefon"}

FILES = Path(__file__).parent / "files" / "imports"
SEED = 20261020
SEPARATORS = [b";", b",", b"\t", b"\n", b"\r\n", b"\r", b'"', b"{", b"}", b"[", b"]", b":", b"\x00", b"\xe6", b"\xc3",
              "\u2028".encode(), "\u0085".encode(), b"\x0b", b"\x1c", b"sep=,\n", b"\xef\xbb\xbf"]
WRONG_VALUES = [[], ["a", 1], {}, {"nested": {"deeper": [1]}}, True, False, None, 0, -1, 1e308 * 10, 2**80,
                "", " ", "x" * 5000, "\u2028\u2029\u0085", "\ud800", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                "31-02-2026", "NaN", "=1/0", "1" * 400]
BUSINESS = "hansen-vvs-aps"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> sqlite3.Connection:
    """A shaped database with the business in it, copied into memory for each mutant (0.6 ms a copy)."""
    database = open_db(tmp_path_factory.mktemp("fuzz") / "template.db")
    ensure_business(database, "Hansen VVS ApS")
    yield database.conn
    database.close()


def fresh(template: sqlite3.Connection) -> sqlite_utils.Database:
    connection = sqlite3.connect(":memory:")
    template.backup(connection)
    database = sqlite_utils.Database(connection)
    database.execute("PRAGMA foreign_keys = ON")
    return database


# --- mutations ------------------------------------------------------------------------------------------------


def byte_mutant(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One or a few random damages to raw bytes."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not data:
            break
        at = rng.randrange(len(data))
        how = rng.choice(["flip", "bit", "truncate", "delete", "insert", "duplicate-line", "swap-lines"])
        if how == "flip":
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1:]
        elif how == "bit":
            data = data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
        elif how == "truncate":
            data = data[:at]
        elif how == "delete":
            data = data[:at] + data[at + rng.randint(1, 40):]
        elif how == "insert":
            data = data[:at] + rng.choice(SEPARATORS) + data[at:]
        else:
            lines = data.split(b"\n")
            first, second = rng.randrange(len(lines)), rng.randrange(len(lines))
            if how == "duplicate-line":
                lines.insert(second, lines[first])
            else:
                lines[first], lines[second] = lines[second], lines[first]
            data = b"\n".join(lines)
    return "bytes", data


def deep(rng: random.Random) -> object:
    value: object = "bund"
    for _ in range(rng.choice([5, 50, 500])):
        value = [value] if rng.random() < 0.5 else {"x": value}
    return value


def record_mutant(rng: random.Random, records: list[dict]) -> list[dict]:
    """Wrong types, missing fields and nesting in random fields of random records."""
    records = json.loads(json.dumps(records))
    for _ in range(rng.choice([1, 2, 3])):
        record = rng.choice(records)
        key = rng.choice(sorted(record))
        choice = rng.random()
        if choice < 0.6:
            record[key] = rng.choice(WRONG_VALUES)
        elif choice < 0.75:
            record[key] = deep(rng)
        elif choice < 0.9:
            del record[key]
        else:
            records.append(json.loads(json.dumps(record)))  # the same review twice
    return records


def deep_text(rng: random.Random) -> str:
    depth = rng.choice([1200, 5000, 50_000])
    return "[" * depth + "]" * depth


def jsonl_mutants(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    data = (FILES / "reviews.jsonl").read_bytes()
    records = [json.loads(line) for line in data.decode().split("\n") if line]
    for number in range(200):
        if number % 3 == 0:
            yield byte_mutant(rng, data)
        elif number % 3 == 1:
            lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5) for r in record_mutant(rng, records)]
            yield "records", ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
        else:
            lines = data.decode().split("\n")
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(['{"body": ' + deep_text(rng) + "}", "[1, 2]", '"x"',
                                                                    "null", "{", "\u2028", '{"source": "reco"}']))
            yield "lines", "\n".join(lines).encode()


def json_mutants(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    data = (FILES / "google_reviews.json").read_bytes()
    google = json.loads(data)
    generic = [json.loads(line) for line in (FILES / "reviews.jsonl").read_text().split("\n") if line]
    for number in range(200):
        if number % 4 == 0:
            yield byte_mutant(rng, data)
        elif number % 4 == 1:
            mutated = dict(google, reviews=record_mutant(rng, google["reviews"]))
            yield "google", json.dumps(mutated).encode()
        elif number % 4 == 2:
            review = rng.choice(google["reviews"])
            holder = rng.choice([review, review.get("reviewer"), review.get("reviewReply") or review])
            holder[rng.choice(sorted(holder))] = rng.choice(WRONG_VALUES)
            yield "google-nested", json.dumps(google).encode()
            google = json.loads(data)
        else:
            body = rng.choice([json.dumps(record_mutant(rng, generic)), deep_text(rng), '{"reviews": 5}', '{"other": []}',
                               "7", '"text"', "[" + "9" * 5000 + "]"])
            yield "generic", body.encode()


def jobs_csv_mutants(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    data = (FILES / "ordrer.csv").read_bytes()
    utf8 = data.decode("cp1252").encode("utf-8")
    for number in range(250):
        source = utf8 if number % 2 else data
        if number % 5 == 4:
            lines = source.split(b"\r\n")
            field = rng.choice([b"x" * 140_000, b'"open', b"a;b;c", rng.choice(WRONG_VALUES).__repr__().encode()])
            line = rng.randrange(len(lines))
            cells = lines[line].split(b";")
            cells[rng.randrange(len(cells))] = field
            lines[line] = b";".join(cells)
            yield "cell", b"\r\n".join(lines)
        else:
            yield byte_mutant(rng, source)


def reviews_csv_mutants(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    data = (FILES / "reviews.csv").read_bytes()
    for _ in range(100):
        yield byte_mutant(rng, data)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


XLSX_CELLS = [True, 0, -5, 2**40, 1e-300, 46300.5, 3e9, datetime(2026, 10, 3, 14, 0), "", "  ", "=SUM(A1:A2)", "#DIV/0!",
              "x" * 32000, "\u2028", "31.02.2026", None]


def jobs_xlsx_mutants(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    rows = list(csv.reader(io.StringIO((FILES / "ordrer.csv").read_bytes().decode("cp1252")), delimiter=";"))
    pristine = xlsx_bytes(rows)
    for number in range(150):
        if number % 3 == 0:
            yield byte_mutant(rng, pristine)
        else:
            mutated = [list(row) for row in rows]
            for _ in range(rng.choice([1, 2, 4])):
                row = rng.choice(mutated)
                row[rng.randrange(len(row))] = rng.choice(XLSX_CELLS)
            if number % 3 == 2:
                mutated.insert(0, ["Ordreliste"])  # a title row above the header
            yield "cells", xlsx_bytes(mutated)


# --- checks ---------------------------------------------------------------------------------------------------


def stored_ids(database: sqlite_utils.Database, table: str) -> set[str]:
    return {row[0] for row in database.execute(f"SELECT id FROM [{table}]").fetchall()}


def check_mutant(database: sqlite_utils.Database, table: str, path: Path, run: Callable[[], ImportReport],
                 outcomes: Counter) -> str | None:
    """Import once, count how it ended ('refused', 'problems', 'clean') and return what broke, or None."""
    try:
        report = run()
        outcomes["problems" if report.refused else "clean"] += 1
    except ImportProblem as error:
        outcomes["refused"] += 1
        message = str(error)
        if not message.startswith(f"{path}: ") or "\n" in message:
            return f"refusal is not one line naming the file: {message!r}"
        report = None
    except Exception as error:  # the point of the test: nothing else may escape
        return f"{type(error).__name__}: {error}"
    if database.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
        return "integrity_check failed"
    if database.execute("PRAGMA foreign_key_check").fetchall():
        return "foreign_key_check failed"
    ids = stored_ids(database, table)
    if report is None:
        return f"a refused file left rows: {sorted(ids)}" if ids else None
    if ids != set(report.stored.values()):
        return f"stored {sorted(ids)} but reported {sorted(report.stored.values())}"
    if set(report.stored) & set(report.refused):
        return f"lines both stored and refused: {sorted(set(report.stored) & set(report.refused))}"
    if report.rows != len(report.stored) + len(report.refused):
        return f"{report.rows} rows but {len(report.stored)} stored and {len(report.refused)} refused"
    if report.saved.new != len(ids) or any("\n" in problem for problem in report.problems):
        return f"counts or problem lines wrong: {report.saved} {report.problems}"
    return None


def run_mutants(template, tmp_path: Path, mutants: Iterator[tuple[str, bytes]], name: str, table: str,
                importer: Callable[[sqlite_utils.Database, Path], ImportReport], outcomes: Counter) -> list[str]:
    failures = []
    for number, (how, data) in enumerate(mutants):
        path = tmp_path / name
        path.write_bytes(data)
        database = fresh(template)
        failure = check_mutant(database, table, path, lambda: importer(database, path), outcomes)
        database.close()
        if failure:
            (tmp_path / f"failed-{number}-{name}").write_bytes(data)
            failures.append(f"mutant {number} ({how}): {failure}")
    return failures


def jobs_importer(database: sqlite_utils.Database, path: Path) -> ImportReport:
    return import_jobs(database, path, BUSINESS, EXPORT_COLUMNS)


def reviews_importer(database: sqlite_utils.Database, path: Path) -> ImportReport:
    return import_reviews(database, path, BUSINESS)


@pytest.mark.parametrize("kind,name,table,importer", [
    (jobs_csv_mutants, "ordrer.csv", "jobs", jobs_importer),
    (jobs_xlsx_mutants, "ordrer.xlsx", "jobs", jobs_importer),
    (reviews_csv_mutants, "reviews.csv", "reviews", reviews_importer),
    (jsonl_mutants, "reviews.jsonl", "reviews", reviews_importer),
    (json_mutants, "reviews.json", "reviews", reviews_importer),
], ids=["jobs-csv", "jobs-xlsx", "reviews-csv", "reviews-jsonl", "reviews-json"])
def test_mutated_exports_are_refused_or_reported_and_the_database_agrees(template, tmp_path, kind, name, table, importer):
    outcomes: Counter = Counter()
    failures = run_mutants(template, tmp_path, kind(random.Random(SEED)), name, table, importer, outcomes)
    assert failures == []
    # The mutants reach every way an import can end, so the checks above ran on each of them.
    assert min(outcomes[end] for end in ("refused", "problems", "clean")) >= 5, outcomes


def test_the_pristine_fixtures_import_without_problems(template, tmp_path):
    """The mutants start from exports that import whole, so a refused mutant is refused for its damage."""
    counts = {}
    for name, importer in (("ordrer.csv", jobs_importer), ("reviews.csv", reviews_importer),
                           ("reviews.jsonl", reviews_importer), ("google_reviews.json", reviews_importer)):
        database = fresh(template)
        report = importer(database, FILES / name)
        counts[name] = (report.rows, report.saved.new, report.problems)
    assert counts == {"ordrer.csv": (6, 6, []), "reviews.csv": (3, 3, []), "reviews.jsonl": (5, 5, []),
                      "google_reviews.json": (3, 3, [])}
