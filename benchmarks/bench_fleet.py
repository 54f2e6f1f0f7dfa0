"""Crawl fleet throughput: pages per second with 1, 2 and 4 `repmon worker` nodes and one `repmon store`.

A loopback site answers each page after 50 ms, as real sites are latency-bound, not CPU-bound; every
node keeps `--concurrency` requests open (all firms share 127.0.0.1, one host). The
variants are interleaved (1, 2, 4, 4, 2, 1, ...) so a neighbour's load on the shared machine falls on
all of them. Time runs from queueing the sources to the writer having stored the last one.

    python benchmarks/bench_fleet.py [--firms 160] [--pages 5] [--concurrency 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from monitor import fleet
from monitor.crawl import targets_from_urls
from monitor.db import open_db
from monitor.loopback import LoopbackSite, Page
from monitor.sample_sites import trustpilot_listing

LATENCY = 0.05
PER_PAGE = 5
ROBOTS = Page(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")


def build_site(firms: int, pages: int) -> dict[str, Page]:
    site = {"/robots.txt": ROBOTS}
    for firm in range(firms):
        reviews = [{"id": f"{firm:05d}{n:019d}", "rating": n % 5 + 1, "title": f"Anmeldelse {n}",
                    "text": "Montøren kom til tiden og efterlod badeværelset pænt.", "language": "da",
                    "published": f"2026-10-{28 - n % 28:02d}T10:00:00.000Z", "author": f"Kunde {n}"}
                   for n in range(pages * PER_PAGE)]
        for path, body in trustpilot_listing(f"firma{firm:04d}.dk", f"Firma {firm}", reviews, PER_PAGE).items():
            site[path] = Page(body, delay=LATENCY)
    return site


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes",
                                "--save", "", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(500):
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.02)
    raise SystemExit("redis-server did not start")


def repmon(folder: Path, url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--db", str(folder / "monitor.db"),
                             "--config", str(folder / "monitor.toml"), *args],
                            env=os.environ | {"REPMON_REDIS_URL": url}, stdout=subprocess.DEVNULL,
                            stderr=open(folder / "fleet.log", "ab"))


def run_variant(site: LoopbackSite, firms: int, workers: int, concurrency: int, root: Path) -> tuple[float, int]:
    """Seconds and pages of one crawl of every firm by `workers` nodes."""
    folder = Path(tempfile.mkdtemp(dir=root))
    (folder / "monitor.toml").write_text(
        "[crawl]\ndownload_delay = 0\nautothrottle = false\nconcurrency_per_domain = 8\n")
    server, url = start_redis(folder)
    db = open_db(folder / "monitor.db")
    targets = targets_from_urls(db, [site.url(f"/review/firma{firm:04d}.dk") for firm in range(firms)],
                                "trustpilot", None, None, max_pages=1000)
    db.close()
    processes = [repmon(folder, url, "worker", "--concurrency", str(concurrency)) for _ in range(workers)]
    processes.append(repmon(folder, url, "store"))
    client = fleet.connect(url)
    try:
        while client.client_list().__len__() < 2 * workers + 2:  # every node connected (scheduler and spider)
            time.sleep(0.05)
        time.sleep(1.0)
        start = time.perf_counter()
        crawl = fleet.enqueue_crawl(client, targets)
        done = fleet.wait_for_crawl(client, crawl, lambda line: None, poll_seconds=0.05)
        return time.perf_counter() - start, done.pages
    finally:
        for process in processes:
            process.kill()
            process.wait()
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=160)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2, help="requests open per node")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    order = [1, 2, 4]
    results: dict[int, list[float]] = {workers: [] for workers in order}
    with tempfile.TemporaryDirectory() as root, LoopbackSite(build_site(args.firms, args.pages)) as site:
        for round_number in range(args.rounds):
            for workers in order if round_number % 2 == 0 else list(reversed(order)):
                seconds, pages = run_variant(site, args.firms, workers, args.concurrency, Path(root))
                results[workers].append(pages / seconds)
                print(f"round {round_number + 1}: {workers} worker(s): {pages} pages in {seconds:.1f} s "
                      f"= {pages / seconds:.1f} pages/s", flush=True)
    ceiling = args.concurrency / LATENCY
    one = max(results[1])
    print(f"\n{os.cpu_count()} cores; {args.firms} firms x {args.pages} pages, {LATENCY * 1000:.0f} ms a page, "
          f"{args.concurrency} requests open per node (at most {ceiling:.0f} pages/s a node)")
    print("workers  best pages/s  x one worker  x linear")
    for workers in order:
        best = max(results[workers])
        print(f"{workers:>7}  {best:>12.1f}  {best / one:>12.2f}  {best / (one * workers):>8.2f}")


if __name__ == "__main__":
    main()
