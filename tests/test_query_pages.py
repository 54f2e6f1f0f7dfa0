"""The canned query pages in the owner's language, through a real Datasette (its test client): headings, values,
buttons and the actions' refusals; the JSON keeps the column names."""

from __future__ import annotations

import asyncio
import re

import pytest
import yaml
from datasette import hookimpl
from datasette.plugins import pm

from monitor.analyze import run_analysis
from monitor.config import Config, parse_config
from monitor.explorer import DEFAULT_METADATA, build_datasette
from monitor.owner_pages import LANGUAGES
from monitor.schema import TRIGGERS
from monitor.store import save_reviews
from monitor.text import load_data
from tests.test_explorer_queries import TODAY, post_action, three_leak_complaints
from tests.test_findings import START, complaint

QUERIES = yaml.safe_load(DEFAULT_METADATA.read_text(encoding="utf-8"))["databases"]["monitor"]["queries"]
WORDS = load_data("query_pages.toml")


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def danish(db, db_path, business_id):
    """The three leak complaints, the first answered, for a business that speaks Danish."""
    three_leak_complaints(db, business_id)
    db["reviews"].update("trustpilot:c0", {"reply_body": "Vi kommer forbi.", "reply_at": "2025-05-03T10:00:00Z"})
    config = parse_config({"business": [{"name": "Hansen VVS ApS", "languages": ["da"]}]})
    run_analysis(db, config, TODAY)
    return build_datasette(db_path, config)


def headings(page: str) -> list[str]:
    return re.findall(r'<th class="col-[^"]*" scope="col">([^<]*)</th>', page)


def cells(page: str, column: str) -> list[str]:
    return re.findall(rf'<td class="col-{column}">(.*?)</td>', page, re.S)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_column_and_parameter_of_every_query_has_a_heading(lang, danish):
    headed = WORDS[lang]["columns"]
    for name, query in QUERIES.items():
        for parameter in re.findall(r"(?<!:):(\w+)", query["sql"]):
            assert parameter.startswith("_") or parameter in headed, (name, parameter)
        if query.get("write"):
            continue
        result = run(danish.client.get(f"/monitor/{name}.json", params={"_shape": "objects", "q": "vand"}))
        assert result.status_code == 200, name
        for column in result.json()["columns"]:
            assert column in headed, (name, column)


def test_every_language_has_every_word_and_every_trigger_refusal_is_worded():
    english = WORDS["en"]
    for lang in LANGUAGES:
        for part in ("page", "lookups", "columns", "refusals"):
            assert set(WORDS[lang][part]) == set(english[part]), (lang, part)
            assert all(WORDS[lang][part].values()), (lang, part)
        assert {column: set(values) for column, values in WORDS[lang]["values"].items()} == {
            column: set(values) for column, values in english["values"].items()}, lang
    raised = {message for sql in TRIGGERS.values() for message in re.findall(r"RAISE\(ABORT, '([^']+)'\)", sql)}
    assert raised == set(english["refusals"].values())


def test_a_query_page_speaks_danish_with_names_days_and_dates(danish):
    page = run(danish.client.get("/monitor/response_times")).text
    assert headings(page) == ["Måned", "Platform", "Klager", "Besvaret", "Besvaret (%)", "Typisk dage til svar"]
    assert cells(page, "month") == ["maj 2025"]
    assert cells(page, "reply_rate_percent") == ["33"] and cells(page, "median_days") == ["1,9"]
    assert '<p class="repmon-rows">1 række</p>' in page
    assert "Hent som" in page and ">Vis SQL</a>" in page and "<pre" not in page
    assert "Custom SQL query" not in page and "median_hours" not in page
    # The data keeps its column names: scripts read them.
    data = run(danish.client.get("/monitor/response_times.json", params={"_shape": "array"})).json()
    assert data == [{"month": "2025-05", "source": "trustpilot", "complaints": 3, "replied": 1,
                     "reply_rate_percent": 33.0, "median_days": 1.9}]


