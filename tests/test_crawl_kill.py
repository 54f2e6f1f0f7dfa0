"""`repmon crawl` killed with SIGKILL: its crawl child dies with it, and the next crawl loses nothing.

Real `repmon crawl` processes against a Trustpilot-format listing of 1,533 reviews on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from monitor.db import open_db
from monitor.loopback import LoopbackSite, Page
from monitor.sample_sites import trustpilot_listing, trustpilot_path
from tests.test_crawl import DOMAIN, ROBOTS, tp_reviews

REVIEWS = tp_reviews(1533)  # 77 pages of 20
CONFIG = "[crawl]\ndownload_delay = 0\nautothrottle = false\ntimeout_seconds = 60\n"


@pytest.fixture
def listing():
    pages = {path: Page(body, delay=0.01) for path, body in trustpilot_listing(DOMAIN, "Hansen VVS ApS", REVIEWS).items()}
    with LoopbackSite({"/robots.txt": ROBOTS, **pages}) as served:
        yield served


def start_crawl(folder: Path, db_path: Path, site: LoopbackSite) -> subprocess.Popen:
    config = folder / "monitor.toml"
    config.write_text(CONFIG)
    if not db_path.exists():
        open_db(db_path).close()
    log = open(folder / "crawl.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--db", str(db_path), "--config", str(config), "crawl",
         "--url", site.url(f"/review/{DOMAIN}"), "--parser", "trustpilot", "--max-pages", "200"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )


def children(pid: int) -> list[int]:
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found  # the process is gone
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # a thread that ended while we looked
    return found


def alive(pid: int) -> bool:
    """Running, not gone and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def crawl_child(parent: subprocess.Popen) -> int:
    wait_for(lambda: parent.poll() is not None or children(parent.pid))
    (child,) = children(parent.pid)
    return child


def kill_parent(parent: subprocess.Popen, child: int) -> None:
    """SIGKILL the `repmon crawl` process only; the kernel must take its crawl child down with it."""
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    wait_for(lambda: not alive(child), seconds=5)


def stored(db_path: Path) -> tuple[int, int]:
    """Reviews stored, and distinct ones; (0, 0) while the crawl is still creating the database."""
    with closing(sqlite3.connect(db_path)) as conn:
        try:
            return conn.execute("SELECT COUNT(*), COUNT(DISTINCT external_id) FROM reviews").fetchone()
        except sqlite3.OperationalError:
            return 0, 0


def test_crawl_child_does_not_outlive_a_killed_parent(tmp_path, listing):
    listing.pages[trustpilot_path(DOMAIN, 2)].delay = 30  # the crawl waits here, well inside its 60 s timeout
    parent = start_crawl(tmp_path, tmp_path / "monitor.db", listing)
    child = crawl_child(parent)
    wait_for(lambda: trustpilot_path(DOMAIN, 2) in listing.paths_requested())
    started = time.monotonic()
    kill_parent(parent, child)
    assert not alive(child)
    assert time.monotonic() - started < 5


def crawl_until_killed(folder: Path, db_path: Path, site: LoopbackSite, ready) -> None:
    """Start `repmon crawl`, SIGKILL it once `ready()` holds, and check it was cut off mid-walk."""
    site.requests.clear()
    parent = start_crawl(folder, db_path, site)
    child = crawl_child(parent)
    wait_for(lambda: ready() or parent.poll() is not None)
    assert parent.poll() is None, "the crawl ended before it could be killed"
    kill_parent(parent, child)
    count, distinct = stored(db_path)
    assert count == distinct < len(REVIEWS)


@pytest.mark.parametrize("trial", [1, 2, 3])
def test_crawl_killed_at_random_moments_loses_nothing(tmp_path, listing, trial):
    rng = random.Random(2026 + trial)
    db_path = tmp_path / "monitor.db"
    served = listing.paths_requested
    # First kill: some pages after the first batch of reviews was committed (what a plain incremental stop
    # would take for a finished walk). Second kill: a few pages into the crawl that resumes the walk.
    extra, second = rng.randint(0, 40), rng.randint(3, 25)
    marks: dict[str, int] = {}

    def first_ready() -> bool:
        if "committed" not in marks and db_path.exists() and stored(db_path)[0] > 0:
            marks["committed"] = len(served())
        return "committed" in marks and len(served()) >= marks["committed"] + extra

    crawl_until_killed(tmp_path, db_path, listing, first_ready)
    crawl_until_killed(tmp_path, db_path, listing, lambda: len(served()) >= second)

    final = start_crawl(tmp_path, db_path, listing)
    assert final.wait(timeout=120) == 0, (tmp_path / "crawl.log").read_text()
    with closing(sqlite3.connect(db_path)) as conn:
        ids = [row[0] for row in conn.execute("SELECT external_id FROM reviews")]
        walk = conn.execute("SELECT walk_complete FROM source_walks").fetchone()
    assert len(ids) == len(set(ids)) == len(REVIEWS)
    assert set(ids) == {review["id"] for review in REVIEWS}
    assert walk == (1,)
