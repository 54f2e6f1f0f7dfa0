"""Imports never corrupt silently: each kind of damaged or unusual export is read right or refused by name."""

import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from monitor.cli import cli
from monitor.db import open_db
from monitor.demo import EXPORT_COLUMNS as DEMO_COLUMNS
from monitor.imports import import_jobs, import_reviews
from monitor.tabular import ImportProblem

# The fixture exports are the demo's format from before it had a phone column.
EXPORT_COLUMNS = {column: field for column, field in DEMO_COLUMNS.items() if column != "Telefon"}

FILES = Path(__file__).parent / "files" / "imports"
ORDRER = (FILES / "ordrer.csv").read_bytes().decode("cp1252")
JOB_IDS = ["J-2001", "J-2002", "J-2003", "J-2004", "J-2005", "J-2006"]


def write(tmp_path: Path, name: str, data: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def job_names(db) -> list[tuple[str, str]]:
    return db.execute("SELECT job_id, customer_name FROM jobs ORDER BY job_id").fetchall()


def review_bodies(db) -> list[tuple[str, str]]:
    return db.execute("SELECT id, body FROM reviews ORDER BY id").fetchall()


def xlsx(path: Path, rows: list[list], merged: tuple[str, ...] = ()) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in merged:
        sheet.merge_cells(cells)
    workbook.save(path)
    return path


def lie_about_dimension(path: Path, ref: str) -> None:
    """Rewrite the sheet's <dimension ref=...> as some exporters write it: smaller than the data."""
    with zipfile.ZipFile(path) as source:
        parts = [(item, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for item, data in parts:
            if item.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), data)
                assert count == 1
            target.writestr(item, data)


def run_cli(tmp_path: Path, monkeypatch, *args: str):
    """repmon with the default database in tmp_path/data, created first as `repmon init` would."""
    monkeypatch.chdir(tmp_path)
    open_db(tmp_path / "data" / "monitor.db").close()
    return CliRunner().invoke(cli, list(args))


# --- encodings ------------------------------------------------------------------------------------------------


def test_one_bad_byte_in_a_utf8_export_is_refused_with_line_and_column(db, business_id, tmp_path):
    # One name typed in by another program in Windows-1252: 'Ø' as the single byte 0xD8.
    data = ORDRER.encode("utf-8").replace("Åse Østergård".encode(), "Åse ".encode() + b"\xd8" + "stergård".encode())
    path = write(tmp_path, "ordrer.csv", data)
    with pytest.raises(ImportProblem) as raised:
        import_jobs(db, path, business_id, EXPORT_COLUMNS)
    assert str(raised.value) == f"{path}: line 4: not valid UTF-8 (byte 0xD8 at column 12), though the rest of the file is UTF-8"
    assert job_names(db) == []


def test_a_file_without_utf8_is_read_as_windows_1252_throughout(db, business_id, tmp_path):
    path = write(tmp_path, "ordrer.csv", ORDRER, "cp1252")
    report = import_jobs(db, path, business_id, EXPORT_COLUMNS)
    assert report.problems == []
    assert job_names(db) == [("J-2001", "Søren Ærø"), ("J-2002", "Jürgen Müller"), ("J-2003", "Åse Østergård"),
                             ("J-2004", "Bjørn Hæstrup"), ("J-2005", "Mette Frølund"), ("J-2006", "Lars Kræmer")]


def test_a_byte_that_is_neither_utf8_nor_windows_1252_is_refused(db, business_id, tmp_path):
    data = ORDRER.encode("cp1252").replace(b"Bj\xf8rn", b"Bj\x81rn")
    path = write(tmp_path, "ordrer.csv", data)
    with pytest.raises(ImportProblem) as raised:
        import_jobs(db, path, business_id, EXPORT_COLUMNS)
    assert str(raised.value) == f"{path}: line 5: byte 0x81 at column 10 is a character in neither UTF-8 nor Windows-1252"


def test_utf16_unicode_text_export_is_read(db, business_id, tmp_path):
    path = write(tmp_path, "ordrer.txt", ORDRER.replace(";", "\t").replace('"Skabe\t bordplade"', "Skabe og bordplade")
                 .replace('"Nørregade 4, 2. th"', "Nørregade 4, 2. th"), "utf-16")
    report = import_jobs(db, path, business_id, EXPORT_COLUMNS)
    assert (report.problems, report.saved.new) == ([], 6)
    assert db.execute("SELECT address, materials FROM jobs WHERE job_id IN ('J-2003', 'J-2004') ORDER BY job_id").fetchall() == [
        ("Møllevej 7", "Skabe og bordplade"), ("Nørregade 4, 2. th", None),
    ]


# --- columns --------------------------------------------------------------------------------------------------


def test_a_configured_column_missing_from_the_file_is_an_error(db, business_id, tmp_path):
    path = write(tmp_path, "ordrer.csv", ORDRER, "cp1252")
    configured = EXPORT_COLUMNS | {"Telefon": "customer_phone"}
    with pytest.raises(ImportProblem) as raised:
        import_jobs(db, path, business_id, configured)
    assert str(raised.value) == (
        f"{path}: [business.jobs_columns] names 'Telefon' (customer_phone), which the file does not have; remove it "
        "from the config or map another column with --map (columns: Ordrenr., Kunde, E-mail, Adresse, Postnr., By, "
        "Opgavetype, Montør, Materialer, Startdato, Afsluttet, Fakturanr., Beløb, Forfald, Betalt)"
    )
    assert job_names(db) == []


def test_a_configured_column_is_found_whatever_its_case_and_spacing(db, business_id, tmp_path):
    path = write(tmp_path, "ordrer.csv", ORDRER.replace("Afsluttet", "AFSLUTTET ").replace("Postnr.", "Post\u00a0 nr."), "cp1252")
    configured = EXPORT_COLUMNS | {"Post nr.": "postcode"}
    del configured["Postnr."]
    report = import_jobs(db, path, business_id, configured)
    assert (report.problems, report.saved.new) == ([], 6)
    assert db.execute("SELECT completed_at, postcode FROM jobs WHERE job_id = 'J-2001'").fetchone() == ("2026-10-03", "8000")


def test_a_mapped_column_that_appears_twice_is_an_error(db, business_id, tmp_path):
    path = write(tmp_path, "ordrer.csv", ORDRER.replace("Startdato", "Kunde"), "cp1252")
    with pytest.raises(ImportProblem) as raised:
        import_jobs(db, path, business_id, {"Ordrenr.": "job_id", "Kunde": "customer_name", "Afsluttet": "completed_at"})
    assert str(raised.value) == f"{path}: column 'Kunde' appears 2 times in the header, so which one holds the values is unclear"


def test_a_row_with_more_or_fewer_values_than_the_header_is_reported(db, business_id, tmp_path):
    lines = ORDRER.split("\r\n")
    lines[2] = lines[2].replace("Strandvejen 3;", "Strandvejen;3;")  # a delimiter typed into an address
    lines[5] = lines[5].replace("Tilst;Varmepumpe", "Tilst Varmepumpe")
    path = write(tmp_path, "ordrer.csv", "\r\n".join(lines), "cp1252")
    report = import_jobs(db, path, business_id, EXPORT_COLUMNS)
    assert report.problems == [
        "line 3: 16 values, but the header (line 1) has 15 columns; a delimiter or quote is missing or extra",
        "line 6: 14 values, but the header (line 1) has 15 columns; a delimiter or quote is missing or extra",
    ]
    assert [job_id for job_id, _ in job_names(db)] == ["J-2001", "J-2003", "J-2004", "J-2006"]


# --- XLSX -----------------------------------------------------------------------------------------------------


def test_xlsx_is_read_by_its_cells_not_its_declared_dimension(db, business_id, tmp_path):
    rows = [["job_id", "customer_name", "completed_at"]] + [[f"J-{n}", f"Kunde {n}", f"0{n}-10-2026"] for n in range(1, 7)]
    path = xlsx(tmp_path / "jobs.xlsx", rows)
    lie_about_dimension(path, "A1:C2")
    report = import_jobs(db, path, business_id, {})
    assert (report.rows, report.saved.new, report.problems) == (6, 6, [])
    assert [job_id for job_id, _ in job_names(db)] == ["J-1", "J-2", "J-3", "J-4", "J-5", "J-6"]


def test_xlsx_header_below_title_rows(db, business_id, tmp_path):
    rows = [["Ordreliste, Hansen VVS ApS"], ["Udskrevet 20-10-2026", None, None, "Side 1"], [],
            ["Ordrenr.", "Kunde", "Afsluttet", "Beløb"],
            ["J-1", "Søren Ærø", "03-10-2026", 48250.5], ["J-2", "Jürgen Müller", "15-09-2026", "12.345,50"]]
    path = xlsx(tmp_path / "ordrer.xlsx", rows)
    report = import_jobs(db, path, business_id, {"Ordrenr.": "job_id", "Kunde": "customer_name",
                                                 "Afsluttet": "completed_at", "Beløb": "amount"})
    assert report.problems == []
    assert report.stored == {5: "hansen-vvs-aps:J-1", 6: "hansen-vvs-aps:J-2"}
    assert db.execute("SELECT job_id, customer_name, completed_at, amount FROM jobs ORDER BY job_id").fetchall() == [
        ("J-1", "Søren Ærø", "2026-10-03", 48250.5), ("J-2", "Jürgen Müller", "2026-09-15", 12345.5),
    ]


def test_xlsx_two_row_header_with_merged_group_cells(db, business_id, tmp_path):
    rows = [["Ordre", None, "Kunde", None, "Faktura", None],
            ["Nr.", "Afsluttet", "Navn", "Postnr.", "Nr.", "Beløb"],
            ["J-1", "03-10-2026", "Søren Ærø", "8000", "F-1", 100],
            ["J-2", "15-09-2026", "Jürgen Müller", "8240", "F-2", 250.5]]
    path = xlsx(tmp_path / "ordrer.xlsx", rows, merged=("A1:B1", "C1:D1", "E1:F1"))
    configured = {"Ordre Nr.": "job_id", "Ordre Afsluttet": "completed_at", "Kunde Navn": "customer_name",
                  "Kunde Postnr.": "postcode", "Faktura Nr.": "invoice_no", "Faktura Beløb": "amount"}
    report = import_jobs(db, path, business_id, configured)
    assert report.problems == []
    assert db.execute("SELECT job_id, completed_at, customer_name, postcode, invoice_no, amount FROM jobs "
                      "ORDER BY job_id").fetchall() == [
        ("J-1", "2026-10-03", "Søren Ærø", "8000", "F-1", 100.0),
        ("J-2", "2026-09-15", "Jürgen Müller", "8240", "F-2", 250.5),
    ]


def test_csv_with_excel_sep_line(db, business_id, tmp_path):
    path = write(tmp_path, "ordrer.csv", "sep=;\r\n" + ORDRER.replace(";", "|").replace("|", ";"), "cp1252")
    report = import_jobs(db, path, business_id, EXPORT_COLUMNS)
    assert report.problems == []
    assert sorted(report.stored) == [3, 4, 5, 6, 7, 8]
    assert [job_id for job_id, _ in job_names(db)] == JOB_IDS


def test_header_row_option_names_the_row_with_the_column_names(tmp_path, monkeypatch):
    text = "Eksport fra Visma;;\r\nKolonne A;Kolonne B;Kolonne C\r\nNr;Navn;Dato\r\n1;Anna Berg;03-10-2026\r\n"
    path = write(tmp_path, "ordrer.csv", text)
    maps = ["--map", "Nr=job_id", "--map", "Navn=customer_name", "--map", "Dato=completed_at"]
    guessed = run_cli(tmp_path, monkeypatch, "jobs", "import", str(path), "--business", "Jensen El", *maps)
    assert (guessed.exit_code, guessed.output) == (0, f"{path}: 1 rows, 1 new jobs, 0 updated, 0 unchanged, 0 problems\n")
    named = run_cli(tmp_path, monkeypatch, "jobs", "import", str(path), "--business", "Jensen El", "--header-row", "2",
                    "--map", "Kolonne A=job_id", "--map", "Kolonne B=customer_name", "--map", "Kolonne C=completed_at")
    assert named.exit_code == 1
    assert named.output == (f"{path}: line 3: completed_at (Kolonne C): 'Dato' is not a date (expected dd-mm-yyyy, "
                            f"dd.mm.yyyy, yyyy-mm-dd or an Excel date)\n"
                            f"{path}: 2 rows, 0 new jobs, 0 updated, 1 unchanged, 1 problems\n")
    past = run_cli(tmp_path, monkeypatch, "jobs", "import", str(path), "--business", "Jensen El", "--header-row", "9", *maps)
    assert (past.exit_code, past.output) == (1, f"Error: {path}: row 9 (--header-row) is empty or past the end of the file\n")


# --- CSV limits -----------------------------------------------------------------------------------------------


def test_a_field_over_the_csv_limit_is_a_named_problem_and_the_rest_is_kept(db, business_id, tmp_path):
    lines = ORDRER.split("\r\n")
    lines[3] = lines[3].replace("Møllevej 7", "M" + "ø" * 200_000)
    report = import_jobs(db, write(tmp_path, "ordrer.csv", "\r\n".join(lines), "cp1252"), business_id, EXPORT_COLUMNS)
    assert report.problems == [
        "line 4: a field is longer than 131072 characters, the limit for one CSV field (is a quote left open?)"
    ]
    assert [job_id for job_id, _ in job_names(db)] == ["J-2001", "J-2002", "J-2004", "J-2005", "J-2006"]


def test_a_quote_never_closed_is_reported_where_it_opens(db, business_id, tmp_path):
    text = ORDRER.replace("Havnegade 2;", '"Havnegade 2;')
    report = import_jobs(db, write(tmp_path, "ordrer.csv", text, "cp1252"), business_id, EXPORT_COLUMNS)
    assert report.problems == ["line 7: a quote opened in this row is never closed, so the rest of the file was one field"]
    assert [job_id for job_id, _ in job_names(db)] == JOB_IDS[:5]


# --- JSON and JSONL reviews -----------------------------------------------------------------------------------


SEPARATORS = ["\u2028", "\u2029", "\u0085", "\u000b", "\u000c", "\u001c", "\u001d", "\u001e"]


def test_jsonl_records_may_hold_unicode_line_separators(db, business_id, tmp_path):
    lines = [json.dumps({"source": "reco", "external_id": n, "published_at": "2026-10-01", "body": f"før{sep}efter"},
                        ensure_ascii=False) for n, sep in enumerate(SEPARATORS)]
    raw_controls = json.dumps({"source": "reco", "external_id": "raw", "published_at": "2026-10-01",
                               "body": "a\u000bb\u001cc"}).replace("\\u000b", "\u000b").replace("\\u001c", "\u001c")
    path = write(tmp_path, "reviews.jsonl", "\n".join([*lines, raw_controls]) + "\n")
    report = import_reviews(db, path, business_id)
    assert (report.problems, report.saved.new) == ([], 9)
    assert review_bodies(db) == [(f"reco:{n}", f"før{sep}efter") for n, sep in enumerate(SEPARATORS)] + [
        ("reco:raw", "a\u000bb\u001cc")]


def test_lists_and_objects_in_review_json_are_reported_per_field(db, business_id, tmp_path):
    records = [
        {"source": "reco", "external_id": 1, "published_at": "2026-10-01", "body": ["Godt", "arbejde"]},
        {"source": "reco", "external_id": 2, "published_at": "2026-10-01", "author": {"name": "Per"}, "rating": [5]},
        {"source": "reco", "external_id": 3, "published_at": "2026-10-01", "title": True},
        {"source": "reco", "external_id": {"id": 4}, "published_at": "2026-10-01"},
        {"source": "reco", "external_id": 5, "published_at": "2026-10-01", "body": "Fint"},
    ]
    path = write(tmp_path, "reviews.json", json.dumps(records))
    report = import_reviews(db, path, business_id)
    assert report.problems == [
        "record 1: body is a list, expected text",
        "record 2: author is an object, expected text; rating is a list, expected a number",
        "record 3: title is true/false, expected text",
        "record 4: external_id is an object, expected text",
    ]
    assert review_bodies(db) == [("reco:5", "Fint")]


def test_google_reviews_with_wrong_types_are_reported_per_field(db, business_id, tmp_path):
    data = json.loads((FILES / "google_reviews.json").read_text())
    data["reviews"][0]["reviewer"] = "Lise Holm"
    data["reviews"][1]["comment"] = {"text": "Godt"}
    data["reviews"][1]["reviewReply"] = {"comment": ["Tak"], "updateTime": "2026-10-12T09:30:00Z"}
    report = import_reviews(db, write(tmp_path, "google.json", json.dumps(data)), business_id)
    assert report.problems == [
        "record 1: reviewer is str, expected an object",
        "record 2: comment is an object, expected text; reviewReply.comment is a list, expected text",
    ]
    assert review_bodies(db) == [("google:AbFvOqk5", "Hurtig og venlig montør.")]


def test_deeply_nested_json_is_a_named_error(db, business_id, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ImportProblem) as raised:
        import_reviews(db, write(tmp_path, "reviews.json", deep), business_id)
    assert str(raised.value) == (f"{tmp_path / 'reviews.json'}: JSON nested too deeply to read (lists or objects "
                                 "inside each other about a thousand levels down)")
    good = (FILES / "reviews.jsonl").read_text().split("\n")
    path = write(tmp_path, "reviews.jsonl", "\n".join([good[0], '{"body": ' + deep + "}", good[1]]))
    report = import_reviews(db, path, business_id)
    assert report.problems == ["line 2: JSON nested too deeply to read"]
    assert [review for review, _ in review_bodies(db)] == ["facebook:fb-101", "facebook:fb-102"]


def test_an_integer_too_long_to_convert_is_a_problem_of_its_line(db, business_id, tmp_path):
    good = (FILES / "reviews.jsonl").read_text().split("\n")
    path = write(tmp_path, "reviews.jsonl", "\n".join([good[0], '{"rating": ' + "9" * 5000 + "}"]))
    report = import_reviews(db, path, business_id)
    assert report.problems == ["line 2: not readable JSON (Exceeds the limit (4300 digits) for integer string "
                               "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit)"]


def test_a_duplicate_review_keeps_the_later_record(db, business_id, tmp_path):
    good = (FILES / "reviews.jsonl").read_text().split("\n")
    path = write(tmp_path, "reviews.jsonl", "\n".join([good[0], good[1], good[0].replace("to uger", "tre uger")]))
    report = import_reviews(db, path, business_id)
    assert report.problems == ["line 1: review 'facebook:fb-101' is line 3 too; the later one is kept"]
    assert report.stored == {2: "facebook:fb-102", 3: "facebook:fb-101"}
    assert db.execute("SELECT count(*) FROM review_history").fetchone() == (0,)
    assert review_bodies(db)[0] == ("facebook:fb-101", "Der kom vand under gulvet tre uger efter.")


def test_review_csv_with_a_column_that_is_no_review_field_is_refused_once(db, business_id, tmp_path):
    path = write(tmp_path, "reviews.csv", (FILES / "reviews.csv").read_text().replace(";title;", ";stars;"))
    with pytest.raises(ImportProblem) as raised:
        import_reviews(db, path, business_id)
    assert str(raised.value) == (
        f"{path}: column 'stars' is not a review field (expected: id, source, external_id, url, author, author_location, "
        "rating, title, body, lang, published_at, experienced_at, edited_at, reply_body, reply_at; --header-row N "
        "if the names are lower down)"
    )


# --- the CLI: refusals and exit codes -------------------------------------------------------------------------


def test_a_pdf_given_to_reviews_import_is_refused_once_with_exit_1(tmp_path, monkeypatch):
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" * 32 + b"%%EOF\n"
    path = write(tmp_path, "reviews.pdf", pdf)
    result = run_cli(tmp_path, monkeypatch, "reviews", "import", str(path), "--business", "Hansen VVS")
    assert result.exit_code == 1
    assert result.output == (f"Error: {path}: this is a binary file, not a CSV, XLSX, JSON or JSONL export "
                             "(it is a PDF document)\n")


def test_a_json_file_given_to_jobs_import_is_refused_once_with_exit_1(tmp_path, monkeypatch):
    path = write(tmp_path, "jobs.json", "[]")
    result = run_cli(tmp_path, monkeypatch, "jobs", "import", str(path), "--business", "Hansen VVS")
    assert (result.exit_code, result.output) == (
        1, f"Error: {path}: a JSON file, but this import reads CSV or XLSX exports\n")


def test_rows_with_problems_exit_1_and_the_good_rows_are_stored(tmp_path, monkeypatch):
    path = write(tmp_path, "reviews.csv", (FILES / "reviews.csv").read_text().replace(";1;Utæt", ";9;Utæt"))
    result = run_cli(tmp_path, monkeypatch, "reviews", "import", str(path), "--business", "Hansen VVS")
    assert result.exit_code == 1
    assert result.output == (f"{path}: line 3: review trustpilot:tp-2: rating 9.0 is outside 1-5\n"
                             f"{path}: 3 rows, 2 new reviews, 0 updated, 0 unchanged, 1 problems\n")
    db = open_db(tmp_path / "data" / "monitor.db")
    assert db.execute("SELECT id, author FROM reviews ORDER BY id").fetchall() == [
        ("trustpilot:tp-1", "Per Hansen"), ("trustpilot:tp-3", "Bo")]
