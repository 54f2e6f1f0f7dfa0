"""The owner's pages of the explorer: this week, complaints, patterns, calls, matches and reviews, with their buttons.

Everything here is in the owner's language (monitor/data/explorer.toml), shows names instead of
ids and days instead of hours, and writes only through the `explorer_actions` triggers, after
checking in Python what the owner pressed refers to something that exists, so the message can
say why nothing was saved. The raw tables stay one click away ("All data").
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

import sqlite_utils
from markupsafe import Markup, escape

from monitor.config import Config
from monitor.db import utc_now
from monitor.patterns import cluster_key, cluster_status
from monitor.text import answer_url, load_data, platform_name
from monitor.themes import vocabulary

LANGUAGES = ("da", "nb", "sv", "de", "en")
LOCALES = {"nb": "nb_NO", "da": "da_DK", "sv": "sv_SE", "de": "de_DE", "en": "en_GB"}  # how numbers and dates are written
LANGUAGE_COOKIE = "repmon_lang"
TABLE_LANGUAGE_ARG = "_lang"  # Datasette's table pages read ?lang= as a filter on a column; ?_lang= it leaves alone
LOCAL_USER = "local user"
LIST_LIMIT = 200  # rows on a full list page
CARD_LIMIT = 5  # rows per section on the week page


@dataclass
class Explorer:
    config: Config
    database: str
    stored_language: str = "en"  # for an explorer served without the configuration: the businesses' in the database


_EXPLORERS: WeakKeyDictionary[Any, Explorer] = WeakKeyDictionary()


def attach(datasette, config: Config, database: str, stored_languages: list[str] | None = None) -> None:
    spoken = [lang for lang in stored_languages or [] if lang in LANGUAGES]
    _EXPLORERS[datasette] = Explorer(config, database, spoken[0] if spoken else "en")


def texts(lang: str) -> dict[str, str]:
    return load_data("explorer.toml")[lang]


def language(request, explorer: Explorer) -> str:
    """The viewer's choice (?lang= or its cookie), else the business's first language repmon speaks, else English."""
    chosen = request.args.get("lang") or request.args.get(TABLE_LANGUAGE_ARG) or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return _configured_language(explorer)


def business_language(datasette) -> str:
    """The first language repmon speaks among the businesses' configured ones; English without an explorer."""
    explorer = _EXPLORERS.get(datasette)
    return _configured_language(explorer) if explorer else "en"


def _configured_language(explorer: Explorer) -> str:
    if not explorer.config.business:
        return explorer.stored_language
    for business in explorer.config.business:
        for lang in business.languages:
            if lang in LANGUAGES:
                return lang
    return "en"


class Formats:
    """Dates, numbers and ages as the viewer's language writes them."""

    def __init__(self, lang: str, today: date):
        self.lang, self.today, self.t = lang, today, texts(lang)
        self.messages = load_data("messages.toml")[lang]
        self.words = vocabulary()

    def date(self, value: str | None) -> str:
        from babel.dates import format_date

        if not value:
            return ""
        return format_date(date.fromisoformat(value[:10]), format="medium", locale=self.locale)

    def ago(self, value: str | None) -> str:
        if not value:
            return ""
        days = (self.today - date.fromisoformat(value[:10])).days
        if days <= 0:
            return self.messages["when_today"]
        if days == 1:
            return self.messages["when_yesterday"]
        return self.messages["when_days"].format(days=days)

    def number(self, value: float | None, digits: int = 1) -> str:
        from babel.numbers import format_decimal

        return "" if value is None else format_decimal(round(value, digits), locale=self.locale)

    def weight(self, value: float) -> str:
        """A weight in log-odds with its sign and always one decimal, as the language writes it ("+5,8", "-4,0")."""
        from babel.numbers import format_decimal

        rounded = round(value, 1) + 0.0  # + 0.0: no "-0,0"
        return ("+" if rounded > 0 else "") + format_decimal(rounded, format="#,##0.0", locale=self.locale)

    def stars(self, rating: int | None) -> Markup:
        if rating is None:
            return Markup(f'<span class="repmon-stars">{escape(self.t["no_rating"])}</span>')
        full = max(0, min(5, round(rating)))  # ratings from other scales are stored as fractions of 5
        label = self.t["stars"].format(rating=self.number(rating))
        return Markup(f'<span class="repmon-stars" title="{escape(label)}" aria-label="{escape(label)}">'
                      f'{"★" * full}{"☆" * (5 - full)}</span>')

    def theme(self, key: str | None) -> str:
        return self.words.label(key, self.lang) if key else ""

    @property
    def locale(self) -> str:
        return LOCALES[self.lang]


# ---- the pages -------------------------------------------------------------------------------------------

