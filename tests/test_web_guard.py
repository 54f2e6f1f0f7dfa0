"""The explorer's guard: proof of origin for every write, sign-in throttling, CSV cells that cannot run."""

from __future__ import annotations

import csv
import io
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from monitor.config import parse_config
from monitor.explorer import build_datasette
from monitor.store import save_reviews
from monitor.web_guard import CsvNeutraliser, LoginThrottle
from tests.test_browser import CHROMIUM, page, server  # noqa: F401  (fixtures)
from tests.test_explorer_queries import explorer, run  # noqa: F401  (fixture)

LOCKED = parse_config({"explorer": {"password_hash_env": "REPMON_TEST_HASH"}})


def handled(db, review_id: str):
    return db.execute("SELECT handled_by FROM reviews WHERE id = ?", [review_id]).fetchone()[0]


@pytest.mark.parametrize("headers", [
    {},  # no Origin, no Referer, no cookie: a script or a stripped request
    {"origin": "http://127.0.0.1:9999"},  # another loopback port
    {"origin": "http://evil.example"},
    {"origin": "null"},  # sandboxed frames and file: pages
    {"referer": "http://127.0.0.1:9999/attack.html"},
    {"origin": "http://localhost:9999", "referer": "http://localhost/monitor/mark_complaint_handled"},
])
def test_writes_without_proof_of_origin_are_refused(explorer, db, headers):
    response = run(explorer.client.post("/monitor/mark_complaint_handled", data={"review_id": "trustpilot:c1"},
                                        headers=headers))
    assert (response.status_code, response.text) == (
        403, "Refused: this change did not come from a page of this explorer. Nothing was saved.")
    assert handled(db, "trustpilot:c1") is None


@pytest.mark.parametrize("headers", [
    {"origin": "http://localhost"},  # Datasette's test client talks to http://localhost
    {"origin": "http://LOCALHOST:80"},
    {"referer": "http://localhost/monitor/mark_complaint_handled"},
])
def test_same_origin_writes_pass(explorer, db, headers):
    response = run(explorer.client.post("/monitor/mark_complaint_handled",
                                        data={"review_id": "trustpilot:c1", "_json": "1"}, headers=headers))
    assert response.json()["message"] == "The complaint is marked as handled."
    assert handled(db, "trustpilot:c1") == "local user"


def test_pages_keep_their_address_from_other_sites_but_not_from_their_own_forms(explorer):
    # Under Datasette's no-referrer a browser posts an action's form with "Origin: null", which is refused above.
    for path in ("/monitor/mark_complaint_handled", "/monitor/reviews", "/-/complaints"):
        response = run(explorer.client.get(path))
        assert response.headers.get_list("referrer-policy") in ([], ["same-origin"]), path
    assert run(explorer.client.get("/monitor/mark_complaint_handled")).headers["referrer-policy"] == "same-origin"


def test_a_forged_cookie_without_its_token_is_refused_by_csrf(explorer, db):
    response = run(explorer.client.post("/monitor/mark_complaint_handled", data={"review_id": "trustpilot:c1"},
                                        cookies={"ds_csrftoken": "forged"}))
    assert response.status_code == 403
    assert "form-urlencoded POST field did not match cookie" in response.text
    assert handled(db, "trustpilot:c1") is None


class AttackSite:
    """A hostile page on another loopback port whose form posts to the explorer as soon as it opens."""

    def __init__(self, target: str):
        page_html = (f'<form id="f" method="post" action="{target}/demo/mark_complaint_handled">'
                     '<input name="review_id" value="{review_id}"></form><script>f.submit()</script>')

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                body = page_html.replace("{review_id}", self.path.split("=", 1)[1]).encode()
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.request_queue_size = 64
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/attack.html"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
@pytest.mark.parametrize("with_cookies", [False, True])
def test_cross_site_form_from_another_loopback_port_changes_nothing(server, page, tmp_path, with_cookies):  # noqa: F811
    import sqlite_utils

    db = sqlite_utils.Database(tmp_path / "data" / "demo.db")
    review_id = db.execute("SELECT review_id FROM unanswered_complaints ORDER BY published_at LIMIT 1").fetchone()[0]
    if with_cookies:  # the owner had the explorer open: its ds_csrftoken cookie goes along (same site)
        page.goto(server + "/demo/mark_complaint_handled")
        assert any(cookie["name"] == "ds_csrftoken" for cookie in page.context.cookies())
    attack = AttackSite(server)
    try:
        with page.expect_response(lambda response: response.request.method == "POST") as posted:
            page.goto(f"{attack.url}?review_id={review_id}")
        assert posted.value.status == 403
    finally:
        attack.close()
    assert handled(db, review_id) is None


