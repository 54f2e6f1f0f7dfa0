"""Job and review imports from the exports people actually have."""

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from monitor.cli import cli
from monitor.imports import import_jobs, import_reviews
from monitor.tabular import ImportProblem, parse_amount, parse_day

DANISH_COLUMNS = {
    "Ordrenr.": "job_id", "Kunde": "customer_name", "Adresse": "address", "Postnr.": "postcode", "By": "city",
    "Opgavetype": "job_type", "Montør": "crew", "Afsluttet": "completed_at", "Beløb": "amount",
    "Forfald": "due_at", "Betalt": "paid_at",
}
HEADER = "Ordrenr.;Kunde;Adresse;Postnr.;By;Opgavetype;Montør;Afsluttet;Beløb;Forfald;Betalt"
ROWS = [
    "J-1001;Søren Ærø;Åboulevarden 12;8000;Aarhus C;Badeværelse;Kasper, Mads;03-10-2026;48.250,50;02-11-2026;",
    "J-1002;Jürgen Müller;Strandvejen 3;8240;Risskov;Tagrenovering;Mads;15.09.2026;12345,5;15.10.2026;14.10.2026",
]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def jobs(db):
    return db.execute("SELECT job_id, customer_name, address, city, job_type, crew, completed_at, amount, due_at, paid_at "
                      "FROM jobs ORDER BY job_id").fetchall()


EXPECTED = [
    ("J-1001", "Søren Ærø", "Åboulevarden 12", "Aarhus C", "Badeværelse", "Kasper, Mads", "2026-10-03", 48250.5, "2026-11-02", None),
    ("J-1002", "Jürgen Müller", "Strandvejen 3", "Risskov", "Tagrenovering", "Mads", "2026-09-15", 12345.5, "2026-10-15", "2026-10-14"),
]


@pytest.mark.parametrize("encoding,bom", [("utf-8", ""), ("utf-8", "\ufeff"), ("cp1252", ""), ("latin-1", "")])
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_encodings_and_delimiters(db, business_id, tmp_path, encoding, bom, delimiter):
    lines = [HEADER, *ROWS]
    if delimiter != ";":
        lines = [delimiter.join(f'"{v}"' if "," in v else v for v in line.split(";")) for line in lines]
    path = write(tmp_path, "ordrer.csv", bom + "\r\n".join(lines) + "\r\n", encoding)
    report = import_jobs(db, path, business_id, DANISH_COLUMNS)
    assert report.problems == []
    assert (report.rows, report.saved.new) == (2, 2)
    assert jobs(db) == EXPECTED


def test_reimport_updates_in_place(db, business_id, tmp_path):
    path = write(tmp_path, "ordrer.csv", "\n".join([HEADER, *ROWS]))
    import_jobs(db, path, business_id, DANISH_COLUMNS)
    again = import_jobs(db, path, business_id, DANISH_COLUMNS)
    assert (again.saved.new, again.saved.updated, again.saved.unchanged) == (0, 0, 2)
    paid = write(tmp_path, "ordrer2.csv", "\n".join([HEADER, ROWS[0] + "20-11-2026", ROWS[1]]))
    third = import_jobs(db, paid, business_id, DANISH_COLUMNS)
    assert (third.saved.new, third.saved.updated, third.saved.unchanged) == (0, 1, 1)
    assert db.execute("SELECT id, paid_at FROM jobs ORDER BY id").fetchall() == [
        ("hansen-vvs-aps:J-1001", "2026-11-20"), ("hansen-vvs-aps:J-1002", "2026-10-14"),
    ]


def test_bad_rows_are_reported_with_line_and_the_rest_kept(db, business_id, tmp_path):
    lines = [
        HEADER,
        ROWS[0],
        "J-1003;;Vestergade 1;8000;Aarhus C;Køkken;Kasper;01-10-2026;100;;",
        "J-1004;Ole Ask;Vestergade 2;8000;Aarhus C;Køkken;Kasper;31-02-2026;100;;",
        "J-1005;Eva Bo;Vestergade 3;8000;Aarhus C;Køkken;Kasper;01-10-2026;hundrede;;",
        ROWS[1],
        ROWS[0].replace("Søren Ærø", "Søren Ærø Jensen"),
    ]
    report = import_jobs(db, write(tmp_path, "ordrer.csv", "\n".join(lines)), business_id, DANISH_COLUMNS)
    assert report.problems == [
        "line 2: job_id 'J-1001' is on line 7 too; the later row is kept",
        "line 3: customer_name (Kunde) is empty",
        "line 4: completed_at (Afsluttet): day is out of range for month",
        "line 5: amount (Beløb): 'hundrede' is not an amount",
    ]
    assert report.stored == {6: "hansen-vvs-aps:J-1002", 7: "hansen-vvs-aps:J-1001"}
    assert [row[:2] for row in jobs(db)] == [("J-1001", "Søren Ærø Jensen"), ("J-1002", "Jürgen Müller")]


