"""Mutated pages and feeds: every parser reads or reports each one, and what it hands on either passes the
storage check or is named by it; the records that pass are stored and the database stays whole.

Mutations are deterministic (a fixed seed): byte flips, cuts, stray markup and JSON tokens, duplicated
and deleted lines, wrong types inside the embedded JSON, deep nesting.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.store import record_problem, save_reviews
from spiders.feeds import parse_feed
from spiders.mentions import MentionMatcher
from spiders.schemaorg import parse_schemaorg
from spiders.trustpilot import parse_trustpilot

FILES = Path(__file__).parent / "files"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
TOKENS = [b"<", b">", b"</script>", b'"', b"{", b"}", b"[", b"]", b",", b":", b"\\", b"\x00", b"\xff", b"\xc3",
          b"\\ud800", b"null", b"true", b"-1e999", b"&amp;", b"<![CDATA[", b"<!ENTITY x 'y'>", b"\n"]
WRONG_TYPES = [None, 17, -1.5, True, "", "x" * 200_000, [], [1, [2]], {}, {"a": {"b": 1}}]


def mutate(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(6)
    at = rng.randrange(len(data) + 1)
    if kind == 0:
        index = min(at, len(data) - 1)
        return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1:]
    if kind == 1:
        return data[:at]
    if kind == 2:
        return data[:at] + rng.choice(TOKENS) + data[at:]
    lines = data.split(b"\n")
    line = rng.randrange(len(lines))
    if kind == 3:
        return b"\n".join(lines[:line] + [lines[line]] * 2 + lines[line:])
    if kind == 4:
        return b"\n".join(lines[:line] + lines[line + 1:])
    depth = rng.choice([50, 5_000])
    return data[:at] + b"[" * depth + b"{" * depth + data[at:]


def retype(rng: random.Random, page: bytes) -> bytes:
    """Replace one value inside the embedded __NEXT_DATA__ with a value of another type."""
    marker = b'<script id="__NEXT_DATA__" type="application/json">'
    start = page.index(marker) + len(marker)
    end = page.index(b"</script>", start)
    data = json.loads(page[start:end])
    node = data["props"]["pageProps"]
    path = []
    while isinstance(node, (dict, list)) and node and rng.random() < 0.8:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        parent[key] = rng.choice(WRONG_TYPES)
    return page[:start] + json.dumps(data).encode() + page[end:]


def check(result, db) -> tuple[int, int]:
    """Every record handed on is either storable or named by the check; the storable ones are stored."""
    storable, named = [], 0
    for review in result.reviews:
        review = review | {"business_id": "hansen-vvs-aps"}
        problem = record_problem(review)
        if problem is None:
            storable.append(review)
        else:
            assert isinstance(problem, str) and problem.startswith("review "), problem
            named += 1
    saved = save_reviews(db, storable)
    assert saved.rejected == [] and saved.saved == len(storable)
    assert all(isinstance(problem, str) for problem in result.problems)
    return len(storable), named


@pytest.fixture
def store(db):
    from monitor.store import ensure_business

    ensure_business(db, "Hansen VVS ApS")
    return db


def run(rng: random.Random, store, sample: bytes, parse, mutants: int, extra=None) -> dict[str, int]:
    tally = {"stored": 0, "named": 0, "pages": 0}
    for _ in range(mutants):
        data = extra(rng, sample) if extra and rng.random() < 0.5 else sample
        for _ in range(rng.randint(1, 3)):
            data = mutate(rng, data)
        stored, named = check(parse(data), store)
        tally["stored"] += stored
        tally["named"] += named
        tally["pages"] += 1
    assert store.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert store.execute("PRAGMA foreign_key_check").fetchall() == []
    return tally


def test_three_hundred_mutated_trustpilot_pages(store):
    sample = (FILES / "trustpilot_company_page.html").read_bytes()
    tally = run(random.Random(1), store, sample, lambda body: parse_trustpilot(body, "https://dk.trustpilot.com/review/hansen-vvs.dk", NOW),
                300, extra=retype)
    assert tally["pages"] == 300 and tally["stored"] > 500 and tally["named"] > 0, tally


def test_three_hundred_mutated_schema_org_pages(store):
    sample = (FILES / "sites" / "directory_profile.html").read_bytes()
    tally = run(random.Random(2), store, sample,
                lambda body: parse_schemaorg(body, "https://haandvaerker.example/firma/hansen-vvs", now=NOW), 300)
    assert tally["pages"] == 300 and tally["stored"] > 300, tally


def test_three_hundred_mutated_feeds(store):
    sample = (FILES / "feeds" / "mentions.rss").read_bytes()
    matcher = MentionMatcher(["Hansen VVS ApS", "Hansen VVS", "hansen-vvs.dk"])
    tally = run(random.Random(3), store, sample,
                lambda body: parse_feed(body, "https://lokalavisen.example/feed.rss", matcher, NOW), 300)
    assert tally["pages"] == 300 and tally["stored"] > 100, tally
