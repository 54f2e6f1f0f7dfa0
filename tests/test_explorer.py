import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from datasette_auth_passwords.utils import hash_password

from monitor.config import Config, parse_config
from monitor.db import open_db
from monitor.explorer import DEFAULT_METADATA, ExplorerRefused, build_datasette, check_host, is_loopback, split_metadata
from monitor.store import save_reviews

LOCKED = parse_config({"explorer": {"password_hash_env": "REPMON_TEST_HASH"}})


def run(coro):
    import asyncio

    return asyncio.run(coro)


def test_home_page_is_this_week_and_the_raw_data_is_a_click_away(db, db_path):
    datasette = build_datasette(db_path, Config())
    response = run(datasette.client.get("/"))
    assert response.status_code == 200
    assert "<h1>This week</h1>" in response.text
    assert f'<a href="/{db_path.stem}">All data</a>' in response.text
    database = run(datasette.client.get(f"/{db_path.stem}"))
    assert database.status_code == 200 and "Reviews, jobs and findings gathered by repmon." in database.text


def test_table_page_has_description_and_no_internal_tables(db, db_path, review):
    save_reviews(db, [review])
    datasette = build_datasette(db_path, Config())
    page = run(datasette.client.get("/monitor/reviews"))
    assert "Reviews and mentions, one row per review on its platform." in page.text
    tables = run(datasette.client.get("/monitor.json")).json()["tables"]
    hidden = {t["name"] for t in tables if t["hidden"]}
    assert "_migrations" in hidden and "reviews_fts" in hidden
    rows = run(datasette.client.get("/monitor/reviews.json?_shape=array&_col=title")).json()
    assert rows == [{"id": "trustpilot:64f1c0a2b3", "title": "Utæt afløb"}]


def test_descriptions_are_served_apart_from_permission_rules(db, db_path):
    metadata = {"title": "t", "allow": {"id": "owner"}, "databases": {"monitor": {"tables": {"jobs": {"description": "d"}}}},
                "plugins": {"datasette-dashboards": {}}}
    kept, described = split_metadata(metadata)
    assert kept == {"title": "t", "allow": {"id": "owner"}}
    assert described == {"databases": {"monitor": {"tables": {"jobs": {"description": "d"}}}}, "plugins": {"datasette-dashboards": {}}}
    # A rule on a table, a database or a query must stay where every permission check reads it.
    for rule in ({"tables": {"jobs": {"allow": False}}}, {"allow_sql": False}, {"queries": {"q": {"sql": "", "allow": {}}}}):
        guarded = metadata | {"databases": {"monitor": rule}}
        assert split_metadata(guarded) == (guarded, None)
    datasette = build_datasette(db_path, Config())
    assert datasette.table_metadata("monitor", "jobs")["description"] == "Completed jobs from your own job/invoice export."
    assert datasette.plugin_config("datasette-dashboards")["repmon"]["title"]
    # Another Datasette in the same Python gets nothing from repmon's plugin.
    from datasette.app import Datasette

    assert Datasette([str(db_path)]).metadata("databases") is None


def test_metadata_follows_the_database_file_name(tmp_path):
    from monitor.db import open_db

    path = tmp_path / "demo.db"
    open_db(path).close()
    datasette = build_datasette(path, Config())
    page = run(datasette.client.get("/demo/jobs"))
    assert "Completed jobs from your own job/invoice export." in page.text


def test_full_text_search_through_datasette(db, db_path, review):
    save_reviews(db, [review])
    datasette = build_datasette(db_path, Config())
    rows = run(datasette.client.get("/monitor/reviews.json?_search=gulvet&_shape=array&_col=author")).json()
    assert rows == [{"id": "trustpilot:64f1c0a2b3", "author": "Jens Hansen"}]


@pytest.mark.parametrize(
    "host,loopback",
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.20", False), ("::", False), ("example.dk", False)],
)
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback


def test_other_hosts_refused_without_password(monkeypatch):
    monkeypatch.delenv("REPMON_TEST_HASH", raising=False)
    with pytest.raises(ExplorerRefused, match="refusing to serve on 0.0.0.0"):
        check_host("0.0.0.0", Config())
    with pytest.raises(ExplorerRefused):
        check_host("0.0.0.0", LOCKED)  # configured, but the variable is empty
    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    check_host("0.0.0.0", LOCKED)


