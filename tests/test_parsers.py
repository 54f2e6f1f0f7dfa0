"""Parsers on saved pages, without network: one behaviour per test, exact values."""

from datetime import datetime, timezone

import pytest

from spiders.dates import parse_date
from spiders.feeds import parse_feed
from spiders.items import normalise_rating
from spiders.mentions import MentionMatcher
from spiders.schemaorg import parse_schemaorg
from spiders.trustpilot import page_url, parse_trustpilot
from tests.conftest import FILES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
TP_URL = "https://dk.trustpilot.com/review/hansen-vvs.dk?languages=all"


def test_trustpilot_embedded_reviews_field_by_field():
    result = parse_trustpilot((FILES / "trustpilot_company_page.html").read_bytes(), TP_URL, NOW)
    assert result.problems == []
    assert [r["id"] for r in result.reviews] == [
        "trustpilot:66f2a1c4e9b0d21a7c3e5f81", "trustpilot:66f2a1c4e9b0d21a7c3e5f82", "trustpilot:66f2a1c4e9b0d21a7c3e5f83",
    ]
    first = result.reviews[0]
    assert first == {
        "id": "trustpilot:66f2a1c4e9b0d21a7c3e5f81",
        "source": "trustpilot",
        "external_id": "66f2a1c4e9b0d21a7c3e5f81",
        "url": "https://dk.trustpilot.com/reviews/66f2a1c4e9b0d21a7c3e5f81",
        "author": "Jens Hansen",
        "author_location": "DK",
        "rating": 1.0,
        "title": "Vand under gulvet – igen",
        "body": "Tre uger efter det nye badeværelse stod der vand under gulvet. Montøren </script><b>Kasper</b> sagde det var fugerne.",
        "lang": "da",
        "published_at": "2026-10-02T08:15:31Z",
        "experienced_at": "2026-09-10T00:00:00Z",
        "edited_at": "2026-10-04T19:02:11Z",
        "reply_body": "Hej Jens. Vi er kede af det og kommer forbi i morgen. Mvh Hansen VVS",
        "reply_at": "2026-10-05T07:00:00Z",
        "verified": 1,
        "reviewer_verified": 1,
        "reviewer_review_count": 7,
        "published_at_estimated": None,
    }
    assert (result.reviews[2]["author"], result.reviews[2]["lang"], result.reviews[2]["reply_body"]) == ("Klaus Müller", "de", None)


def test_trustpilot_verification_labels_and_reviewer_review_counts():
    result = parse_trustpilot((FILES / "trustpilot_company_page.html").read_bytes(), TP_URL, NOW)
    assert [(r["author"], r["verified"], r["reviewer_verified"], r["reviewer_review_count"]) for r in result.reviews] == [
        ("Jens Hansen", 1, 1, 7), ("Mette Sørensen", 0, 0, 1), ("Klaus Müller", 1, 0, 3),
    ]


def test_trustpilot_trustscore_and_star_distribution():
    result = parse_trustpilot((FILES / "trustpilot_company_page.html").read_bytes(), TP_URL, NOW)
    assert result.stats == {
        "trust_score": 3.9, "stars": 4.0, "number_of_reviews": 23,
        "one_star": 5, "two_stars": 2, "three_stars": 1, "four_stars": 4, "five_stars": 11,
    }
    assert (result.page_number, result.newest_first) == (1, True)


def test_trustpilot_listing_in_another_order_is_said_and_read_whole():
    page = (FILES / "trustpilot_company_page.html").read_bytes().replace(b'"sort": "recency"', b'"sort": "relevance"')
    result = parse_trustpilot(page, TP_URL, NOW)
    assert result.newest_first is False
    assert result.problems == [f"{TP_URL}: reviews are listed by 'relevance', not newest first; every page is read"]


