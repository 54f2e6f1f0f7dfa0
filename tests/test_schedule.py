"""The weekly schedule: cron or systemd, at the business's local time, with the secrets the run needs."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.schedule import Weekly
from tests.test_alerts import TODAY, findings  # noqa: F401  (findings is a fixture)

SECRET = 's3"c$r`t\\ og mere'  # every character sh or systemd would read differently unquoted


@pytest.fixture
def server_zone(monkeypatch):
    """Set the zone of the server's clock, as cron reads it."""
    def set_zone(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield set_zone
    monkeypatch.delenv("TZ", raising=False)
    time.tzset()


def write_config(tmp_path: Path, channel_url: str = "json://127.0.0.1/x", zone: str = "Europe/Copenhagen") -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[[business]]\nname = "Hansen VVS ApS"\ntimezone = "{zone}"\n\n'
                    f'  [[business.channel]]\n  url = "{channel_url}"\n')
    return path


def schedule(tmp_path: Path, db_path: Path, *args: str, config: Path | None = None):
    config = config or write_config(tmp_path)
    return CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(config), "schedule", *args])


def test_cron_at_the_business_time_when_the_server_keeps_the_same_clock(db, db_path, tmp_path, server_zone):
    server_zone("Europe/Copenhagen")
    crontab = tmp_path / "crontab"
    crontab.write_text("0 3 * * * /usr/bin/backup # someone else's\n")
    installed = schedule(tmp_path, db_path, "install", "--weekly", "tue", "07:30", "--crontab", str(crontab))
    assert installed.exit_code == 0, installed.output
    lines = crontab.read_text().splitlines()
    assert lines[0] == "0 3 * * * /usr/bin/backup # someone else's"
    assert lines[1].startswith("30 7 * * 2 ")
    assert lines[1].endswith(f"run >> {db_path.with_suffix('.log')} 2>&1 # repmon:{db_path}")
    assert " --at " not in lines[1] and ".env" not in lines[1]
    schedule(tmp_path, db_path, "install", "--weekly", "wed", "06:00", "--crontab", str(crontab))
    assert [line[:11] for line in crontab.read_text().splitlines()] == ["0 3 * * * /", "0 6 * * 3 /"]
    shown = schedule(tmp_path, db_path, "show", "--crontab", str(crontab))
    assert shown.output.startswith("cron: 0 6 * * 3 ")
    assert "next run: " in shown.output and "(server time)" in shown.output
    removed = schedule(tmp_path, db_path, "remove", "--crontab", str(crontab))
    assert removed.output == "removed 1 entries\n"
    assert crontab.read_text().splitlines() == ["0 3 * * * /usr/bin/backup # someone else's"]


@pytest.mark.parametrize("day,clock,expected", [
    ("mon", "06:00", ["0 4,5 * * 1"]),  # 06:00 in Copenhagen is 05:00 UTC in winter, 04:00 in summer
    ("mon", "00:30", ["30 22,23 * * 0"]),  # ... and on Sunday evening by the server's clock
])
def test_cron_on_a_server_in_another_zone_runs_at_the_local_hour(db, db_path, tmp_path, server_zone, day, clock, expected):
    server_zone("UTC")
    crontab = tmp_path / "crontab"
    installed = schedule(tmp_path, db_path, "install", "--weekly", day, clock, "--crontab", str(crontab))
    assert installed.exit_code == 0, installed.output
    entries = crontab.read_text().splitlines()
    assert [" ".join(line.split()[:5]) for line in entries] == expected
    assert all(f" run --at '{day} {clock} Europe/Copenhagen' >> " in line for line in entries)
    assert installed.output.splitlines()[-1].endswith(f" Europe/Copenhagen ({day} {clock} every week)")


def test_run_at_lets_through_only_the_local_hour():
    monday_six = Weekly.parse("mon", "06:00")
    assert monday_six.is_now("Europe/Copenhagen", datetime(2026, 12, 7, 5, 30, tzinfo=timezone.utc))  # 06:30 CET
    assert not monday_six.is_now("Europe/Copenhagen", datetime(2026, 12, 7, 4, 30, tzinfo=timezone.utc))  # 05:30 CET
    assert monday_six.is_now("Europe/Copenhagen", datetime(2026, 6, 1, 4, 0, tzinfo=timezone.utc))  # 06:00 CEST
    assert not monday_six.is_now("Europe/Copenhagen", datetime(2026, 6, 1, 5, 0, tzinfo=timezone.utc))  # 07:00 CEST
    assert not monday_six.is_now("Europe/Copenhagen", datetime(2026, 12, 8, 5, 30, tzinfo=timezone.utc))  # a Tuesday


def test_run_at_another_hour_does_nothing(db, db_path, tmp_path):
    later = datetime.now(ZoneInfo("Europe/Oslo")) + timedelta(hours=3)
    at = f"{later:%a}".lower() + f" {later:%H}:00 Europe/Oslo"
    result = CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(write_config(tmp_path)), "run", "--at", at])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"in Europe/Oslo: the weekly run is at {at.rsplit(' ', 1)[0]}; nothing to do now\n")
    assert not db_path.with_suffix(".log").exists()
    assert db.table("crawl_runs").count == 0
    bad = CliRunner().invoke(cli, ["--db", str(db_path), "run", "--at", "mon 06:00 Mars/Olympus"])
    assert bad.exit_code == 2
    assert "'mon 06:00 Mars/Olympus': expected a weekday, a time and a time zone" in bad.output


