"""Alerts: findings not yet alerted -> messages in the business's language -> apprise, exactly once per channel.

Every alert has a stable key (kind, subject, state). A row per key and channel in
`alerts` records status, attempts, last error and delivery time; failed deliveries
are retried on the next run; `dry_run` records nothing. Secrets in channel URLs come
from the environment and never reach logs, messages or the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import sqlite_utils

from monitor.alert_text import host_of, neutralise, safe_link, truncate
from monitor.config import Business, Channel, Config
from monitor.db import utc_now
from monitor.patterns import cluster_key
from monitor.text import load_data, platform_name
from monitor.themes import vocabulary

SEVERITY = {"info": 0, "warning": 1, "critical": 2}
LANGUAGES = ("da", "nb", "sv", "de", "en")
logger = logging.getLogger("repmon.alerts")
NAME, QUOTE, MESSAGE = 80, 160, 300  # characters kept of untrusted names, quotes and crawl messages


@dataclass
class Alert:
    key: str
    kind: str
    business_id: str
    subject: str
    severity: str
    title: str
    body: str
    detail: dict[str, Any] | None = None


@dataclass
class AlertSummary:
    raised: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    unconfirmed: int = 0


def language_of(business: Business | None, row: dict[str, Any]) -> str:
    """The business's first language, if repmon has texts in it; English otherwise."""
    languages = business.languages if business else (json.loads(row["languages"]) if row.get("languages") else [])
    return next((lang for lang in languages if lang in LANGUAGES), "en")


class Texts:
    """Message templates of one language, with the theme names in that language."""

    def __init__(self, lang: str):
        self.lang = lang
        self.templates = load_data("messages.toml")[lang]
        self.words = vocabulary()

    def render(self, kind: str, **values: Any) -> tuple[str, str]:
        template = self.templates[kind]
        return template["title"].format(**values), template["body"].format(**values)

    def fragment(self, name: str, **values: Any) -> str:
        return self.templates[name].format(**values)

    def theme(self, theme: str) -> str:
        return self.words.label(theme, self.lang)

    @property
    def locale(self) -> str:
        return {"nb": "nb_NO", "da": "da_DK", "sv": "sv_SE", "de": "de_DE"}.get(self.lang, "en_GB")

    def number(self, value: float) -> str:
        """One or two decimals as the language writes them: 0,1 or 0,04 in Danish, 0.1 in English."""
        from babel.numbers import format_decimal

        return format_decimal(value, format="0.0#", locale=self.locale)

    def date(self, value: str | None) -> str:
        """A day as the language writes it (3. dec. 2026, 3 Dec 2026); '' for none."""
        from babel.dates import format_date

        return format_date(date.fromisoformat(value[:10]), format="medium", locale=self.locale) if value else ""


def collect(db: sqlite_utils.Database, config: Config, today: date | None = None, db_name: str = "monitor") -> list[Alert]:
    """Every alert the current findings call for (delivered or not)."""
    today = today or date.today()
    configured = {b.name.casefold(): b for b in config.business}
    alerts: list[Alert] = []
    for row in db.query("SELECT * FROM businesses"):
        business = configured.get(row["name"].casefold())
        texts = Texts(language_of(business, row))
        link = _linker(config.explorer.public_url, db_name, texts)
        alerts += _pattern_alerts(db, row["id"], texts, link)
        alerts += _unanswered_alerts(db, row["id"], texts, link)
        alerts += _follow_up_alerts(db, row["id"], texts, today)
        alerts += _crawl_alerts(db, row["id"], texts)
        alerts.append(_digest(db, row["id"], texts, today))
    return alerts


def _linker(public_url: str | None, db_name: str, texts: Texts):
    def link(path: str) -> str:
        return "\n" + texts.fragment("link", url=f"{public_url.rstrip('/')}/{db_name}/{path}") if public_url else ""
    return link


