"""Untrusted text (reviews, exports, crawled pages) made harmless before it goes into an alert.

The result is plain text that no channel turns into a mention, a link or markup, and
that always fits the length given. Channel escaping (&, <, > and HTML) is apprise's job
in TEXT mode; this removes what escaping cannot: auto-linked URLs and domains, mass
mentions, invisible characters that hide or reorder text, and unbounded length.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

ELLIPSIS = "…"
ZWSP = "\u200b"

# Top-level domains that chat clients and mail readers auto-link, plus the reserved test ones.
_TLDS = ("com|net|org|info|biz|io|co|app|dev|xyz|online|site|shop|link|click|ru|cn|uk|eu|dk|no|se|de|nl|fr|"
         "es|it|pl|fi|at|ch|be|us|me|tv|ly|gl|example|test|invalid|localhost")
_SCHEME = re.compile(r"\b(h)tt(ps?)(?=://)|\b(f)t(p)(?=://)", re.IGNORECASE)
_DOMAIN = re.compile(rf"(?<![\w.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS}))(?![\w-])", re.IGNORECASE)
_MASS_MENTION = re.compile(r"@(?=(?:everyone|here|channel|all|room|group)\b)", re.IGNORECASE)
# Slack <!here>, <@U123>, <#C1>; Discord <@123>, <@&role>, <#chan>; Teams <at>name</at>
_ANGLE_MENTION = re.compile(r"<([!@#]|at(?=>))", re.IGNORECASE)


def _visible(text: str) -> str:
    """Whitespace becomes a space; control, format (bidi, zero-width) and private characters go."""
    return "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))


def _defang_scheme(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}xx{match.group(2)}"
    return f"{match.group(3)}x{match.group(4)}"


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters; a cut text ends with an ellipsis."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def neutralise(text: object, limit: int = 100) -> str:
    """One line of inert text of at most `limit` characters."""
    text = " ".join(_visible("" if text is None else str(text)).split())
    text = _SCHEME.sub(_defang_scheme, text)
    text = _DOMAIN.sub(lambda m: m.group(1).replace(".", "[.]"), text)
    text = _MASS_MENTION.sub("@" + ZWSP, text)
    text = _ANGLE_MENTION.sub(lambda m: "<" + m.group(1) + ZWSP, text)
    return truncate(text, limit)


def safe_link(url: object, allowed_host: str | None) -> str | None:
    """The URL, if it is a plain http(s) link to exactly `allowed_host`; None otherwise."""
    if not isinstance(url, str) or not allowed_host or re.search(r"[\s<>|\"'`\[\]()\\]", url) or len(url) > 500:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.username or parts.password or not host:
        return None
    return url if host.casefold() == allowed_host.casefold() else None


def host_of(url: object) -> str | None:
    try:
        return urlsplit(url).hostname if isinstance(url, str) else None
    except ValueError:
        return None
