"""Install, show and remove the weekly `repmon run`: a crontab entry (python-crontab) or a systemd user timer.

The run happens at the business's local time, whatever the server's zone: systemd timers
name the zone; cron knows only server time, so where the two zones' clocks differ during
the year cron fires at each server hour the local time can fall on, and `run --at` lets
through only the one that is the local time. Secrets the configuration names as ${VAR}
go to an environment file readable only by its owner, which the scheduled run reads.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

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

    def is_now(self, zone: str, moment: datetime | None = None) -> bool:
        """Whether `moment` (now) is within the hour from this weekly time, on the clock of `zone`."""
        local = (moment or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone))
        start = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return local.weekday() == self.day and start <= local < start + timedelta(hours=1)

    def server_times(self, zone: str, start: datetime | None = None) -> set[tuple[int, int, int]]:
        """(weekday, hour, minute) of the server's clock at which this local time falls during the coming year."""
        times = set()
        local = (start or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        for days in range(372):
            day = local + timedelta(days=days)
            if day.weekday() != self.day:
                continue
            moment = day.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0).replace(tzinfo=ZoneInfo(zone))
            server = datetime.fromtimestamp(moment.timestamp())  # the server's own zone rules, as cron reads them
            times.add((server.weekday(), server.hour, server.minute))
        return times


@dataclass(frozen=True)
class Plan:
    """Everything a scheduled run needs: when, in which zone, which files."""

    when: Weekly
    zone: str
    db_path: Path
    config_path: Path
    log_path: Path
    env_file: Path | None  # the secrets the configuration names, or None when it names none

    def command(self, guard: bool = False, source_env: bool = True) -> str:
        """The shell command: absolute paths, the current Python, output to the log."""
        at = f" --at {shlex.quote(f'{self.when.describe()} {self.zone}')}" if guard else ""
        run = (f"{shlex.quote(sys.executable)} -m monitor --db {shlex.quote(str(self.db_path.resolve()))} "
               f"--config {shlex.quote(str(self.config_path.resolve()))} run{at} "
               f">> {shlex.quote(str(self.log_path.resolve()))} 2>&1")
        if self.env_file is None or not source_env:
            return run
        return f"set -a && . {shlex.quote(str(self.env_file.resolve()))} && set +a && {run}"


SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def secrets_named(config_text: str) -> list[str]:
    """The ${VARIABLES} a configuration file refers to, in order of first mention."""
    return list(dict.fromkeys(SECRET.findall(config_text)))


def write_env_file(path: Path, names: list[str]) -> None:
    """Write the named variables' current values, readable by the owner only; refuse if one is not set."""
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise ValueError(f"the configuration names {', '.join('${' + n + '}' for n in missing)}, which "
                         f"{'is' if len(missing) == 1 else 'are'} not set here: set {'it' if len(missing) == 1 else 'them'} "
                         f"and install again, so the weekly run has {'it' if len(missing) == 1 else 'them'} too")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file existed with wider rights
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("# secrets for repmon's weekly run; written by `repmon schedule install`\n")
        for name in names:
            file.write(f"{name}={_double_quoted(os.environ[name])}\n")


def _double_quoted(value: str) -> str:
    """Quoted so that both sh (`.`) and systemd's EnvironmentFile read the value back unchanged."""
    escaped = "".join("\\" + char if char in '"\\`$' else char for char in value)
    return f'"{escaped}"'


def marker(db_path: Path) -> str:
    """What identifies the entries repmon installed for this database."""
    return f"repmon:{db_path.resolve()}"


def _crontab(crontab_file: Path | None):
    from crontab import CronTab

    if crontab_file is not None:
        crontab_file.touch(exist_ok=True)
        return CronTab(tabfile=str(crontab_file))
    return CronTab(user=True)