def test_trustpilot_review_without_readable_date_is_dated_by_first_seen_time():
    page = (FILES / "trustpilot_company_page.html").read_bytes().replace(
        b'"publishedDate": "2026-10-02T08:15:31.000Z"', b'"publishedDate": "snart"')
    result = parse_trustpilot(page, TP_URL, NOW)
    first = result.reviews[0]
    assert (first["id"], first["published_at"], first["published_at_estimated"]) == (
        "trustpilot:66f2a1c4e9b0d21a7c3e5f81", "2026-11-23T12:00:00Z", 1)
    assert [r["published_at_estimated"] for r in result.reviews[1:]] == [None, None]
    assert result.problems == [
        f"{TP_URL}: review 66f2a1c4e9b0d21a7c3e5f81 has no readable publishedDate; dated by when it was first seen"
    ]


def test_trustpilot_pagination():
    result = parse_trustpilot((FILES / "trustpilot_company_page.html").read_bytes(), TP_URL, NOW)
    assert (result.last_page, result.next_url) == (
        False, "https://dk.trustpilot.com/review/hansen-vvs.dk?languages=all&sort=recency&page=2",
    )
    assert page_url("https://de.trustpilot.com/review/mueller-sanitaer.de?page=3&stars=1&sort=relevance", 2) == (
        "https://de.trustpilot.com/review/mueller-sanitaer.de?stars=1&languages=all&sort=recency&page=2"
    )
    assert page_url("https://dk.trustpilot.com/review/hansen-vvs.dk", 1) == (
        "https://dk.trustpilot.com/review/hansen-vvs.dk?languages=all&sort=recency"
    )


def test_trustpilot_falls_back_to_json_ld_when_next_data_is_broken():
    page = (FILES / "trustpilot_company_page.html").read_bytes().replace(b'"__N_SSP": true}', b'"__N_SSP": tru')
    result = parse_trustpilot(page, TP_URL, NOW)
    assert result.problems[0].startswith(f"{TP_URL}: __NEXT_DATA__ is unreadable (")
    assert (result.next_url, result.last_page) == (None, False)  # JSON-LD does not say whether more pages follow
    assert [(r["id"], r["author"], r["rating"], r["published_at"]) for r in result.reviews] == [
        ("trustpilot:66f2a1c4e9b0d21a7c3e5f81", "Jens Hansen", 1.0, "2026-10-02T08:15:31Z"),
        ("trustpilot:66f2a1c4e9b0d21a7c3e5f82", "Mette Sørensen", 5.0, "2026-09-28T16:40:00Z"),
        ("trustpilot:66f2a1c4e9b0d21a7c3e5f83", "Klaus Müller", 2.0, "2026-09-20T09:00:00Z"),
    ]
    assert result.reviews[0]["title"] == "Vand under gulvet – igen"


def test_trustpilot_page_without_any_review_data_is_a_problem():
    result = parse_trustpilot(b"<html><body><div class='styles_x'>Hansen VVS</div></body></html>", TP_URL, NOW)
    assert (result.reviews, result.problems) == ([], [f"{TP_URL}: no __NEXT_DATA__ and no JSON-LD reviews on a Trustpilot page"])


def test_schemaorg_json_ld_microdata_reply_and_broken_block():
    url = "http://127.0.0.1:8123/firma/hansen-vvs"
    result = parse_schemaorg((FILES / "sites" / "directory_profile.html").read_bytes(), url, now=NOW)
    assert [(r["id"], r["author"], r["rating"], r["published_at"]) for r in result.reviews] == [
        ("schemaorg:127.0.0.1:firma/hansen-vvs/anmeldelse/5521", "Mette Kristensen", 2.0, "2026-09-14T00:00:00Z"),
        ("schemaorg:127.0.0.1:firma/hansen-vvs/anmeldelse/5530", "Ole P.", 5.0, "2026-10-02T00:00:00Z"),
        ("schemaorg:127.0.0.1:firma/hansen-vvs/anmeldelse/5544", "Karsten Holm", 1.0, "2026-10-20T00:00:00Z"),
    ]
    mette = result.reviews[0]
    assert mette["body"] == "Tre uger efter de var færdige kom der fugt i væggen bag bruseren. Det er ikke godt nok & nu venter vi."
    assert (mette["reply_body"], mette["reply_at"]) == ("Kære Mette, vi kommer ud mandag og ser på det. Mvh Jens", "2026-09-16T08:30:00Z")
    assert mette["author_location"] == "Risskov"
    assert result.reviews[2]["title"] == "Kom aldrig"
    assert result.problems == [f"{url}: JSON-LD at line 41 is malformed (Expecting ',' delimiter: line 2 column 142 (char 142)); skipped"]
    assert (result.next_url, result.last_page) == ("http://127.0.0.1:8123/firma/hansen-vvs?side=2", False)


