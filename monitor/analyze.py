"""`repmon analyze`: language -> complaint -> themes -> match -> patterns -> flags -> follow-ups -> replies -> discovery
-> summaries.

Each stage reads the database and writes its own tables, idempotently; a stage that
fails leaves the others' work in place. The text stage streams reviews in batches
and recomputes only reviews whose text, rating or vocabulary changed.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from monitor.config import Business, Config, Thresholds
from monitor.db import storage_fault, utc_now
from monitor.language import detect
from monitor.themes import Vocabulary, vocabulary

BATCH = 5000


@dataclass
class BusinessSettings:
    """What analysis needs to know of one business, from config or defaults."""

    languages: tuple[str, ...] = ("da", "nb", "sv", "de", "en")
    names: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)


def business_settings(db: sqlite_utils.Database, config: Config) -> dict[str, BusinessSettings]:
    """Settings per business id: configured ones from the config, the rest from their database row."""
    configured: dict[str, Business] = {b.name.casefold(): b for b in config.business}
    settings = {}
    for row in db.query("SELECT id, name, languages, aliases FROM businesses"):
        business = configured.get(row["name"].casefold())
        if business:
            languages = tuple(dict.fromkeys([*business.languages, "en"]))
            settings[row["id"]] = BusinessSettings(languages, (business.name, *business.aliases), business.thresholds)
        else:
            languages = tuple(json.loads(row["languages"])) if row["languages"] else ("da", "nb", "sv", "de", "en")
            aliases = tuple(json.loads(row["aliases"])) if row["aliases"] else ()
            settings[row["id"]] = BusinessSettings(languages, (row["name"], *aliases))
    return settings


@dataclass
class TextSummary:
    analysed: int = 0
    unchanged: int = 0
    new_complaints: int = 0


def analyse_texts(db: sqlite_utils.Database, settings: dict[str, BusinessSettings], words: Vocabulary | None = None) -> TextSummary:
    """Language, complaint and themes for every review whose input changed since it was last analysed.

    Reviews are streamed in batches; with several cores each batch is shared out to forked workers.
    """
    global _WORK
    words = words or vocabulary()
    summary = TextSummary()
    _WORK = (words, settings)
    words.version  # loads the text model here, before the fork, so the workers share its pages
    workers = min(os.cpu_count() or 1, 4)
    pool = None
    try:
        cursor = db.conn.execute(
            "SELECT id, business_id, title, body, rating, lang, complaint, analysis_key FROM reviews ORDER BY rowid"
        )
        while rows := cursor.fetchmany(BATCH):
            if workers > 1 and len(rows) >= PARALLEL_FROM:
                pool = pool or multiprocessing.get_context("fork").Pool(workers)
                size = -(-len(rows) // workers)
                parts = pool.map(_analyse_rows, [rows[i:i + size] for i in range(0, len(rows), size)])
            else:
                parts = [_analyse_rows(rows)]
            updates = [u for part in parts for u in part[0]]
            themes = [t for part in parts for t in part[1]]
            for part in parts:
                summary.analysed += part[2]
                summary.unchanged += part[3]
                summary.new_complaints += part[4]
            if updates:
                with db.atomic():
                    db.conn.executemany("UPDATE reviews SET lang = ?, complaint = ?, analysis_key = ? WHERE id = ?", updates)
                    db.conn.executemany("DELETE FROM review_themes WHERE review_id = ?", [(u[3],) for u in updates])
                    db.conn.executemany("INSERT INTO review_themes (review_id, theme, evidence) VALUES (?, ?, ?)", themes)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _WORK = None
    return summary


PARALLEL_FROM = 2000
_WORK: tuple[Vocabulary, dict[str, BusinessSettings]] | None = None


def _analyse_rows(rows: list[tuple]) -> tuple[list[tuple], list[tuple], int, int, int]:
    """Updates and theme rows for a slice of reviews (runs in a worker or in-process)."""
    words, settings = _WORK
    updates, themes = [], []
    analysed = unchanged = new_complaints = 0
    changed, reviews = [], []
    for review_id, business_id, title, body, rating, _lang, complaint, old_key in rows:
        options = settings.get(business_id) or BusinessSettings()
        key = _analysis_key(title, body, rating, words.version, options)
        if key == old_key:
            unchanged += 1
            continue
        text = "\n".join(filter(None, [title, body]))
        detected = detect(text, options.languages, fallback=options.languages[0])
        changed.append((review_id, complaint, detected, key))
        reviews.append((text, rating, detected, options.thresholds.complaint_max_rating, options.names))
    for (review_id, complaint, detected, key), finding in zip(changed, words.analyse_many(reviews)):
        updates.append((detected, int(finding.complaint), key, review_id))
        if finding.complaint:
            themes += [(review_id, theme, evidence) for theme, evidence in finding.themes.items()]
            new_complaints += complaint != 1
        analysed += 1
    return updates, themes, analysed, unchanged, new_complaints


def _analysis_key(title: str | None, body: str | None, rating: float | None, version: str, options: BusinessSettings) -> str:
    material = json.dumps([title, body, rating, version, options.languages, options.names,
                           options.thresholds.complaint_max_rating], ensure_ascii=False)
    return hashlib.sha1(material.encode("utf-8")).hexdigest()[:16]


@dataclass
class AnalysisSummary:
    """What one analysis did, stage by stage; a failed stage is named with its error."""

    stages: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def run_analysis(db: sqlite_utils.Database, config: Config, today: date | None = None) -> AnalysisSummary:
    """Every stage in order; one that fails is recorded and the next stages still run."""
    from monitor import discovery, followups, match, patterns, replies, summaries

    today = today or date.today()
    settings = business_settings(db, config)
    summary = AnalysisSummary()
    match_settings = {bid: match.Settings(s.thresholds.match_threshold, s.thresholds.match_margin) for bid, s in settings.items()}
    words = vocabulary(json.dumps(config.themes, sort_keys=True, ensure_ascii=False))
    stages: list[tuple[str, Callable[[], Any]]] = [
        ("text", lambda: analyse_texts(db, settings, words).__dict__),
        ("match", lambda: match.run_matching(db, match_settings)),
        ("patterns", lambda: patterns.run_patterns(db, settings, today, words)),
        ("flags", lambda: followups.run_flags(db, settings)),
        ("follow_ups", lambda: followups.run_follow_ups(db, settings, today)),
        ("replies", lambda: replies.run_replies(db, config)),
        ("discovery", lambda: discovery.run_discovery(db)),
        ("summaries", lambda: summaries.run_summaries(db)),
    ]
    for name, stage in stages:
        try:
            summary.stages[name] = stage()
        except Exception as error:  # a stage fails alone; the run reports it and exits non-zero
            if storage_fault(error):
                raise  # the disk or the file refuses: every later stage would fail the same way
            summary.failed[name] = f"{type(error).__name__}: {error}"
    db.execute("PRAGMA optimize")
    summary.stages["finished_at"] = utc_now()
    return summary
