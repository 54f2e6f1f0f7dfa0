"""What the explorer checks before Datasette sees a request, and rewrites on the way out.

- Host names: only loopback and the configured public URL (DNS rebinding).
- Writes (any method but GET/HEAD/OPTIONS) need proof of origin: a same-origin `Origin` or `Referer`,
  or the `ds_csrftoken` cookie the explorer set (Datasette's asgi-csrf then checks the form's token
  against it). asgi-csrf alone skips requests without cookies, so a cross-site form could write.
- Sign-in: failed passwords slow down per client and per account.
- CSV exports: cells a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import codecs
import logging
import math
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger("repmon.explorer")

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The answers below are plain text in the viewer's language (explorer.toml's guard_* texts).
LANGUAGE_COOKIE = "repmon_lang"
LOGIN_PATH = "/-/login"

Scope = dict[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


def allowed_hosts(public_url: str | None) -> frozenset[str]:
    """The Host names an explorer answers: loopback, and the host of the configured public URL."""
    host = urlsplit(public_url).hostname if public_url else None
    return LOOPBACK_HOSTS | ({host.lower()} if host else set())


def header(scope: Scope, name: bytes) -> str:
    return dict(scope.get("headers") or []).get(name, b"").decode("latin-1").strip()


def host_name(scope: Scope) -> str:
    """The request's Host header without its port, lower-cased ('' when missing)."""
    raw = header(scope, b"host").lower()
    if raw.startswith("["):
        return raw[:raw.find("]") + 1]
    return raw.rsplit(":", 1)[0] if ":" in raw else raw


def cookie(scope: Scope, name: str) -> str | None:
    cookies = SimpleCookie()
    try:
        cookies.load(header(scope, b"cookie"))
    except Exception:  # a malformed cookie header carries nothing
        return None
    return cookies[name].value if name in cookies else None


def message(scope: Scope, default_lang: str, key: str, **values: Any) -> bytes:
    """A guard's answer in the language the viewer chose (the explorer's cookie), else the business's."""
    from monitor.text import load_data

    texts = load_data("explorer.toml")
    lang = cookie(scope, LANGUAGE_COOKIE)
    chosen = texts.get(lang) or texts.get(default_lang) or texts["en"]
    return chosen[key].format(**values).encode()


def _authority(netloc: str, scheme: str) -> str:
    """host[:port] lower-cased, without the scheme's default port."""
    netloc = netloc.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


def same_origin(url: str, scope: Scope) -> bool:
    """Whether `url` (an Origin or Referer) names the host and port this request was sent to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" from sandboxed frames and file: pages
    request_authority = _authority(header(scope, b"host"), parts.scheme)
    return _authority(parts.netloc, parts.scheme) == request_authority


def has_proof_of_origin(scope: Scope) -> bool:
    """Whether a write request shows it comes from one of this explorer's own pages."""
    if header(scope, b"authorization").startswith("Bearer "):
        return True  # a cross-site form cannot set this header; Datasette checks the token itself
    origin = header(scope, b"origin")
    if origin:
        return same_origin(origin, scope)
    referer = header(scope, b"referer")
    if referer:
        return same_origin(referer, scope)
    return cookie(scope, "ds_csrftoken") is not None  # a malformed cookie header proves nothing


