"""What parsers return: plain review records plus what the crawl needs to go on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# The fields a parser may fill; the spider adds business_id and source_id.
REVIEW_FIELDS = (
    "id", "source", "external_id", "url", "author", "author_location", "rating", "title", "body",
    "lang", "published_at", "experienced_at", "edited_at", "reply_body", "reply_at",
    "verified", "reviewer_verified", "reviewer_review_count", "published_at_estimated",
)


@dataclass
class PageResult:
    """Reviews read from one page, the next page to fetch, and problems met on the way."""

    reviews: list[dict[str, Any]] = field(default_factory=list)
    next_url: str | None = None
    last_page: bool = True  # no further pages exist (the listing is complete once all were read)
    problems: list[str] = field(default_factory=list)
    parser: str = ""
    page_number: int | None = None  # the page the response says it is, where the format numbers pages
    newest_first: bool = True  # False when the listing says it is in another order: no incremental stop then
    stats: dict[str, Any] | None = None  # the platform's own figures for the business (source_stats)
    fallback: bool = False  # read through a fallback format: fields it lacks must not overwrite stored ones


def content_key(*parts: object) -> str:
    """A stable id for a review the platform gives no id: a hash of what identifies it."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def host_key(url: str) -> str:
    """The host without port: ids must not change when a test or demo server moves port."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # a malformed host such as "[" in a feed's link: the text is the key then
        return url.lower()


def path_key(url: str) -> str:
    """A URL without scheme, host and port, for ids built from review URLs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def normalise_rating(value: Any, best: Any = None, worst: Any = None) -> float | None:
    """A rating on any scale -> 1-5 (e.g. 8/10 -> 4.2); None when not a number."""
    try:
        rating = float(str(value).replace(",", "."))
        best_value = float(str(best).replace(",", ".")) if best not in (None, "") else 5.0
        worst_value = float(str(worst).replace(",", ".")) if worst not in (None, "") else 1.0
    except (TypeError, ValueError):
        return None
    if best_value == 5.0 and worst_value == 1.0:
        return rating if 1 <= rating <= 5 else None
    if best_value <= worst_value or not worst_value <= rating <= best_value:
        return None
    return round(1 + 4 * (rating - worst_value) / (best_value - worst_value), 2)