def routes() -> list[tuple[str, Any]]:
    return [
        (r"^/$", week_page),
        (r"^/-/complaints$", complaints_page),
        (r"^/-/patterns$", patterns_page),
        (r"^/-/calls$", calls_page),
        (r"^/-/matches$", matches_page),
        (r"^/-/reviews$", reviews_page),
        (r"^/-/act$", act),
        (r"^/-/calls\.ics$", calls_calendar),
        (r"^/-/findings\.atom$", findings_feed),
    ]


async def _page(datasette, request, template: str, title_key: str, **context: Any):
    from datasette import Response

    from monitor.explorer import password_hash  # explorer.py builds on this module

    from datasette.utils.asgi import Forbidden

    explorer = _EXPLORERS[datasette]
    signing_in = password_hash(explorer.config) is not None
    try:
        await _ensure_allowed(datasette, request, explorer)
    except Forbidden:
        if signing_in and not request.actor:  # the owner, not signed in yet: to the sign-in page, then back
            here = request.path + (f"?{request.query_string}" if request.query_string else "")
            return Response.redirect(datasette.urls.path("/-/login") + "?" + urlencode({"next": here}))
        raise
    lang = language(request, explorer)
    businesses = await _businesses(datasette, explorer)
    chosen = request.args.get("business") or ""
    if chosen not in {b["id"] for b in businesses}:
        chosen = ""
    fmt = Formats(lang, date.today())
    data = {name: await loader(datasette, explorer, chosen, fmt) for name, loader in context.pop("loaders").items()}
    here = request.path
    html = await datasette.render_template(template, {
        "t": fmt.t, "fmt": fmt, "lang": lang, "title": fmt.t[title_key], "here": here, "data": data,
        "businesses": businesses if len(businesses) > 1 else [], "business": chosen,
        "nav": nav_links(datasette, explorer, fmt.t, here, chosen),
        "languages": language_links(request),
        "db": explorer.database, "back": here + (f"?business={chosen}" if chosen else ""),
        "signing_in": signing_in, "local_user": LOCAL_USER, **context,
    }, request=request)
    response = Response.html(html)
    if request.args.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, request.args["lang"], max_age=365 * 24 * 3600, samesite="lax")
    return response


async def _ensure_allowed(datasette, request, explorer: Explorer) -> None:
    """The same rule as the database's own pages: with a password configured, only the signed-in owner."""
    await datasette.ensure_permissions(request.actor, [("view-database", explorer.database), "view-instance"])


def _with(request, **changes: str) -> str:
    args = {key: request.args.get(key) for key in request.args} | changes
    return request.path + "?" + urlencode({key: value for key, value in args.items() if value})


# The owner's pages in the order of the nav: path, the nav's word, the line "All data" says about it.
PAGES = (("/", "nav_week", "about_week"), ("/-/complaints", "nav_complaints", "about_complaints"),
         ("/-/patterns", "nav_patterns", "about_patterns"), ("/-/calls", "nav_calls", "about_calls"),
         ("/-/matches", "nav_matches", "about_matches"), ("/-/reviews", "nav_reviews", "about_reviews"))
DASHBOARD = "/-/dashboards/repmon"


def nav_links(datasette, explorer: Explorer, t: dict[str, str], here: str,
              business: str = "") -> list[tuple[str, str, bool]]:
    """(href, word, whether it is this page) for each link of the nav, the dashboard and "All data" last."""
    suffix = f"?business={business}" if business else ""
    links = [(datasette.urls.path(path) + suffix, t[key], path == here) for path, key, _ in PAGES]
    links.append((datasette.urls.path(DASHBOARD), t["nav_dashboard"], False))
    database = datasette.urls.database(explorer.database)
    links.append((database, t["nav_tables"], here == database))
    return links


def language_links(request, arg: str = "lang") -> list[tuple[str, str, str]]:
    """(code, the language's own name, this page in it) for each language repmon speaks, chosen by `arg`
    (TABLE_LANGUAGE_ARG on Datasette's table pages, where ?lang= filters a column)."""
    return [(code, texts(code)["language_name"], _with(request, **{arg: code})) for code in LANGUAGES]


async def week_page(datasette, request):
    return await _page(datasette, request, "repmon_week.html", "week_title", limit=CARD_LIMIT, loaders={
        "complaints": complaints, "patterns": patterns, "calls": calls, "matches": matches, "crawl": crawl_problems,
    })


async def complaints_page(datasette, request):
    return await _page(datasette, request, "repmon_list.html", "complaints_title", section="complaints",
                       limit=LIST_LIMIT, loaders={"complaints": complaints})


async def patterns_page(datasette, request):
    return await _page(datasette, request, "repmon_list.html", "patterns_title", section="patterns",
                       limit=LIST_LIMIT, loaders={"patterns": patterns})


async def calls_page(datasette, request):
    return await _page(datasette, request, "repmon_list.html", "calls_title", section="calls",
                       limit=LIST_LIMIT, loaders={"calls": calls})


