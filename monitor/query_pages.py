"""Datasette's query, table and row pages in the owner's language (monitor/templates/query.html, table.html,
row.html, _table.html): column headings, filters, coded values, dates and the actions' refusals from
monitor/data/query_pages.toml, counts as the language writes them.

Only the page is worded: the JSON and CSV of a query keep its column names and values, which scripts rely on.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from monitor import all_data, owner_pages
from monitor.text import load_data
from monitor.themes import vocabulary

TEMPLATES = ("query.html", "table.html", "row.html")
DATE_COLUMNS = re.compile(r"(^at|_at|_on)$")  # published_at, due_at, call_again_on, at ...
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")
SMALLEST_SHOWN = 0.001  # numbers are shown to three decimals
# Columns holding an id the owner never reads: (the owner's page or the query that opens it, its argument,
# the link's words in query_pages.toml's [page] or explorer.toml)
OPENS = {"review_id": ("/-/reviews", "review", "open_review"),
         "pattern_id": ("pattern_evidence", "pattern_id", "show_complaints")}


def words(lang: str) -> dict[str, Any]:
    return load_data("query_pages.toml")[lang]


def template_vars(datasette, request, explorer: owner_pages.Explorer, lang: str, template: str) -> dict[str, Any]:
    """What the query, table and row pages need beyond Datasette's own context: the nav, the language links, the
    page's words, headings for columns and parameters, counts, and the actions' messages in the viewer's language."""
    t, page = owner_pages.texts(lang), words(lang)
    database, name = request.url_vars.get("database"), request.url_vars.get("table")
    # Datasette gives an action's page (a writable query) neither its title nor its description.
    queries = (datasette.metadata("queries", database=database) or {}) if database else {}
    return {
        "repmon_query": queries.get(name) if isinstance(queries.get(name), dict) else None,
        "repmon_lookups": page.get("lookups", {}),
        "repmon_count": lambda count: format_decimal(count, locale=owner_pages.LOCALES[lang]),
        "repmon_table_title": lambda table: (datasette.metadata("title", database=database, table=table) or table),
        "repmon_nav": owner_pages.nav_links(datasette, explorer, t, request.path),
        "repmon_languages": owner_pages.language_links(
            request, "lang" if template == "query.html" else owner_pages.TABLE_LANGUAGE_ARG),
        "repmon_page": page["page"],
        "repmon_heading": lambda column: heading(column, lang),
        "repmon_rows": lambda count: all_data.rows(count, lang, t),
        "repmon_message": lambda message: refusal(message, lang),
    }


async def parameter_choices(datasette, explorer: owner_pages.Explorer, lang: str) -> dict[str, list[tuple[str, str]]]:
    """Parameters the owner picks by name rather than types as an id: (value, words) for each choice."""
    businesses = await owner_pages._businesses(datasette, explorer)
    every = owner_pages.texts(lang)["all_businesses"]
    return {"business": [("", every)] + [(row["id"], row["name"]) for row in businesses]}


def heading(column: str, lang: str) -> str:
    """A column's or parameter's heading; a column a query added that has none yet keeps its name."""
    return words(lang)["columns"].get(column, column)


def refusal(message: str, lang: str) -> str:
    """An explorer_actions trigger's message (always English, from monitor/schema.py) in `lang`; any other
    message (the query's own success message, already in `lang`) as it is."""
    for key, english in words("en")["refusals"].items():
        if message == english:
            return words(lang)["refusals"][key]
    return message


def cell(datasette, database: str, value: Any, column: str, lang: str) -> str | Markup | None:
    """A query result's value as the owner reads it: a review opens on the owner's page of it and a pattern on
    its complaints, dates in the language's way, themes and coded values in words; None where the value shows
    as it is."""
    locale = owner_pages.LOCALES[lang]
    if column in OPENS and isinstance(value, str) and value:
        path, key, label = OPENS[column]
        page = datasette.urls.path(path) if path.startswith("/") else datasette.urls.query(database, path)
        href = page + "?" + urlencode({key: value})
        text = words(lang)["page"][label] if label in words(lang)["page"] else owner_pages.texts(lang)[label]
        return Markup(f'<a href="{escape(href)}" title="{escape(value)}">{escape(text)}</a>')
    if column == "url" and isinstance(value, str) and value.startswith(("http://", "https://")) and " " not in value:
        # The platform's host says where the link leads; the whole address is in its title.
        return Markup(f'<a href="{escape(value)}" title="{escape(value)}" rel="nofollow noopener">'
                      f'{escape(urlsplit(value).netloc)}</a>')
    if isinstance(value, float):
        if 0 < abs(value) < SMALLEST_SHOWN:  # a pattern's chance of coincidence, 1.5e-05: not "0"
            return "< " + format_decimal(SMALLEST_SHOWN, locale=locale)
        return format_decimal(value, locale=locale)  # 1,5 and 65.200 in Danish; 100.0 as 100
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    if isinstance(value, str) and DATE_COLUMNS.search(column) and ISO_DAY.match(value):
        return format_date(date.fromisoformat(value[:10]), format="medium", locale=locale)
    if column == "month" and isinstance(value, str) and ISO_MONTH.match(value):
        return format_date(date.fromisoformat(value + "-01"), format="MMMM y", locale=locale)
    if column == "theme" and isinstance(value, str):
        return vocabulary().label(value, lang)
    if column == "themes" and isinstance(value, str):  # a review's themes, as "leak,delay"
        return ", ".join(vocabulary().label(theme, lang) for theme in value.split(","))
    coded = words(lang).get("values", {}).get(column)
    if coded is not None:
        return coded.get(str(value))
    return None
