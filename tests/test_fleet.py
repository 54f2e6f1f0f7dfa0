"""The crawl fleet with the real parts: redis-server, `repmon worker` and `repmon store` processes, a loopback site.

200 firms with 5 Trustpilot-format pages each on 127.0.0.1; every fleet crawl must end with exactly the
reviews, checkpoints and health rows a single-machine crawl stores, whatever is killed on the way.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import sqlite_utils

from monitor.config import Crawl
from monitor.crawl import run_crawl, targets_from_urls
from monitor.db import open_db
from monitor.loopback import LoopbackSite, Page
from monitor.sample_sites import trustpilot_listing
from spiders.fleet import DUPEFILTER_KEY, ITEMS_KEY, LEASED_KEY, QUEUE_KEY, STORING_KEY
from tests.test_crawl import ROBOTS

FIRMS = 200
PAGES = 5
PER_PAGE = 3
CONFIG = "[crawl]\ndownload_delay = 0\nautothrottle = false\ntimeout_seconds = 30\nuser_agent = \"repmon-fleet-test/1.0\"\n"
COMPARED = ("id", "source", "external_id", "business_id", "source_id", "url", "author", "rating", "title", "body",
            "lang", "published_at", "removed_at")


def firm_reviews(firm: int) -> list[dict]:
    return [{"id": f"{firm:04d}{n:020d}", "rating": n % 5 + 1, "title": f"Firma {firm} anmeldelse {n}",
             "text": f"Tekst {n} om firma {firm}", "language": "da",
             "published": f"2026-10-{28 - n:02d}T10:00:00.000Z", "author": f"Kunde {firm}-{n}"}
            for n in range(PAGES * PER_PAGE)]


def domain(firm: int) -> str:
    return f"firma-{firm:03d}.dk"


class TimedRequests(list):
    """The site's request log, with when each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, request) -> None:
        self.times.append(time.monotonic())
        super().append(request)


@pytest.fixture(scope="module")
def site():
    pages = {"/robots.txt": ROBOTS}
    for firm in range(FIRMS):
        for path, body in trustpilot_listing(domain(firm), f"Firma {firm}", firm_reviews(firm), PER_PAGE).items():
            pages[path] = Page(body)
    with LoopbackSite(pages) as served:
        served.requests = TimedRequests()
        yield served


def firm_urls(site: LoopbackSite) -> list[str]:
    return [site.url(f"/review/{domain(firm)}") for firm in range(FIRMS)]


class RedisServer:
    """A redis-server of the test's own on 127.0.0.1, appending every write to its file."""

    def __init__(self, folder: Path):
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--appendonly", "yes",
             "--appendfsync", "always", "--save", "", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)  # a clean shutdown, as a restart by systemd does
        self.process.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@pytest.fixture
def redis_server(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def single_machine(site, tmp_path_factory):
    """What one machine's crawl of the 200 firms stores: the reference every fleet crawl must equal."""
    db_path = tmp_path_factory.mktemp("single") / "monitor.db"
    db = open_db(db_path)
    targets = targets_from_urls(db, firm_urls(site), "trustpilot", None, None, max_pages=50)
    db.close()
    crawl = Crawl(download_delay=0, autothrottle=False)
    run_crawl(db_path, targets, crawl, ROBOTSTXT_OBEY=True)
    return stored(db_path)


def stored(db_path: Path) -> dict:
    db = sqlite_utils.Database(db_path)
    columns = ", ".join(COMPARED)
    result = {
        "reviews": {row[0]: row for row in db.execute(f"SELECT {columns} FROM reviews").fetchall()},
        "review_count": db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0],
        "history": db.execute("SELECT COUNT(*) FROM review_history").fetchone()[0],
        "runs": sorted(db.execute("SELECT source_id, pages, reviews_seen, new, updated, removed, errors, status "
                                  "FROM crawl_runs").fetchall()),
        "walks": sorted(db.execute("SELECT source_id, walk_full, last_page, walk_complete FROM source_walks").fetchall()),
    }
    db.close()
    return result


def assert_stored_as_one_machine_stores(db_path, single_machine) -> None:
    """Every review once, with the same values, health rows and checkpoints a single-machine crawl leaves."""
    result = stored(db_path)
    assert result["review_count"] == FIRMS * PAGES * PER_PAGE
    assert result["reviews"] == single_machine["reviews"]
    assert result["runs"] == single_machine["runs"]
    assert result["walks"] == single_machine["walks"]
    assert result["history"] == 0


