"""schema.org Review markup (JSON-LD, microdata, RDFa) in any page, read with extruct."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import extruct
from extruct.jsonld import JsonLdExtractor
from extruct.utils import parse_html
from lxml import etree

from spiders.dates import parse_date
from spiders.items import PageResult, content_key, host_key, normalise_rating, path_key

_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/")
_ORGANISATION_TYPES = {"Organization", "LocalBusiness", "HomeAndConstructionBusiness", "Plumber", "Electrician",
                       "RoofingContractor", "HousePainter", "GeneralContractor", "HVACBusiness", "Locksmith",
                       "MovingCompany", "Corporation"}
_NEXT = etree.XPath('//link[@rel="next"]/@href | //a[@rel="next"]/@href')


def parse_schemaorg(body: bytes | str, url: str, source: str | None = None, now: datetime | None = None,
                    id_prefix: str | None = None) -> PageResult:
    """Every schema.org Review on the page, with owner replies; malformed blocks are reported, not fatal."""
    source = source or f"schemaorg:{host_key(url)}"
    result = PageResult(parser="schemaorg")
    try:
        tree = parse_html(body if isinstance(body, bytes) else body.encode("utf-8"), encoding="UTF-8")
    except (etree.ParserError, ValueError) as error:
        result.problems.append(f"{url}: page is not readable HTML ({error})")
        return result
    items = list(_structured_items(tree, body, url, result.problems))
    seen: set[str] = set()
    for node, reviewed_name in _reviews(items):
        record = _review_record(node, reviewed_name, url, source, now, id_prefix)
        if record is None:
            result.problems.append(f"{url}: a Review without text, rating or date was skipped")
            continue
        if record["id"] not in seen:  # the same review in JSON-LD and microdata counts once
            seen.add(record["id"])
            result.reviews.append(record)
    next_links = _NEXT(tree)
    if next_links:
        result.next_url = urljoin(url, str(next_links[0]))
        result.last_page = False
    return result


def _structured_items(tree: Any, body: bytes | str, url: str, problems: list[str]) -> Iterator[dict]:
    """JSON-LD block by block (one broken block must not hide the others), then microdata and RDFa."""
    extractor = JsonLdExtractor()
    for number, script in enumerate(extractor._xp_jsonld(tree), start=1):
        try:
            yield from (item for item in extractor._extract_items(script) if isinstance(item, dict))
        except (ValueError, TypeError, RecursionError) as error:
            line = getattr(script, "sourceline", None)
            where = f"line {line}" if line else f"block {number}"
            problems.append(f"{url}: JSON-LD at {where} is malformed ({str(error)[:120]}); skipped")
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    syntaxes = ["microdata"] + (["rdfa"] if b"typeof=" in raw or b"vocab=" in raw else [])
    try:
        data = extruct.extract(raw, base_url=url, syntaxes=syntaxes, uniform=True, errors="strict")
    except Exception as error:  # extruct surfaces lxml/rdflib errors of many kinds
        problems.append(f"{url}: microdata/RDFa could not be read ({str(error)[:120]})")
        return
    yield from (_normalise(item) for item in data.get("microdata", []))
    yield from _embed(data.get("rdfa", []))


def _embed(items: list[dict]) -> Iterator[dict]:
    """RDFa arrives flattened, nested objects replaced by {"@id": ...}: put them back in place."""
    by_id = {item.get("@id"): item for item in items if isinstance(item, dict)}

    def resolve(value: Any, seen: frozenset[str]) -> Any:
        if isinstance(value, list):
            return [resolve(v, seen) for v in value]
        if not isinstance(value, dict):
            return value
        ref = value.get("@id")
        if set(value) == {"@id"} and ref in by_id and ref not in seen:
            return resolve(by_id[ref], seen | {ref})
        return {k: resolve(v, seen) for k, v in value.items()}

    referenced = {v.get("@id") for item in items for vs in item.values() if isinstance(vs, list)
                  for v in vs if isinstance(v, dict) and set(v) == {"@id"}}
    for item in items:
        if isinstance(item, dict) and item.get("@id") not in referenced:
            yield _normalise(resolve(item, frozenset({item.get("@id")})))


def _normalise(value: Any) -> Any:
    """RDFa comes with full IRIs and @value wrappers; make it look like JSON-LD."""
    if isinstance(value, list):
        values = [_normalise(v) for v in value]
        return values[0] if len(values) == 1 else values
    if not isinstance(value, dict):
        return value
    if set(value) == {"@value"} or (set(value) <= {"@value", "@language", "@type"} and "@value" in value):
        return value["@value"]
    out = {}
    for key, item in value.items():
        for prefix in _SCHEMA_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = _normalise(item)
    if "@type" in out:
        out["@type"] = [_short(t) for t in out["@type"]] if isinstance(out["@type"], list) else _short(out["@type"])
    return out


def _short(type_name: Any) -> Any:
    for prefix in _SCHEMA_PREFIXES:
        if isinstance(type_name, str) and type_name.startswith(prefix):
            return type_name[len(prefix):]
    return type_name


def _types(node: dict) -> set[str]:
    value = node.get("@type", ())
    return {_short(v) for v in (value if isinstance(value, list) else [value])}


def _reviews(items: list[Any], reviewed_name: str | None = None) -> Iterator[tuple[dict, str | None]]:
    """Walk nested objects and @graph; yield each Review with the name of what it reviews."""
    for item in items:
        if isinstance(item, list):
            yield from _reviews(item, reviewed_name)
            continue
        if not isinstance(item, dict):
            continue
        name = _text(item.get("name")) if _types(item) & (_ORGANISATION_TYPES | {"Product", "Service"}) else None
        if "Review" in _types(item):
            reviewed = item.get("itemReviewed")
            yield item, (_text(reviewed.get("name")) if isinstance(reviewed, dict) else None) or reviewed_name
            continue
        for key, value in item.items():
            if key in ("@context",):
                continue
            if isinstance(value, (dict, list)):
                yield from _reviews([value], name or reviewed_name)


def _review_record(node: dict, reviewed_name: str | None, url: str, source: str, now: datetime | None,
                   id_prefix: str | None) -> dict[str, Any] | None:
    body = _text(node.get("reviewBody")) or _text(node.get("description")) or _text(node.get("text"))
    rating_node = node.get("reviewRating")
    rating = None
    if isinstance(rating_node, dict):
        rating = normalise_rating(rating_node.get("ratingValue"), rating_node.get("bestRating"), rating_node.get("worstRating"))
    elif rating_node is not None:
        rating = normalise_rating(rating_node)
    published = parse_date(_text(node.get("datePublished")) or _text(node.get("dateCreated")), now)
    if not body and rating is None:
        return None
    if published is None:
        return None
    author = _person(node.get("author"))
    identifier = _text(node.get("@id")) or _text(node.get("url")) or _text(node.get("identifier"))
    if identifier and ("/" in identifier or "#" in identifier):
        identifier = path_key(urljoin(url, identifier)).lstrip("/")
    external_id = identifier or content_key(author, published, (body or "")[:200])
    if id_prefix and identifier and identifier.startswith(id_prefix):
        external_id = identifier[len(id_prefix):]
    reply_body, reply_at = _owner_reply(node, reviewed_name, now)
    review_url = _text(node.get("url")) or (_text(node.get("@id")) if str(node.get("@id", "")).startswith("http") else None)
    return {
        "id": f"{source}:{external_id}",
        "source": source,
        "external_id": external_id,
        "url": urljoin(url, review_url) if review_url else url,
        "author": author,
        "author_location": _location(node.get("author")),
        "rating": rating,
        "title": _text(node.get("name")) or _text(node.get("headline")),
        "body": body,
        "lang": _text(node.get("inLanguage")),
        "published_at": published,
        "edited_at": parse_date(_text(node.get("dateModified")), now),
        "reply_body": reply_body,
        "reply_at": reply_at,
    }


def _owner_reply(node: dict, reviewed_name: str | None, now: datetime | None) -> tuple[str | None, str | None]:
    """A comment or answer on the review written by the organisation reviewed."""
    comments = node.get("comment") or node.get("suggestedAnswer") or node.get("acceptedAnswer") or []
    for comment in comments if isinstance(comments, list) else [comments]:
        if not isinstance(comment, dict):
            continue
        author = comment.get("author")
        by_organisation = isinstance(author, dict) and bool(_types(author) & _ORGANISATION_TYPES)
        by_name = reviewed_name is not None and (_person(author) or "").casefold() == reviewed_name.casefold()
        if by_organisation or by_name:
            text = _text(comment.get("text")) or _text(comment.get("description")) or _text(comment.get("commentText"))
            when = parse_date(_text(comment.get("dateCreated")) or _text(comment.get("datePublished")), now)
            return text, when
    return None, None


def _person(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _location(value: Any) -> str | None:
    if isinstance(value, dict):
        address = value.get("address")
        if isinstance(address, dict):
            return _text(address.get("addressLocality")) or _text(address.get("addressCountry"))
        return _text(address) or _text(value.get("homeLocation"))
    return None


def _text(value: Any) -> str | None:
    """A plain string from a JSON-LD value (which may be a list, a number or an object)."""
    if value is None:
        return None
    if isinstance(value, list):
        return _text(value[0]) if value else None
    if isinstance(value, dict):
        return _text(value.get("@value") or value.get("name"))
    text = " ".join(html.unescape(str(value)).split())  # sites put &amp; and &quot; in JSON-LD
    return text or None


