"""Hostile review text in every channel format: no mentions, no disguised links, no markup, always deliverable."""

from __future__ import annotations

import email
import datetime
import json
import ssl
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.alert_text import neutralise, safe_link
from monitor.alerts import run_alerts
from monitor.store import ensure_source, save_reviews
from tests.test_alerts import config_with, smtp  # noqa: F401 - smtp is a fixture

Z = "\u200b"
AUTHOR = "<!channel> @everyone"
BODY = ("<!here> <https://evil.example/login|Klik her> [Klik](https://evil.example) "
        "<script>alert(1)</script> <svg onload=alert(1)>")
SAFE_AUTHOR = f"<!{Z}channel> @{Z}everyone"
SAFE_BODY = (f"<!{Z}here> <hxxps://evil[.]example/login|Klik her> [Klik](hxxps://evil[.]example) "
             "<script>alert(1)</script> <svg onload=alert(1)>")
SAFE_QUOTE = SAFE_BODY  # under the 160 characters kept of a quote
SOURCE_URL = "https://dk.trustpilot.com/review/hansen-vvs.dk"


# --- neutralise, one hostile form at a time ---------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("<!channel> <!here> <!everyone>", f"<!{Z}channel> <!{Z}here> <!{Z}everyone>"),
    ("@everyone @here @channel @all", f"@{Z}everyone @{Z}here @{Z}channel @{Z}all"),
    ("<@123456789> <@&42> <#C024BE91L>", f"<@{Z}123456789> <@{Z}&42> <#{Z}C024BE91L>"),
    ("<at>Alle</at> <AT>Jens</AT> <attention>", f"<at{Z}>Alle</at> <AT{Z}>Jens</AT> <attention>"),
    ("jens@hansen.dk", "jens@hansen[.]dk"),  # an address, not a mention, but no auto-linked domain either
    ("<https://evil.example/login|Klik her>", "<hxxps://evil[.]example/login|Klik her>"),
    ("[Klik](https://evil.example)", "[Klik](hxxps://evil[.]example)"),
    ("see http://a.b.example/x and ftp://files.example", "see hxxp://a[.]b[.]example/x and fxp://files[.]example"),
    ("www.x.com or evil.example or Evil.COM", "www[.]x[.]com or evil[.]example or Evil[.]COM"),
    ("2.5 m, kl. 10.30, arbejdet.Vand", "2.5 m, kl. 10.30, arbejdet.Vand"),  # not domains
    ("safe\u202etxt.exe \u2066x\u2069", "safetxt.exe x"),
    ("zero\u200bwidth\u200c\u200d\ufeff join\u2060ed", "zerowidth joined"),
    ("bell\x07 null\x00 esc\x1b[31m del\x7f", "bell null esc[31m del"),
    ("line\nbreak\r\n\ttab   spaces", "line break tab spaces"),
    ("Vand under gulvet efter arbejdet.", "Vand under gulvet efter arbejdet."),
])
def test_neutralise_each_hostile_form(text, expected):
    assert neutralise(text, 200) == expected


def test_neutralise_truncates_with_an_ellipsis():
    assert neutralise("x" * 5000, 80) == "x" * 79 + "…"
    assert len(neutralise("Kunde " * 100, 80)) == 80
    assert neutralise("kort", 80) == "kort"
    assert neutralise("https://evil.example", 10) == "hxxps://e…"  # defanged first, then cut
    assert neutralise(None, 10) == ""


def test_safe_link_only_to_the_allowed_host():
    good = "https://dk.trustpilot.com/reviews/64f1c0a2b3"
    assert safe_link(good, "dk.trustpilot.com") == good
    assert safe_link("https://evil.example/reviews/1", "dk.trustpilot.com") is None
    assert safe_link("https://dk.trustpilot.com@evil.example/", "dk.trustpilot.com") is None
    assert safe_link("https://user@dk.trustpilot.com/", "dk.trustpilot.com") is None
    assert safe_link("javascript:alert(1)//dk.trustpilot.com", "dk.trustpilot.com") is None
    assert safe_link("https://dk.trustpilot.com/x|Klik", "dk.trustpilot.com") is None
    assert safe_link(good, None) is None


# --- delivery to real receivers, one per channel format ----------------------------------------------

class Receiver:
    """Any HTTP POST on 127.0.0.1: keeps path and JSON body, answers `status` with `reply`.

    With a `tls` context it speaks HTTPS, for services whose apprise plugin only posts to https:// URLs."""

    def __init__(self, status: int = 200, reply: bytes = b"", tls: ssl.SSLContext | None = None):
        self.received: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver(reply=b"ok")
    yield server
    server.close()


