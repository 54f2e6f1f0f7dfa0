"""Which language a review is in, among the business's: Danish and Bokmål texts that fit both go to the business's own."""

from __future__ import annotations

import pytest

from monitor.language import detect

DANISH_FIRM = ("da", "de", "sv", "nb", "en")
NORWEGIAN_FIRM = ("nb", "da", "en")


@pytest.mark.parametrize("text,languages,expected", [
    ("Montøren kom to timer for sent.", DANISH_FIRM, "da"),  # the same words in both: the firm's own
    ("Montøren kom to timer for sent.", NORWEGIAN_FIRM, "nb"),
    ("Flott arbeid og hyggelige folk, anbefales.", DANISH_FIRM, "nb"),  # clearly Norwegian stays Norwegian
    ("Jeg er veldig fornøyd med jobben de gjorde på badet vårt, anbefales på det sterkeste.", DANISH_FIRM, "nb"),
    ("Vi er meget tilfredse med det nye badeværelse og håndværkerne var søde.", NORWEGIAN_FIRM, "da"),
    ("Det läcker fortfarande från kranen efter besöket.", DANISH_FIRM, "sv"),
    ("Der Wasserhahn tropft immer noch, obwohl der Monteur da war.", DANISH_FIRM, "de"),
])
def test_the_language_among_the_business_languages(text, languages, expected):
    assert detect(text, languages, fallback=languages[0]) == expected


def test_a_text_too_short_to_tell_is_in_the_business_language_and_no_text_has_none():
    assert detect("Super!", DANISH_FIRM, fallback="da") == "da"
    assert detect("", DANISH_FIRM, fallback="da") == "da"
    assert detect(None, DANISH_FIRM) is None