def _pattern_alerts(db: sqlite_utils.Database, business_id: str, texts: Texts, link) -> list[Alert]:
    """One alert per cluster of patterns (a theme at the business, at a crew, in a job type), as the explorer shows
    them; its key is its first-detected pattern's, so a cluster already told of is not told again."""
    clusters: dict[str, list[dict[str, Any]]] = {}
    for pattern in db.query(
        "SELECT * FROM patterns WHERE business_id = ? AND status IN ('emerging', 'ongoing') AND closed_at IS NULL "
        "ORDER BY detected_at, id", [business_id],
    ):
        clusters.setdefault(cluster_key(pattern), []).append(pattern)
    alerts = []
    for patterns in clusters.values():
        anchor = patterns[0]
        ids = [pattern["id"] for pattern in patterns]
        marks = ", ".join("?" * len(ids))
        evidence = list(db.query(
            f"""SELECT DISTINCT r.id, r.author, substr(r.published_at, 1, 10) AS day, r.published_at,
                      COALESCE(t.evidence, r.body, '') AS quote, j.job_id, j.crew
               FROM pattern_members p JOIN reviews r ON r.id = p.review_id
               LEFT JOIN review_themes t ON t.review_id = r.id AND t.theme = ?
               LEFT JOIN matches m ON m.review_id = r.id AND m.status IN ('auto', 'confirmed')
               LEFT JOIN jobs j ON j.id = m.job_id
               WHERE p.pattern_id IN ({marks}) ORDER BY r.published_at DESC, r.id LIMIT 3""", [anchor["theme"], *ids]))
        quotes = "\n".join(
            "- " + texts.fragment("quote", text=neutralise(e["quote"], QUOTE))
            + f" ({neutralise(e['author'] or '?', NAME)}, {texts.date(e['day'])}"
            + (f", {neutralise(e['job_id'])}, {neutralise(e['crew'], NAME)}" if e["job_id"] else "") + ")"
            for e in evidence
        )
        values = _cluster_values(patterns, texts)
        if anchor["kind"] == "non_customer_burst":
            kind, severity = "non_customer_burst", "warning"
        else:
            kind, severity = "pattern_emerged", "critical" if anchor["theme"] in ("safety", "electrical") else "warning"
        title, body = texts.render(kind, **values)
        body = f"{body}\n\n{texts.fragment('evidence')}\n{quotes}{link('patterns/' + quote(anchor['id'], safe=''))}"
        state = anchor["detected_at"]
        alerts.append(Alert(f"{kind}:{anchor['id']}:{state}", kind, business_id, anchor["id"], severity, title, body,
                            {"count": values["count"]}))
        if kind == "pattern_emerged":
            # Growth is an alert of its own, once per count above the count it emerged with.
            emerged = db.execute("SELECT detail FROM alerts WHERE key = ? LIMIT 1", [alerts[-1].key]).fetchone()
            first_count = json.loads(emerged[0]).get("count") if emerged and emerged[0] else None
            if first_count is not None and values["count"] > first_count:
                title, body = texts.render("pattern_grew", **values)
                alerts.append(Alert(f"pattern_grew:{anchor['id']}:{state}:{values['count']}", "pattern_grew", business_id,
                                    anchor["id"], "warning", title, f"{body}\n\n{texts.fragment('evidence')}\n{quotes}",
                                    {"count": values["count"]}))
    return alerts


def _cluster_values(patterns: list[dict[str, Any]], texts: Texts) -> dict[str, Any]:
    """The strongest pattern's figures, every place the problem concentrates, the first and last evidence of all."""
    strongest = max(patterns, key=lambda pattern: (pattern["evidence_count"], pattern["id"]))
    values = _pattern_values(strongest, texts)
    places = sorted(patterns, key=lambda pattern: (pattern["dimension"], pattern["dimension_value"]))  # crew, then job type
    values["where"] = "".join(_pattern_values(pattern, texts)["where"] for pattern in places)
    values["first"] = texts.date(min(pattern["first_evidence_at"] for pattern in patterns))
    values["last"] = texts.date(max(pattern["last_evidence_at"] for pattern in patterns))
    return values


def _pattern_values(pattern: dict[str, Any], texts: Texts) -> dict[str, Any]:
    where = texts.fragment(f"where_{pattern['dimension']}", value=neutralise(pattern["dimension_value"], NAME)) if pattern["dimension"] != "business" else ""
    after = ""
    if pattern["after_completion"]:
        after = texts.fragment("after", days=int(pattern["median_days_after_completion"]))
    theme = texts.theme(pattern["theme"]) if pattern["theme"] else ""
    return {"theme": theme, "where": where, "count": pattern["evidence_count"], "window": pattern["window_days"],
            "expected": texts.number(pattern["baseline_rate"]), "first": texts.date(pattern["first_evidence_at"]),
            "last": texts.date(pattern["last_evidence_at"]), "after": after}


