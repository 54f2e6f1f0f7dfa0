"""Open the database and bring it to the declared shape: tables, migrations, indexes, FTS."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import sqlite_utils

from monitor.schema import FTS, FTS_TOKENIZE, PARTIAL_INDEXES, SCHEMA_VERSION, TABLES, TRIGGERS, VIEWS

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register a named migration; each runs once, in order, in its own transaction."""
    MIGRATIONS.append(fn)
    return fn


def utc_now() -> str:
    """The current time as ISO-8601 UTC with seconds, the format of every *_at column."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000  # the crawl's writer and the explorer's actions wait for each other, not fail


class NotARepmonDatabase(Exception):
    """The file exists but is not a SQLite database, or is one that repmon did not make."""


def check_database_file(path: Path) -> None:
    """Refuse, before SQLite touches it, any existing file that is not a repmon database.

    SQLite happily turns any empty file, and writes tables into any other SQLite file:
    a mistyped --db must never become someone else's data.
    """
    if path.is_dir():
        raise NotARepmonDatabase(f"{path} is a folder, not a database file")
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise NotARepmonDatabase(f"{path} is not a SQLite database (it starts with {header[:8]!r})")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        connection.close()
    if tables and not _made_by_repmon(tables):
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise NotARepmonDatabase(f"{path} is a SQLite database of something else (tables: {shown}); repmon leaves it alone")


# What SQLite says when the file, folder or disk refuses, and how repmon tells it.
STORAGE_FAULTS = {
    "attempt to write a readonly database": "the database is read-only (the file, its folder or the disk cannot be written)",
    "unable to open database file": "the database file cannot be opened (check that its folder exists and can be written)",
    "database or disk is full": "the disk is full",
    "disk i/o error": "the disk could not be written (a full disk, a file size limit or a failing drive)",
    "database is locked": f"another program kept the database locked for more than {BUSY_TIMEOUT_MS // 1000} s",
    "file is not a database": "the file is not a SQLite database",
    "database disk image is malformed": "the database file is damaged; restore it from a backup",
}


def storage_fault(error: BaseException, path: Path | None = None) -> str | None:
    """The owner's words for a SQLite error caused by the file or the disk; None for any other error.

    SQLite says "unable to open" when a WAL database cannot create its -shm file: with the
    path at hand, a read-only file, folder or disk is named as what it is.
    """
    if not isinstance(error, sqlite3.Error):
        return None
    message = str(error).lower()
    cause = next((cause for known, cause in STORAGE_FAULTS.items() if known in message), None)
    if cause and "unable to open" in message and path is not None and _read_only(path):
        return STORAGE_FAULTS["attempt to write a readonly database"]
    return cause


def _read_only(path: Path) -> bool:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK))


def _made_by_repmon(tables: set[str]) -> bool:
    """repmon's tables and nothing else; databases from before `_migrations` existed count too."""
    known = {table.name for table in TABLES} | {"_migrations"}
    foreign = {name for name in tables if name not in known and not name.startswith(("sqlite_", *(f"{t}_fts" for t in FTS)))}
    return not foreign and {"businesses", "reviews"} <= tables


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path`, shaped and ready for use."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        check_database_file(Path(path))
    db = sqlite_utils.Database(path)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    ensure_db_shape(db)
    return db


def lock_path(db_path: Path) -> Path:
    """The lock beside the database's real file: a symlink or another spelling of the path finds the same lock."""
    real = db_path.resolve()
    return real.with_name(real.name + ".lock")


class DatabaseBusy(Exception):
    """Another repmon command holds the database's lock."""


@contextmanager
def database_lock(db_path: Path) -> Iterator[IO[str]]:
    """Hold the exclusive lock of the database at `db_path` for crawl, match, analyze, alert and run.

    The lock file is opened for appending, never truncated, so even a --db that names
    the lock file itself loses nothing.
    """
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusy(f"another repmon command is using {db_path} (lock {path}); try again later") from None
        if lock.tell() == 0:  # a lock file that says what it is is never mistaken for an empty database
            lock.write(f"repmon lock of {db_path.resolve()}\n")
            lock.flush()
        yield lock
    finally:
        lock.close()


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """BEGIN IMMEDIATE: what is read inside is what the writes apply to, as no other writer can step in between."""
    if db.conn.in_transaction:  # already inside the caller's transaction, which holds what it read
        with db.atomic():
            yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def ensure_db_shape(db: sqlite_utils.Database) -> None:
    """Create what is missing, run pending migrations, then indexes and full-text search.

    Idempotent: running it on a database already in shape changes nothing.
    """
    db.execute("PRAGMA foreign_keys = ON")
    if db.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
        db.enable_wal()
    with db.atomic():
        _create_tables(db)
    _run_migrations(db)
    with db.atomic():
        _create_indexes(db)
        _create_fts(db)
        _create_views(db)
        db.execute("DROP INDEX IF EXISTS [reviews_open_complaints]")  # replaced by reviews_open_complaints_v2
        for sql in (*PARTIAL_INDEXES.values(), *TRIGGERS.values()):
            db.execute(sql)
        _write_theme_labels(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _write_theme_labels(db: sqlite_utils.Database) -> None:
    """theme_labels as themes.toml names them; rewritten only when they differ."""
    from monitor.text import load_data

    wanted = sorted((theme, lang, label) for theme, entry in load_data("themes.toml").items()
                    for lang, label in (entry.get("label") or {}).items())
    if db.execute("SELECT theme, lang, label FROM theme_labels ORDER BY 1, 2, 3").fetchall() == wanted:
        return
    db.execute("DELETE FROM theme_labels")
    db.conn.executemany("INSERT INTO theme_labels (theme, lang, label) VALUES (?, ?, ?)", wanted)


def _create_tables(db: sqlite_utils.Database) -> None:
    """Create missing tables and add missing columns; additive changes need no migration."""
    for table in TABLES:
        existing = db.table(table.name)
        if not existing.exists():
            existing.create(
                table.columns,
                pk=table.pk,
                foreign_keys=list(table.foreign_keys),
                not_null=set(table.not_null),
            )
            continue
        have = {column.name for column in existing.columns}
        for name, column_type in table.columns.items():
            if name not in have:
                existing.add_column(name, column_type)


def _run_migrations(db: sqlite_utils.Database) -> None:
    applied_table = db.table("_migrations")
    if not applied_table.exists():
        applied_table.create({"name": str, "applied_at": str}, pk="name")
    applied = {row["name"] for row in applied_table.rows}
    for fn in MIGRATIONS:
        if fn.__name__ in applied:
            continue
        with db.atomic():
            fn(db)
            applied_table.insert({"name": fn.__name__, "applied_at": utc_now()})


def _create_indexes(db: sqlite_utils.Database) -> None:
    for table in TABLES:
        for columns in table.indexes:
            db.table(table.name).create_index(list(columns), if_not_exists=True, find_unique_name=False)


def _create_views(db: sqlite_utils.Database) -> None:
    """Views are replaced when their SQL changes, so upgrades pick up new definitions."""
    for name, sql in VIEWS.items():
        existing = db.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", [name]).fetchone()
        wanted = f"CREATE VIEW [{name}] AS {sql}"
        if existing and existing[0] == wanted:
            continue
        if existing:
            db.execute(f"DROP VIEW [{name}]")
        db.execute(wanted)


def _create_fts(db: sqlite_utils.Database) -> None:
    """External-content FTS5, kept in step by triggers on update and delete.

    sqlite-utils' own triggers fire on every UPDATE; a weekly crawl touches last_seen_at
    on every review it sees, so those would re-index the whole table each week. New rows
    are indexed by store.save_reviews in one statement per batch (index_new_rows): an
    AFTER INSERT trigger costs four times as much per row.
    """
    for table, columns in FTS.items():
        fts = f"{table}_fts"
        if not db.table(fts).exists():
            db.table(table).enable_fts(list(columns), fts_version="FTS5", tokenize=FTS_TOKENIZE)
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        statements = (
            f"CREATE TRIGGER IF NOT EXISTS [{table}_fts_ad] AFTER DELETE ON [{table}] BEGIN "
            f"INSERT INTO [{fts}] ([{fts}], rowid, {cols}) VALUES ('delete', old.rowid, {old}); END",
            f"CREATE TRIGGER IF NOT EXISTS [{table}_fts_au] AFTER UPDATE OF {cols} ON [{table}] BEGIN "
            f"INSERT INTO [{fts}] ([{fts}], rowid, {cols}) VALUES ('delete', old.rowid, {old}); "
            f"INSERT INTO [{fts}] (rowid, {cols}) VALUES (new.rowid, {new}); END",
        )
        for statement in statements:
            db.execute(statement)


@migration
def m001_backfill_seen_times(db: sqlite_utils.Database) -> None:
    """Databases from before first_seen_at/last_seen_at existed: take them from published_at."""
    db.execute(
        "UPDATE reviews SET first_seen_at = COALESCE(first_seen_at, published_at), "
        "last_seen_at = COALESCE(last_seen_at, first_seen_at, published_at) "
        "WHERE first_seen_at IS NULL OR last_seen_at IS NULL"
    )


def index_new_rows(db: sqlite_utils.Database, table: str, ids: list[str]) -> None:
    """Add just-inserted rows of `table` to its full-text index."""
    columns = ", ".join(FTS[table])
    marks = ", ".join("?" for _ in ids)
    db.execute(
        f"INSERT INTO [{table}_fts] (rowid, {columns}) SELECT rowid, {columns} FROM [{table}] WHERE id IN ({marks})",
        ids,
    )
