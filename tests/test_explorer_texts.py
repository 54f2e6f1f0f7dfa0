"""The "All data" page and metadata.yml's words in the owner's language, through a real Datasette (its test client)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
import yaml

from monitor.analyze import run_analysis
from monitor.config import Config, parse_config
from monitor.db import open_db
from monitor.explorer import DEFAULT_METADATA, QUERY_TEXTS, TABLE_TEXTS, build_datasette
from monitor.owner_pages import LANGUAGES
from monitor.store import save_reviews
from monitor.text import load_data
from tests.test_findings import START, complaint

DATABASE = yaml.safe_load(DEFAULT_METADATA.read_text(encoding="utf-8"))["databases"]["monitor"]
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]  # English is metadata.yml's own


def run(coro):
    return asyncio.run(coro)


def danish(db_path):
    return build_datasette(db_path, parse_config({"business": [{"name": "Hansen VVS ApS", "languages": ["da"]}]}))


@pytest.fixture
def counted(db, business_id):
    """1,234 rows in review_history: a count that shows how each language writes thousands."""
    save_reviews(db, [complaint(business_id, 0, START)])
    db["review_history"].insert_all({"review_id": "trustpilot:c0", "changed_at": "2026-10-02T08:15:00Z",
                                     "field": "body", "old_value": "a", "new_value": "b"} for _ in range(1234))
    return db


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_canned_query_has_its_words_in_every_language(lang):
    words = load_data("metadata_texts.toml")[lang]
    assert set(words["queries"]) == set(DATABASE["queries"])
    for name, query in DATABASE["queries"].items():
        assert set(words["queries"][name]) == {key for key in QUERY_TEXTS if key in query}, name
        assert all(words["queries"][name].values()), name
    assert words["database"]["description"]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_described_table_has_a_title_and_a_line_in_every_language(lang):
    described = {name for name, table in DATABASE["tables"].items() if not table.get("hidden")}
    words = load_data("metadata_texts.toml")[lang]["tables"]
    assert set(words) == described
    for name in described:
        assert set(words[name]) == set(TABLE_TEXTS) and all(words[name].values()), name
        assert all(DATABASE["tables"][name].get(key) for key in TABLE_TEXTS), name  # and in English


def test_every_table_and_view_the_owner_sees_is_described(tmp_path):
    # A new table shows on "All data": without a title and a line in metadata.yml it would show as a bare name.
    db = open_db(tmp_path / "shaped.db")
    hidden = {name for name in db.table_names() if name.startswith(("reviews_fts", "_"))}
    shown = (set(db.table_names()) - hidden) | set(db.view_names())
    db.close()
    assert shown <= set(DATABASE["tables"]), shown - set(DATABASE["tables"])


def test_the_database_page_speaks_danish_for_a_danish_business(db_path, counted):
    page = run(danish(db_path).client.get("/monitor"))
    assert page.status_code == 200
    text = page.text
    assert "<title>Alle data</title>" in text and "<h1>Alle data</h1>" in text
    headings = re.findall(r'<h2 id="(\w+)">([^<]+)</h2>', text)
    assert headings == [("pages", "Dine sider"), ("queries", "Færdige opslag"), ("actions", "Handlinger"),
                        ("tables", "Tabeller")]
    assert '<a href="/-/complaints">Klager</a><br><span>Klager, der venter på svar, ældste først.</span>' in text
    assert '<a href="/monitor/unanswered_complaints">Ubesvarede klager</a>' in text
    assert '<a href="/monitor/mark_complaint_handled">Markér en klage som håndteret</a>' in text
    assert ('<a href="/monitor/review_history">Ændringer i anmeldelser</a> <code class="repmon-table-name">review_history'
            '</code></h3>\n    <p>Hver ændring i en gemt anmeldelse, én række pr. felt. <span class="repmon-rows">1.234 rækker'
            '</span></p>') in text
    assert 'De virksomheder, repmon holder øje med. <span class="repmon-rows">1 række</span>' in text
    assert "<p>Anmeldelser, opgaver og fund, som repmon har samlet.</p>" in text
    for english in ("Custom SQL query", "Queries", "Tables", "Unanswered complaints", " rows", "Data source",
                    "hidden table", "Run SQL"):
        assert english not in text, english
    assert "explorer_actions" not in text  # what the buttons write to is no reading for the owner


def test_the_sql_editor_is_folded_away_at_the_bottom(db_path, counted):
    text = run(danish(db_path).client.get("/monitor")).text
    folded = text.index('<details class="repmon-sql">')
    assert folded > text.rindex('<div class="db-table">') > text.index('<h2 id="tables">')
    assert text[folded:].startswith('<details class="repmon-sql">\n    <summary>Til øvede: skriv din egen SQL</summary>')
    assert text.index('<textarea id="sql-editor" name="sql"') > folded
    assert '<input type="submit" value="Kør SQL">' in text


def test_no_sql_editor_where_sql_is_not_allowed(tmp_path):
    metadata = tmp_path / "metadata.yml"
    metadata.write_text(DEFAULT_METADATA.read_text(encoding="utf-8") + "allow_sql: false\n", encoding="utf-8")
    db_path = tmp_path / "monitor.db"
    open_db(db_path).close()
    text = run(build_datasette(db_path, Config(), metadata).client.get("/monitor")).text
    assert '<h2 id="tables">Tables</h2>' in text
    assert "repmon-sql" not in text and "sql-editor" not in text


def test_a_text_another_metadata_file_words_itself_stays_as_written(tmp_path, db_path, db):
    metadata = tmp_path / "metadata.yml"
    shipped = DEFAULT_METADATA.read_text(encoding="utf-8")
    metadata.write_text(shipped.replace("title: Unanswered complaints\n", "title: Klager uden svar fra os\n"), encoding="utf-8")
    text = run(build_datasette(db_path, parse_config({"business": [{"name": "Hansen VVS ApS", "languages": ["da"]}]}),
                               metadata).client.get("/monitor")).text
    assert '<a href="/monitor/unanswered_complaints">Klager uden svar fra os</a>' in text
    assert '<a href="/monitor/patterns_open">Mønstre, der tager form</a>' in text


def test_lang_switches_the_database_page_to_german_and_stays(db_path, counted):
    datasette = danish(db_path)
    page = run(datasette.client.get("/monitor?lang=de"))
    assert re.findall(r'<h2 id="\w+">([^<]+)</h2>', page.text) == ["Ihre Seiten", "Fertige Abfragen", "Aktionen", "Tabellen"]
    assert '<a href="/monitor/unanswered_complaints">Unbeantwortete Beschwerden</a>' in page.text
    assert "<summary>Für Fortgeschrittene: eigene SQL-Abfrage schreiben</summary>" in page.text
    assert '<span class="repmon-rows">1.234 Zeilen</span>' in page.text
    assert "Ubesvarede klager" not in page.text
    assert page.cookies["repmon_lang"] == "de"
    query = run(datasette.client.get("/monitor/unanswered_complaints", cookies={"repmon_lang": "de"}))
    assert ">Unbeantwortete Beschwerden</h1>" in query.text


def test_a_canned_query_page_has_its_title_and_description_in_danish(db_path, db, business_id):
    text = run(danish(db_path).client.get("/monitor/follow_ups_due")).text
    assert ">Kommende og forsinkede opkald</h1>" in text
    assert "Markér dem som gennemført på siden Opkald." in text
    assert "Follow-up calls due and overdue" not in text


def test_a_writable_query_says_it_saved_in_danish(db_path, db, business_id):
    save_reviews(db, [complaint(business_id, 0, START)])
    run_analysis(db, Config(), START + timedelta(days=10))  # finds the complaint the action is about
    datasette = danish(db_path)
    form = run(datasette.client.get("/monitor/mark_complaint_handled"))
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    done = run(datasette.client.post("/monitor/mark_complaint_handled",
                                     data={"review_id": "trustpilot:c0", "csrftoken": token},
                                     cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]}))
    assert done.status_code == 302
    shown = run(datasette.client.get(done.headers["location"], cookies={"ds_messages": done.cookies["ds_messages"]}))
    assert "Klagen er markeret som håndteret." in shown.text


def test_a_table_page_has_its_title_and_description_in_the_business_language(db_path, db):
    text = run(danish(db_path).client.get("/monitor/reviews")).text
    assert ">Anmeldelser</h1>" in text
    assert "Anmeldelser og omtaler, én række pr. anmeldelse på dens platform." in text


def test_without_a_choice_the_metadata_is_in_the_business_language(db_path, db):
    # No request, so no ?lang= and no cookie: what Datasette reads is the business's, as on the owner's pages.
    assert danish(db_path).table_metadata("monitor", "jobs")["description"] == (
        "Afsluttede opgaver fra jeres eget opgave- eller fakturaudtræk.")
    assert build_datasette(db_path, Config()).table_metadata("monitor", "jobs")["description"] == (
        "Completed jobs from your own job/invoice export.")


def test_an_english_business_still_reads_english(db_path, counted):
    text = run(build_datasette(db_path, Config()).client.get("/monitor")).text
    assert re.findall(r'<h2 id="\w+">([^<]+)</h2>', text) == ["Your pages", "Ready-made queries", "Actions", "Tables"]
    assert '<a href="/monitor/unanswered_complaints">Unanswered complaints</a>' in text
    assert '<a href="/monitor/review_history">Review changes</a>' in text
    assert '<span class="repmon-rows">1,234 rows</span>' in text
    assert "<summary>For experienced users: write your own SQL</summary>" in text
    assert "Custom SQL query" not in text
    query = run(build_datasette(db_path, Config()).client.get("/monitor/unanswered_complaints")).text
    assert ">Unanswered complaints</h1>" in query