def hostile(db, business_id, author=AUTHOR, url="https://dk.trustpilot.com/reviews/h1", external_id="h1"):
    """An unanswered one-star complaint with hostile text, crawled from Trustpilot."""
    source = ensure_source(db, business_id, "trustpilot", SOURCE_URL, "Trustpilot")
    save_reviews(db, [{"business_id": business_id, "source": "trustpilot", "external_id": external_id, "rating": 1,
                       "author": author, "body": BODY, "url": url, "published_at": "2026-01-05T12:00:00Z"}])
    db.execute("UPDATE reviews SET complaint = 1, source_id = ? WHERE external_id = ?", [source, external_id])
    db.conn.commit()
    return db


def unanswered_only(db, url):
    return run_alerts(db, config_with({"url": url, "min_severity": "warning"}), None)


def test_json_webhook(db, business_id, receiver):
    summary = unanswered_only(hostile(db, business_id), f"json://127.0.0.1:{receiver.port}/hook")
    assert (summary.sent, summary.failed) == (1, 0)
    [(path, payload)] = receiver.received
    assert path == "/hook"
    assert payload["title"] == f"Ubesvaret klage fra {SAFE_AUTHOR}"
    days = (datetime.datetime.now(datetime.timezone.utc)
            - datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.timezone.utc)).days
    assert payload["message"].startswith(f"{SAFE_AUTHOR} skrev for {days} dage siden ")
    assert f"på Trustpilot (1/5): »{SAFE_QUOTE}«. Svar hurtigt og sagligt.\nhttps://dk.trustpilot.com/reviews/h1" \
        in payload["message"]
    assert "@everyone" not in json.dumps(payload, ensure_ascii=False)


def test_mattermost(db, business_id, receiver):
    summary = unanswered_only(hostile(db, business_id), f"mmost://127.0.0.1:{receiver.port}/sekrettoken")
    assert summary.sent == 1
    [(path, payload)] = receiver.received
    assert path == "/hooks/sekrettoken"
    text = payload["text"]
    assert "<!channel>" not in text and "<!here>" not in text and "@everyone" not in text
    assert "<https://" not in text and "](https://" not in text and "evil.example" not in text
    assert f"Ubesvaret klage fra {SAFE_AUTHOR}" in text.replace("&lt;", "<").replace("&gt;", ">")


def delivered(db, business_id, receiver, monkeypatch, plugin, attribute: str, endpoint: str, url: str) -> tuple[str, str]:
    """Point a hosted service's apprise plugin at the loopback receiver, send the hostile complaint once,
    and return the path it reached and its payload as JSON text."""
    monkeypatch.setattr(plugin, attribute, f"{receiver.base}{endpoint}")
    summary = unanswered_only(hostile(db, business_id), url)
    assert (summary.sent, summary.failed) == (1, 0)
    [(path, payload)] = receiver.received
    return path, json.dumps(payload, ensure_ascii=False)


