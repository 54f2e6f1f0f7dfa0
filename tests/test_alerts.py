"""Alerts delivered for real to local receivers, the weekly run, and its schedule."""

from __future__ import annotations

import fcntl
import json
import socket
import threading
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlite_utils
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from monitor.alerts import LANGUAGES, Texts, run_alerts
from monitor.cli import EXIT_LOCKED, cli
from monitor.config import ConfigError, parse_config
from monitor.db import DatabaseBusy, database_lock, lock_path
from monitor.store import save_reviews
from tests.test_findings import START, analyse, complaint, seed_jobs

TODAY = START + timedelta(days=140)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Webhook:
    """A JSON webhook receiver on 127.0.0.1 that answers with the statuses it is given, then 200."""

    def __init__(self, statuses: list[int] | None = None):
        self.received: list[dict] = []
        self.statuses = list(statuses or [])
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length))
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == 200:
                    hook.received.append(payload)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self):
        self.messages: list[bytes] = []
        self.logins: list[tuple[bytes, bytes]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), authenticator=mailbox.authenticate,
                            auth_require_tls=False)
    controller.start()
    yield controller, mailbox
    controller.stop()


def config_with(*channels: dict, language: str = "da"):
    return parse_config({"business": [{"name": "Hansen VVS ApS", "languages": [language, "en"],
                                       "channel": list(channels)}]})


@pytest.fixture
def findings(db, business_id):
    """An emerging leak pattern (Mads, bathroom jobs) whose complaints are all unanswered."""
    seed_jobs(db, business_id)
    save_reviews(db, [complaint(business_id, n, START + timedelta(days=120 + 10 * n), job=job)
                      for n, job in enumerate((241, 261, 281))])
    analyse(db, TODAY)
    return db


def titles(hook: Webhook) -> list[str]:
    return sorted(message["title"] for message in hook.received)


def test_pattern_unanswered_and_digest_reach_the_webhook_once(findings, webhook):
    config = config_with({"url": webhook.url})
    first = run_alerts(findings, config, TODAY)
    assert (first.raised, first.sent, first.failed) == (5, 5, 0)
    # the leak at the business, at Mads and in bathroom jobs is one problem: one message saying where it concentrates
    assert findings.execute("SELECT COUNT(*) FROM patterns WHERE status = 'emerging'").fetchone()[0] == 3
    assert titles(webhook) == [
        "Nyt mønster: Vandskade og fugt, montør Mads, opgavetype Badeværelse",
        "Ubesvaret klage fra Kunde 241",
        "Ubesvaret klage fra Kunde 261",
        "Ubesvaret klage fra Kunde 281",
        "Ugeoversigt, uge 21 2025",
    ]
    pattern = next(m for m in webhook.received if m["title"].startswith("Nyt mønster"))
    assert pattern["message"].startswith("3 klager på 90 dage om »Vandskade og fugt«, montør Mads, opgavetype Badeværelse "
                                         "(forventet 0,")
    assert "»Vand under gulvet efter arbejdet.« (Kunde 281, 21. maj 2025, J281, Mads)" in pattern["message"]
    assert pattern["message"].count("\n- ") == 3  # each complaint quoted once, though it is in all three patterns
    second = run_alerts(findings, config, TODAY)
    assert (second.raised, second.sent) == (0, 0)
    assert len(webhook.received) == 5


def test_failed_delivery_is_retried_on_the_next_run(findings, monkeypatch):
    hook = Webhook(statuses=[500] * 4)
    try:
        config = config_with({"url": hook.url, "min_severity": "warning"})
        first = run_alerts(findings, config, TODAY)
        assert (first.sent, first.failed) == (0, 4)  # the digest is info: below this channel's minimum
        rows = findings.execute("SELECT status, attempts, last_error FROM alerts").fetchall()
        assert {(status, attempts) for status, attempts, _ in rows} == {("failed", 1)}
        assert "500" in rows[0][2]
        second = run_alerts(findings, config, TODAY)
        assert (second.raised, second.sent, second.failed) == (0, 4, 0)
        assert findings.execute("SELECT DISTINCT status, attempts FROM alerts").fetchall() == [("sent", 2)]
    finally:
        hook.close()


def test_connection_refused_is_recorded_not_fatal(findings):
    config = config_with({"url": f"json://127.0.0.1:{free_port()}/hook"})
    summary = run_alerts(findings, config, TODAY)
    assert (summary.sent, summary.failed) == (0, 5)