async def answer(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class LoginThrottle:
    """Failed sign-ins per client address and per account; after `free` failures in a row each further
    attempt waits base * 2**(failures - free) seconds (capped) after the last failure."""

    free: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 900.0
    clock: Callable[[], float] = time.monotonic
    failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def wait_seconds(self, keys: list[str]) -> float:
        now = self.clock()
        waits = [0.0]
        for key in keys:
            count, last = self.failures.get(key, (0, 0.0))
            if count >= self.free:
                delay = min(self.cap_seconds, self.base_seconds * 2 ** (count - self.free))
                waits.append(last + delay - now)
        return max(waits)

    def failed(self, keys: list[str]) -> None:
        for key in keys:
            count, _ = self.failures.get(key, (0, 0.0))
            self.failures[key] = (count + 1, self.clock())

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self.failures.pop(key, None)


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def page_after_sign_in(value: str | None) -> str | None:
    """The explorer page a sign-in form was opened from, if it is a path on this site ("/-/calls?business=x")."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 32 for ch in value):
        return None
    return value


async def throttled_login(app: App, throttle: LoginThrottle, scope: Scope, receive, send, lang: str = "en") -> None:
    """Pass a sign-in to Datasette unless this client or account must wait; count how it ended.

    A successful sign-in goes back to the page the form was opened from (its `next` field), not to the front page."""
    body = await _read_body(receive)
    form = dict(parse_qsl(body.decode("utf-8", "replace")))
    username = form.get("username", "")[:100]
    back_to = page_after_sign_in(form.get("next"))
    client = (scope.get("client") or ("?", 0))[0]
    keys = [f"client:{client}", f"account:{username.casefold()}"]
    wait = throttle.wait_seconds(keys)
    if wait > 0:
        seconds = math.ceil(wait)
        await answer(send, 429, message(scope, lang, "guard_too_many_sign_ins", seconds=seconds),
                     [(b"retry-after", str(seconds).encode())])
        return
    status = 0

    async def watch(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            if status in (301, 302, 303) and back_to:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"location"]
                message = {**message, "headers": headers + [(b"location", back_to.encode("utf-8"))]}
        await send(message)

    await app(scope, _replay(body), watch)
    if status in (301, 302, 303):  # datasette-auth-passwords redirects once the password is right
        throttle.succeeded(keys)
    elif status:
        throttle.failed(keys)
        count = throttle.failures[keys[1]][0]
        logger.warning("failed sign-in for account %r from %s (%d in a row)", username, client, count)


FORMULA_STARTS = frozenset("=+-@\t\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


class CsvNeutraliser:
    """Streams a CSV body and prefixes "'" to cells that start like a formula (=, +, -, @, tab, CR).

    Negative and explicitly signed numbers stay numbers. Works across chunk boundaries: a cell is
    buffered until its end is seen.
    """

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.cell: list[str] = []
        self.in_quotes = False
        self.quoted = False
        self.after_quote = False

    def feed(self, chunk: bytes, final: bool = False) -> bytes:
        out: list[str] = []
        for char in self.decoder.decode(chunk, final):
            if self.in_quotes:
                self.cell.append(char)
                if char == '"':
                    self.in_quotes, self.after_quote = False, True
                continue
            if char == '"':
                if not self.cell:
                    self.quoted = True
                elif self.after_quote:  # a doubled quote inside a quoted cell
                    self.after_quote = False
                self.in_quotes = True
                self.cell.append(char)
                continue
            if char in ",\r\n":  # the csv module quotes any cell holding CR or LF
                out.append(self._finish())
                out.append(char)
                continue
            self.after_quote = False
            self.cell.append(char)
        if final:
            out.append(self._finish())
        return "".join(out).encode("utf-8")

    def _finish(self) -> str:
        text = "".join(self.cell)
        self.cell, self.quoted, self.after_quote = [], False, False
        inner = text[1:-1].replace('""', '"') if text.startswith('"') and text.endswith('"') and len(text) >= 2 else text
        if inner[:1] in FORMULA_STARTS and not (inner[:1] in "+-" and _is_number(inner)):
            escaped = ("'" + inner).replace('"', '""')
            return f'"{escaped}"'
        return text


async def neutralised_csv(app: App, scope: Scope, receive, send) -> None:
    """Run the request; if the answer is CSV, neutralise formula cells on the way out."""
    neutraliser: CsvNeutraliser | None = None

    async def rewrite(message):
        nonlocal neutraliser
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            content_type = dict(headers).get(b"content-type", b"")
            if content_type.startswith(b"text/csv") or content_type.startswith(b"text/plain") and scope["path"].endswith(".csv"):
                neutraliser = CsvNeutraliser()
                # The length changes with the rewrite: send the body chunked instead.
                message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != b"content-length"]}
        elif message["type"] == "http.response.body" and neutraliser is not None:
            final = not message.get("more_body")
            message = {**message, "body": neutraliser.feed(message.get("body", b""), final)}
        await send(message)

    await app(scope, receive, rewrite)


def guard(app: App, hosts: Callable[[], frozenset[str]], throttle: LoginThrottle,
          language: Callable[[], str] = lambda: "en") -> App:
    """The explorer's ASGI app behind the checks above; `language` gives the business's language."""

    async def guarded(scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if host_name(scope) not in hosts():
            # DNS rebinding: a hostile page whose name now points at 127.0.0.1 sends its own Host.
            await answer(send, 400, message(scope, language(), "guard_unknown_host"))
            return
        method = scope.get("method", "GET")
        if method not in SAFE_METHODS and not has_proof_of_origin(scope):
            logger.warning("refused a %s to %s without proof of origin (Origin %r)", method, scope["path"],
                           header(scope, b"origin")[:200])
            await answer(send, 403, message(scope, language(), "guard_cross_site"))
            return
        if method == "POST" and scope["path"] == LOGIN_PATH:
            await throttled_login(app, throttle, scope, receive, send, language())
            return
        send = _referring_to_itself(send)
        if ".csv" in scope["path"] or "_format=csv" in scope.get("query_string", b"").decode("latin-1"):
            await neutralised_csv(app, scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded


def _referring_to_itself(send):
    """`send`, with Datasette's `Referrer-Policy: no-referrer` made `same-origin`: links to review sites still
    give nothing away, but a form posted from one of the explorer's pages (an action) carries its real Origin,
    which Chromium sends as "null" under no-referrer, so the proof of origin above would refuse it."""

    async def sending(message):
        if message["type"] == "http.response.start":
            headers = [(name, b"same-origin" if name.lower() == b"referrer-policy" and value == b"no-referrer" else value)
                       for name, value in message.get("headers", [])]
            message = message | {"headers": headers}
        await send(message)

    return sending
