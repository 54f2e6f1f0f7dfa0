"""What a person sees: the explorer in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.store import save_reviews
from tests.test_findings import START, complaint

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
HOSTILE = '<script>window.hacked = 1</script><a href="javascript:window.hacked=2">klik her</a> Vand under gulvet!'


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """The demo firm's database, plus one review with hostile markup, served by `repmon serve`."""
    from click.testing import CliRunner

    from monitor.cli import cli
    from monitor.db import open_db

    result = CliRunner().invoke(cli, ["demo", "--no-serve", "--dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    db_path = tmp_path / "data" / "demo.db"
    db = open_db(db_path)
    business_id = db.execute("SELECT id FROM businesses").fetchone()[0]
    save_reviews(db, [complaint(business_id, 9, START, HOSTILE) | {"url": "https://dk.trustpilot.com/reviews/x"}])
    db.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPMON_")}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--db", str(db_path), "serve", "--port", str(port)],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(process.communicate()[0].decode()[-2000:])
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def page():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs: list[str] = []
        tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        tab.dialogs = dialogs
        yield tab
        browser.close()


def test_dashboard_shows_the_charts(server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(server + "/-/dashboards/repmon")
    page.wait_for_selector(".vega-embed svg, .vega-embed canvas", timeout=20000)
    # served without the configuration: in Danish, the demo firm's first language as the database keeps it
    assert page.locator("h1").first.inner_text() == "Overblik over omdømmet"
    metric = page.locator("#chart-open-patterns p")
    metric.wait_for(timeout=20000)
    assert metric.inner_text() == "2"  # the demo's leak (business, crew and job type: one cluster) and the burst
    for title in ("Mønstre, der tager form", "Gennemsnitlig bedømmelse pr. måned og kilde", "Klager efter emne over tid",
                  "Åbne mønstre"):
        assert page.get_by_text(title, exact=True).first.is_visible()
    assert page.locator(".vega-embed").count() >= 3
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)


def test_unanswered_complaints_page(server, page):
    page.goto(server + "/demo/unanswered_complaints?business=")
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() == 4  # the demo's planted unanswered complaints
    assert "Vand og fugt efter badeværelset" in rows.nth(0).inner_text()
    assert page.locator("table.rows-and-columns th").all_inner_texts()[:4] == ["Anmeldelse", "Skrevet", "Dage uden svar",
                                                                              "Platform"]
    assert rows.nth(0).locator("td.col-source").inner_text() == "Trustpilot"
    page.screenshot(path=str(ARTIFACTS / "unanswered.png"), full_page=True)
    rows.nth(0).get_by_role("link", name="Åbn").click()  # the review's own page, with suggested replies
    page.wait_for_load_state()
    assert "/-/reviews?review=" in page.url and page.get_by_text("Vand og fugt efter badeværelset").count() >= 1


def test_an_action_refused_says_why_in_danish(server, page):
    page.goto(server + "/demo/mark_complaint_handled")
    assert page.locator("main h1").inner_text() == "Markér en klage som håndteret"
    page.get_by_label("Anmeldelse").fill("trustpilot:findes-ikke")
    page.get_by_role("button", name="Gem").click()
    page.wait_for_load_state()
    assert page.locator(".message-error").inner_text() == "Den klage findes ikke. Intet er gemt."


def test_hostile_review_text_stays_text(server, page):
    page.goto(server + "/demo/reviews?body__contains=klik")
    assert page.get_by_text("<script>window.hacked = 1</script>", exact=False).count() >= 1
    assert page.evaluate("window.hacked") is None
    assert page.locator('a[href^="javascript:"]').count() == 0
    link = page.locator('a[href="https://dk.trustpilot.com/reviews/x"]')
    assert link.get_attribute("rel") == "nofollow noopener"
    assert page.dialogs == []


def test_long_and_right_to_left_text_keeps_the_table_readable(server, page, tmp_path):
    from monitor.db import open_db

    db = open_db(tmp_path / "data" / "demo.db")
    business_id = db.execute("SELECT id FROM businesses").fetchone()[0]
    unbroken = "Vandunderlgulvet" * 6000  # 96,000 characters without a space (the store keeps up to 100,000)
    rtl = "\u202eالسباك لم يأت\u202c ‏\u200b"  # an override, Arabic, zero-width characters
    save_reviews(db, [complaint(business_id, 901, START, unbroken) | {"author": "Langhals"},
                      complaint(business_id, 902, START, "Kort klage") | {"author": rtl}])
    db.close()
    page.goto(server + "/demo/reviews?external_id__in=c901,c902&_col=author&_col=body&_col=rating")
    table = page.locator("table.rows-and-columns")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    long_cell = page.locator(".repmon-long").first
    assert long_cell.bounding_box()["height"] <= 12 * 16 + 1  # 12em box; the text scrolls inside it
    author = table.locator("td.col-author").nth(1)
    assert author.evaluate("cell => getComputedStyle(cell).unicodeBidi") == "plaintext"
    rating = table.locator("td.col-rating").nth(1)
    assert author.bounding_box()["x"] < table.locator("td.col-body").nth(1).bounding_box()["x"] < rating.bounding_box()["x"]
    table.screenshot(path=str(ARTIFACTS / "long_and_rtl_text.png"))
    page.goto(server + "/demo/reviews/trustpilot:c901")
    assert page.locator(".repmon-long").first.bounding_box()["height"] > 1000  # the row's page shows it whole


PAYLOAD = "<img src=x onerror=\"window.hacked=1\"><script>window.hacked=2</script><svg onload=\"window.hacked=3\">"


def inject_everywhere(db_path: Path) -> list[str]:
    """Append a script payload to every text value of every table the explorer shows; the tables changed."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%'")]
    changed = []
    for table in tables:
        for _, column, kind, *_ in conn.execute(f"PRAGMA table_info([{table}])").fetchall():
            conn.execute("SAVEPOINT one")
            try:
                if column in ("id", "status") or column.endswith("_id"):
                    # Keys join tables and states select rows: changed, they would hide rows, not test escaping.
                    raise sqlite3.DatabaseError(f"{table}.{column} left as it is")
                # Dates and JSON stay parseable, so every chart and table still has rows to render.
                cursor = conn.execute(
                    f"UPDATE [{table}] SET [{column}] = [{column}] || ? WHERE typeof([{column}]) = 'text' "
                    f"AND [{column}] NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]*' AND json_valid([{column}]) = 0",
                    [PAYLOAD])
                conn.execute("RELEASE one")
                if cursor.rowcount:
                    changed.append(table)
            except sqlite3.DatabaseError:  # a key, a foreign key or a checked value: left as it is
                conn.execute("ROLLBACK TO one")
                conn.execute("RELEASE one")
    conn.commit()
    conn.close()
    return sorted(set(changed))


def test_no_script_from_any_table_runs_on_any_page(server, page, tmp_path):
    import json

    db_path = tmp_path / "data" / "demo.db"
    changed = inject_everywhere(db_path)
    assert {"reviews", "jobs", "businesses", "patterns", "follow_ups", "sources", "crawl_runs"} <= set(changed)
    with urllib.request.urlopen(server + "/demo.json") as response:
        database = json.load(response)
    paths = ["/", "/demo", "/-/dashboards/repmon"]
    for table in database["tables"]:
        if table["hidden"]:
            continue
        paths.append(f"/demo/{table['name']}")
        with urllib.request.urlopen(f"{server}/demo/{table['name']}.json?_size=1&_shape=objects") as response:
            first = json.load(response)
        if first.get("rows") and first.get("primary_keys"):
            from urllib.parse import quote

            key = ",".join(quote(str(first["rows"][0][pk]), safe="") for pk in first["primary_keys"])
            paths.append(f"/demo/{table['name']}/{key}")
    paths += [f"/demo/{query['name']}" for query in database["queries"] if not query.get("write")]
    assert len(paths) > 40
    for path in paths:
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        if path.startswith("/-/dashboards/"):
            # The charts fetch their rows after load: wait until the patterns table has its rows.
            page.locator("#chart-patterns-table tbody tr").first.wait_for(timeout=20000)
            page.wait_for_timeout(300)
            assert page.evaluate("window.hacked") is None, path
            assert 'onerror="window.hacked=1"' in page.locator("#chart-patterns-table tbody").inner_text()
        assert page.evaluate("window.hacked") is None, path
    assert page.dialogs == []


def test_all_data_is_in_danish_with_the_sql_editor_folded_away_at_the_bottom(server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(server + "/demo")  # served without the configuration: the demo firm's Danish, as the database keeps it
    assert page.locator("main h1").inner_text() == "Alle data"
    assert page.locator("main h2").all_inner_texts() == ["Dine sider", "Færdige opslag", "Handlinger", "Tabeller"]
    assert page.get_by_role("link", name="Ubesvarede klager", exact=True).is_visible()
    assert page.get_by_text("Custom SQL query").count() == 0
    folded = page.locator("details.repmon-sql")
    assert folded.get_attribute("open") is None and not page.locator(".CodeMirror").is_visible()
    assert folded.bounding_box()["y"] > page.locator(".db-table").last.bounding_box()["y"]
    page.screenshot(path=str(ARTIFACTS / "all_data.png"), full_page=True)
    folded.locator("summary").click()
    editor = page.locator(".CodeMirror")
    editor.wait_for(state="visible")
    assert editor.bounding_box()["height"] >= 70  # measured once opened, not while folded away
    page.keyboard.press("Escape")
    page.locator("details.repmon-sql input[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("table.rows-and-columns tbody tr").count() >= 1  # Datasette's own SQL page, as before