class Fleet:
    """`repmon` processes around one database and one Redis, logging beside the database."""

    def __init__(self, folder: Path, redis_url: str, config: str = CONFIG):
        self.folder, self.redis_url = folder, redis_url
        self.db_path = folder / "monitor.db"
        self.config = folder / "monitor.toml"
        self.config.write_text(config)
        open_db(self.db_path).close()
        self.processes: list[subprocess.Popen] = []

    def start(self, *args: str, log: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--db", str(self.db_path), "--config", str(self.config), *args],
            cwd=self.folder, stdout=open(self.folder / f"{log}.out", "ab"), stderr=open(self.folder / f"{log}.err", "ab"),
            env=os.environ | {"REPMON_REDIS_URL": self.redis_url})
        self.processes.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen:
        return self.start("worker", "--lease-seconds", "2", log=name)

    def writer(self, name: str = "store") -> subprocess.Popen:
        return self.start("store", log=name)

    def crawl(self, urls: list[str], *extra: str) -> subprocess.Popen:
        args = [arg for url in urls for arg in ("--url", url)]
        return self.start("crawl", "--redis", self.redis_url, "--parser", "trustpilot", *args, *extra, log="crawl")

    def finish(self, crawl: subprocess.Popen, seconds: float = 60) -> str:
        assert crawl.wait(seconds) == 0, self.log("crawl")
        return (self.folder / "crawl.out").read_text()

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.out").read_text() + (self.folder / f"{name}.err").read_text()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def fleet(tmp_path, redis_server):
    folder = tmp_path / "fleet"
    folder.mkdir()
    running = Fleet(folder, redis_server.url)
    yield running
    running.stop()


def wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def crawl_count(client: redis.Redis, name: str) -> int:
    """A count of the fleet's crawls' progress (pages fetched, sources stored), over every crawl."""
    return sum(int(client.hget(key, name) or 0) for key in client.scan_iter("repmon:crawl:*")
               if not key.endswith(b":saved"))


def pages_fetched(client: redis.Redis) -> int:
    return crawl_count(client, "pages")


def fleet_is_empty(client: redis.Redis) -> None:
    """Nothing left behind: no request queued or leased, no page waiting to be stored, no walk marked running."""
    assert [client.llen(QUEUE_KEY), client.zcard(LEASED_KEY), client.llen(ITEMS_KEY), client.llen(STORING_KEY),
            client.scard(DUPEFILTER_KEY)] == [0, 0, 0, 0, 0]


def test_three_workers_and_a_writer_store_exactly_what_one_machine_stores(site, single_machine, fleet, redis_server):
    for name in ("worker1", "worker2", "worker3"):
        fleet.worker(name)
    fleet.writer()
    output = fleet.finish(fleet.crawl(firm_urls(site)))
    assert_stored_as_one_machine_stores(fleet.db_path, single_machine)
    assert output.splitlines()[-1] == f"{FIRMS} sources: {FIRMS * PAGES * PER_PAGE} new, 0 updated, 0 degraded, 0 failed"
    fleet_is_empty(redis_server.client())


def leases_of(client: redis.Redis, process: subprocess.Popen) -> int:
    return sum(1 for token in client.zrange(LEASED_KEY, 0, -1) if token.split(b":")[1] == str(process.pid).encode())


def paths_since(site: LoopbackSite, start: int) -> set[str]:
    return {path for path, _ in site.requests[start:]}


def all_pages() -> set[str]:
    from monitor.sample_sites import trustpilot_path
    return {trustpilot_path(domain(firm), page) for firm in range(FIRMS) for page in range(1, PAGES + 1)}


def test_a_worker_killed_mid_crawl_leaves_its_requests_to_the_others_and_nothing_is_lost(
        site, single_machine, fleet, redis_server):
    client = redis_server.client()
    first = len(site.requests)
    doomed, survivor = fleet.worker("doomed"), fleet.worker("survivor")
    fleet.writer()
    crawl = fleet.crawl(firm_urls(site))
    wait_until(lambda: pages_fetched(client) >= 200 and leases_of(client, doomed) > 0)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    held_when_killed = leases_of(client, doomed)
    fleet.finish(crawl)
    assert held_when_killed > 0
    assert leases_of(client, doomed) == 0
    assert paths_since(site, first) >= all_pages()
    assert_stored_as_one_machine_stores(fleet.db_path, single_machine)
    assert survivor.poll() is None
    fleet_is_empty(client)


def test_a_batch_committed_by_a_writer_killed_before_noting_it_counts_once(site, single_machine, fleet, redis_server):
    """The writer commits a batch to SQLite, then notes it in Redis; killed in between, its successor stores
    the batch again (which changes no review) and counts the new reviews the first commit counted."""
    from monitor.fleet import WRITER_KEY, Writer

    client = redis_server.client()
    fleet.worker("worker")
    crawl = fleet.crawl(firm_urls(site))
    # every page waits for a writer, and each source's end of walk after its last page
    wait_until(lambda: client.llen(ITEMS_KEY) == FIRMS * (PAGES + 1), seconds=120)
    killed = Writer(client, fleet.db_path, 0.5, "killed", report=lambda line: None)
    killed.claim()
    batch = killed.take()
    counted = killed.commit(batch)  # ...and the process dies here, before killed.note(batch, counted)
    killed.db.close()
    client.delete(WRITER_KEY)  # its claim lapses
    assert sum(result.new for result in counted.values()) == sum(len(pickle.loads(item)["reviews"]) for item in batch) > 0
    assert client.llen(STORING_KEY) == len(batch)
    fleet.writer("store2")
    fleet.finish(crawl, seconds=90)
    assert_stored_as_one_machine_stores(fleet.db_path, single_machine)  # new and updated counts included
    fleet_is_empty(client)