def test_slack(db, business_id, receiver, monkeypatch):
    import apprise.plugins.slack

    path, dump = delivered(db, business_id, receiver, monkeypatch, apprise.plugins.slack.NotifySlack, "webhook_url",
                           "/services", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7")
    assert path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    # Slack's control sequences arrive escaped and broken; the disguised link is neither a link nor evil.example.
    for bad in ("<!", "<https", "|Klik her>", "evil.example", "@everyone", "<script", "<svg"):
        assert bad not in dump, bad
    assert f"&lt;!{Z}here&gt; &lt;hxxps://evil[.]example/login|Klik her&gt;" in dump
    assert f"&lt;!{Z}channel&gt; @{Z}everyone" in dump


def test_discord(db, business_id, receiver, monkeypatch):
    import apprise.plugins.discord

    path, dump = delivered(db, business_id, receiver, monkeypatch, apprise.plugins.discord.NotifyDiscord, "notify_url",
                           "/api/webhooks", "discord://1234567890/webhooktoken")
    assert path == "/api/webhooks/1234567890/webhooktoken"
    for bad in ("@everyone", "@here", "](https://", "evil.example"):
        assert bad not in dump, bad
    assert f"@{Z}everyone" in dump
    assert "[Klik](hxxps://evil[.]example)" in dump


def self_signed_tls(folder) -> ssl.SSLContext:
    """A server TLS context for 127.0.0.1 with a fresh self-signed certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def test_teams_workflow(db, business_id, tmp_path):
    """Microsoft Teams through a Power Automate workflow: an Adaptive Card whose text is Markdown."""
    receiver = Receiver(status=202, tls=self_signed_tls(tmp_path))
    try:
        summary = unanswered_only(hostile(db, business_id, author="<at>Alle</at> @everyone"),
                                  f"workflows://127.0.0.1:{receiver.port}/wf1/sig1?verify=no")
    finally:
        receiver.close()
    assert (summary.sent, summary.failed) == (1, 0)
    [(path, payload)] = receiver.received
    assert path.startswith("/workflows/wf1/triggers/manual/paths/invoke?")
    card = payload["attachments"][0]["content"]
    texts = " ".join(block.get("text", "") for block in card["body"])
    dump = json.dumps(payload, ensure_ascii=False)
    for bad in ("<at>", "@everyone", "](https://", "<https://", "evil.example", "<!here>"):
        assert bad not in dump, bad
    assert f"Ubesvaret klage fra <at{Z}>Alle</at> @{Z}everyone" in texts
    # The body is escaped as Markdown, so the defanged link stays text, not a link.
    assert "\\[Klik\\]\\(hxxps://evil\\[\\.\\]example\\)" in texts


def mail_url(controller) -> str:
    return (f"mailto://repmon:kode@127.0.0.1:{controller.port}"
            "?from=repmon@hansen-vvs.dk&to=ejer@hansen-vvs.dk&mode=insecure")


def test_email_is_plain_text(db, business_id, smtp):  # noqa: F811
    controller, mailbox = smtp
    summary = unanswered_only(hostile(db, business_id), mail_url(controller))
    assert (summary.sent, summary.failed) == (1, 0)
    message = email.message_from_bytes(mailbox.messages[0], policy=policy.default)
    assert message.get_content_type() == "text/plain"  # sent as TEXT: no HTML part for a mail reader to render
    assert message.get_body(("html",)) is None
    assert "hxxps://evil[.]example/login" in message.get_content()


def test_email_html_part_is_escaped(db, business_id, smtp):  # noqa: F811
    controller, mailbox = smtp
    summary = unanswered_only(hostile(db, business_id), mail_url(controller) + "&format=html")
    assert (summary.sent, summary.failed) == (1, 0)
    message = email.message_from_bytes(mailbox.messages[0], policy=policy.default)
    html = message.get_body(("html",)).get_content()
    for bad in ("<script", "<svg", "<!channel", "<!here", "<https://", 'href="https://evil'):
        assert bad not in html, bad
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&nbsp;&lt;svg&nbsp;onload=alert(1)&gt;" in html
    assert "hxxps://evil[.]example/login" in html


def test_long_author_name_still_delivers_by_email(db, business_id, smtp):  # noqa: F811
    controller, mailbox = smtp
    summary = unanswered_only(hostile(db, business_id, author="Ø" * 5000), mail_url(controller))
    assert (summary.sent, summary.failed) == (1, 0)
    assert db.execute("SELECT status, attempts FROM alerts").fetchall() == [("sent", 1)]
    message = email.message_from_bytes(mailbox.messages[0], policy=policy.default)
    assert message["Subject"] == "Ubesvaret klage fra " + "Ø" * 79 + "…"


def test_review_link_only_to_its_own_platform(db, business_id, receiver):
    hostile(db, business_id, url="https://evil.example/login", external_id="h2")
    unanswered_only(db, f"json://127.0.0.1:{receiver.port}/hook")
    [(_, payload)] = receiver.received
    assert payload["message"].endswith("Svar hurtigt og sagligt.")  # the foreign link is left out
    assert "evil" not in payload["message"].replace("evil[.]example", "")


def test_title_and_body_fit_the_channel_limits():
    import apprise

    from monitor.alerts import _fit

    discord = apprise.Apprise.instantiate("discord://1234567890/webhooktoken")
    title, body = _fit(discord, "T" * 500, "b" * 5000)
    assert (title, body) == ("T" * 249 + "…", "b" * 1747 + "…")  # Discord: 250, and 2000 for both
    mattermost = apprise.Apprise.instantiate("mmost://127.0.0.1:8065/token")  # no title: it goes into the body
    title, body = _fit(mattermost, "T" * 2000, "b" * 5000)
    assert (len(title), len(body), len(title) + 2 + len(body)) == (1000, 2998, 4000)
    assert _fit(None, "t", "b") == ("t", "b")