def test_schemaorg_graph_and_rdfa():
    page = (FILES / "sites" / "own_site_rdfa.html").read_bytes()
    result = parse_schemaorg(page, "https://www.hansen-vvs.dk/anmeldelser", now=NOW)
    assert [(r["author"], r["rating"], r["body"], r["published_at"]) for r in result.reviews] == [
        ("Peter Lund", 4.0, "Pæn montering af ny radiator, lidt forsinket.", "2026-08-03T00:00:00Z"),
        ("Sofia Berg", 1.0, "Läckage vid diskmaskinen efter två veckor.", "2026-07-11T00:00:00Z"),
        ("Anne Vestergaard", 5.0, "Meget tilfreds med det nye bad.", "2026-06-01T00:00:00Z"),
    ]
    assert result.reviews[1]["reply_body"] == "Hej Sofia, vi har sendt en montør."
    assert all(r["id"].startswith("schemaorg:www.hansen-vvs.dk:") for r in result.reviews)
    assert result.last_page is True


def test_review_without_platform_id_gets_a_stable_content_id():
    page = b"""<script type="application/ld+json">{"@context":"https://schema.org","@type":"LocalBusiness","name":"X",
    "review":[{"@type":"Review","author":"A","datePublished":"2026-01-02","reviewBody":"Fint","reviewRating":{"ratingValue":5}}]}</script>"""
    first = parse_schemaorg(page, "http://127.0.0.1:1111/x", now=NOW).reviews[0]["id"]
    again = parse_schemaorg(page, "http://127.0.0.1:2222/x", now=NOW).reviews[0]["id"]
    assert first == again == "schemaorg:127.0.0.1:" + first.rsplit(":", 1)[1]
    assert len(first.rsplit(":", 1)[1]) == 20


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-10-02T08:15:31.000Z", "2026-10-02T08:15:31Z"),
        ("2026-10-02T10:15:31+02:00", "2026-10-02T08:15:31Z"),
        ("2026-10-02", "2026-10-02T00:00:00Z"),
        ("2. oktober 2026", "2026-10-02T00:00:00Z"),          # da
        ("14. mars 2026", "2026-03-14T00:00:00Z"),            # nb
        ("3 okt. 2026", "2026-10-03T00:00:00Z"),              # sv
        ("14. März 2026", "2026-03-14T00:00:00Z"),            # de
        ("October 3, 2026", "2026-10-03T00:00:00Z"),          # en
        ("12.03.2026", "2026-03-12T00:00:00Z"),
        ("for 3 dage siden", "2026-11-20T12:00:00Z"),         # da relative
        ("for 2 uker siden", "2026-11-09T12:00:00Z"),         # nb relative
        ("för 3 dagar sedan", "2026-11-20T12:00:00Z"),        # sv relative
        ("vor 3 Tagen", "2026-11-20T12:00:00Z"),              # de relative
        ("3 days ago", "2026-11-20T12:00:00Z"),               # en relative
        ("i går", "2026-11-22T12:00:00Z"),
        ("3 de dezembro de 2026", "2026-12-03T00:00:00Z"),   # pt: beyond the five languages tried first
        ("qua, 02 dez 2026 14:30:00 -0300", "2026-12-02T17:30:00Z"),  # pt, RFC 822 shape
        ("3 grudnia 2026", "2026-12-03T00:00:00Z"),           # pl
        ("12 października 2026, 10:15", "2026-10-12T10:15:00Z"),  # pl with a time
        ("2 décembre 2026", "2026-12-02T00:00:00Z"),          # fr
        ("3. prosince 2026", "2026-12-03T00:00:00Z"),         # cs
        ("", None),
        ("ikke en dato", None),
    ],
)
def test_localised_and_relative_dates(text, expected):
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("value,best,worst,expected", [
    (4, None, None, 4.0), ("4,5", None, None, 4.5), (8, 10, 0, 4.2), (10, 10, 1, 5.0), (0, 5, 1, None), ("fem", None, None, None),
])
def test_ratings_normalised_to_one_to_five(value, best, worst, expected):
    assert normalise_rating(value, best, worst) == expected


