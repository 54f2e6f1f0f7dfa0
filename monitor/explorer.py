"""Build the Datasette explorer: metadata.yml, settings, and the guard on who may see it."""

from __future__ import annotations

import copy
import functools
import gc
import ipaddress
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette

from monitor import owner_pages
from monitor.config import Config

# metadata.yml sits at the top of the checkout, beside pyproject.toml; monitor/metadata.yml links to it so
# that a built wheel carries it inside the package.
DEFAULT_METADATA = Path(__file__).parent / "metadata.yml"
TEMPLATES = Path(__file__).parent / "templates"  # the owner's pages (monitor/owner_pages.py)
METADATA_DATABASE = "monitor"  # the database key metadata.yml is written for
OWNER = "owner"
SETTINGS = {
    # Facet suggestions cost about 1 s per table page on a million reviews.
    "suggest_facets": False,
    "sql_time_limit_ms": 3000,
    "default_page_size": 50,
    "num_sql_threads": 0,
}


class ExplorerRefused(Exception):
    """The explorer would expose customer data to the network without authentication."""


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def password_hash(config: Config) -> str | None:
    """The owner's password hash from the environment variable the config names, if set."""
    name = config.explorer.password_hash_env
    return os.environ.get(name) or None if name else None


def check_host(host: str, config: Config) -> None:
    """Refuse a non-loopback host unless the owner's password is configured."""
    if is_loopback(host) or password_hash(config):
        return
    raise ExplorerRefused(
        f"refusing to serve on {host}: the database holds customer names and addresses. "
        "Serve on 127.0.0.1, or configure a password: set [explorer] password_hash_env "
        "in monitor.toml to the name of an environment variable holding a hash from "
        "`datasette hash-password`."
    )


def load_metadata(db_path: Path, config: Config, metadata_path: Path = DEFAULT_METADATA,
                  lang: str | None = None) -> dict[str, Any]:
    """metadata.yml, pointed at this database file and locked down when a password is set; its descriptions and
    the dashboard in `lang`, else in the business's language."""
    metadata = yaml.safe_load(metadata_path.read_text(encoding="utf-8")) or {}
    metadata = copy.deepcopy(metadata)
    lang = lang or business_language(config, stored_languages(db_path))
    translate_database(metadata, lang)
    databases = metadata.get("databases", {})
    if METADATA_DATABASE in databases:
        databases[db_path.stem] = databases.pop(METADATA_DATABASE)
    for dashboard in (metadata.get("plugins", {}).get("datasette-dashboards") or {}).values():
        for chart in dashboard.get("charts", {}).values():
            if chart.get("db") == METADATA_DATABASE:
                chart["db"] = db_path.stem
        translate_dashboard(dashboard, lang)
    if password_hash(config):
        plugins = metadata.setdefault("plugins", {})
        plugins["datasette-auth-passwords"] = {
            f"{OWNER}_password_hash": {"$env": config.explorer.password_hash_env},
        }
        # Anonymous visitors see nothing; only the signed-in owner browses and acts.
        metadata["allow"] = {"id": OWNER}
    return metadata


def business_language(config: Config, stored: list[str] = ()) -> str:
    """The first of the businesses' languages repmon speaks; without a configuration, the first of those the
    database keeps for its businesses (`stored`); English otherwise."""
    for lang in [lang for business in config.business for lang in business.languages] or list(stored):
        if lang in owner_pages.LANGUAGES:
            return lang
    return "en"


def stored_languages(db_path: Path) -> list[str]:
    """The languages of the database's businesses, in the order they were configured, the first business first."""
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT languages FROM businesses ORDER BY created_at, id").fetchall()
    except sqlite3.Error:
        return []
    languages: list[str] = []
    for (stored,) in rows:
        try:
            languages += [lang for lang in json.loads(stored or "[]") if isinstance(lang, str)]
        except ValueError:
            continue
    return languages


# Words of metadata.yml that metadata_texts.toml has in each language other than English.
QUERY_TEXTS = ("title", "description", "on_success_message")
TABLE_TEXTS = ("title", "description")


def translate_database(metadata: dict[str, Any], lang: str) -> None:
    """The database's, canned queries' and tables' words of metadata.yml in `lang`; English is metadata.yml's
    own. A text that another metadata file words differently stays as written there."""
    database = metadata.get("databases", {}).get(METADATA_DATABASE)
    if lang == "en" or database is None:
        return
    from monitor.text import load_data

    words, shipped = load_data("metadata_texts.toml")[lang], _shipped_database()
    if "description" in database and database["description"] == shipped.get("description"):
        database["description"] = words["database"]["description"]
    for kind, keys in (("queries", QUERY_TEXTS), ("tables", TABLE_TEXTS)):
        for name, described in (database.get(kind) or {}).items():
            english = (shipped.get(kind) or {}).get(name) or {}
            translated = words[kind].get(name, {})
            for key in keys:
                if key in described and key in translated and described[key] == english.get(key):
                    described[key] = translated[key]


@functools.cache
def _shipped_database() -> dict[str, Any]:
    """The database part of the metadata.yml repmon ships, as metadata_texts.toml translates it."""
    return yaml.safe_load(DEFAULT_METADATA.read_text(encoding="utf-8"))["databases"][METADATA_DATABASE]


# Chart keys of metadata.yml's dashboard and the dashboard.toml words for their titles.
CHART_TITLES = {"open-patterns": "open_patterns", "follow-ups-due": "follow_ups_due", "unanswered": "unanswered",
                "rating-trend": "rating_trend", "themes-by-month": "themes_by_month", "reply-rate": "reply_rate",
                "median-reply": "median_reply", "patterns-table": "patterns_table"}