def test_excel_serial_dates_and_xlsx(db, business_id, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["job_id", "customer_name", "completed_at", "started_at", "amount"])
    sheet.append([1001, "Anna Berg", datetime(2026, 10, 3), 46296, 4999.95])
    sheet.append(["1002", "Bo Dahl", "46300", None, "1.250,00"])
    path = tmp_path / "jobs.xlsx"
    workbook.save(path)
    report = import_jobs(db, path, business_id, {})
    assert report.problems == []
    assert db.execute("SELECT job_id, customer_name, completed_at, started_at, amount FROM jobs ORDER BY job_id").fetchall() == [
        ("1001", "Anna Berg", "2026-10-03", "2026-10-01", 4999.95),
        ("1002", "Bo Dahl", "2026-10-05", None, 1250.0),
    ]


@pytest.mark.parametrize("value,expected", [
    ("03-10-2026", "2026-10-03"), ("3.10.2026", "2026-10-03"), ("2026-10-03", "2026-10-03"),
    ("2026-10-03T14:00:00", "2026-10-03"), ("03/10/2026", "2026-10-03"), ("46298", "2026-10-03"), (46298, "2026-10-03"),
    ("", None),
])
def test_day_formats(value, expected):
    assert parse_day(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("48.250,50", 48250.5), ("48,250.50", 48250.5), ("1234,5", 1234.5), ("kr. 1.234,00", 1234.0),
    ("1.234.567", 1234567.0), ("-250,00", -250.0), ("€ 99", 99.0), (12.5, 12.5), ("", None),
])
def test_amount_formats(value, expected):
    assert parse_amount(value) == expected


def test_empty_header_only_and_binary_files(db, business_id, tmp_path):
    with pytest.raises(ImportProblem, match=r"empty.csv: the file is empty"):
        import_jobs(db, write(tmp_path, "empty.csv", "\n\n"), business_id, DANISH_COLUMNS)
    header_only = import_jobs(db, write(tmp_path, "header.csv", HEADER + "\n"), business_id, DANISH_COLUMNS)
    assert (header_only.rows, header_only.saved.new, header_only.problems) == (0, 0, [])
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ImportProblem, match="photo.csv: this is a binary file, not a CSV or XLSX export"):
        import_jobs(db, binary, business_id, DANISH_COLUMNS)


def test_missing_required_column_names_the_way_out(db, business_id, tmp_path):
    path = write(tmp_path, "x.csv", "Nr;Navn\n1;A\n")
    with pytest.raises(ImportProblem) as raised:
        import_jobs(db, path, business_id, {})
    assert str(raised.value) == (
        f"{path}: no column for job_id, customer_name, completed_at; map one with --map COLUMN=job_id "
        "or [business.jobs_columns], or name the header row with --header-row N (columns: Nr, Navn)"
    )


def test_cli_jobs_import_without_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "ordrer.csv", "\n".join([HEADER, *ROWS]), "cp1252")
    args = ["jobs", "import", str(path), "--business", "Jensen El", "--map", "Ordrenr.=job_id", "--map", "Kunde=customer_name",
            "--map", "Afsluttet=completed_at", "--map", "Montør=crew"]
    from monitor.db import open_db
    open_db(tmp_path / "data" / "monitor.db").close()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output == f"{path}: 2 rows, 2 new jobs, 0 updated, 0 unchanged, 0 problems\n"
    db = open_db(tmp_path / "data" / "monitor.db")
    assert db.execute("SELECT id, crew FROM jobs ORDER BY id").fetchall() == [
        ("jensen-el:J-1001", "Kasper, Mads"), ("jensen-el:J-1002", "Mads"),
    ]
    assert db.execute("SELECT name FROM businesses").fetchall() == [("Jensen El",)]
    bad = CliRunner().invoke(cli, ["jobs", "import", str(path), "--business", "X", "--map", "Kunde=client"])
    assert bad.exit_code == 2 and "'Kunde=client': expected FILECOLUMN=field" in bad.output