def test_query_values_read_as_words(danish):
    page = run(danish.client.get("/monitor/patterns_open")).text
    assert cells(page, "kind") == ["Fejl"] * 3
    assert cells(page, "theme") == ["Vandskade og fugt"] * 3
    assert cells(page, "dimension") == ["i hele virksomheden", "montør", "opgavetype"]
    assert cells(page, "status") == ["nyt"] * 3
    assert cells(page, "p_value") == ["0,008", "&lt; 0,001", "0,002"]  # a tiny chance shown as such, not as 0
    assert cells(page, "first_evidence_at") == ["1. maj 2025"] * 3
    evidence = "/monitor/pattern_evidence?pattern_id=hansen-vvs-aps%3Adefect%3Aleak%3Acrew%3AMads"
    assert (f'<a href="{evidence}" title="hansen-vvs-aps:defect:leak:crew:Mads">Se klagerne</a>'
            in cells(page, "pattern_id"))
    timeline = run(danish.client.get("/monitor/job_timeline", params={"job_id": "J241"})).text
    assert cells(timeline, "what") == ["Opgaven afsluttet", "Klage", "Opkald efter klagen", "Opfølgningsopkald"]
    assert cells(timeline, "detail")[1] == "1 ★ Vand under gulvet efter arbejdet."
    assert cells(timeline, "themes") == ["&nbsp;", "Vandskade og fugt", "&nbsp;", "&nbsp;"]
    assert '<label for="qp1">Opgave</label>' in timeline and 'value="Vis"' in timeline


def test_an_action_page_has_its_words_and_a_refusal_reads_in_danish(danish, db):
    form = run(danish.client.get("/monitor/mark_complaint_handled")).text
    assert "<title>Markér en klage som håndteret</title>" in form
    assert '<label for="qp1">Anmeldelse</label>' in form and 'value="Gem"' in form
    assert "insert into explorer_actions" not in form and ">Vis SQL</a>" in form
    shown = run(danish.client.get("/monitor/mark_complaint_handled", params={"_show_sql": "1"})).text
    assert "insert into explorer_actions" in shown
    refused = post_action(danish, "mark_complaint_handled", {"review_id": "trustpilot:nothing"})
    assert refused.status_code == 302
    after = run(danish.client.get("/monitor/mark_complaint_handled", cookies={"ds_messages": refused.cookies["ds_messages"]}))
    assert '<p class="message-error">Den klage findes ikke. Intet er gemt.</p>' in after.text
    assert "nothing was saved" not in after.text
    assert db.execute("SELECT count(*) FROM reviews WHERE handled_at IS NOT NULL").fetchone() == (0,)