MATCHER = MentionMatcher(["Hansen VVS ApS", "Hansen VVS", "hansen-vvs.dk", "Müller Sanitär", "Sørensen Tømrer"])


@pytest.mark.parametrize(
    "text,mentioned",
    [
        ("Vi brugte Hansen VVS til badeværelset", True),                 # da
        ("Hansen VVS' montør kom for sent", True),                        # da genitive
        ("Hansens VVS-folk var flinke", True),                            # genitive inside the name
        ("Hansen VVS-firmaet sendte regningen", True),                    # compound
        ("Noen som har brukt Hansen VVS i Oslo?", True),                  # nb
        ("Hansen VVS:s rörmokare var bra", True),                         # sv genitive of an abbreviation
        ("Erfahrungen mit Müller Sanitär? Wasserschaden nach 2 Wochen", True),  # de
        ("Mueller Sanitaer GmbH hat geliefert", True),                    # de transliterated
        ("Great job by hansen vvs, very tidy", True),                     # en, lower case
        ("Se mere på www.HANSEN-VVS.DK/kontakt", True),                   # domain
        ("Soerensen Tomrer lavede taget", True),                          # mixed spellings
        ("Hansenberg VVS er en anden virksomhed", False),                 # longer word
        ("Jens Hansen fra VVS-branchen", False),                          # words apart
        ("VVS Hansen i Vejle", False),                                    # reversed order is another firm
        ("Müller Sanitärtechnik ist nicht gemeint", False),               # compound without hyphen is another word
        ("Vi fik nyt tag af Sørensen", False),                            # part of a name
    ],
)
def test_mentions_in_five_languages(text, mentioned):
    assert MATCHER.mentions(text) is mentioned


def test_feed_keeps_only_mentions_and_reads_entities():
    body = (FILES / "feeds" / "mentions.rss").read_bytes()
    result = parse_feed(body, "http://127.0.0.1:9000/mentions.rss", MATCHER, NOW)
    assert result.problems == []
    assert [(r["title"], r["published_at"], r["rating"]) for r in result.reviews] == [
        ("Hansen VVS & Co. – vandskade efter 3 uger", "2026-11-02T09:30:00Z", None),
        ("Erfahrungen mit Müller Sanitär?", "2026-10-30T18:00:00Z", None),
        ("Anyone used hansen-vvs.dk?", "2026-10-28T07:15:00Z", None),
    ]
    assert result.reviews[0]["body"] == "Vi fik nyt bad af Hansen VVS, og nu er der vand under gulvet."
    assert result.reviews[0]["source"] == "http://127.0.0.1:9000/mentions.rss"
    assert result.reviews[0]["url"] == "https://forum.example.dk/t/1201"


def test_feed_without_filter_keeps_everything():
    result = parse_feed((FILES / "feeds" / "mentions.rss").read_bytes(), "http://127.0.0.1:9000/mentions.rss", None, NOW)
    assert len(result.reviews) == 5


def test_atom_in_latin1_with_bad_doctype():
    result = parse_feed((FILES / "feeds" / "latin1_bad_doctype.atom").read_bytes(), "http://127.0.0.1:9000/a.atom", None, NOW)
    assert [(r["title"], r["author"], r["published_at"]) for r in result.reviews] == [
        ("Kritik af håndværker: Søren Tømrer kom ikke", "Lokalavisen Østjylland", "2026-11-10T06:00:00Z"),
    ]


def test_truncated_feed_keeps_readable_entries_and_says_where():
    body = (FILES / "feeds" / "mentions.rss").read_bytes()
    truncated = body[: body.index(b"<item>", body.index(b"Anyone used")) + 40]
    result = parse_feed(truncated, "http://127.0.0.1:9000/mentions.rss", None, NOW)
    assert len(result.reviews) == 4
    assert result.problems[0].startswith("http://127.0.0.1:9000/mentions.rss: feed is malformed at line ")
    assert result.problems[0].endswith("kept 4 readable entries")