GOOGLE = {
    "reviews": [
        {
            "name": "accounts/1148/locations/5521/reviews/AbFvOqk2",
            "reviewId": "AbFvOqk2",
            "reviewer": {"profilePhotoUrl": "https://lh3.example/a.png", "displayName": "Lise Holm", "isAnonymous": False},
            "starRating": "TWO",
            "comment": "(Translated by Google) Water under the floor.\n\n(Original)\nVand under gulvet efter to uger.",
            "createTime": "2026-10-10T08:00:00.123Z",
            "updateTime": "2026-10-12T09:30:00Z",
            "reviewReply": {"comment": "Vi kommer i morgen.", "updateTime": "2026-10-11T07:00:00Z"},
        },
        {
            "name": "accounts/1148/locations/5521/reviews/AbFvOqk3",
            "reviewId": "AbFvOqk3",
            "reviewer": {"displayName": "A Google user", "isAnonymous": True},
            "starRating": "FIVE",
            "createTime": "2026-10-11T08:00:00Z",
            "updateTime": "2026-10-11T08:00:00Z",
        },
        {"reviewId": "AbFvOqk4", "reviewer": {"displayName": "X"}, "starRating": "SIX", "createTime": "2026-10-11T08:00:00Z"},
    ],
    "averageRating": 3.5,
    "totalReviewCount": 3,
}


def test_google_business_profile_reviews(db, business_id, tmp_path):
    path = write(tmp_path, "google.json", json.dumps(GOOGLE))
    report = import_reviews(db, path, business_id)
    assert report.problems == ["record 3: starRating 'SIX' is not ONE to FIVE"]
    assert db.execute(
        "SELECT id, author, rating, body, published_at, edited_at, reply_body, reply_at FROM reviews ORDER BY id"
    ).fetchall() == [
        ("google:AbFvOqk2", "Lise Holm", 2.0, "Vand under gulvet efter to uger.", "2026-10-10T08:00:00Z",
         "2026-10-12T09:30:00Z", "Vi kommer i morgen.", "2026-10-11T07:00:00Z"),
        ("google:AbFvOqk3", None, 5.0, None, "2026-10-11T08:00:00Z", None, None, None),
    ]
    again = import_reviews(db, path, business_id)
    assert (again.saved.new, again.saved.updated, again.saved.unchanged) == (0, 0, 2)


def test_generic_csv_and_jsonl_reviews(db, business_id, tmp_path):
    csv_path = write(tmp_path, "reviews.csv", "source;external_id;published_at;author;rating;body\n"
                                              "facebook;fb-1;12.10.2026;Per;4;Fint\n"
                                              "facebook;;12.10.2026;Per;4;Fint\n"
                                              "facebook;fb-3;2026-10-13;Ida;fem;Godt\n", "cp1252")
    report = import_reviews(db, csv_path, business_id)
    assert report.problems == ["line 3: external_id is empty", "line 4: rating 'fem' is not a number"]
    jsonl = write(tmp_path, "reviews.jsonl", '{"source": "reco", "external_id": 7, "published_at": "2026-10-01", "rating": 1}\n'
                                             '{"source": "reco", "external_id": 8\n'
                                             '{"source": "reco", "external_id": 9, "published_at": "2026-10-02", "stars": 2}\n')
    report = import_reviews(db, jsonl, business_id)
    assert report.problems == [
        "line 2: not valid JSON (Expecting ',' delimiter)",
        "line 3: unknown column 'stars' (expected: id, source, external_id, url, author, author_location, rating, "
        "title, body, lang, published_at, experienced_at, edited_at, reply_body, reply_at)",
    ]
    assert db.execute("SELECT id, published_at, rating FROM reviews ORDER BY id").fetchall() == [
        ("facebook:fb-1", "2026-10-12T00:00:00Z", 4.0), ("reco:7", "2026-10-01T00:00:00Z", 1.0),
    ]
