"""The command line under faults: a wrong --db, a read-only or full disk, a taken port, nothing configured.

Read-only and full disks are real: each test mounts a small tmpfs in a private mount namespace
(`unshare -m`) and runs `repmon` there, so the kernel itself refuses the writes.
"""

from __future__ import annotations

import os
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import EXIT_FAILED, EXIT_USAGE, cli
from monitor.db import open_db

REPMON = f"{shlex.quote(sys.executable)} -m monitor"
CONFIG = '[[business]]\nname = "Hansen VVS"\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "monitor.toml").write_text(CONFIG)
    (tmp_path / "disk").mkdir()
    open_db(tmp_path / "seed.db").close()
    return tmp_path


def on_small_disk(folder: Path, script: str, size: str = "4m", read_only: bool = False) -> list[str]:
    """Run `script` (sh) with `disk/` a fresh tmpfs of `size` holding a copy of seed.db as disk/x.db."""
    remount = "mount -o remount,ro disk && " if read_only else ""
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size={size} none disk && cp seed.db disk/x.db && {remount}{script}"],
        cwd=folder, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("REPMON_")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_a_read_only_disk_is_one_line_naming_the_file(folder):
    lines = on_small_disk(folder, read_only=True, script=(
        f"{REPMON} --db disk/x.db analyze 2>&1; echo exit $?; "
        f"{REPMON} --db disk/x.db jobs import monitor.toml 2>&1; echo exit $?; "
        f"{REPMON} --db disk/new/y.db init 2>&1; echo exit $?"))
    read_only = ("Error: disk/x.db: the database is read-only (the file, its folder or the disk cannot be written) "
                 "(unable to open database file); the step that failed saved nothing")
    assert lines == [
        read_only, "exit 1",
        read_only, "exit 1",
        "Keeping existing monitor.toml",
        "Error: disk/new: the disk is read-only", "exit 1",
    ]


def test_a_full_disk_is_one_line_and_leaves_the_database_as_it_was(folder):
    rows = "\n".join(f"J-{n},Kunde Nummer {n} Jensen,2026-10-01,Vejnavn {n} 2100 København,badeværelse" for n in range(6000))
    (folder / "jobs.csv").write_text("job_id,customer_name,completed_at,address,job_type\n" + rows + "\n")
    (folder / "two.csv").write_text("job_id,customer_name,completed_at\nJ-1,Jens Hansen,2026-10-01\nJ-2,Ole Berg,2026-10-02\n")
    count = f"{shlex.quote(sys.executable)} -c \"import sqlite3; c = sqlite3.connect('disk/x.db'); " \
            f"print(c.execute('SELECT COUNT(*) FROM jobs').fetchone()[0], c.execute('PRAGMA integrity_check').fetchone()[0])\""
    lines = on_small_disk(folder, size="700k", script=(
        f"{REPMON} --db disk/x.db jobs import jobs.csv 2>&1; echo exit $?; {count}; "
        f"{REPMON} --db disk/x.db jobs import two.csv 2>&1; echo exit $?; {count}"))
    assert lines == [
        "Error: disk/x.db: the disk is full (database or disk is full); the step that failed saved nothing", "exit 1",
        "0 ok",
        "two.csv: 2 rows, 2 new jobs, 0 updated, 0 unchanged, 0 problems", "exit 0",
        "2 ok",
    ]


@pytest.mark.parametrize("command", [
    ["analyze"], ["match"], ["alert"], ["crawl"], ["run"], ["serve", "--port", "0"], ["jobs", "import", "monitor.toml"],
    ["reviews", "import", "monitor.toml"],
])
def test_a_mistyped_database_path_is_refused_not_created(folder, monkeypatch, command):
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(cli, ["--db", "data/monitr.db", *command])
    assert (result.exit_code, result.output) == (EXIT_FAILED, (
        "Error: there is no repmon database at data/monitr.db: create it with `repmon init`, "
        "or give the right file with --db or REPMON_DB\n"))
    assert not (folder / "data").exists()


def test_files_that_are_not_repmon_databases_are_left_alone(folder, monkeypatch):
    monkeypatch.chdir(folder)
    (folder / "notes.txt").write_text("Kunde ringede tirsdag\n")
    foreign = sqlite3.connect(folder / "shop.db")
    foreign.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    foreign.commit()
    foreign.close()
    before = {name: (folder / name).read_bytes() for name in ("notes.txt", "shop.db", "monitor.toml")}
    for name, reason in [("notes.txt", "is not a SQLite database (it starts with b'Kunde ri')"),
                         ("shop.db", "is a SQLite database of something else (tables: orders); repmon leaves it alone"),
                         ("monitor.toml", "is not a SQLite database (it starts with b'[[busine')")]:
        for command in (["analyze"], ["init"]):
            result = CliRunner().invoke(cli, ["--db", name, *command])
            assert result.exit_code == EXIT_FAILED
            assert result.output.splitlines()[-1] == f"Error: {name} {reason}; give the right file with --db"
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert sorted(path.name for path in folder.iterdir()) == ["disk", "monitor.toml", "notes.txt", "seed.db", "shop.db"]


def test_run_with_nothing_configured_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_db(tmp_path / "data" / "monitor.db").close()
    result = CliRunner().invoke(cli, ["run"])
    assert (result.exit_code, result.output) == (EXIT_USAGE, (
        "Error: nothing to run: there is no monitor.toml; `repmon init` writes an example to edit\n"))
    (tmp_path / "monitor.toml").write_text("[crawl]\ndownload_delay = 1\n")
    result = CliRunner().invoke(cli, ["run"])
    assert (result.exit_code, result.output) == (EXIT_USAGE, (
        "Error: nothing to run: monitor.toml names no business; `repmon init` writes an example to edit\n"))


def test_a_port_in_use_is_reported_before_any_work(folder):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        for args in (["--db", "seed.db", "serve", "--port", str(port)], ["demo", "--port", str(port), "--dir", "demo"]):
            result = subprocess.run([sys.executable, "-m", "monitor", *args], cwd=folder, capture_output=True, text=True,
                                    timeout=60)
            assert (result.returncode, result.stdout, result.stderr) == (EXIT_USAGE, "", (
                f"Error: port {port} on 127.0.0.1 is already in use (is the explorer already running?); "
                f"choose another with --port\n"))
        assert time.monotonic() - started < 20
    assert not (folder / "demo").exists()