def test_english_headings_for_an_english_business(db, db_path, business_id):
    save_reviews(db, [complaint(business_id, 0, START)])
    run_analysis(db, Config(), TODAY)
    page = run(build_datasette(db_path, Config()).client.get("/monitor/unanswered_complaints")).text
    assert headings(page)[:4] == ["Review", "Written", "Days waiting", "Platform"]
    waited = db.execute("SELECT age_hours FROM unanswered_complaints").fetchone()[0]
    assert cells(page, "age_days") == [str(waited // 24)] and waited >= 24 * 140


def test_sql_someone_writes_keeps_its_column_names_and_its_run_button(danish):
    page = run(danish.client.get("/monitor", params={"sql": "select id, rating from reviews order by id limit 1"})).text
    assert headings(page) == ["id", "rating"]
    assert 'id="sql-editor"' in page and 'value="Kør SQL"' in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_column_of_every_described_table_has_a_heading(lang, db):
    tables = yaml.safe_load(DEFAULT_METADATA.read_text(encoding="utf-8"))["databases"]["monitor"]["tables"]
    headed = WORDS[lang]["columns"]
    for name, table in tables.items():
        if table.get("hidden"):
            continue
        columns = db[name].columns_dict if name in db.table_names() else {c.name: c for c in db[name].columns}
        assert set(columns) <= set(headed), (name, set(columns) - set(headed))


def test_a_table_page_speaks_danish(danish):
    page = run(danish.client.get("/monitor/jobs", params={"_facet": "crew", "_sort": "completed_at"})).text
    assert "<h1>Opgaver" in page and '<h3 class="repmon-rows">' in page
    assert headings_of_table(page)[:3] == ["Nr.", "Virksomhed", "Opgave"]
    assert '<option value="">- kolonne -</option>' in page and '<option value="customer_name">Kunde</option>' in page
    assert '<option value="contains">indeholder</option>' in page and 'value="Anvend"' in page
    assert '<strong>Montør' in page  # the facet by its heading
    assert "<summary>Til øvede: tabellens SQL</summary>" in page and "Advanced export" not in page
    assert "This data as" not in page and "column-descriptions" not in page  # the descriptions are English only
    row = run(danish.client.get("/monitor/jobs/hansen-vvs-aps~3AJ241")).text
    assert "<title>Opgaver: hansen-vvs-aps:J241</title>" in row and "Henvisninger fra andre tabeller" in row
    assert ">1 række i Anmeldelser og deres opgaver (Opgave)</a>" in row and ">2 rækker i Opfølgningsopkald (Opgave)</a>" in row


def headings_of_table(page: str) -> list[str]:
    """The headings of a table page's rows, without the sort links and arrows."""
    return [re.sub(r"<[^>]+>|&nbsp;[▼▲]", "", cell).strip()
            for cell in re.findall(r'<th [^>]*scope="col"[^>]*>(.*?)</th>', page, re.S)]


def test_a_table_pages_language_links_leave_its_lang_column_alone(danish, db):
    page = run(danish.client.get("/monitor/follow_ups"))
    assert '<a href="/monitor/follow_ups?_lang=sv" hreflang="sv" lang="sv">Svenska</a>' in page.text
    rows = db.execute("SELECT count(*) FROM follow_ups").fetchone()[0]
    swedish = run(danish.client.get("/monitor/follow_ups", params={"_lang": "sv"}))
    assert f'<h3 class="repmon-rows">{rows} rader</h3>' in swedish.text and swedish.cookies["repmon_lang"] == "sv"
    # ?lang= on a table stays what Datasette makes of it: a filter on the column
    filtered = run(danish.client.get("/monitor/reviews", params={"lang": "da"})).text
    assert f'<h3 class="repmon-rows">{len(rows_where(db, "lang = ?", ["da"]))} ' in filtered


def rows_where(db, where: str, params: list) -> list:
    return db.execute(f"SELECT id FROM reviews WHERE {where}", params).fetchall()


def test_the_business_is_chosen_by_name(danish, db, business_id):
    page = run(danish.client.get("/monitor/unanswered_complaints")).text
    assert ('<select id="qp1" name="business"><option value="" selected>Alle virksomheder</option>'
            f'<option value="{business_id}">Hansen VVS ApS</option></select>') in page
    chosen = run(danish.client.get("/monitor/unanswered_complaints", params={"business": business_id})).text
    assert f'<option value="{business_id}" selected>Hansen VVS ApS</option>' in chosen


class _ActionLinks:
    """A plugin of the kind datasette-copyable or datasette-edit-schema are: links in a page's actions menu."""

    __name__ = "repmon_test_action_links"

    @staticmethod
    @hookimpl
    def table_actions(datasette, actor, database, table):
        return [{"href": f"/-/edit/{table}", "label": "Rediger tabellen"}]

    @staticmethod
    @hookimpl
    def database_actions(datasette, actor, database):
        return [{"href": "/-/edit", "label": "Rediger databasen"}]


def test_other_plugins_links_stand_in_the_actions_menus(danish):
    pm.register(_ActionLinks, name=_ActionLinks.__name__)
    try:
        table = run(danish.client.get("/monitor/jobs")).text
        database = run(danish.client.get("/monitor")).text
    finally:
        pm.unregister(name=_ActionLinks.__name__)
    assert '<li><a href="/-/edit/jobs">Rediger tabellen</a></li>' in table
    assert '<li><a href="/-/edit">Rediger databasen</a></li>' in database
    assert "Handlinger for databasen" in database