def test_garbage_is_not_a_feed():
    result = parse_feed(b"\x00\x01 not xml at all", "http://127.0.0.1:9000/x.rss", None, NOW)
    assert result.reviews == []
    assert result.problems[0].startswith("http://127.0.0.1:9000/x.rss: not a readable RSS/Atom feed")


def _feed_with_dates(dates: list[str], language: str) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>e{n}</guid><title>Indlæg {n}</title><link>https://avis.example/{n}</link>"
        f"<description>Tekst {n}</description><pubDate>{date}</pubDate></item>"
        for n, date in enumerate(dates)
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Avis</title>"
            f"<language>{language}</language>{items}</channel></rss>").encode("utf-8")


def test_portuguese_feed_dates_are_read():
    dates = ["qua, 02 dez 2026 14:30:00 -0300", "3 de dezembro de 2026", "sáb, 28 nov 2026 09:00:00 GMT"]
    result = parse_feed(_feed_with_dates(dates, "pt-BR"), "http://127.0.0.1:9000/pt.rss", None, NOW)
    assert result.problems == []
    assert [(r["title"], r["published_at"], r["published_at_estimated"]) for r in result.reviews] == [
        ("Indlæg 0", "2026-12-02T17:30:00Z", None),
        ("Indlæg 1", "2026-12-03T00:00:00Z", None),
        ("Indlæg 2", "2026-11-28T09:00:00Z", None),
    ]


def test_polish_feed_dates_are_read():
    dates = ["śr, 02 gru 2026 08:00:00 +0100", "3 grudnia 2026"]
    result = parse_feed(_feed_with_dates(dates, "pl"), "http://127.0.0.1:9000/pl.rss", None, NOW)
    assert [(r["published_at"], r["published_at_estimated"]) for r in result.reviews] == [
        ("2026-12-02T07:00:00Z", None), ("2026-12-03T00:00:00Z", None),
    ]


def test_feed_entry_without_readable_date_is_kept_dated_by_first_seen_time():
    result = parse_feed(_feed_with_dates(["snart", "2026-11-20T10:00:00Z"], "da"), "http://127.0.0.1:9000/d.rss", None, NOW)
    assert [(r["title"], r["published_at"], r["published_at_estimated"]) for r in result.reviews] == [
        ("Indlæg 0", "2026-11-23T12:00:00Z", 1), ("Indlæg 1", "2026-11-20T10:00:00Z", None),
    ]
    assert result.problems == ["http://127.0.0.1:9000/d.rss: entry 1 has no readable date; dated by when it was first seen"]


ATOM_ID_ONLY = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Nyheder</title><id>urn:feed:1</id><updated>2026-11-20T00:00:00Z</updated>
<entry><id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id></entry>
<entry><id>tag:avis.example,2026:2</id><updated>2026-11-21T08:00:00Z</updated><title>Vandskade</title></entry>
<entry></entry>
</feed>"""


def test_atom_entry_with_only_an_id_is_kept():
    result = parse_feed(ATOM_ID_ONLY, "http://127.0.0.1:9000/a.atom", None, NOW)
    assert [(r["url"], r["title"], r["published_at"], r["published_at_estimated"]) for r in result.reviews] == [
        (None, None, "2026-11-23T12:00:00Z", 1), (None, "Vandskade", "2026-11-21T08:00:00Z", None),
    ]
    assert result.problems == [
        "http://127.0.0.1:9000/a.atom: entry 1 has no readable date; dated by when it was first seen",
        "http://127.0.0.1:9000/a.atom: entry 3 has neither an id, a link, a title nor a text; skipped",
    ]
    again = parse_feed(ATOM_ID_ONLY, "http://127.0.0.1:9001/a.atom", None, datetime(2026, 11, 30, tzinfo=timezone.utc))
    assert [r["id"] for r in again.reviews] == [r["id"] for r in result.reviews]  # the id, not the date, identifies it