def test_failed_sign_ins_slow_down_per_client_and_account(db, db_path, monkeypatch, caplog):
    from datasette_auth_passwords.utils import hash_password

    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    datasette = build_datasette(db_path, LOCKED)
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    from monitor import datasette_plugin

    datasette_plugin._THROTTLES[datasette] = throttle
    app = datasette.app()

    async def sign_in(password: str, client: str = "127.0.0.1", username: str = "owner") -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(client, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            form = await http.get("/-/login")
            token = form.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
            return await http.post("/-/login", data={"username": username, "password": password, "csrftoken": token},
                                   headers={"origin": "http://127.0.0.1"})

    with caplog.at_level(logging.WARNING, logger="repmon.explorer"):
        wrong = [run(sign_in(f"gæt{i}")) for i in range(5)]
    assert [response.status_code for response in wrong] == [200] * 5
    assert all("Wrong username or password." in response.text for response in wrong)
    assert caplog.messages[-1] == "failed sign-in for account 'owner' from 127.0.0.1 (5 in a row)"
    assert not any("gæt" in message for message in caplog.messages)  # the password is never logged

    blocked = run(sign_in("hemmelig"))  # even the right password waits
    assert (blocked.status_code, blocked.headers["retry-after"]) == (429, "1")
    assert blocked.text == "Too many failed sign-ins: try again in 1 s."
    other_client = run(sign_in("hemmelig", client="10.0.0.7"))  # the account is throttled from anywhere
    assert other_client.status_code == 429
    other_account = run(sign_in("x", client="10.0.0.7", username="someone"))  # ...and that client is not
    assert other_account.status_code == 200

    now[0] += 1.1
    assert run(sign_in("gæt6")).status_code == 200  # the sixth failure: the next wait doubles
    assert run(sign_in("hemmelig")).headers["retry-after"] == "2"
    now[0] += 2.1
    signed_in = run(sign_in("hemmelig"))
    assert signed_in.status_code == 302
    assert run(sign_in("gæt7")).status_code == 200  # the count started again after the right password


def test_throttle_delay_grows_exponentially_and_is_capped():
    now = [0.0]
    throttle = LoginThrottle(free=5, base_seconds=1, cap_seconds=60, clock=lambda: now[0])
    waits = []
    for _ in range(12):
        throttle.failed(["account:owner"])
        waits.append(throttle.wait_seconds(["account:owner"]))
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]


