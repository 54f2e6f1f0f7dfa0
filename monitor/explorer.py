"""Build the Datasette explorer: metadata.yml, settings, and the guard on who may see it."""

from __future__ import annotations

import copy
import ipaddress
import os
from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette

from monitor.config import Config

# metadata.yml sits at the top of the checkout, beside pyproject.toml.
DEFAULT_METADATA = Path(__file__).resolve().parent.parent / "metadata.yml"
METADATA_DATABASE = "monitor"  # the database key metadata.yml is written for
OWNER = "owner"
SETTINGS = {
    # Facet suggestions cost about 1 s per table page on a million reviews.
    "suggest_facets": False,
    "sql_time_limit_ms": 3000,
    "default_page_size": 50,
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


def load_metadata(db_path: Path, config: Config, metadata_path: Path = DEFAULT_METADATA) -> dict[str, Any]:
    """metadata.yml, pointed at this database file and locked down when a password is set."""
    metadata = yaml.safe_load(metadata_path.read_text(encoding="utf-8")) or {}
    metadata = copy.deepcopy(metadata)
    databases = metadata.get("databases", {})
    if METADATA_DATABASE in databases:
        databases[db_path.stem] = databases.pop(METADATA_DATABASE)
    for dashboard in (metadata.get("plugins", {}).get("datasette-dashboards") or {}).values():
        for chart in dashboard.get("charts", {}).values():
            if chart.get("db") == METADATA_DATABASE:
                chart["db"] = db_path.stem
    if password_hash(config):
        plugins = metadata.setdefault("plugins", {})
        plugins["datasette-auth-passwords"] = {
            f"{OWNER}_password_hash": {"$env": config.explorer.password_hash_env},
        }
        # Anonymous visitors see nothing; only the signed-in owner browses and acts.
        metadata["allow"] = {"id": OWNER}
    return metadata


def build_datasette(db_path: Path, config: Config, metadata_path: Path = DEFAULT_METADATA) -> Datasette:
    """A Datasette instance serving `db_path` with repmon's metadata and settings."""
    return Datasette(
        [str(db_path)],
        metadata=load_metadata(db_path, config, metadata_path),
        settings=SETTINGS,
    )
