"""repmon's Datasette plugin: who acted, for the writable canned queries in metadata.yml."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.utils import tilde_encode
from markupsafe import Markup, escape

from monitor import web_guard

LOCAL_USER = "local user"  # serving on 127.0.0.1 without a password: whoever sits at this machine


def _who(key: str, request) -> str:
    if key != "name":
        raise KeyError(key)
    return (request.actor or {}).get("id") or LOCAL_USER


@hookimpl
def register_magic_parameters(datasette):
    """:_who_name is the signed-in user's id, or 'local user' on an explorer without a password."""
    return [("who", _who)]


_SERVED: WeakKeyDictionary[Any, dict[str, Any]] = WeakKeyDictionary()
_IN_LANGUAGE: WeakKeyDictionary[Any, tuple[Callable[[str], dict[str, Any] | None], dict[str, Any]]] = WeakKeyDictionary()
VIEWER_LANGUAGE: ContextVar[str | None] = ContextVar("repmon_viewer_language", default=None)  # set per request


def serve_metadata(datasette, described: dict[str, Any],
                   in_language: Callable[[str], dict[str, Any] | None] | None = None, lang: str | None = None) -> None:
    """Serve `described` (databases, plugins), which is in `lang`, as metadata of this Datasette; see
    explorer.split_metadata. `in_language(lang)` makes the same in another language, for a viewer who chose one."""
    _SERVED[datasette] = described
    if in_language is not None:
        _IN_LANGUAGE[datasette] = (in_language, {lang: described} if lang else {})


@hookimpl
def get_metadata(datasette, key, database, table):
    """The descriptive metadata of a repmon explorer, in the viewer's chosen language, else in the business's
    (as on the owner's pages); permission checks (key 'tables') read none of it."""
    if key == "tables":
        return None
    if datasette in _IN_LANGUAGE:
        from monitor import owner_pages

        lang = VIEWER_LANGUAGE.get() or owner_pages.business_language(datasette)
        make, made = _IN_LANGUAGE[datasette]
        if lang not in made:
            made[lang] = make(lang)
        return made[lang] or _SERVED.get(datasette)
    return _SERVED.get(datasette)