def test_the_sign_in_page_speaks_the_business_language(db, db_path, monkeypatch):
    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    config = parse_config({"explorer": {"password_hash_env": "REPMON_TEST_HASH"},
                           "business": [{"name": "Hansen VVS ApS", "languages": ["da"]}]})
    datasette = build_datasette(db_path, config)
    login = run(datasette.client.get("/-/login"))
    assert "<h1>Log ind</h1>" in login.text and ">Brugernavn</label>" in login.text and ">Adgangskode</label>" in login.text
    assert "Username" not in login.text and "Log in" not in login.text.replace("Log ind", "")
    token = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1)
    wrong = run(datasette.client.post("/-/login", data={"username": "owner", "password": "gæt", "csrftoken": token},
                                      cookies={"ds_csrftoken": login.cookies["ds_csrftoken"]}))
    assert "Forkert brugernavn eller adgangskode." in wrong.text
    assert "<h1>Anmelden</h1>" in run(datasette.client.get("/-/login", cookies={"repmon_lang": "de"})).text


def test_password_locks_out_anonymous_and_lets_owner_in(db, db_path, monkeypatch):
    monkeypatch.setenv("REPMON_TEST_HASH", hash_password("hemmelig"))
    datasette = build_datasette(db_path, LOCKED)
    home = run(datasette.client.get("/"))
    assert (home.status_code, home.headers["location"]) == (302, "/-/login?next=%2F")  # the owner is asked to sign in
    assert run(datasette.client.get("/monitor/reviews.json")).status_code == 403

    login = run(datasette.client.get("/-/login"))
    token = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1)
    cookies = {"ds_csrftoken": login.cookies["ds_csrftoken"]}
    wrong = run(datasette.client.post(
        "/-/login", data={"username": "owner", "password": "gæt", "csrftoken": token}, cookies=cookies,
    ))
    assert "Wrong username or password." in wrong.text and "Invalid" not in wrong.text
    signed_in = run(datasette.client.post(
        "/-/login", data={"username": "owner", "password": "hemmelig", "csrftoken": token}, cookies=cookies,
    ))
    assert signed_in.status_code == 302
    owner = {"ds_actor": signed_in.cookies["ds_actor"]}
    assert run(datasette.client.get("/monitor/reviews.json", cookies=owner)).status_code == 200
    week = run(datasette.client.get("/", cookies=owner))
    assert week.status_code == 200 and "Signed in as owner" in week.text and ">Sign out</button>" in week.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_repmon_serve_answers_on_loopback(tmp_path: Path):
    port = free_port()
    db_path = tmp_path / "served.db"
    open_db(db_path).close()
    server = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--db", str(db_path), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("REPMON_")},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(server.communicate(timeout=5)[0].decode()[-2000:])
                time.sleep(0.2)
        assert "<h1>This week</h1>" in page
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_metadata_ships_inside_the_package():
    # A wheel carries only the package: the explorer must find metadata.yml there, not beside pyproject.toml.
    import monitor

    package = Path(monitor.__file__).parent
    assert DEFAULT_METADATA == package / "metadata.yml"
    assert DEFAULT_METADATA.read_bytes() == (package.parent / "metadata.yml").read_bytes()


@pytest.mark.parametrize("host,status", [
    ("127.0.0.1:8001", 200), ("localhost", 200), ("LOCALHOST:80", 200), ("[::1]:8001", 200),
    ("repmon.hansen-vvs.dk", 200),  # the configured public URL
    ("evil.example", 400), ("evil.example:8001", 400), ("127.0.0.1.evil.example", 400), ("", 400),
])
def test_only_the_served_host_names_are_answered(db, db_path, host, status):
    # DNS rebinding: a hostile page rebinds its own name to 127.0.0.1; its requests carry that name as Host.
    config = parse_config({"explorer": {"public_url": "https://repmon.hansen-vvs.dk"}})
    response = asyncio.run(build_datasette(db_path, config).client.get("/monitor/reviews", headers={"host": host}))
    assert response.status_code == status
    if status == 400:
        assert response.text == "Unknown host name: repmon answers only the names it serves."
        assert "Hansen" not in response.text
