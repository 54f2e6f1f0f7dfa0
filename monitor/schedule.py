"""Install, show and remove the weekly `repmon run`: a crontab entry (python-crontab) or a systemd user timer."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_UNIT_DIR = Path.home() / ".config" / "systemd" / "user"


@dataclass(frozen=True)
class Weekly:
    day: int  # 0 = Monday
    hour: int
    minute: int

    @classmethod
    def parse(cls, day: str, time: str) -> "Weekly":
        key = day.strip().lower()[:3]
        if key not in DAYS:
            raise ValueError(f"{day!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
        try:
            hour, minute = (int(part) for part in time.split(":"))
        except ValueError:
            raise ValueError(f"{time!r} is not a time of day like 06:30") from None
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError(f"{time!r} is not a time of day like 06:30")
        return cls(DAYS.index(key), hour, minute)

    def next_after(self, moment: datetime) -> datetime:
        candidate = moment.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        candidate += timedelta(days=(self.day - moment.weekday()) % 7)
        return candidate if candidate > moment else candidate + timedelta(days=7)

    def describe(self) -> str:
        return f"{DAYS[self.day]} {self.hour:02d}:{self.minute:02d}"


def command(db_path: Path, config_path: Path, log_path: Path) -> str:
    """The shell command a scheduler runs: absolute paths, the current Python, output to the log."""
    return (f"{shlex.quote(sys.executable)} -m monitor --db {shlex.quote(str(db_path.resolve()))} "
            f"--config {shlex.quote(str(config_path.resolve()))} run >> {shlex.quote(str(log_path.resolve()))} 2>&1")


def marker(db_path: Path) -> str:
    """What identifies the entries repmon installed for this database."""
    return f"repmon:{db_path.resolve()}"


def _crontab(crontab_file: Path | None):
    from crontab import CronTab

    if crontab_file is not None:
        crontab_file.touch(exist_ok=True)
        return CronTab(tabfile=str(crontab_file))
    return CronTab(user=True)


def install_cron(db_path: Path, config_path: Path, log_path: Path, when: Weekly, crontab_file: Path | None = None) -> str:
    """Replace repmon's entry for this database with one for `when`; other entries are untouched."""
    tab = _crontab(crontab_file)
    tab.remove_all(comment=marker(db_path))
    job = tab.new(command=command(db_path, config_path, log_path), comment=marker(db_path))
    job.setall(f"{when.minute} {when.hour} * * {(when.day + 1) % 7}")
    tab.write() if crontab_file is None else tab.write(str(crontab_file))
    return str(job)


def show_cron(db_path: Path, crontab_file: Path | None = None, now: datetime | None = None) -> list[str]:
    if crontab_file is None and not shutil.which("crontab"):
        return []  # no cron on this machine: nothing can be installed there
    tab = _crontab(crontab_file)
    lines = []
    for job in tab.find_comment(marker(db_path)):
        schedule = job.schedule(date_from=now or datetime.now())
        lines.append(f"cron: {job.slices} {job.command}\n  next run: {schedule.get_next():%Y-%m-%d %H:%M} (local time)")
    return lines


def remove_cron(db_path: Path, crontab_file: Path | None = None) -> int:
    if crontab_file is None and not shutil.which("crontab"):
        return 0
    tab = _crontab(crontab_file)
    removed = tab.remove_all(comment=marker(db_path))
    tab.write() if crontab_file is None else tab.write(str(crontab_file))
    return removed


def unit_name(db_path: Path) -> str:
    return f"repmon-{db_path.resolve().stem}"


def install_systemd(db_path: Path, config_path: Path, log_path: Path, when: Weekly, unit_dir: Path = DEFAULT_UNIT_DIR) -> list[Path]:
    """Write a user service and timer; enable them with systemctl when installing into the real user directory."""
    unit_dir.mkdir(parents=True, exist_ok=True)
    name = unit_name(db_path)
    service = unit_dir / f"{name}.service"
    timer = unit_dir / f"{name}.timer"
    service.write_text(
        f"# {marker(db_path)}\n[Unit]\nDescription=repmon weekly run for {db_path.resolve()}\n\n"
        f"[Service]\nType=oneshot\nWorkingDirectory={Path.cwd()}\nExecStart=/bin/sh -c {shlex.quote(command(db_path, config_path, log_path))}\n",
        encoding="utf-8",
    )
    timer.write_text(
        f"# {marker(db_path)}\n[Unit]\nDescription=repmon weekly run for {db_path.resolve()}\n\n"
        f"[Timer]\nOnCalendar={DAYS[when.day].capitalize()} *-*-* {when.hour:02d}:{when.minute:02d}:00\nPersistent=true\n\n"
        f"[Install]\nWantedBy=timers.target\n",
        encoding="utf-8",
    )
    if unit_dir == DEFAULT_UNIT_DIR and shutil.which("systemctl"):
        subprocess.run(["systemctl", "--user", "daemon-reload"], check=False)
        subprocess.run(["systemctl", "--user", "enable", "--now", timer.name], check=False)
    return [service, timer]


def show_systemd(db_path: Path, unit_dir: Path = DEFAULT_UNIT_DIR, now: datetime | None = None) -> list[str]:
    timer = unit_dir / f"{unit_name(db_path)}.timer"
    if not timer.exists():
        return []
    calendar = next(line.split("=", 1)[1] for line in timer.read_text().splitlines() if line.startswith("OnCalendar="))
    day, _, time = calendar.split(" ")
    when = Weekly.parse(day, time.rsplit(":", 1)[0])
    return [f"systemd: {timer} OnCalendar={calendar}\n  next run: {when.next_after(now or datetime.now()):%Y-%m-%d %H:%M} (local time)"]


def remove_systemd(db_path: Path, unit_dir: Path = DEFAULT_UNIT_DIR) -> int:
    name = unit_name(db_path)
    if unit_dir == DEFAULT_UNIT_DIR and shutil.which("systemctl") and (unit_dir / f"{name}.timer").exists():
        subprocess.run(["systemctl", "--user", "disable", "--now", f"{name}.timer"], check=False)
    removed = 0
    for path in (unit_dir / f"{name}.service", unit_dir / f"{name}.timer"):
        if path.exists() and marker(db_path) in path.read_text():  # only files repmon wrote
            path.unlink()
            removed += 1
    return removed