def cron_slices(plan: Plan) -> tuple[list[str], bool]:
    """The crontab time fields, and whether the run must check the local time itself (`run --at`)."""
    times = plan.when.server_times(plan.zone)
    if times == {(plan.when.day, plan.when.hour, plan.when.minute)}:
        return [f"{plan.when.minute} {plan.when.hour} * * {(plan.when.day + 1) % 7}"], False
    hours: dict[tuple[int, int], set[int]] = {}
    for weekday, hour, minute in times:
        hours.setdefault((minute, weekday), set()).add(hour)
    return [f"{minute} {','.join(str(h) for h in sorted(hours[(minute, weekday)]))} * * {(weekday + 1) % 7}"
            for minute, weekday in sorted(hours)], True


def install_cron(plan: Plan, crontab_file: Path | None = None, unit_dir: Path = DEFAULT_UNIT_DIR) -> list[str]:
    """Replace repmon's entries for this database (and its systemd timer) with cron entries; others are untouched."""
    remove_systemd(plan.db_path, unit_dir)
    tab = _crontab(crontab_file)
    tab.remove_all(comment=marker(plan.db_path))
    slices, guard = cron_slices(plan)
    lines = []
    for when in slices:
        job = tab.new(command=plan.command(guard=guard), comment=marker(plan.db_path))
        job.setall(when)
        lines.append(str(job))
    tab.write() if crontab_file is None else tab.write(str(crontab_file))
    return lines


def show_cron(db_path: Path, crontab_file: Path | None = None, now: datetime | None = None) -> list[str]:
    if crontab_file is None and not shutil.which("crontab"):
        return []  # no cron on this machine: nothing can be installed there
    tab = _crontab(crontab_file)
    lines = []
    for job in tab.find_comment(marker(db_path)):
        at = re.search(r" run --at '?(\w+) (\d\d:\d\d) ([^' ]+)", job.command)
        if at:  # the run checks the local time itself: tell the next time the run does something
            when, zone = Weekly.parse(at.group(1), at.group(2)), at.group(3)
            local_now = (now or datetime.now()).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
            next_run = f"{when.next_after(local_now):%Y-%m-%d %H:%M} ({zone})"
        else:
            next_run = f"{job.schedule(date_from=now or datetime.now()).get_next():%Y-%m-%d %H:%M} (server time)"
        lines.append(f"cron: {job.slices} {job.command}\n  next run: {next_run}")
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


def install_systemd(plan: Plan, unit_dir: Path = DEFAULT_UNIT_DIR, crontab_file: Path | None = None) -> list[Path]:
    """Write a user service and timer (replacing repmon's cron entries for this database); enable them with
    systemctl when installing into the real user directory."""
    if crontab_file is not None or shutil.which("crontab"):
        remove_cron(plan.db_path, crontab_file)
    db_path, when = plan.db_path, plan.when
    unit_dir.mkdir(parents=True, exist_ok=True)
    name = unit_name(db_path)
    service = unit_dir / f"{name}.service"
    timer = unit_dir / f"{name}.timer"
    environment = f"EnvironmentFile={plan.env_file.resolve()}\n" if plan.env_file else ""
    service.write_text(
        f"# {marker(db_path)}\n[Unit]\nDescription=repmon weekly run for {db_path.resolve()}\n\n"
        f"[Service]\nType=oneshot\nWorkingDirectory={Path.cwd()}\n{environment}"
        f"ExecStart=/bin/sh -c {shlex.quote(plan.command(source_env=False))}\n",
        encoding="utf-8",
    )
    timer.write_text(
        f"# {marker(db_path)}\n[Unit]\nDescription=repmon weekly run for {db_path.resolve()}\n\n"
        f"[Timer]\nOnCalendar={DAYS[when.day].capitalize()} *-*-* {when.hour:02d}:{when.minute:02d}:00 {plan.zone}\n"
        f"Persistent=true\n\n[Install]\nWantedBy=timers.target\n",
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
    day, _, time, *zone = calendar.split(" ")
    when = Weekly.parse(day, time.rsplit(":", 1)[0])
    if not zone:
        return [f"systemd: {timer} OnCalendar={calendar}\n  next run: {when.next_after(now or datetime.now()):%Y-%m-%d %H:%M} (server time)"]
    local_now = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone[0])).replace(tzinfo=None)
    return [f"systemd: {timer} OnCalendar={calendar}\n  next run: {when.next_after(local_now):%Y-%m-%d %H:%M} ({zone[0]})"]


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