def test_email_through_local_smtp_keeps_the_password_secret(findings, smtp, monkeypatch):
    controller, mailbox = smtp
    monkeypatch.setenv("REPMON_SMTP_PASSWORD", "hemmeligt-kodeord")
    url = (f"mailto://repmon:${{REPMON_SMTP_PASSWORD}}@127.0.0.1:{controller.port}"
           "?from=repmon@hansen-vvs.dk&to=ejer@hansen-vvs.dk&mode=insecure")
    config = config_with({"url": url, "name": "ejer-mail", "min_severity": "warning"})
    summary = run_alerts(findings, config, TODAY)
    assert summary.sent == 4
    assert len(mailbox.messages) == 4
    assert mailbox.logins[0] == (b"repmon", b"hemmeligt-kodeord")  # the password came from the environment
    dump = "\n".join(str(row) for row in findings.execute("SELECT * FROM alerts").fetchall())
    assert "hemmeligt-kodeord" not in dump
    assert findings.execute("SELECT DISTINCT channel FROM alerts").fetchall() == [("ejer-mail",)]


def test_dry_run_records_nothing(findings, webhook):
    printed = []
    summary = run_alerts(findings, config_with({"url": webhook.url}), TODAY, dry_run=True, echo=printed.append)
    assert summary.pending == 5
    assert printed[0].startswith("[")
    assert webhook.received == []
    assert findings.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0


def test_pattern_growth_is_its_own_alert(findings, business_id, webhook):
    config = config_with({"url": webhook.url, "min_severity": "warning"})
    run_alerts(findings, config, TODAY)
    save_reviews(findings, [complaint(business_id, 9, TODAY + timedelta(days=3), job=285)])  # Mads, bathroom, day 142
    analyse(findings, TODAY + timedelta(days=3))
    run_alerts(findings, config, TODAY + timedelta(days=3))
    grew = [m["title"] for m in webhook.received if m["title"].startswith("Mønsteret vokser")]
    assert grew == ["Mønsteret vokser: Vandskade og fugt, montør Mads, opgavetype Badeværelse"]


def test_channel_url_errors_at_load_time(monkeypatch):
    with pytest.raises(ConfigError, match=r"business\[0\]\.channel\[0\]\.url: apprise cannot use this nonsense:// URL"):
        config_with({"url": "nonsense://x"})
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"environment variable NO_SUCH_SECRET is not set"):
        config_with({"url": "json://127.0.0.1/${NO_SUCH_SECRET}"})


KINDS_VALUES = {
    "pattern_emerged": dict(theme="T", theme_lower="t", where="", count=3, window=90, expected="0.2", first="a", last="b", after=""),
    "pattern_grew": dict(theme="T", theme_lower="t", where="", count=4, window=90, expected="0.2", first="a", last="b", after=""),
    "non_customer_burst": dict(count=4, window=14),
    "unanswered": dict(author="A", when="i dag", source="trustpilot", rating="1/5", quote="q", job=""),
    "follow_up_overdue": dict(customer="C", job_type="Bad", job_id="J1", due="2026-01-01", reason=""),
    "crawl_degraded": dict(source="trustpilot", status="degraded", url="u", message="m"),
    "digest": dict(week="2026-W01", reviews=1, average="4.0", complaints=0, themes="", unanswered=0, patterns=0, follow_ups=0),
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(KINDS_VALUES))
def test_every_message_kind_in_every_language(kind, lang):
    title, body = Texts(lang).render(kind, **KINDS_VALUES[kind])
    english = Texts("en").render(kind, **KINDS_VALUES[kind])
    assert title and body
    if lang != "en":
        assert (title, body) != english
    assert Texts(lang).theme("leak") == {"da": "Vandskade og fugt", "nb": "Vannskade og fukt", "sv": "Vattenskada och fukt",
                                         "de": "Wasserschaden und Feuchtigkeit", "en": "Water leak and moisture"}[lang]


@pytest.mark.parametrize("lang, expected", [
    ("da", ["i dag", "i dag", "i går", "for 2 dage siden", "for 30 dage siden"]),
    ("de", ["heute", "heute", "gestern", "vor 2 Tagen", "vor 30 Tagen"]),
    ("en", ["today", "today", "yesterday", "2 days ago", "30 days ago"]),
])
def test_complaint_age_is_told_in_days(lang, expected):
    from monitor.alerts import _when

    assert [_when(Texts(lang), hours) for hours in (None, 23, 47, 48, 30 * 24 + 5)] == expected


def write_config(tmp_path: Path, channel_url: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[[business]]\nname = "Hansen VVS ApS"\n\n  [[business.channel]]\n  url = "{channel_url}"\n')
    return path


def test_run_does_everything_and_logs(findings, db_path, tmp_path, webhook):
    config = write_config(tmp_path, webhook.url)
    result = CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(config), "run", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("repmon run: 0 sources, 0 pages, 0 new and 0 updated reviews, 0 new complaints, "
                           "1 emerging and 0 ongoing patterns, 7 alerts sent, ")  # 5 as above + 2 overdue urgent follow-ups
    assert line in db_path.with_suffix(".log").read_text()
    again = CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(config), "run", "--today", TODAY.isoformat()])
    assert "0 alerts sent" in again.output


@pytest.mark.parametrize("command", ["run", "alert", "analyze", "match", "crawl"])
def test_a_second_command_waits_for_the_first(db, db_path, tmp_path, command):
    with open(lock_path(db_path), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(write_config(tmp_path, "json://127.0.0.1/x")), command])
    assert result.exit_code == EXIT_LOCKED
    assert result.output == (f"Error: another repmon command is using {db_path} (lock {db_path}.lock); try again later\n")


