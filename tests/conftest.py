from pathlib import Path

import pytest
import sqlite_utils

from monitor.db import open_db
from monitor.store import ensure_business

FILES = Path(__file__).parent / "files"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "monitor.db"


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    """A real, shaped SQLite file in a temporary directory."""
    database = open_db(db_path)
    yield database
    database.close()


@pytest.fixture
def business_id(db: sqlite_utils.Database) -> str:
    return ensure_business(db, "Hansen VVS ApS")


@pytest.fixture
def review(business_id: str) -> dict:
    return {
        "business_id": business_id,
        "source": "trustpilot",
        "external_id": "64f1c0a2b3",
        "url": "https://dk.trustpilot.com/reviews/64f1c0a2b3",
        "author": "Jens Hansen",
        "author_location": "DK",
        "rating": 2,
        "title": "Utæt afløb",
        "body": "Der kom vand under gulvet tre uger efter at badeværelset var færdigt.",
        "published_at": "2026-10-02T08:15:00Z",
    }