def test_the_writer_killed_mid_crawl_leaves_pages_in_redis_and_its_successor_stores_each_once(
        site, single_machine, fleet, redis_server):
    client = redis_server.client()
    fleet.worker("worker")
    first_writer = fleet.writer("store1")
    crawl = fleet.crawl(firm_urls(site))
    wait_until(lambda: crawl_count(client, "stored") >= 40)
    os.kill(first_writer.pid, signal.SIGKILL)
    first_writer.wait()
    wait_until(lambda: client.llen(ITEMS_KEY) > 0)  # pages wait in Redis while no writer runs
    fleet.writer("store2")
    fleet.finish(crawl, seconds=90)
    result = stored(fleet.db_path)
    assert result["review_count"] == FIRMS * PAGES * PER_PAGE
    assert result["reviews"] == single_machine["reviews"]
    assert result["runs"] == single_machine["runs"]
    assert result["walks"] == single_machine["walks"]
    assert result["history"] == 0
    fleet_is_empty(client)


def test_a_redis_restart_mid_crawl_and_the_crawl_goes_on(site, single_machine, fleet, redis_server):
    client = redis_server.client()
    fleet.worker("worker1")
    fleet.worker("worker2")
    fleet.writer()
    crawl = fleet.crawl(firm_urls(site))
    wait_until(lambda: pages_fetched(client) >= 300)
    redis_server.stop()
    time.sleep(0.5)
    redis_server.start()
    fleet.finish(crawl, seconds=90)
    result = stored(fleet.db_path)
    assert result["reviews"] == single_machine["reviews"]
    assert result["runs"] == single_machine["runs"]
    assert result["walks"] == single_machine["walks"]
    assert result["history"] == 0
    assert "fleet: Redis unreachable" in fleet.log("crawl")
    fleet_is_empty(redis_server.client())


def test_a_second_fleet_crawl_stops_at_known_reviews_and_full_walks_every_page(site, fleet, redis_server):
    urls = firm_urls(site)[:20]
    fleet.worker("worker")
    fleet.writer()
    fleet.finish(fleet.crawl(urls))
    again = fleet.finish(fleet.crawl(urls))
    assert again.splitlines()[-1] == "20 sources: 0 new, 0 updated, 0 degraded, 0 failed"
    assert again.count(f": 1 pages, {PER_PAGE} reviews (0 new, 0 updated, 0 removed), 0 errors") == 20
    full = fleet.finish(fleet.crawl(urls, "--full"))
    assert full.count(f": {PAGES} pages, {PAGES * PER_PAGE} reviews (0 new, 0 updated, 0 removed), 0 errors") == 20
    assert stored(fleet.db_path)["review_count"] == 20 * PAGES * PER_PAGE


def test_the_pause_between_requests_to_a_host_holds_for_the_fleet_with_robots_and_user_agent(
        site, tmp_path, redis_server):
    polite = Fleet(tmp_path, redis_server.url, CONFIG.replace("download_delay = 0", "download_delay = 0.25"))
    try:
        first = len(site.requests)
        polite.worker("worker1")
        polite.worker("worker2")
        polite.writer()
        output = polite.finish(polite.crawl([*firm_urls(site)[:2], site.url("/private/review/x.dk")]))
    finally:
        polite.stop()
    asked = site.requests[first:]
    times = site.requests.times[first:]
    assert len([path for path, _ in asked if path != "/robots.txt"]) == 2 * PAGES
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    # Each request's moment is reserved on Redis's clock; arrival jitters by a few ms, the sum does not drift.
    assert min(gaps) >= 0.2, gaps
    assert times[-1] - times[0] >= 0.25 * len(gaps) - 0.03, gaps
    assert {headers["user-agent"] for _, headers in asked} == {"repmon-fleet-test/1.0"}
    assert "/private/review/x.dk?languages=all&sort=recency: forbidden by robots.txt" in output
    assert not any(path.startswith("/private/") for path, _ in asked)


def test_a_worker_names_the_redis_it_cannot_reach_without_its_password(tmp_path):
    from click.testing import CliRunner

    from monitor.cli import cli

    (tmp_path / "monitor.toml").write_text(CONFIG)
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "monitor.toml"), "worker",
                                      "--redis", "redis://:s3cret@127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert "redis://:***@127.0.0.1:1/0: Redis cannot be reached" in result.output
    assert "s3cret" not in result.output


def test_a_crawl_whose_state_redis_lost_says_so_and_exits_1(site, fleet, redis_server):
    client = redis_server.client()
    crawl = fleet.crawl(firm_urls(site)[:3])  # no worker runs: the requests wait on the queue
    wait_until(lambda: client.llen(QUEUE_KEY) == 3)
    client.flushall()  # what a Redis restarted without its append-only file remembers
    assert crawl.wait(30) == 1
    assert "is gone from Redis (restarted without appendonly?); what was stored is kept" in fleet.log("crawl")