def test_systemd_names_the_zone_and_the_environment_file(db, db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    units = tmp_path / "units"
    config = write_config(tmp_path, "json://127.0.0.1/${HOOK_TOKEN}", zone="Europe/Oslo")
    result = schedule(tmp_path, db_path, "install", "--systemd", "--weekly", "mon", "06:00", "--unit-dir", str(units),
                      "--crontab", str(tmp_path / "crontab"), config=config)
    assert result.exit_code == 0, result.output
    env_file = db_path.with_name(db_path.name + ".env")
    timer = (units / "repmon-monitor.timer").read_text()
    service = (units / "repmon-monitor.service").read_text()
    assert "OnCalendar=Mon *-*-* 06:00:00 Europe/Oslo\n" in timer and "Persistent=true" in timer
    assert f"EnvironmentFile={env_file}\n" in service and " run >> " in service
    assert SECRET not in service + timer + result.output
    assert f"secrets for the weekly run (HOOK_TOKEN) are in {env_file}, readable only by you" in result.output
    shown = schedule(tmp_path, db_path, "show", "--unit-dir", str(units), config=config)
    assert "OnCalendar=Mon *-*-* 06:00:00 Europe/Oslo" in shown.output and "(Europe/Oslo)" in shown.output


def test_installing_one_kind_removes_the_other(db, db_path, tmp_path):
    units, crontab = tmp_path / "units", tmp_path / "crontab"
    places = ["--unit-dir", str(units), "--crontab", str(crontab)]
    assert schedule(tmp_path, db_path, "install", *places).exit_code == 0
    assert "# repmon:" in crontab.read_text()
    assert schedule(tmp_path, db_path, "install", "--systemd", *places).exit_code == 0
    assert crontab.read_text() == "" and sorted(p.name for p in units.iterdir()) == ["repmon-monitor.service",
                                                                                    "repmon-monitor.timer"]
    assert schedule(tmp_path, db_path, "install", "--cron", *places).exit_code == 0
    assert list(units.iterdir()) == [] and len(crontab.read_text().splitlines()) == 1
    shown = schedule(tmp_path, db_path, "show", *places)
    assert shown.output.startswith("cron: ") and "systemd:" not in shown.output


def test_a_secret_that_is_not_set_is_refused_before_anything_is_installed(db, db_path, tmp_path, monkeypatch):
    monkeypatch.delenv("HOOK_TOKEN", raising=False)
    crontab = tmp_path / "crontab"
    config = write_config(tmp_path, "json://127.0.0.1/${HOOK_TOKEN}")
    result = schedule(tmp_path, db_path, "install", "--crontab", str(crontab), config=config)
    assert result.exit_code == 2
    assert "environment variable HOOK_TOKEN is not set" in result.output
    assert not crontab.exists() and not db_path.with_name(db_path.name + ".env").exists()


class PathRecorder:
    """A webhook on 127.0.0.1 that keeps the path of every POST (where the secret travels)."""

    def __init__(self):
        self.paths: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_scheduled_command_finds_its_secret_in_a_bare_environment(findings, db_path, tmp_path, monkeypatch,
                                                                       server_zone):
    """What cron runs, run by sh with only PATH and TZ set: the alerts reach the URL the secret completes."""
    server_zone("Europe/Copenhagen")
    token = "hemmelig-42"
    monkeypatch.setenv("HOOK_TOKEN", token)
    receiver = PathRecorder()
    crontab = tmp_path / "crontab"
    config = write_config(tmp_path, f"json://127.0.0.1:{receiver.port}/" + "${HOOK_TOKEN}")
    assert schedule(tmp_path, db_path, "install", "--crontab", str(crontab), config=config).exit_code == 0
    env_file = db_path.with_name(db_path.name + ".env")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert token not in crontab.read_text()
    command = crontab.read_text().split(" ", 5)[5].rsplit(" # repmon:", 1)[0]
    findings.close()
    try:
        done = subprocess.run(["sh", "-c", command.replace(" run >> ", f" run --today {TODAY.isoformat()} >> ")],
                              env={"PATH": os.environ["PATH"], "TZ": "Europe/Copenhagen"}, timeout=120)
        assert done.returncode == 0, db_path.with_suffix(".log").read_text()
        assert receiver.paths and set(receiver.paths) == {f"/{token}"}
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_the_environment_file_reads_back_unchanged_in_sh(tmp_path, monkeypatch):
    from monitor.schedule import write_env_file

    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    env_file = tmp_path / "x.env"
    env_file.write_text("old\n")
    env_file.chmod(0o644)
    write_env_file(env_file, ["HOOK_TOKEN"])
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    read = subprocess.run(["sh", "-c", f'set -a && . {env_file} && printf %s "$HOOK_TOKEN"'], capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"]})
    assert read.stdout == SECRET