AXIS_TITLES = {"Month": "month", "Average rating": "average_rating", "Source": "source", "Complaints": "complaints",
               "Theme": "theme", "Answered (%)": "answered"}


def translate_dashboard(dashboard: dict[str, Any], lang: str) -> None:
    """The dashboard in `lang`: titles, axes, theme names and the patterns table's words."""
    from monitor.text import load_data

    words = load_data("dashboard.toml")[lang]
    pages = owner_pages.texts(lang)
    dashboard["title"], dashboard["description"] = words["title"], words["description"]
    charts = dashboard.get("charts", {})
    for key, word in CHART_TITLES.items():
        if key in charts:
            charts[key]["title"] = words[word]
    for chart in charts.values():
        for channel in ((chart.get("display") or {}).get("encoding") or {}).values():
            if isinstance(channel, dict) and channel.get("title") in AXIS_TITLES:
                channel["title"] = words[AXIS_TITLES[channel["title"]]]
    if "themes-by-month" in charts:
        charts["themes-by-month"]["query"] = charts["themes-by-month"]["query"].replace("l.lang = 'en'", f"l.lang = '{lang}'")
    if "patterns-table" in charts:
        charts["patterns-table"]["query"] = _patterns_table_sql(lang, words, pages)


def _patterns_table_sql(lang: str, words: dict[str, str], pages: dict[str, str]) -> str:
    def text(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def name(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    where = {key: pages[f"where_{key}"].replace(" {value}", "") for key in ("crew", "job_type", "materials")}
    return (
        f"select coalesce(l.label, case when p.kind = 'non_customer_burst' then {text(pages['non_customer_burst'])} end, p.theme) "
        f"as {name(words['theme'])}, "
        f"case p.dimension when 'crew' then {text(where['crew'])} when 'job_type' then {text(where['job_type'])} "
        f"when 'materials' then {text(where['materials'])} else {text(pages['where_business'])} end as {name(words['where'])}, "
        f"p.dimension_value as {name(words['what'])}, "
        f"case p.status when 'emerging' then {text(pages['status_emerging'])} else {text(pages['status_ongoing'])} end "
        f"as {name(words['status'])}, p.evidence_count as {name(words['complaints'])}, "
        f"substr(p.last_evidence_at, 1, 10) as {name(words['latest'])}, "
        f"p.median_days_after_completion as {name(words['days_after_job'])} "
        f"from patterns p left join theme_labels l on l.theme = p.theme and l.lang = {text(lang)} "
        f"where p.status in ('emerging', 'ongoing') and p.closed_at is null order by p.last_evidence_at desc"
    )


def split_metadata(metadata: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(what Datasette keeps, what the repmon plugin serves), or (all, None) when the split is unsafe.

    Datasette 0.65 deep-copies its own metadata on every table permission check, dozens of times per
    database page: with descriptions for every column that is half the page time. The descriptive
    part (databases, plugins) is served by the plugin's get_metadata hook instead, which permission
    checks do not ask. That is only safe when no `allow` rule lives below the top level.
    """
    described = {key: metadata[key] for key in ("databases", "plugins") if key in metadata}
    if _has_permission_rule(described):
        return metadata, None
    return {key: value for key, value in metadata.items() if key not in described}, described


def _has_permission_rule(node: Any) -> bool:
    if isinstance(node, dict):
        return any(key in ("allow", "allow_sql") or _has_permission_rule(value) for key, value in node.items())
    if isinstance(node, list):
        return any(_has_permission_rule(item) for item in node)
    return False


def build_datasette(db_path: Path, config: Config, metadata_path: Path = DEFAULT_METADATA) -> Datasette:
    """A Datasette instance serving `db_path` with repmon's metadata and settings."""
    from datasette.plugins import pm

    from monitor.datasette_plugin import allow_hosts, serve_metadata

    # datasette-render-markdown comes with datasette-dashboards. repmon never renders Markdown (review
    # text is untrusted and shown as text), and the plugin looks its settings up for every cell shown:
    # 40% of the time of a 200-row list. Dashboards therefore have no Markdown charts.
    for name, plugin in pm.list_name_plugin():
        if getattr(plugin, "__name__", None) == "datasette_render_markdown":
            pm.set_blocked(name)
    lang = business_language(config, stored_languages(db_path))
    kept, described = split_metadata(load_metadata(db_path, config, metadata_path, lang))
    datasette = Datasette([str(db_path)], metadata=kept, settings=SETTINGS, template_dir=str(TEMPLATES))
    allow_hosts(datasette, config.explorer.public_url)
    owner_pages.attach(datasette, config, db_path.stem, stored_languages(db_path))
    if described is not None:
        # Descriptions and dashboard in the language the viewer chose, else the business's (made here): each
        # other language's metadata is made the first time a viewer asks for it.
        serve_metadata(datasette, described,
                       lambda chosen: split_metadata(load_metadata(db_path, config, metadata_path, chosen))[1], lang)
    return datasette


class PortInUse(Exception):
    """The explorer's port is taken: found before any work is done."""


def check_port(host: str, port: int) -> None:
    """Bind and release the port now, so a taken port is reported before anything starts."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a socket closing down is no obstacle
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use (is the explorer already running?); "
                                f"choose another with --port") from None
            raise PortInUse(f"cannot listen on {host}:{port}: {error.strerror}") from None


def serve_forever(datasette: Datasette, host: str, port: int) -> None:
    """Run the explorer until Ctrl+C."""
    import uvicorn

    asgi = datasette.app()
    # What exists now lives as long as the server: keep it out of the collector's full passes, which
    # otherwise make one request in ten twice as slow (reviews table p95 139 -> 73 ms at 1M reviews).
    gc.freeze()
    uvicorn.run(asgi, host=host, port=port, log_level="warning", lifespan="on")
