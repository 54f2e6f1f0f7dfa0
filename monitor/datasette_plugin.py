"""repmon's Datasette plugin: who acted, for the writable canned queries in metadata.yml."""

from __future__ import annotations

from datasette import hookimpl

LOCAL_USER = "local user"  # serving on 127.0.0.1 without a password: whoever sits at this machine


def _who(key: str, request) -> str:
    if key != "name":
        raise KeyError(key)
    return (request.actor or {}).get("id") or LOCAL_USER


@hookimpl
def register_magic_parameters(datasette):
    """:_who_name is the signed-in user's id, or 'local user' on an explorer without a password."""
    return [("who", _who)]


@hookimpl
def render_cell(value, column, table, database, datasette):
    """Links from review sites are untrusted: they open without handing over the page (noopener) or rank (nofollow)."""
    if isinstance(value, str) and value.startswith(("http://", "https://")) and " " not in value:
        from markupsafe import Markup, escape

        return Markup(f'<a href="{escape(value)}" rel="nofollow noopener">{escape(value)}</a>')
    return None
