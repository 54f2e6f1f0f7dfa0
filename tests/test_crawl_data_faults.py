"""One bad record costs only itself; layout drift is a health problem, not a data change; a full disk is named.

Real crawls over HTTP on 127.0.0.1 of Trustpilot-format pages (monitor/sample_sites.py), into a real SQLite file.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

from click.testing import CliRunner

from monitor.alerts import collect
from monitor.cli import cli
from monitor.config import parse_config
from monitor.db import open_db
from monitor.loopback import Page
from monitor.sample_sites import trustpilot_listing, trustpilot_path
from tests.test_crawl import DOMAIN, crawl, publish, site, tp_reviews  # noqa: F401  (site is a fixture)

COLUMNS = "id, rating, title, body, author, reply_body, reply_at, published_at, removed_at"


def with_replies(reviews: list[dict]) -> list[dict]:
    for n, review in enumerate(reviews):
        if n % 3 == 0:
            review["reply"] = {"message": f"Tak for anmeldelsen {n}", "published": "2026-10-29T09:00:00.000Z"}
    return reviews


def edit_next_data(body: bytes, edit) -> bytes:
    """Change the page's embedded data the way a broken or changed site would."""
    start = body.index(b'<script id="__NEXT_DATA__" type="application/json">') + len(b'<script id="__NEXT_DATA__" type="application/json">')
    end = body.index(b"</script>", start)
    data = json.loads(body[start:end])
    edit(data["props"]["pageProps"]["reviews"])
    return body[:start] + json.dumps(data).encode() + body[end:]


def test_malformed_records_are_dropped_by_name_and_the_rest_stored(db, db_path, site):
    publish(site, tp_reviews(20))
    path = trustpilot_path(DOMAIN, 1)

    def spoil(reviews):
        reviews[2]["text"] = ["a", "list"]
        reviews[5]["title"] = "x" * 20_000
        reviews[7]["consumer"] = {"displayName": {"first": "Jens"}}
        reviews[9]["language"] = 17

    site.pages[path] = Page(edit_next_data(site.pages[path].body, spoil))
    run = crawl(db, db_path, [site.url(f"/review/{DOMAIN}")], parser="trustpilot").runs[0]
    assert (run["status"], run["new"], run["dropped"]) == ("degraded", 16, 4)
    page = site.url(path)
    lines = run["message"].splitlines()
    assert lines[0] == "4 malformed review records dropped; the others are stored"
    assert lines[1:] == [
        f"{page}: review trustpilot:66f200000000000000000002: body is a list, expected text; dropped",
        f"{page}: review trustpilot:66f200000000000000000005: title is 20,000 characters long, more than 10,000; dropped",
        f"{page}: review trustpilot:66f200000000000000000007: author is an object, expected text; dropped",
        f"{page}: review trustpilot:66f200000000000000000009: lang is a number, expected text; dropped",
    ]
    assert db["reviews"].count == 16


def test_the_command_exits_non_zero_when_records_were_dropped(tmp_path, monkeypatch, site):
    publish(site, tp_reviews(3))
    path = trustpilot_path(DOMAIN, 1)
    site.pages[path] = Page(edit_next_data(site.pages[path].body, lambda reviews: reviews[0].update(text={"x": 1})))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitor.toml").write_text("[crawl]\ndownload_delay = 0\nautothrottle = false\n")
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["crawl", "--url", site.url(f"/review/{DOMAIN}"), "--parser", "trustpilot"])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == "1 sources: 2 new, 0 updated, 1 degraded, 0 failed; 1 malformed records dropped"


def test_one_record_sqlite_refuses_costs_only_itself(db, db_path, site):
    publish(site, tp_reviews(30))
    db.execute("CREATE TRIGGER refuse_one BEFORE INSERT ON reviews WHEN new.external_id = '66f200000000000000000011' "
               "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")
    run = crawl(db, db_path, [site.url(f"/review/{DOMAIN}")], parser="trustpilot").runs[0]
    assert (run["status"], run["new"], run["dropped"]) == ("degraded", 29, 1)
    assert "review trustpilot:66f200000000000000000011: not stored (refused by a trigger)" in run["message"]