def _unanswered_alerts(db: sqlite_utils.Database, business_id: str, texts: Texts, link) -> list[Alert]:
    alerts = []
    source_urls = dict(db.execute(
        "SELECT r.id, s.url FROM reviews r JOIN sources s ON s.id = r.source_id WHERE r.business_id = ?", [business_id]
    ).fetchall())
    for row in db.query("SELECT * FROM unanswered_complaints WHERE business_id = ? ORDER BY published_at", [business_id]):
        job = texts.fragment("job", job_id=neutralise(row["job_id"].split(":", 1)[-1]),
                             crew=neutralise(row["crew"] or "?", NAME)) if row["job_id"] else ""
        rating = f"{row['rating']:g}/5" if row["rating"] is not None else "-"
        title, body = texts.render("unanswered", author=neutralise(row["author"] or "?", NAME), when=_when(texts, row["age_hours"]),
                                   source=neutralise(platform_name(row["source"])), rating=rating,
                                   quote=neutralise(row["body"] or row["title"] or "", QUOTE), job=job)
        # A review links only to its own platform: the host its source was crawled from.
        url = safe_link(row["url"], host_of(source_urls.get(row["review_id"])))
        if url:
            body += f"\n{url}"
        body += _reply_draft(db, row["review_id"], texts)
        alerts.append(Alert(f"unanswered:{row['review_id']}", "unanswered", business_id, row["review_id"], "warning", title, body))
    return alerts


def _reply_draft(db: sqlite_utils.Database, review_id: str, texts: Texts) -> str:
    """The complaint's suggested reply, for the owner to copy. Built from repmon's own templates with the
    reviewer's first name letters only, so it needs no neutralising (which would flatten its paragraphs)."""
    from monitor.replies import alert_section

    return alert_section(db, review_id, texts.lang)


