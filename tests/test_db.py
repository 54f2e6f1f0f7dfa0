import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from monitor import db as dbmodule
from monitor.db import ensure_db_shape, open_db
from monitor.schema import SCHEMA_VERSION, TABLES
from tests.conftest import FILES


def schema_sql(database: sqlite_utils.Database) -> list[tuple]:
    return database.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def test_every_declared_table_and_column_exists(db):
    for table in TABLES:
        assert db.table(table.name).exists(), table.name
        assert [c.name for c in db.table(table.name).columns] == list(table.columns)


def test_contract_columns_of_reviews(db):
    assert [c.name for c in db.table("reviews").columns][:15] == [
        "id", "business_id", "source_id", "source", "external_id", "url", "author",
        "author_location", "rating", "title", "body", "lang", "published_at",
        "experienced_at", "edited_at",
    ]
    types = {c.name: c.type for c in db.table("reviews").columns}
    assert types["rating"] == "REAL"
    assert db.table("reviews").pks == ["id"]


def test_shape_is_idempotent(db):
    before = schema_sql(db)
    ensure_db_shape(db)
    ensure_db_shape(db)
    assert schema_sql(db) == before
    assert db.execute("SELECT name FROM _migrations").fetchall() == [("m001_backfill_seen_times",)]


def test_wal_foreign_keys_and_version(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO reviews (id, business_id, source, external_id, published_at) "
            "VALUES ('x:1', 'no-such-business', 'x', '1', '2026-01-01')"
        )


def test_indexes_for_explorer_filters(db):
    indexed = {tuple(i.columns) for i in db.table("reviews").indexes}
    assert ("business_id", "published_at") in indexed
    assert ("complaint", "published_at") in indexed
    assert {tuple(i.columns) for i in db.table("review_themes").indexes} >= {("theme",)}


def test_upgrade_from_older_database_keeps_rows_and_backfills(tmp_path: Path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((FILES / "monitor_v0.sql").read_text())
    conn.close()

    database = open_db(path)

    # Added columns go to the end of an old table; the set is what the contract fixes.
    assert {c.name for c in database.table("reviews").columns} == set(
        next(t for t in TABLES if t.name == "reviews").columns
    )
    assert database.table("follow_ups").exists()
    row = database.execute(
        "SELECT id, title, first_seen_at, last_seen_at, removed_at FROM reviews"
    ).fetchall()
    assert row == [("trustpilot:old1", "Flot arbejde", "2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z", None)]
    # The old rows are searchable after the upgrade.
    assert database.execute(
        "SELECT rowid FROM reviews_fts WHERE reviews_fts MATCH 'flot'"
    ).fetchall() == [(1,)]
    assert [r["name"] for r in database["_migrations"].rows] == ["m001_backfill_seen_times"]


def test_migrations_run_once_in_order(db, monkeypatch):
    calls = []

    def m002_first(database):
        calls.append("m002")
        database.execute("UPDATE businesses SET country = 'DK'")

    def m003_second(database):
        calls.append("m003")

    monkeypatch.setattr(dbmodule, "MIGRATIONS", [*dbmodule.MIGRATIONS, m002_first, m003_second])
    ensure_db_shape(db)
    ensure_db_shape(db)
    assert calls == ["m002", "m003"]
    assert [r["name"] for r in db["_migrations"].rows] == [
        "m001_backfill_seen_times", "m002_first", "m003_second",
    ]


def test_failed_migration_rolls_back_and_is_retried(db, business_id, monkeypatch):
    def m002_breaks(database):
        database.execute("UPDATE businesses SET country = 'SE'")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(dbmodule, "MIGRATIONS", [*dbmodule.MIGRATIONS, m002_breaks])
    with pytest.raises(RuntimeError, match="disk on fire"):
        ensure_db_shape(db)
    assert db.execute("SELECT country FROM businesses").fetchall() == [(None,)]
    assert "m002_breaks" not in {r["name"] for r in db["_migrations"].rows}