LONG_TEXT = 400  # characters: longer cells get a box of limited height
STYLESHEET = "/-/repmon.css"
# Long unbroken text wraps instead of widening the table; each cell's direction comes from its own text
# and stays inside it (plaintext isolates like <bdi dir="auto">), so right-to-left or override
# characters in one review cannot reorder the cells beside it.
CSS = """
table.rows-and-columns td, table.rows-and-columns th { unicode-bidi: plaintext; overflow-wrap: anywhere; max-width: 40em; }
.repmon-long { max-height: 12em; overflow: auto; }
body.row .repmon-long { max-height: none; }
.repmon-nav { display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; list-style: none; margin: 0; padding: 0; }
.repmon-nav a { color: #fff; }
.repmon-nav a[aria-current] { font-weight: bold; text-decoration: underline; }
body.repmon-owner header nav { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.5em 1.5em; }
.password-login-input { width: 100%; max-width: 25em; box-sizing: border-box; padding: 0.5em; font-size: 1em; }
.password-login button { font-size: 1em; padding: 0.4em 1.2em; background: #276890; color: #fff; border: 0; border-radius: 5px; }
.repmon-call .repmon-action label { display: inline-flex; gap: 0.4em; align-items: center; white-space: nowrap; }
.repmon-call .repmon-action input[type=text] { width: 18em; max-width: 60vw; }
.repmon-search { display: flex; flex-wrap: wrap; gap: 0.5em; align-items: center; margin: 0.5em 0; }
.repmon-search label, .repmon-call .repmon-action label { width: auto; }
.repmon-search label { display: inline-flex; flex-wrap: wrap; gap: 0.4em; align-items: center; font-weight: normal; }
.repmon-search input[type=search] { width: 20em; max-width: 100%; box-sizing: border-box; padding: 0.3em; }
.repmon-account { display: flex; gap: 0.8em; align-items: baseline; color: #fff; }
.repmon-account a, .repmon-account button { color: #fff; }
.repmon-bar { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.5em; align-items: baseline; }
.repmon-counts { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 1em 0; }
.repmon-counts a { border: 1px solid #ccd; border-radius: 6px; padding: 0.5em 0.9em; text-decoration: none; }
.repmon-counts strong { font-size: 1.5em; margin-right: 0.2em; }
.repmon-card { border: 1px solid #dde; border-radius: 6px; padding: 0.7em 0.9em; margin: 0 0 0.8em; max-width: 60em; }
.repmon-card .repmon-head { display: flex; flex-wrap: wrap; gap: 0.2em 0.8em; align-items: baseline; }
.repmon-review { margin: 0.5em 0; white-space: pre-wrap; overflow-wrap: anywhere; unicode-bidi: plaintext; }
.repmon-late { color: #a00; font-weight: bold; }
.repmon-when, .repmon-seen, .repmon-status { color: #555; }
.repmon-stars { color: #b58100; letter-spacing: 0.05em; }
.repmon-theme { background: #eef; border-radius: 4px; padding: 0.1em 0.4em; margin-right: 0.4em; }
.repmon-nojob { color: #7a4b00; }
.repmon-buttons { display: flex; flex-wrap: wrap; gap: 0.6em; align-items: center; margin-top: 0.5em; }
.repmon-action { display: inline-flex; flex-wrap: wrap; gap: 0.4em; align-items: center; margin: 0; }
.repmon-action button, .repmon-answer { font-size: 1em; padding: 0.35em 0.8em; border-radius: 5px; }
.repmon-action button { background: #276890; color: #fff; border: 0; cursor: pointer; }
.repmon-secondary button { background: #fff; color: #276890; border: 1px solid #276890; }
.repmon-answer { border: 1px solid #276890; text-decoration: none; }
.repmon-candidates { border-collapse: collapse; margin: 0.5em 0; display: block; overflow-x: auto; }
.repmon-candidates td, .repmon-candidates th { border-bottom: 1px solid #eee; padding: 0.3em 0.5em; text-align: left; }
.repmon-proposed { background: #f4f8ff; }
.repmon-candidates caption { text-align: left; font-weight: bold; }
.message-error { background: #fdd; } .message-info { background: #dfd; }
.repmon-draft { background: #f7f9fc; border-left: 3px solid #276890; padding: 0.4em 0.7em; margin: 0.5em 0; }
.repmon-draft textarea { width: 100%; box-sizing: border-box; font: inherit; }
.repmon-draft-title { font-weight: bold; margin: 0 0 0.3em; }
.repmon-all-data { list-style: none; padding: 0; max-width: 60em; }
.repmon-all-data li { margin: 0 0 0.7em; }
.repmon-all-data span, .repmon-rows, .repmon-table-name { color: #555; }
.repmon-table-name { font-size: 0.8em; font-weight: normal; }
details.repmon-sql { margin: 2em 0 1em; max-width: 60em; }
details.repmon-sql summary { cursor: pointer; color: #276890; }
.repmon-copy { font-size: 1em; padding: 0.35em 0.8em; border-radius: 5px; border: 1px solid #276890; background: #fff; color: #276890; }
"""


@hookimpl
def extra_template_vars(datasette, request, template):
    """The owner's texts in the viewer's language, for Datasette's and its plugins' pages that repmon
    words itself (the sign-in page, the database page)."""
    from monitor import all_data, owner_pages, query_pages, web_guard

    from monitor.explorer import password_hash

    explorer = owner_pages._EXPLORERS.get(datasette)
    back_to = web_guard.page_after_sign_in(request.args.get("next")) if request is not None else None
    lang = owner_pages.language(request, explorer) if explorer is not None and request is not None else "en"
    words = {"repmon_lang": lang, "repmon_texts": owner_pages.texts(lang),
             "repmon_signing_in": explorer is not None and password_hash(explorer.config) is not None,
             "repmon_after_sign_in": back_to or ""}
    if template == all_data.TEMPLATE and explorer is not None and request is not None:
        words |= all_data.template_vars(datasette, request, explorer, lang)
    if template in query_pages.TEMPLATES and explorer is not None and request is not None:
        words |= query_pages.template_vars(datasette, request, explorer, lang, template)
    if template == "query.html" and explorer is not None:
        async def with_choices() -> dict[str, Any]:
            return words | {"repmon_choices": await query_pages.parameter_choices(datasette, explorer, lang)}

        return with_choices
    return words