def _when(texts: Texts, age_hours: float | None) -> str:
    """How long ago, in days as an owner counts them: today, yesterday, N days ago."""
    days = int((age_hours or 0) // 24)
    if days == 0:
        return texts.fragment("when_today")
    if days == 1:
        return texts.fragment("when_yesterday")
    return texts.fragment("when_days", days=days)


def _follow_up_alerts(db: sqlite_utils.Database, business_id: str, texts: Texts, today: date) -> list[Alert]:
    """Overdue urgent calls, one alert each; routine calls due are counted in the weekly digest instead."""
    alerts = []
    for row in db.query(
        """SELECT f.id, f.kind, f.due_at, j.job_id, j.customer_name, j.job_type FROM follow_ups f JOIN jobs j ON j.id = f.job_id
           WHERE f.business_id = ? AND f.kind = 'urgent' AND f.done_at IS NULL
           AND substr(COALESCE(f.call_again_on, f.due_at), 1, 10) < ?
           AND substr(COALESCE(f.call_again_on, f.due_at), 1, 10) >= ? ORDER BY f.due_at""",
        [business_id, today.isoformat(), (today - timedelta(days=30)).isoformat()],  # a month back: not the whole history
    ):
        reason = texts.fragment("urgent") if row["kind"] == "urgent" else ""
        title, body = texts.render("follow_up_overdue", customer=neutralise(row["customer_name"], NAME),
                                   job_type=neutralise(row["job_type"] or ""), job_id=neutralise(row["job_id"]),
                                   due=texts.date(row["due_at"]), reason=reason)
        severity = "warning" if row["kind"] == "urgent" else "info"
        alerts.append(Alert(f"follow_up_overdue:{row['id']}", "follow_up_overdue", business_id, row["id"], severity, title, body))
    return alerts


def _crawl_alerts(db: sqlite_utils.Database, business_id: str, texts: Texts) -> list[Alert]:
    alerts = []
    for source in db.query("SELECT * FROM sources WHERE business_id = ? AND last_status IN ('degraded', 'failed')", [business_id]):
        runs = list(db.query("SELECT id, status, message FROM crawl_runs WHERE source_id = ? ORDER BY id DESC", [source["id"]]))
        streak = runs[0]
        for run in runs:  # the first run of the current bad streak: one alert per streak
            if run["status"] == "ok":
                break
            streak = run
        # The source URL is the platform's review page the operator configured: kept as a link if it is a plain one.
        url = safe_link(source["url"], host_of(source["url"])) or neutralise(source["url"], 200)
        status = texts.fragment(f"status_{runs[0]['status']}") if runs[0]["status"] in ("degraded", "failed") else runs[0]["status"]
        title, body = texts.render("crawl_degraded", source=neutralise(source["name"] or platform_name(source["kind"])),
                                   status=neutralise(status, 40), url=url,
                                   message=neutralise((runs[0]["message"] or "").split("\n", 1)[0], MESSAGE))
        severity = "critical" if runs[0]["status"] == "failed" else "warning"
        alerts.append(Alert(f"crawl_{runs[0]['status']}:{source['id']}:{streak['id']}", "crawl_degraded", business_id,
                            source["id"], severity, title, body))
    return alerts


def _digest(db: sqlite_utils.Database, business_id: str, texts: Texts, today: date) -> Alert:
    year, week, _ = today.isocalendar()
    since = (today - timedelta(days=7)).isoformat()
    reviews, average = db.execute("SELECT COUNT(*), AVG(rating) FROM reviews WHERE business_id = ? AND published_at >= ?",
                                  [business_id, since]).fetchone()
    by_theme = db.execute(
        """SELECT t.theme, COUNT(*) FROM reviews r JOIN review_themes t ON t.review_id = r.id
           WHERE r.business_id = ? AND r.complaint = 1 AND r.published_at >= ? GROUP BY t.theme ORDER BY 2 DESC""",
        [business_id, since]).fetchall()
    complaints = db.execute("SELECT COUNT(*) FROM reviews WHERE business_id = ? AND complaint = 1 AND published_at >= ?",
                            [business_id, since]).fetchone()[0]
    themes = (" (" + ", ".join(f"{texts.theme(theme)} {count}" for theme, count in by_theme) + ")") if by_theme else ""
    unanswered = db.execute("SELECT COUNT(*) FROM unanswered_complaints WHERE business_id = ?", [business_id]).fetchone()[0]
    patterns = db.execute(  # one per cluster, as the explorer shows them
        """SELECT COUNT(DISTINCT CASE WHEN kind = 'non_customer_burst' THEN id ELSE kind || ':' || theme END) FROM patterns
           WHERE business_id = ? AND status IN ('emerging', 'ongoing') AND closed_at IS NULL""", [business_id]).fetchone()[0]
    follow_ups = db.execute(  # due within the week: the day a person chose, else the one analysis set
        """SELECT COUNT(*) FROM follow_ups WHERE business_id = ? AND done_at IS NULL
           AND substr(COALESCE(call_again_on, due_at), 1, 10) <= ?""",
        [business_id, (today + timedelta(days=7)).isoformat()]).fetchone()[0]
    label = f"{year}-W{week:02d}"
    title, body = texts.render("digest", week=texts.fragment("week", week=week, year=year), reviews=reviews,
                               average=texts.number(average) if average else "-",
                               complaints=complaints, themes=themes, unanswered=unanswered, patterns=patterns,
                               follow_ups=follow_ups)
    return Alert(f"digest:{business_id}:{label}", "digest", business_id, label, "info", title, body)


def channels_for(config: Config, business_name: str) -> list[tuple[str, Channel]]:
    business = config.find_business(business_name)
    return [(channel.label(i), channel) for i, channel in enumerate(business.channel)] if business else []


IDEMPOTENCY_HEADER = "Idempotency-Key"


def run_alerts(db: sqlite_utils.Database, config: Config, today: date | None = None, dry_run: bool = False,
               db_name: str = "monitor", echo=print) -> AlertSummary:
    """Raise what the findings call for and deliver every pending or failed alert once per channel.

    Each delivery is recorded as `sending` (committed) before it starts. A row still `sending`
    on the next run was cut off mid-delivery: it is sent again with the same idempotency key
    when the channel carries one (the receiver drops the repeat), and otherwise marked
    `unconfirmed` rather than risk telling the owner twice.
    """
    import apprise

    summary = AlertSummary()
    alerts = collect(db, config, today, db_name)
    names = {row["id"]: row["name"] for row in db.query("SELECT id, name FROM businesses")}
    now = utc_now()
    for alert in alerts:
        for label, channel in channels_for(config, names[alert.business_id]):
            if SEVERITY[alert.severity] < SEVERITY[channel.min_severity]:
                continue
            row_id = f"{alert.key}@{label}"
            existing = next(db.table("alerts").rows_where("id = ?", [row_id]), None)
            if existing and existing["status"] in ("sent", "unconfirmed"):
                continue
            if dry_run:
                echo(f"[{alert.severity}] {label}: {alert.title}\n{alert.body}\n")
                summary.pending += 1
                continue
            plugin = apprise.Apprise.instantiate(channel.resolved_url())
            if existing and existing["status"] == "sending" and not carries_headers(plugin):
                db.table("alerts").update(row_id, {"status": "unconfirmed", "last_error": INTERRUPTED})
                echo(f"{label}: {alert.title}: {INTERRUPTED}")
                summary.unconfirmed += 1
                continue
            if existing is None:
                db.table("alerts").insert({"id": row_id, "key": alert.key, "kind": alert.kind, "business_id": alert.business_id,
                                           "subject": alert.subject, "channel": label, "severity": alert.severity,
                                           "title": alert.title, "body": alert.body, "status": "pending", "attempts": 0,
                                           "detail": json.dumps(alert.detail) if alert.detail else None,
                                           "created_at": now, "idempotency_key": idempotency_key(row_id)})
                summary.raised += 1
            attempts = (existing["attempts"] if existing else 0) + 1
            db.table("alerts").update(row_id, {"status": "sending", "attempts": attempts, "attempted_at": utc_now()})
            ok, error = _deliver(apprise, plugin, channel, alert, idempotency_key(row_id))
            db.table("alerts").update(row_id, {"status": "sent" if ok else "failed",
                                               "last_error": None if ok else error,
                                               "delivered_at": utc_now() if ok else None})
            summary.sent += ok
            summary.failed += not ok
    return summary


INTERRUPTED = "may not have arrived: the run stopped while sending it; not sent again, to avoid sending it twice"


def idempotency_key(row_id: str) -> str:
    """The same for every attempt of one alert on one channel, so a receiver can drop a repeat."""
    return hashlib.sha256(row_id.encode("utf-8")).hexdigest()[:32]


def carries_headers(plugin: Any) -> bool:
    """Whether the channel sends headers of our choosing (webhooks, e-mail): then it can carry the idempotency key."""
    return isinstance(getattr(plugin, "headers", None), dict)


def _deliver(apprise_module: Any, plugin: Any, channel: Channel, alert: Alert, key: str) -> tuple[bool, str | None]:
    """Send through apprise; the error kept is apprise's own log with secrets blanked."""
    notifier = apprise_module.Apprise()
    if carries_headers(plugin):
        plugin.headers[IDEMPOTENCY_HEADER] = key
    notifier.add(plugin or channel.resolved_url())
    title, body = _fit(plugin, alert.title, alert.body)
    with apprise_module.LogCapture(level=logging.WARNING) as captured:
        # TEXT: apprise escapes for each channel's markup (&<> for Slack, HTML for e-mail) instead of passing it through.
        ok = notifier.notify(title=title, body=body, body_format=apprise_module.NotifyFormat.TEXT)
        log = captured.getvalue()
    if ok:
        return True, None
    secrets = [part for part in _secret_parts(channel) if part]
    for secret in secrets:
        log = log.replace(secret, "***")
    return False, (" ".join(log.split())[-500:] or "delivery failed")


def _fit(plugin: Any, title: str, body: str) -> tuple[str, str]:
    """Title and body cut with an ellipsis to the channel's limits, so a long field never makes delivery fail."""
    if plugin is None:
        return title, body
    title_max, body_max = int(plugin.title_maxlen or 0), int(plugin.body_maxlen or 0)
    if title_max > 0:
        title = truncate(title, title_max)
    elif body_max > 0:  # no title field: apprise puts the title into the body
        title = truncate(title, max(body_max // 4, 1))
    if body_max > 0 and (title_max <= 0 or getattr(plugin, "overflow_amalgamate_title", False)):
        body_max -= len(title) + 2  # title and body share the limit (Discord, or title merged into the body)
    if body_max > 0:
        body = truncate(body, body_max)
    return title, body


def _secret_parts(channel: Channel) -> list[str]:
    """Values that came from the environment, and any user:password in the URL."""
    import os
    import re

    values = [os.environ.get(name, "") for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", channel.url)]
    credentials = re.match(r"^[a-z0-9+]+://([^@/]+)@", channel.resolved_url())
    if credentials:
        values += credentials.group(1).split(":")
    return values
