"""The database page ("All data") in the owner's language: their own pages first, then the canned queries, then
the tables with a line each; Datasette's SQL editor last, folded away (monitor/templates/database.html)."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal

from monitor import owner_pages

TEMPLATE = "database.html"


def template_vars(datasette, request, explorer: owner_pages.Explorer, lang: str) -> dict[str, Any]:
    """What database.html needs beyond Datasette's own context: the nav, the owner's pages, the languages,
    and counts as the viewer's language writes them."""
    t = owner_pages.texts(lang)
    return {
        "repmon_nav": owner_pages.nav_links(datasette, explorer, t, datasette.urls.database(explorer.database)),
        "repmon_pages": pages(datasette, t),
        "repmon_languages": owner_pages.language_links(request),
        "repmon_rows": lambda count: rows(count, lang, t),
        "repmon_count": lambda count: format_decimal(count, locale=owner_pages.LOCALES[lang]),
    }


def pages(datasette, t: dict[str, str]) -> list[tuple[str, str, str]]:
    """(href, name, one line about it) for each of the owner's pages and the dashboard, as the nav orders them."""
    links = [(datasette.urls.path(path), t[name], t[about]) for path, name, about in owner_pages.PAGES]
    return links + [(datasette.urls.path(owner_pages.DASHBOARD), t["nav_dashboard"], t["about_dashboard"])]


def rows(count: int | None, lang: str, t: dict[str, str]) -> str:
    """'1.234 rækker' as `lang` writes it; Datasette leaves a table it cannot count quickly without a count."""
    if count is None:
        return t["rows_many"]
    if count == 1:
        return t["rows_one"]
    return t["rows"].format(count=format_decimal(count, locale=owner_pages.LOCALES[lang]))