async def matches_page(datasette, request):
    review, job_query = request.args.get("review") or "", (request.args.get("job") or "").strip()[:100]
    loader = (lambda ds, ex, business, fmt: matches(ds, ex, business, fmt, review, job_query)) if review else matches
    return await _page(datasette, request, "repmon_list.html", "matches_title", section="matches",
                       limit=LIST_LIMIT, loaders={"matches": loader})


async def reviews_page(datasette, request):
    """Every review, newest first (?q= searches author and text); ?review= shows one with suggested replies."""
    review, query = request.args.get("review") or "", (request.args.get("q") or "").strip()
    page = int(request.args["page"]) if (request.args.get("page") or "").isdigit() else 1
    if review:
        return await _page(datasette, request, "repmon_list.html", "reply_title", section="reply", limit=1,
                           loaders={"reply": lambda ds, ex, business, fmt: reply_suggestions(ds, ex, business, fmt, review)})
    return await _page(datasette, request, "repmon_list.html", "reviews_title", section="reviews", limit=LIST_LIMIT,
                       query=query, page=page, older=_with(request, page=str(page + 1)),
                       loaders={"reviews": lambda ds, ex, business, fmt: reviews(ds, ex, business, fmt, query, page)})


async def calls_calendar(datasette, request):
    """Every call still to make as an iCalendar feed a phone subscribes to: 08:00 on its day, business time."""
    from datasette import Response
    from ics import Calendar, Event

    explorer = _EXPLORERS[datasette]
    await _ensure_allowed(datasette, request, explorer)
    t = texts(language(request, explorer))
    rows = await _rows(datasette, explorer, """
        SELECT f.id, f.kind, substr(COALESCE(f.call_again_on, f.due_at), 1, 10) AS due, f.note, b.timezone,
               j.job_id AS job_number, j.customer_name, j.customer_phone, j.job_type
        FROM follow_ups f JOIN jobs j ON j.id = f.job_id JOIN businesses b ON b.id = f.business_id
        WHERE f.done_at IS NULL AND COALESCE(f.call_again_on, f.due_at) >= date('now', '-30 days')
        ORDER BY due, f.id LIMIT 1000""", {})
    calendar = Calendar()
    for row in rows:
        zone = ZoneInfo(row["timezone"] or "UTC")
        start = datetime.combine(date.fromisoformat(row["due"]), time(8, 0), tzinfo=zone)
        event = Event(name=t["call_event"].format(customer=row["customer_name"], job=row["job_number"]),
                      begin=start, end=start + timedelta(minutes=15), uid=f"{row['id']}@repmon")
        event.description = "\n".join(part for part in (t[f"kind_{row['kind']}"], row["customer_phone"], row["job_type"],
                                                         row["note"]) if part)
        calendar.events.add(event)
    return Response(calendar.serialize(), content_type="text/calendar; charset=utf-8")


async def findings_feed(datasette, request):
    """Patterns forming and complaints waiting for an answer as an Atom feed, in the owner's language."""
    from datasette import Response
    from feedgen.feed import FeedGenerator

    explorer = _EXPLORERS[datasette]
    await _ensure_allowed(datasette, request, explorer)
    lang = language(request, explorer)
    fmt = Formats(lang, date.today())
    base = str(request.url).split("/-/", 1)[0]
    feed = FeedGenerator()
    feed.id(f"{base}/-/findings.atom")
    feed.title(fmt.t["feed_title"])
    feed.link(href=f"{base}/", rel="alternate")
    feed.language(lang)
    entries = []
    for row in (await patterns(datasette, explorer, "", fmt))["rows"]:
        entries.append((f"{base}/-/patterns#{row['id']}", row["last_evidence_at"], ", ".join(part for part in (row['heading'], row['where']) if part),
                        fmt.t["evidence"].format(count=row["evidence_count"], expected=row["expected"]), f"{base}/-/patterns"))
    for row in (await complaints(datasette, explorer, "", fmt))["rows"]:
        text = " ".join(part for part in (row["title"], row["body"]) if part)
        entries.append((f"{base}/-/complaints#{row['id']}", row["published_at"],
                        fmt.t["complaint_from"].format(author=row["author"] or "?"), text, row["answer_url"] or f"{base}/-/complaints"))
    latest = None
    for entry_id, updated, title, text, link in sorted(entries, key=lambda entry: entry[1] or ""):
        moment = _moment(updated)
        latest = max(latest, moment) if latest else moment
        entry = feed.add_entry()
        entry.id(entry_id)
        entry.title(title)
        entry.updated(moment)
        entry.content(text, type="text")
        entry.link(href=link)
    feed.updated(latest or datetime.now(timezone.utc))
    return Response(feed.atom_str(pretty=True), content_type="application/atom+xml; charset=utf-8")