@hookimpl
def extra_css_urls(datasette):
    return [{"url": datasette.urls.path(STYLESHEET)}]


@hookimpl
def register_routes():
    from datasette import Response

    async def stylesheet():
        return Response(CSS, content_type="text/css; charset=utf-8", headers={"cache-control": "max-age=3600"})

    from monitor import owner_pages

    return [(r"^/-/repmon\.css$", stylesheet), *owner_pages.routes()]


# In the canned queries' results these columns hold a review's or a job's primary key.
ROW_LINKS = {"review_id": "reviews", "job_id": "jobs"}


@hookimpl
def render_cell(value, column, table, database, datasette):
    """Review and job ids in query results link to their rows; links from review sites are untrusted:
    they open without handing over the page (noopener) or passing on rank (nofollow). In query results dates,
    themes and coded values read in the viewer's language (monitor/query_pages.py)."""
    from monitor import owner_pages, query_pages

    if table is None and datasette in owner_pages._EXPLORERS:
        lang = VIEWER_LANGUAGE.get() or owner_pages.business_language(datasette)
        worded = query_pages.cell(datasette, database, value, column, lang)
        if worded is not None:
            return worded
    if not isinstance(value, str):
        return None
    in_words = _reasons_in_words(value) if column == "reasons" and value.startswith("{") else None
    if in_words is not None:  # however long its evidence made it
        return in_words
    if len(value) > LONG_TEXT:
        # A box of limited height that scrolls; the row's own page shows it whole (see repmon.css).
        return Markup(f'<div class="repmon-long" dir="auto">{escape(value)}</div>')
    if table is None and column in ROW_LINKS and value:
        href = datasette.urls.row(database, ROW_LINKS[column], tilde_encode(value))
        # A job's id is "<business>:<job number>": the number is what the owner knows it by.
        text = value.split(":", 1)[1] if column == "job_id" and ":" in value else value
        return Markup(f'<a href="{escape(href)}" title="{escape(value)}">{escape(text)}</a>')
    if value.startswith(("http://", "https://")) and " " not in value:
        return Markup(f'<a href="{escape(value)}" rel="nofollow noopener">{escape(value)}</a>')
    return None


REASONS_ORDER = ("name", "commonness", "date", "experienced", "location", "job_type", "crew", "reference", "street")


def _reasons_in_words(reasons_json: str) -> Markup | None:
    """A match's reasons as a person reads them: the signals in words, then the runner-up."""
    try:
        reasons = json.loads(reasons_json)
    except ValueError:
        return None
    explained = reasons.get("explained") if isinstance(reasons, dict) else None
    if not isinstance(explained, dict):
        return None
    order = {key: place for place, key in enumerate(REASONS_ORDER)}
    keys = sorted(explained, key=lambda key: order.get(key, len(order)))  # stored with sorted keys
    items = [f"<li>{escape(key)}: {escape(explained[key])}</li>" for key in keys]
    runner_up = reasons.get("runner_up")
    if isinstance(runner_up, dict):
        items.append(f"<li>runner-up: {escape(runner_up.get('job'))} (score {escape(runner_up.get('score'))})</li>")
    items.append(f"<li>candidates: {escape(reasons.get('candidates'))}</li>")
    return Markup(f'<ul class="reasons" style="min-width: 24em; margin: 0; padding-left: 1.1em">{"".join(items)}</ul>')


SEARCH_QUERY = "search_reviews"


@hookimpl
def asgi_wrapper(datasette):
    """The explorer behind web_guard's checks; the search box on the reviews table opens search_reviews;
    the dashboards' script puts text in its tables as text.

    Datasette's table search counts and sorts every match (half a second for a common word in a
    million reviews); the canned query shows the newest matches with snippets and their jobs, at
    once. Searches combined with other filters, and the JSON API, keep Datasette's own search.
    """

    from monitor import owner_pages

    def wrap(app):
        async def explorer(scope, receive, send):
            if scope["type"] == "http":
                VIEWER_LANGUAGE.set(_viewer_language(scope))
                send = _remembering_language(datasette, scope, send)
            if scope["type"] == "http" and scope["path"] == DASHBOARDS_JS:
                await _send_script(send, dashboards_script())
                return
            target = await _search_target(datasette, scope) if scope["type"] == "http" else None
            if target is None:
                await app(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 302,
                        "headers": [(b"location", target.encode()), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})

        return web_guard.guard(explorer, lambda: _ALLOWED_HOSTS.get(datasette, web_guard.LOOPBACK_HOSTS),
                               _THROTTLES.setdefault(datasette, web_guard.LoginThrottle()),
                               lambda: owner_pages.business_language(datasette))

    return wrap


