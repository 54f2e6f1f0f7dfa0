"""RSS and Atom feeds of mentions, read with feedparser; only entries naming the business are kept."""

from __future__ import annotations

import calendar
import html
from datetime import datetime, timezone
from typing import Any

import feedparser
from w3lib.html import remove_tags

from spiders.dates import parse_date, to_utc_text
from spiders.items import PageResult, content_key, host_key, path_key
from spiders.mentions import MentionMatcher


def looks_like_feed(content_type: str, body: bytes) -> bool:
    """RSS/Atom by Content-Type or by the first element of the document."""
    if any(kind in content_type for kind in ("rss", "atom", "/xml", "+xml")):
        return True
    head = body[:500].lstrip().lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf"))


def feed_key(url: str) -> str:
    """The feed's identity without scheme and port: host and path."""
    return host_key(url) + path_key(url)


def parse_feed(body: bytes, url: str, matcher: MentionMatcher | None = None, now: datetime | None = None,
               headers: dict[str, str] | None = None) -> PageResult:
    """Entries of a feed as review records with rating NULL; malformed feeds keep what could be read."""
    result = PageResult(parser="feed")
    parsed = feedparser.parse(body, response_headers=headers or {}, sanitize_html=True, resolve_relative_uris=False)
    error = parsed.get("bozo_exception") if parsed.bozo else None
    line = getattr(error, "getLineNumber", lambda: None)()
    where = f" at line {line}" if line else ""
    if error is not None and not parsed.entries and not parsed.feed:
        result.problems.append(f"{url}: not a readable RSS/Atom feed{where} ({error})")
        return result
    readable = 0
    seen_at = now or datetime.now(timezone.utc)
    for number, entry in enumerate(parsed.entries, start=1):
        record = _record(entry, url, seen_at)
        if record is None:
            result.problems.append(f"{url}: entry {number} has neither an id, a link, a title nor a text; skipped")
            continue
        if record["published_at_estimated"]:
            result.problems.append(f"{url}: entry {number} has no readable date; dated by when it was first seen")
        readable += 1
        if matcher is None or matcher.mentions(f"{record['title'] or ''}\n{record['body'] or ''}"):
            result.reviews.append(record)
    if error is not None and parsed.entries:
        result.problems.insert(0, f"{url}: feed is malformed{where} ({error}); kept {readable} readable entries")
    return result


def _record(entry: Any, feed_url: str, seen_at: datetime) -> dict[str, Any] | None:
    """The entry as a review record; dated by `seen_at` when it has no readable date; None when it is empty."""
    published = _entry_date(entry, seen_at)
    estimated = published is None
    title = _plain(entry.get("title"))
    content = entry.get("content")
    body = _plain(content[0].get("value") if content else entry.get("summary"))
    link = entry.get("link")
    if link and not link.startswith(("http://", "https://")):
        link = None  # feedparser copies an Atom id such as 'urn:uuid:...' into link
    identifier = entry.get("id") or link
    if identifier and identifier.startswith(("http://", "https://")):
        identifier = feed_key(identifier)  # the same entry on a server that moved port
    if not identifier and not title and not body:
        return None
    if estimated:
        published = to_utc_text(seen_at)
    # Without an id or link the date is part of the identity; an estimated one moves, so the text stands in for it.
    fallback = f"{title}||{body}" if estimated else f"{title}|{published}"
    external_id = content_key(feed_key(feed_url), identifier or fallback)
    return {
        "id": f"feed:{external_id}",
        "source": feed_url,
        "external_id": external_id,
        "url": link,
        "author": _plain(entry.get("author")),
        "rating": None,
        "title": title,
        "body": body,
        "published_at": published,
        "published_at_estimated": 1 if estimated else None,
    }


def _entry_date(entry: Any, now: datetime | None) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        moment = entry.get(key)
        if moment:
            return to_utc_text(datetime.fromtimestamp(calendar.timegm(moment), tz=timezone.utc))
    for key in ("published", "updated", "created"):
        if entry.get(key):
            return parse_date(entry[key], now)
    return None


def _plain(value: str | None) -> str | None:
    if not value:
        return None
    text = " ".join(html.unescape(remove_tags(value)).split())
    return text or None
