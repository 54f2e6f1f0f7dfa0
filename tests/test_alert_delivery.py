"""Exactly-once alerts: `repmon alert` killed with SIGKILL at any moment neither loses nor repeats one.

A real `repmon alert` process delivers to a slow webhook on 127.0.0.1 and is killed mid-run;
the next run finishes the work. The webhook drops a repeat by its Idempotency-Key header, as
receivers that honour the header do.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlite_utils

from monitor.alerts import INTERRUPTED, idempotency_key
from tests.test_alerts import TODAY, findings, write_config  # noqa: F401  (findings is a fixture)

ALERTS = 5  # what `findings` raises on one channel: the leak pattern cluster, three complaints, the digest


class SlowWebhook:
    """Reads each POST at once (so it counts as received), then answers after `delay` seconds."""

    def __init__(self, delay: float):
        self.delay = delay
        self.received: list[tuple[str | None, str]] = []  # (idempotency key, title)
        self.arrived = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                hook.received.append((self.headers.get("Idempotency-Key"), body.get("title") or body.get("text", "")))
                hook.arrived.set()
                time.sleep(hook.delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.request_queue_size = 64
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # the killed sender hangs up on a held answer
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def deduplicated(self) -> dict[str | None, list[str]]:
        """What a receiver honouring the key keeps: one message per key."""
        kept: dict[str | None, list[str]] = {}
        for key, title in self.received:
            kept.setdefault(key, []).append(title)
        return kept

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def alert_process(db_path: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--db", str(db_path), "--config", str(config), "alert",
                             "--today", TODAY.isoformat()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={k: v for k, v in os.environ.items() if not k.startswith("REPMON_")})


def finish(db_path: Path, config: Path) -> str:
    done = alert_process(db_path, config)
    output = done.communicate(timeout=120)[0].decode()
    assert done.returncode == 0, output
    return output


def alert_rows(db_path: Path) -> list[dict]:
    with sqlite_utils.Database(db_path) as db:
        return list(db.query("SELECT id, status, attempts, last_error, idempotency_key FROM alerts ORDER BY id"))


def statuses(db_path: Path) -> dict[str, str]:
    return {row["id"]: row["status"] for row in alert_rows(db_path)}


def test_a_kill_while_the_receiver_holds_the_first_alert_repeats_nothing(findings, db_path, tmp_path):
    hook = SlowWebhook(delay=60)
    config = write_config(tmp_path, hook.url)
    try:
        killed = alert_process(db_path, config)
        assert hook.arrived.wait(60), killed.communicate()[0].decode()
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert sorted(statuses(db_path).values()) == ["sending"]
        hook.delay = 0
        output = finish(db_path, config)
        assert output.endswith(f"{ALERTS - 1} new alerts, {ALERTS} sent, 0 failed\n")
        keys = {row["idempotency_key"] for row in alert_rows(db_path)}
        kept = hook.deduplicated()
        assert set(kept) == keys and len(keys) == ALERTS
        first_key, first_title = hook.received[0]
        assert kept[first_key] == [first_title, first_title]  # sent again with the same key: the receiver drops it
        assert all(len(titles) == 1 for key, titles in kept.items() if key != first_key)
        assert set(statuses(db_path).values()) == {"sent"}
    finally:
        hook.close()


def test_kills_at_random_moments_lose_and_repeat_nothing(findings, db_path, tmp_path):
    pristine = tmp_path / "pristine.db"
    findings.execute("VACUUM INTO ?", [str(pristine)])
    findings.close()
    hook = SlowWebhook(delay=0.25)
    config = write_config(tmp_path, hook.url)
    moments = random.Random(2026)
    try:
        for trial in range(4):
            db_path = tmp_path / f"trial-{trial}.db"  # a file of its own: no connection of this process knows it
            shutil.copyfile(pristine, db_path)
            hook.received.clear()
            killed = alert_process(db_path, config)
            time.sleep(moments.uniform(0.5, 4.0))  # from start-up to after the last delivery
            killed.send_signal(signal.SIGKILL)
            killed.wait(10)
            finish(db_path, config)
            rows = alert_rows(db_path)
            assert [row["status"] for row in rows] == ["sent"] * ALERTS, trial
            kept = hook.deduplicated()
            assert set(kept) == {row["idempotency_key"] for row in rows}, trial
            assert sum(len(titles) - 1 for titles in kept.values()) <= 1, trial  # at most the one cut off
    finally:
        hook.close()


def test_a_channel_without_headers_is_not_sent_twice_after_a_kill(findings, db_path, tmp_path):
    """Mattermost's webhook takes no headers of ours: an interrupted alert is marked, not repeated."""
    hook = SlowWebhook(delay=60)
    port = hook.url.split(":")[2].split("/")[0]
    config = write_config(tmp_path, f"mmost://127.0.0.1:{port}/abcdefghijklmnopqrstuvwxyz")
    try:
        killed = alert_process(db_path, config)
        assert hook.arrived.wait(60), killed.communicate()[0].decode()
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        (interrupted,) = statuses(db_path)
        hook.delay = 0
        output = finish(db_path, config)
        assert output.endswith(f"{ALERTS - 1} new alerts, {ALERTS - 1} sent, 0 failed, 1 may not have arrived\n")
        assert f"{INTERRUPTED}\n" in output
        assert len(hook.received) == ALERTS
        row = next(row for row in alert_rows(db_path) if row["id"] == interrupted)
        assert (row["status"], row["last_error"], row["attempts"]) == ("unconfirmed", INTERRUPTED, 1)
        assert hook.received[0][0] is None
    finally:
        hook.close()


def test_the_key_is_the_same_for_every_attempt_and_differs_per_channel():
    assert idempotency_key("pattern:x@json-1") == idempotency_key("pattern:x@json-1")
    assert idempotency_key("pattern:x@json-1") != idempotency_key("pattern:x@json-2")
    assert len(idempotency_key("pattern:x@json-1")) == 32