def neutralised(text: str, chunk: int) -> str:
    neutraliser = CsvNeutraliser()
    data = text.encode()
    out = b"".join(neutraliser.feed(data[i:i + chunk]) for i in range(0, len(data), chunk)) + neutraliser.feed(b"", True)
    return out.decode()


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_csv_cells_that_start_like_a_formula_are_neutralised(chunk):
    rows = [["id", "body", "rating"],
            ["a", '=HYPERLINK("http://evil.example","Klik")', "-2"],
            ["b", "+45 12 34 56 78", "+3"],
            ["c", "-cmd|' /C calc'!A0", "4.5"],
            ["d", "@SUM(A1:A9)", ""],
            ["e", "\tindrykket", "1"],
            ["f", "\rlinje", "2"],
            ["g", 'Helt fint, "tak"\nanden linje', "-0.5"]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    result = list(csv.reader(io.StringIO(neutralised(buffer.getvalue(), chunk), newline="")))
    assert result == [["id", "body", "rating"],
                      ["a", "'=HYPERLINK(\"http://evil.example\",\"Klik\")", "-2"],
                      ["b", "'+45 12 34 56 78", "+3"],
                      ["c", "'-cmd|' /C calc'!A0", "4.5"],
                      ["d", "'@SUM(A1:A9)", ""],
                      ["e", "'\tindrykket", "1"],
                      ["f", "'\rlinje", "2"],
                      ["g", 'Helt fint, "tak"\nanden linje', "-0.5"]]


def test_csv_export_from_the_explorer_is_neutralised(explorer, db):
    business_id = db.execute("SELECT id FROM businesses").fetchone()[0]
    save_reviews(db, [{"external_id": "formula", "business_id": business_id, "source": "trustpilot",
                       "author": "@Mallory", "rating": 1, "body": '=HYPERLINK("http://evil.example","Klik")',
                       "published_at": "2026-11-01T10:00:00+00:00"}])
    for path in ("/monitor/reviews.csv?external_id=formula&_col=author&_col=body",
                 "/monitor/reviews.csv?external_id=formula&_col=author&_col=body&_stream=on"):
        response = run(explorer.client.get(path))
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[-1][1:] == ["'@Mallory", "'=HYPERLINK(\"http://evil.example\",\"Klik\")"], path


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_dashboard_tables_show_markup_from_exports_as_text(server, page, tmp_path):  # noqa: F811
    import sqlite_utils

    payload = "<img src=x onerror=\"window.hacked=1;alert('jobtype')\">"
    db = sqlite_utils.Database(tmp_path / "data" / "demo.db")
    with db.conn:
        db.execute("UPDATE patterns SET dimension_value = ? WHERE status IN ('emerging', 'ongoing')", [payload])
    page.goto(server + "/-/dashboards/repmon")
    table = page.locator("#chart-patterns-table table")
    table.wait_for(timeout=20000)
    page.wait_for_timeout(300)
    assert payload in table.inner_text()
    assert table.locator("img").count() == 0
    assert page.evaluate("window.hacked") is None
    assert page.dialogs == []


def test_the_guards_answer_in_the_business_language_or_the_viewers_choice(explorer, db, db_path):
    datasette = build_datasette(db_path, parse_config({"business": [{"name": "Hansen VVS ApS", "languages": ["da"]}]}))
    refused = run(datasette.client.post("/monitor/mark_complaint_handled", data={"review_id": "trustpilot:c1"}))
    assert (refused.status_code, refused.text) == (403, "Afvist: ændringen kom ikke fra en side i denne oversigt. Intet er gemt.")
    chosen = run(datasette.client.post("/monitor/mark_complaint_handled", data={"review_id": "trustpilot:c1"},
                                       cookies={"repmon_lang": "de"}))
    assert chosen.text == "Abgelehnt: Die Änderung kam nicht von einer Seite dieser Übersicht. Nichts wurde gespeichert."
    unknown = run(datasette.client.get("/", headers={"host": "evil.example"}))
    assert (unknown.status_code, unknown.text) == (400, "Ukendt værtsnavn: repmon svarer kun på de navne, den selv bruger.")
    garbled = run(datasette.client.get("/", headers={"host": "evil.example", "cookie": "repmon_lang=xx; \x00bad"}))
    assert garbled.text == "Ukendt værtsnavn: repmon svarer kun på de navne, den selv bruger."
    assert handled(db, "trustpilot:c1") is None


def test_signing_in_goes_back_to_the_page_asked_for_and_never_off_the_site(db, db_path, monkeypatch):
    from datasette_auth_passwords.utils import hash_password

    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    app = build_datasette(db_path, LOCKED).app()

    async def sign_in_from(path: str, next_value: str | None = None) -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            asked = await http.get(path)
            form = await http.get(asked.headers["location"])
            token = form.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
            data = {"username": "owner", "password": "hemmelig", "csrftoken": token}
            found = form.text.split('name="next" value="', 1)
            if next_value is not None:
                data["next"] = next_value
            elif len(found) == 2:
                data["next"] = found[1].split('"', 1)[0].replace("&amp;", "&")
            return asked, await http.post("/-/login", data=data, headers={"origin": "http://127.0.0.1"})

    asked, signed_in = run(sign_in_from("/-/calls?business=x&lang=da"))
    assert asked.headers["location"] == "/-/login?next=%2F-%2Fcalls%3Fbusiness%3Dx%26lang%3Dda"
    assert (signed_in.status_code, signed_in.headers["location"]) == (302, "/-/calls?business=x&lang=da")
    assert "ds_actor" in signed_in.cookies
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/-/calls\r\nSet-Cookie: x=1"):
        _, elsewhere = run(sign_in_from("/", hostile))
        assert (elsewhere.status_code, elsewhere.headers["location"]) == (302, "/"), hostile