def _moment(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else datetime.fromisoformat(value + "T00:00:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# ---- what the pages show ---------------------------------------------------------------------------------

async def _rows(datasette, explorer: Explorer, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = await datasette.get_database(explorer.database).execute(sql, params)
    return [dict(row) for row in result.rows]


async def _businesses(datasette, explorer: Explorer) -> list[dict[str, Any]]:
    return await _rows(datasette, explorer, "SELECT id, name FROM businesses ORDER BY name", {})


def _business_clause(column: str) -> str:
    return f"(:business = '' OR {column} = :business)"


async def complaints(datasette, explorer: Explorer, business: str, fmt: Formats) -> dict[str, Any]:
    """Complaints with no reply and not marked answered, oldest first, with how late they are."""
    where = ("r.complaint = 1 AND r.reply_body IS NULL AND r.removed_at IS NULL AND r.handled_at IS NULL "
             "AND r.source NOT LIKE 'http%' AND " + _business_clause("r.business_id"))
    rows = await _rows(datasette, explorer, f"""
        SELECT r.id, r.business_id, r.url, r.author, r.rating, r.title, r.body, r.published_at,
               s.name AS source_name, r.source, COALESCE(b.reply_deadline_hours, 48) AS deadline_hours,
               m.status AS match_status, j.job_id AS job_number, j.customer_name, j.address, j.completed_at, j.job_type,
               (SELECT group_concat(theme, ' ') FROM review_themes t WHERE t.review_id = r.id) AS themes
        FROM reviews r JOIN businesses b ON b.id = r.business_id
        LEFT JOIN sources s ON s.id = r.source_id
        LEFT JOIN matches m ON m.review_id = r.id AND m.status IN ('auto', 'confirmed')
        LEFT JOIN jobs j ON j.id = m.job_id
        WHERE {where} ORDER BY r.published_at, r.id LIMIT {LIST_LIMIT}""", {"business": business})
    count = (await _rows(datasette, explorer, f"SELECT COUNT(*) AS n FROM reviews r WHERE {where}",
                         {"business": business}))[0]["n"]
    drafts = await _drafts(datasette, explorer, [row["id"] for row in rows])
    for row in rows:
        row["drafts"] = drafts.get(row["id"], [])
        row["platform"] = row["source_name"] or platform_name(row["source"])
        published = datetime.fromisoformat(row["published_at"].replace("Z", "+00:00"))
        late = (datetime.now(timezone.utc) - published).total_seconds() / 86400 - row["deadline_hours"] / 24
        row["late_days"] = int(late) if late >= 1 else 0
        row["themes"] = [fmt.theme(key) for key in (row["themes"] or "").split()]
        row["answer_url"] = answer_url(row["url"])
    return {"rows": rows, "count": count}


async def _drafts(datasette, explorer: Explorer, review_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each complaint's unused reply drafts, the first-choice one (specific, no_money or which_job) first."""
    if not review_ids:
        return {}
    from monitor.replies import FIRST_CHOICE

    marks = ", ".join(f":r{i}" for i in range(len(review_ids)))
    rows = await _rows(datasette, explorer, f"""
        SELECT id, review_id, variant, text FROM reply_drafts WHERE used_at IS NULL AND review_id IN ({marks})""",
        {f"r{i}": review for i, review in enumerate(review_ids)})
    by_review: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda row: (row["variant"] not in FIRST_CHOICE, row["variant"])):
        by_review.setdefault(row["review_id"], []).append(row)
    return by_review


_REVIEW_COLUMNS = """r.id, r.business_id, r.url, r.author, r.rating, r.title, r.body, r.published_at, r.complaint,
       r.reply_body, r.handled_at, r.source, s.name AS source_name"""


async def reviews(datasette, explorer: Explorer, business: str, fmt: Formats, query: str = "",
                  page: int = 1) -> dict[str, Any]:
    """The newest reviews (all of them, not only complaints), a page of LIST_LIMIT at a time, or those whose
    author or text holds `query`, or that are matched to a job whose number or customer holds it."""
    where = f"r.removed_at IS NULL AND {_business_clause('r.business_id')}"
    if query:
        where += """ AND (instr(lower(r.author), lower(:q)) OR instr(lower(r.title), lower(:q))
            OR instr(lower(r.body), lower(:q)) OR r.id IN (
                SELECT m.review_id FROM matches m JOIN jobs j ON j.id = m.job_id
                WHERE m.status IN ('auto', 'confirmed') AND (instr(lower(j.job_id), lower(:q)) OR instr(lower(j.customer_name), lower(:q)))))"""
    params = {"business": business, "q": query}
    rows = await _rows(datasette, explorer, f"""
        SELECT {_REVIEW_COLUMNS} FROM reviews r LEFT JOIN sources s ON s.id = r.source_id
        WHERE {where} ORDER BY r.published_at DESC, r.id LIMIT {LIST_LIMIT} OFFSET {(page - 1) * LIST_LIMIT}""", params)
    count = (await _rows(datasette, explorer, f"SELECT COUNT(*) AS n FROM reviews r WHERE {where}", params))[0]["n"]
    for row in rows:
        row["platform"] = row["source_name"] or platform_name(row["source"])
    return {"rows": rows, "count": count, "first": (page - 1) * LIST_LIMIT + 1 if rows else 0,
            "last": (page - 1) * LIST_LIMIT + len(rows)}


async def reply_suggestions(datasette, explorer: Explorer, business: str, fmt: Formats, review: str) -> dict[str, Any]:
    """One review with replies to start from: a complaint's stored drafts (so the one used is recorded),
    or drafts made now for any other review (praise gets thanks). Nothing is written."""
    from monitor.replies import FIRST_CHOICE, drafts_for_review

    rows = await _rows(datasette, explorer, f"""
        SELECT {_REVIEW_COLUMNS} FROM reviews r LEFT JOIN sources s ON s.id = r.source_id
        WHERE r.id = :review AND {_business_clause('r.business_id')}""", {"business": business, "review": review})
    if not rows:
        return {"rows": [], "count": 0}
    row = rows[0]
    row["platform"] = row["source_name"] or platform_name(row["source"])
    row["drafts"] = (await _drafts(datasette, explorer, [review])).get(review, [])
    if not row["drafts"]:
        made = await datasette.get_database(explorer.database).execute_fn(
            lambda conn: drafts_for_review(sqlite_utils.Database(conn), explorer.config, review))
        row["drafts"] = [{"id": None, "variant": d.variant, "text": d.text}
                         for d in sorted(made, key=lambda d: d.variant not in FIRST_CHOICE)]
    row["answerable"] = row["complaint"] == 1 and row["handled_at"] is None and row["reply_body"] is None
    row["answer_url"] = answer_url(row["url"])
    if row["source"].startswith("http"):  # a feed's article or forum post: open it, there is no platform to answer on
        row["post_url"], row["answer_url"] = row["answer_url"], None
    return {"rows": [row], "count": 1}


async def patterns(datasette, explorer: Explorer, business: str, fmt: Formats) -> dict[str, Any]:
    """Open patterns, one card per cluster: a theme's business-wide, crew and job-type patterns are one problem,
    shown once with where it concentrates; its buttons act on every pattern of the cluster."""
    rows = await _rows(datasette, explorer, f"""
        SELECT id, business_id, kind, theme, dimension, dimension_value, status, evidence_count, baseline_rate,
               median_days_after_completion, last_evidence_at, acknowledged_by, acknowledged_at
        FROM patterns WHERE status IN ('emerging', 'ongoing') AND closed_at IS NULL AND {_business_clause('business_id')}
        ORDER BY last_evidence_at DESC, id LIMIT {LIST_LIMIT}""", {"business": business})
    clusters: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        clusters.setdefault(cluster_key(row), []).append(row)
    cards = [await _pattern_card(datasette, explorer, fmt, members) for members in clusters.values()]
    return {"rows": cards, "count": len(cards)}


async def _pattern_card(datasette, explorer: Explorer, fmt: Formats, patterns: list[dict[str, Any]]) -> dict[str, Any]:
    strongest = max(patterns, key=lambda row: (row["evidence_count"], row["id"]))
    ids = [row["id"] for row in patterns]
    marks = ", ".join(f":p{i}" for i in range(len(ids)))
    members = await _rows(datasette, explorer, f"""
        SELECT DISTINCT r.id, r.author, r.rating, r.title, r.body, r.published_at, j.job_id AS job_number, t.evidence
        FROM pattern_members p JOIN reviews r ON r.id = p.review_id
        LEFT JOIN review_themes t ON t.review_id = r.id AND t.theme = :theme
        LEFT JOIN matches m ON m.review_id = r.id AND m.status IN ('auto', 'confirmed')
        LEFT JOIN jobs j ON j.id = m.job_id
        WHERE p.pattern_id IN ({marks}) ORDER BY r.published_at DESC LIMIT 20""",
        {"theme": strongest["theme"], **{f"p{i}": pattern for i, pattern in enumerate(ids)}})
    places = [fmt.t[f"where_{row['dimension']}"].format(value=row["dimension_value"]) for row in patterns
              if row["dimension_value"] and f"where_{row['dimension']}" in fmt.t]
    acknowledged = [row for row in patterns if row["acknowledged_at"]]
    return strongest | {
        "id": strongest["id"], "ids": ids, "members": members,
        "heading": (fmt.t["non_customer_burst"] if strongest["kind"] == "non_customer_burst"
                    else upper_first(fmt.theme(strongest["theme"]))),
        "where": "" if strongest["kind"] == "non_customer_burst" else ", ".join(sorted(places)) or fmt.t["where_business"],
        "status": cluster_status([row["status"] for row in patterns]),
        "expected": fmt.number(strongest["baseline_rate"], 1 if strongest["baseline_rate"] >= 1 else 2),  # 0,04, not 0
        "last_evidence_at": max(row["last_evidence_at"] or "" for row in patterns),
        "acknowledged_at": max(row["acknowledged_at"] for row in acknowledged) if len(acknowledged) == len(patterns) else None,
        "acknowledged_by": acknowledged[-1]["acknowledged_by"] if acknowledged else None,
    }


def upper_first(text: str) -> str:
    """'vandskade og fugt' -> 'Vandskade og fugt'; str.capitalize would lower-case German nouns."""
    return text[:1].upper() + text[1:]


async def calls(datasette, explorer: Explorer, business: str, fmt: Formats) -> dict[str, Any]:
    """Calls due today or overdue: the day a person chose, else the one analyze set."""
    today = fmt.today.isoformat()
    where = (f"f.done_at IS NULL AND substr(COALESCE(f.call_again_on, f.due_at), 1, 10) <= :today "
             f"AND {_business_clause('f.business_id')}")
    rows = await _rows(datasette, explorer, f"""
        SELECT f.id, f.kind, substr(COALESCE(f.call_again_on, f.due_at), 1, 10) AS due, f.note,
               j.job_id AS job_number, j.customer_name, j.customer_phone, j.job_type, j.completed_at,
               r.title AS review_title, r.body AS review_body, r.rating
        FROM follow_ups f JOIN jobs j ON j.id = f.job_id LEFT JOIN reviews r ON r.id = f.review_id
        WHERE {where} ORDER BY f.kind = 'routine', due, f.id LIMIT {LIST_LIMIT}""",
        {"business": business, "today": today})
    count = (await _rows(datasette, explorer, f"SELECT COUNT(*) AS n FROM follow_ups f WHERE {where}",
                         {"business": business, "today": today}))[0]["n"]
    for row in rows:
        row["overdue_days"] = (fmt.today - date.fromisoformat(row["due"])).days
    return {"rows": rows, "count": count, "today": today}


async def matches(datasette, explorer: Explorer, business: str, fmt: Formats, review: str = "",
                  job_query: str = "") -> dict[str, Any]:
    """Ambiguous matches (or one review's match), each with the jobs it could be about; for one review, also
    the business's jobs whose number, customer or address holds `job_query` (the owner knows the job)."""
    where = ("m.status = 'ambiguous'" if not review else "m.review_id = :review AND m.status != 'rejected'")
    rows = await _rows(datasette, explorer, f"""
        SELECT r.id, r.business_id, r.author, r.author_location, r.rating, r.title, r.body, r.published_at, m.job_id,
               m.score, m.status, m.reasons
        FROM matches m JOIN reviews r ON r.id = m.review_id
        WHERE {where} AND {_business_clause('r.business_id')} ORDER BY r.published_at DESC LIMIT {LIST_LIMIT}""",
        {"business": business, "review": review})
    for row in rows:
        row["candidates"] = await _candidates(datasette, explorer, row)
        row["job_query"] = job_query
        row["found_jobs"] = await _jobs_holding(datasette, explorer, row, job_query) if review and job_query else []
        row["evidence"] = evidence_lines(row["reasons"], fmt)
    return {"rows": rows, "count": len(rows)}


async def _jobs_holding(datasette, explorer: Explorer, row: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """Up to ten of the review's business's jobs whose number, customer or address holds `text`, newest first."""
    shown = {candidate["id"] for candidate in row["candidates"]}
    jobs = await _rows(datasette, explorer, """
        SELECT id, job_id AS job_number, customer_name, address, postcode, city, completed_at, job_type FROM jobs
        WHERE business_id = :business AND (instr(lower(job_id), lower(:text)) OR instr(lower(customer_name), lower(:text))
                                           OR instr(lower(address), lower(:text)))
        ORDER BY completed_at DESC LIMIT 11""", {"business": row["business_id"], "text": text})
    return [job for job in jobs if job["id"] not in shown][:10]


def evidence_lines(reasons_json: str | None, fmt: Formats) -> list[tuple[str, str]]:
    """The proposed job's evidence in the viewer's language, each with its weight ('+1.2' as the language writes it)."""
    try:
        reasons = json.loads(reasons_json or "{}")
    except ValueError:
        return []
    pieces = reasons.get("evidence") if isinstance(reasons, dict) else None
    if not isinstance(pieces, list):
        return []
    lines = []
    for piece in pieces:
        key = f"evidence_{piece.get('kind')}" if isinstance(piece, dict) else ""
        if key == "evidence_name" and f"evidence_name_{piece.get('form')}" in fmt.t:  # a form with words of its own
            key = f"evidence_name_{piece['form']}"
        if key not in fmt.t:
            continue
        if key == "evidence_name" and "named" not in piece:  # stored before customers were counted by name
            piece = {**piece, "named": piece.get("fits"), "of_customers": piece.get("customers")}
        values = {name: _evidence_value(name, value, fmt) for name, value in piece.items()}
        try:
            text = fmt.t[key].format(**values)
        except (KeyError, IndexError, ValueError):
            continue
        weight = piece.get("weight")
        lines.append((upper_first(text), fmt.weight(weight) if isinstance(weight, (int, float)) else ""))
    return lines


def _evidence_value(name: str, value: Any, fmt: Formats) -> str:
    """One number or word of a piece of evidence, as the viewer's language writes it."""
    if isinstance(value, bool) or value is None:
        return ""
    if name == "share" and isinstance(value, (int, float)):
        return fmt.number(value * 100, 0)
    if name in ("fits", "named") and isinstance(value, (int, float)):  # a smoothed count: "0,1 of 1,000 customers" reads as nonsense
        return fmt.number(max(1, round(value)), 0)
    if isinstance(value, (int, float)):
        return fmt.number(value, 0 if name in ("days", "customers", "of_customers") else 1)
    if isinstance(value, list):
        return ", ".join(f"'{item}'" if name == "words" else str(item) for item in value)
    return str(value)


async def _candidates(datasette, explorer: Explorer, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The proposed job, the runner-up and the other close candidates the matcher kept, best first."""
    try:
        reasons = json.loads(row["reasons"] or "{}")
    except ValueError:
        reasons = {}
    # An unmatched review's best candidate is in its reasons: its evidence is what the page shows, so it leads.
    best = row["job_id"] or reasons.get("job")
    scored = [(best, row["score"])] if best else []
    scored += [(alt.get("job"), alt.get("score")) for alt in reasons.get("alternatives", [])]
    if isinstance(reasons.get("runner_up"), dict):
        scored.append((reasons["runner_up"].get("job"), reasons["runner_up"].get("score")))
    seen: dict[str, float | None] = {}
    for job, score in scored:
        if isinstance(job, str) and job not in seen:
            seen[job] = score
    if not seen:
        return []
    marks = ", ".join(f":j{i}" for i in range(len(seen)))
    jobs = {job["id"]: job for job in await _rows(datasette, explorer, f"""
        SELECT id, job_id AS job_number, customer_name, address, postcode, city, completed_at, job_type
        FROM jobs WHERE id IN ({marks})""", {f"j{i}": job for i, job in enumerate(seen)})}
    return [jobs[job] | {"score": score, "proposed": job == row["job_id"]} for job, score in seen.items() if job in jobs]


async def crawl_problems(datasette, explorer: Explorer, business: str, fmt: Formats) -> dict[str, Any]:
    rows = await _rows(datasette, explorer, f"""
        SELECT s.id, COALESCE(s.name, s.url) AS name, s.url, s.last_status, s.last_crawled_at, c.message, c.errors
        FROM sources s LEFT JOIN crawl_runs c ON c.id = (SELECT id FROM crawl_runs WHERE source_id = s.id ORDER BY id DESC LIMIT 1)
        WHERE (s.last_status IN ('degraded', 'failed') OR c.errors > 0) AND {_business_clause('s.business_id')}
        ORDER BY s.last_status = 'failed' DESC, name""", {"business": business})
    for row in rows:
        row["message"] = (row["message"] or "").splitlines()[:2]
        if row["last_status"] not in ("degraded", "failed"):  # read, but some pages could not be: worth a look
            row["last_status"] = "degraded"
    return {"rows": rows, "count": len(rows)}


# ---- the buttons -----------------------------------------------------------------------------------------

class Refused(Exception):
    """Nothing was written; the argument is the key of the owner's message."""


def _who(request) -> str:
    return (request.actor or {}).get("id") or LOCAL_USER


async def act(datasette, request):
    """One button press: check, write through explorer_actions, tell the owner what happened, go back."""
    from datasette import Response

    if request.method != "POST":
        return Response.text("POST only", status=405)
    explorer = _EXPLORERS[datasette]
    await _ensure_allowed(datasette, request, explorer)
    form = await request.post_vars()
    lang = language(request, explorer)
    t = texts(lang)
    back = form.get("back") or "/"
    if not back.startswith("/") or back.startswith("//") or "\\" in back or any(ord(c) < 32 for c in back):
        back = "/"  # only back to a page of this explorer (browsers read "/\\host" as another site)
    action = form.get("action", "")
    handler = ACTIONS.get(action)
    values = {"who": _who(request), "at": utc_now(), "form": form, "lang": lang}
    try:
        if handler is None:
            raise Refused("refused_action")
        message = await datasette.get_database(explorer.database).execute_write_fn(
            lambda conn: _write(conn, handler, values), block=True)
        datasette.add_message(request, t[message[0]].format(**message[1]), datasette.INFO)
    except Refused as refused:
        datasette.add_message(request, t[str(refused)], datasette.ERROR)
    return Response.redirect(back)


def _write(conn: sqlite3.Connection, handler, values: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Run one action in one transaction; it counts as done only when a row changed."""
    before = conn.total_changes
    try:
        with conn:
            message = handler(conn, values)
    except sqlite3.IntegrityError as error:  # a trigger's last word, when the checks above missed a case
        raise Refused("refused_already" if "already" in str(error) else "refused_action") from None
    if conn.total_changes == before:
        raise Refused("refused_already")
    return message


def _one(conn: sqlite3.Connection, sql: str, params: list[Any]) -> tuple | None:
    return conn.execute(sql, params).fetchone()


def _insert_action(conn: sqlite3.Connection, values: dict[str, Any], action: str, **fields: Any) -> None:
    columns = ["action", "who", "at", *fields]
    conn.execute(f"INSERT INTO explorer_actions ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                 [action, values["who"], values["at"], *fields.values()])


def _answered(conn, values):
    review, draft = values["form"].get("review", ""), values["form"].get("draft")
    row = _one(conn, "SELECT complaint, handled_at FROM reviews WHERE id = ?", [review])
    if row is None or row[0] != 1:
        raise Refused("refused_review")
    if row[1] is not None:
        raise Refused("refused_already")
    if draft is not None and _one(conn, "SELECT 1 FROM reply_drafts WHERE id = ? AND review_id = ? AND used_at IS NULL",
                                  [draft, review]) is None:
        raise Refused("refused_draft")
    _insert_action(conn, values, "mark_complaint_handled", review_id=review)
    if draft is not None:  # which suggestion the owner answered with: kept as it was from now on
        conn.execute("UPDATE reply_drafts SET used_at = ?, used_by = ? WHERE id = ?", [values["at"], values["who"], draft])
    return "done_answered", {}


def _this_job(conn, values):
    review, job = values["form"].get("review", ""), values["form"].get("job", "")
    business = _one(conn, "SELECT business_id FROM reviews WHERE id = ?", [review])
    if business is None:
        raise Refused("refused_review")
    if _one(conn, "SELECT 1 FROM jobs WHERE id = ? AND business_id = ?", [job, business[0]]) is None:
        raise Refused("refused_job")
    if _one(conn, "SELECT 1 FROM matches WHERE review_id = ? AND job_id = ? AND status = 'confirmed'", [review, job]):
        raise Refused("refused_already")
    conn.execute("DELETE FROM matches WHERE review_id = ? AND status = 'rejected' AND job_id IS NULL", [review])
    _insert_action(conn, values, "confirm_match", review_id=review, job=job)
    return "done_match", {}


def _not_customer(conn, values):
    review = values["form"].get("review", "")
    if _one(conn, "SELECT 1 FROM reviews WHERE id = ?", [review]) is None:
        raise Refused("refused_review")
    if _one(conn, "SELECT 1 FROM matches WHERE review_id = ? AND status = 'rejected' AND job_id IS NULL", [review]):
        raise Refused("refused_already")
    _insert_action(conn, values, "not_customer", review_id=review)
    return "done_not_customer", {}


def _call_row(conn, values) -> str:
    call = values["form"].get("call", "")
    row = _one(conn, "SELECT done_at FROM follow_ups WHERE id = ?", [call])
    if row is None:
        raise Refused("refused_call")
    if row[0] is not None:
        raise Refused("refused_already")
    return call


def _called(conn, values):
    call = _call_row(conn, values)
    note = (values["form"].get("note") or "").strip()[:2000] or None
    _insert_action(conn, values, "follow_up_done", follow_up_id=call, note=note)
    return "done_called", {}


def _call_again(conn, values):
    call = _call_row(conn, values)
    try:
        day = date.fromisoformat(values["form"].get("date", ""))
    except ValueError:
        raise Refused("refused_date") from None
    if day < date.today():
        raise Refused("refused_date")
    note = (values["form"].get("note") or "").strip()[:2000] or None
    _insert_action(conn, values, "follow_up_reschedule", follow_up_id=call, due=day.isoformat(), note=note)
    return "done_rescheduled", {"date": Formats(values["lang"], date.today()).date(day.isoformat())}


def _pattern(action: str, done: str):
    """Seen or closed, for one pattern or a cluster's (ids one a line); refused unless every id exists,
    and when every one of them was done already."""
    def handler(conn, values):
        # one id a line; a browser sends the lines of a form value joined by CRLF
        patterns = [pattern for pattern in values["form"].get("pattern", "").splitlines() if pattern] or [""]
        rows = [_one(conn, "SELECT acknowledged_at, closed_at FROM patterns WHERE id = ?", [p]) for p in patterns]
        if any(row is None for row in rows):
            raise Refused("refused_pattern")
        pending = [pattern for pattern, row in zip(patterns, rows)
                   if row[1] is None and not (action == "acknowledge_pattern" and row[0] is not None)]
        if not pending:
            raise Refused("refused_already")
        for pattern in pending:
            _insert_action(conn, values, action, pattern_id=pattern)
        return done, {}
    return handler


ACTIONS = {
    "answered": _answered,
    "this_job": _this_job,
    "not_customer": _not_customer,
    "called": _called,
    "call_again": _call_again,
    "seen": _pattern("acknowledge_pattern", "done_seen"),
    "closed": _pattern("close_pattern", "done_closed"),
}