def _viewer_language(scope) -> str | None:
    """The language the viewer chose (?lang= or the owner's pages' cookie), if repmon speaks it."""
    from monitor.owner_pages import LANGUAGE_COOKIE, LANGUAGES

    chosen = _asked_language(scope) or web_guard.cookie(scope, LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else None


def _asked_language(scope) -> str | None:
    """?lang= or, on a table page's language links, ?_lang= (see owner_pages.TABLE_LANGUAGE_ARG)."""
    from monitor.owner_pages import TABLE_LANGUAGE_ARG

    args = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    return args.get("lang") or args.get(TABLE_LANGUAGE_ARG)


def _remembering_language(datasette, scope, send):
    """`send`, setting the owner's pages' language cookie when the database page is asked for in a language
    (?lang=), or any of Datasette's pages with ?_lang=, so the pages they lead to stay in it. Table pages read
    ?lang= as a filter on a column."""
    from monitor.owner_pages import LANGUAGE_COOKIE, LANGUAGES, TABLE_LANGUAGE_ARG

    args = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    on_database_page = scope["path"].strip("/") in datasette.databases and args.get("lang") in LANGUAGES
    asked = args.get("lang") if on_database_page else args.get(TABLE_LANGUAGE_ARG)
    if asked not in LANGUAGES or scope.get("method") != "GET":
        return send
    cookie = f"{LANGUAGE_COOKIE}={asked}; Max-Age={365 * 24 * 3600}; Path=/; SameSite=Lax".encode()

    async def remembering(message):
        if message["type"] == "http.response.start" and message["status"] == 200:
            message = message | {"headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
        await send(message)

    return remembering


_ALLOWED_HOSTS: WeakKeyDictionary[Any, frozenset[str]] = WeakKeyDictionary()
_THROTTLES: WeakKeyDictionary[Any, web_guard.LoginThrottle] = WeakKeyDictionary()


def allow_hosts(datasette, public_url: str | None) -> None:
    """The Host names this explorer answers: loopback, and the host of the configured public URL."""
    _ALLOWED_HOSTS[datasette] = web_guard.allowed_hosts(public_url)


DASHBOARDS_JS = "/-/static-plugins/datasette_dashboards/dashboards.js"
# datasette-dashboards 0.8 writes query results into metric and table charts with innerHTML, so a job
# type from an export could run as script. The script is served with those writes as textContent.
DASHBOARDS_HTML_WRITES = 3


@functools.cache
def dashboards_script() -> bytes:
    import datasette_dashboards

    script = (Path(datasette_dashboards.__file__).parent / "static" / "dashboards.js").read_text(encoding="utf-8")
    writes = script.count(".innerHTML = ")
    if writes != DASHBOARDS_HTML_WRITES:
        raise RuntimeError(f"datasette-dashboards' script changed ({writes} innerHTML writes): check its escaping")
    return script.replace(".innerHTML = ", ".textContent = ").encode("utf-8")


async def _send_script(send, script: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/javascript; charset=utf-8"),
                            (b"content-length", str(len(script)).encode()), (b"cache-control", b"no-cache")]})
    await send({"type": "http.response.body", "body": script})


async def _search_target(datasette, scope) -> str | None:
    from urllib.parse import parse_qsl, urlencode

    if scope.get("method") != "GET":
        return None
    parts = scope["path"].strip("/").split("/")
    if len(parts) != 2 or parts[1] != "reviews" or parts[0] not in datasette.databases:
        return None
    args = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"))
    if len(args) != 1 or args[0][0] != "_search":
        return None
    if SEARCH_QUERY not in await datasette.get_canned_queries(parts[0], None):
        return None
    return datasette.urls.path(f"/{parts[0]}/{SEARCH_QUERY}?" + urlencode({"q": args[0][1]}))