def test_layout_drift_keeps_stored_data_and_is_alerted_once(db, db_path, site, business_id):
    reviews = with_replies(tp_reviews(20))
    publish(site, reviews)
    url = site.url(f"/review/{DOMAIN}")
    first = crawl(db, db_path, [url], parser="trustpilot", business_id=business_id).runs[0]
    assert (first["status"], first["new"]) == ("ok", 20)
    before = db.execute(f"SELECT {COLUMNS} FROM reviews ORDER BY id").fetchall()
    assert sum(1 for row in before if row[5]) == 7  # replies stored
    path = trustpilot_path(DOMAIN, 1)
    renamed = site.pages[path].body.replace(b'id="__NEXT_DATA__"', b'id="__NEXT_DATA_V2__"')
    site.pages[path] = Page(renamed)
    for _ in range(2):
        run = crawl(db, db_path, [url], parser="trustpilot", business_id=business_id, full=True).runs[0]
        assert (run["status"], run["removed"], run["updated"]) == ("degraded", 0, 0)
        assert run["message"].startswith("1 of 1 pages read through the JSON-LD fallback (the embedded review data "
                                          "is missing or renamed)")
    assert db.execute(f"SELECT {COLUMNS} FROM reviews ORDER BY id").fetchall() == before
    assert db["review_history"].count == 0
    config = parse_config({"business": [{"name": "Hansen VVS ApS", "channel": [{"url": "json://127.0.0.1/x"}]}]})
    alerts = [alert for alert in collect(db, config) if alert.kind == "crawl_degraded"]
    assert len(alerts) == 1 and [a for a in collect(db, config) if a.kind == "unanswered"] == []


def test_a_bad_byte_spoils_one_field_not_the_page(db, db_path, site):
    publish(site, with_replies(tp_reviews(20)))
    path = trustpilot_path(DOMAIN, 1)
    body = site.pages[path].body
    at = body.index(b"Tekst nummer 4", body.index(b"__NEXT_DATA__"))
    site.pages[path] = Page(body[:at] + b"\xff" + body[at:])
    run = crawl(db, db_path, [site.url(f"/review/{DOMAIN}")], parser="trustpilot").runs[0]
    assert (run["status"], run["new"]) == ("ok", 20)
    assert db.execute("SELECT body FROM reviews WHERE external_id = '66f200000000000000000004'").fetchone() == (
        "\ufffdTekst nummer 4",)
    assert db.execute("SELECT COUNT(*) FROM reviews WHERE reply_body IS NOT NULL").fetchone() == (7,)


def test_a_lone_surrogate_is_stored_as_a_replacement_character(db, db_path, site):
    publish(site, tp_reviews(2))
    path = trustpilot_path(DOMAIN, 1)
    site.pages[path] = Page(site.pages[path].body.replace(b"Tekst nummer 1", b"Tekst \\ud800 nummer 1"))
    run = crawl(db, db_path, [site.url(f"/review/{DOMAIN}")], parser="trustpilot").runs[0]
    assert (run["status"], run["new"]) == ("ok", 2)
    assert db.execute("SELECT body FROM reviews WHERE external_id = '66f200000000000000000001'").fetchone() == (
        "Tekst \ufffd nummer 1",)


def test_a_full_disk_stops_the_crawl_with_one_line(tmp_path, site):
    reviews = [review | {"text": "Lang anmeldelse " * 200} for review in tp_reviews(400)]
    for page_path, body in trustpilot_listing(DOMAIN, "Hansen VVS ApS", reviews).items():
        site.pages[page_path] = Page(body)
    (tmp_path / "monitor.toml").write_text("[crawl]\ndownload_delay = 0\nautothrottle = false\n")
    (tmp_path / "disk").mkdir()
    open_db(tmp_path / "seed.db").close()
    repmon = f"{shlex.quote(sys.executable)} -m monitor --db disk/x.db"
    script = (f"mount -t tmpfs -o size=700k none disk && cp seed.db disk/x.db && "
              f"{repmon} crawl --url {site.url(f'/review/{DOMAIN}')} --parser trustpilot 2>&1; echo exit $?")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("REPMON_")})
    assert done.stdout.splitlines() == [
        "Error: disk/x.db: the disk is full (database or disk is full); the reviews stored before that are kept", "exit 1"]


def test_a_feed_without_a_mention_this_week_is_ok(db, db_path, site, business_id):
    from tests.test_crawl import FILES

    site.pages["/mentions.rss"] = Page((FILES / "feeds" / "mentions.rss").read_bytes(), content_type="application/rss+xml")
    url = site.url("/mentions.rss")
    first = crawl(db, db_path, [url], parser="feed", business_id=business_id, names=["Hansen VVS"]).runs[0]
    assert first["status"] == "ok" and first["reviews_seen"] > 0
    empty = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Lokalt</title>'
             b'<link>https://lokalavisen.example/</link><description>Nyheder</description></channel></rss>')
    site.pages["/mentions.rss"] = Page(empty, content_type="application/rss+xml")
    second = crawl(db, db_path, [url], parser="feed", business_id=business_id, names=["Hansen VVS"]).runs[0]
    assert (second["status"], second["reviews_seen"], second["removed"], second["message"]) == ("ok", 0, 0, None)