def test_every_path_to_the_database_finds_the_same_lock(db, db_path, tmp_path):
    link = tmp_path / "elsewhere" / "link.db"
    link.parent.mkdir()
    link.symlink_to(db_path)
    spellings = [link, tmp_path / "elsewhere" / ".." / db_path.name]
    assert {lock_path(path) for path in spellings} == {lock_path(db_path)} == {db_path.with_name(db_path.name + ".lock")}
    with database_lock(db_path):
        for path in spellings:
            with pytest.raises(DatabaseBusy):
                with database_lock(path):
                    pass


def test_a_database_named_like_a_lock_is_never_truncated(tmp_path):
    config = write_config(tmp_path, "json://127.0.0.1/x")
    db_path = tmp_path / "monitor.lock"
    assert CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(config), "init"]).exit_code == 0
    size = db_path.stat().st_size
    result = CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(config), "analyze"])
    assert result.exit_code == 0, result.output
    assert db_path.stat().st_size >= size
    assert sqlite_utils.Database(db_path).table("businesses").count == 1
    assert (tmp_path / "monitor.lock.lock").read_text() == f"repmon lock of {db_path}\n"


def test_run_exits_non_zero_when_alerts_fail(findings, db_path, tmp_path):
    config = write_config(tmp_path, f"json://127.0.0.1:{free_port()}/hook")
    result = CliRunner().invoke(cli, ["--db", str(db_path), "--config", str(config), "run", "--today", TODAY.isoformat()])
    assert result.exit_code == 1
    assert "stage alert failed: 7 deliveries failed; they are retried on the next run" in result.output


def test_degraded_crawl_alerts_once_per_streak(db, business_id, webhook):
    from monitor.store import ensure_source, record_crawl_run

    source = ensure_source(db, business_id, "trustpilot", "https://dk.trustpilot.com/review/hansen-vvs.dk", "Trustpilot")
    run = {"source_id": source, "business_id": business_id, "url": "https://dk.trustpilot.com/review/hansen-vvs.dk",
           "started_at": "2026-11-16T06:00:00Z", "finished_at": "2026-11-16T06:01:00Z", "pages": 1, "reviews_seen": 0,
           "new": 0, "updated": 0, "removed": 0, "errors": 0, "status": "degraded",
           "message": "no reviews found where the previous crawl found 20: the page may have changed its format"}
    record_crawl_run(db, run, None, None)
    config = config_with({"url": webhook.url, "min_severity": "warning"})
    run_alerts(db, config, date(2026, 11, 16))
    record_crawl_run(db, run | {"started_at": "2026-11-23T06:00:00Z"}, None, None)  # still degraded a week later
    run_alerts(db, config, date(2026, 11, 23))
    assert [(m["title"], m["message"]) for m in webhook.received] == [(
        "Anmeldelser fra Trustpilot blev hentet med problemer",
        "Seneste forsøg på https://dk.trustpilot.com/review/hansen-vvs.dk: no reviews found where the previous "
        "crawl found 20: the page may have changed its format",
    )]


@pytest.mark.parametrize("lang, expected", [
    ("de", "4 Beschwerden in 90 Tagen zum Thema „Wasserschaden und Feuchtigkeit“, Monteur Kasper (erwartet 0,25). "
           "Erste am 19.10.2026, letzte am 24.11.2026. Die Kunden entdecken den Mangel nach Abschluss des Auftrags "
           "(meist nach 69 Tagen)."),
    ("da", "4 klager på 90 dage om »Vandskade og fugt«, montør Kasper (forventet 0,25). Første 19. okt. 2026, "
           "seneste 24. nov. 2026. Kunderne opdager fejlen, efter at opgaven er afsluttet (typisk efter 69 dage)."),
    ("en", "4 complaints in 90 days about “Water leak and moisture”, crew Kasper (expected 0.25). First 19 Oct 2026, "
           "latest 24 Nov 2026. Customers discover the defect after the job is finished (typically after 69 days)."),
])
def test_a_pattern_alert_names_the_theme_as_written_with_the_language_s_numbers_dates_and_quotes(lang, expected):
    from monitor.alerts import _pattern_values

    pattern = {"dimension": "crew", "dimension_value": "Kasper", "after_completion": 1, "median_days_after_completion": 69.4,
               "theme": "leak", "evidence_count": 4, "window_days": 90, "baseline_rate": 0.25,
               "first_evidence_at": "2026-10-19T08:00:00Z", "last_evidence_at": "2026-11-24T17:30:00Z"}
    texts = Texts(lang)
    assert texts.render("pattern_emerged", **_pattern_values(pattern, texts))[1] == expected
    week = {"de": "KW 49/2026", "da": "uge 49 2026", "en": "week 49, 2026"}[lang]
    assert texts.fragment("week", week=49, year=2026) == week
