import pytest

from monitor.reply_rules import Problem, check_reply

CLEAN = {
    "da": "Kære Jens, tak for din anmeldelse. Vi beklager og ringer dig i denne uge. Venlig hilsen Hansen VVS",
    "nb": "Hei Jens, takk for vurderingen. Vi beklager og ringer deg denne uken. Hilsen Hansen VVS",
    "sv": "Hej Jens, tack för ditt omdöme. Vi beklagar och ringer dig den här veckan. Hälsningar Hansen VVS",
    "de": "Hallo Jens, danke für Ihre Bewertung. Es tut uns leid, wir rufen Sie diese Woche an. Grüße Hansen VVS",
    "en": "Dear Jens, thank you for your review. We are sorry and will call you this week. Regards, Hansen VVS",
}
BREAK = {
    "incentive": {"da": "Du får 20% rabat", "nb": "Du får rabatt", "sv": "Du får rabatt", "de": "Sie bekommen einen Gutschein",
                  "en": "We offer you a discount"},
    "edit_request": {"da": "Vil du fjern anmeldelsen?", "nb": "Kan du endre anmeldelsen?", "sv": "Kan du ta bort omdömet?",
                     "de": "Bitte Bewertung löschen.", "en": "Please update your review."},
    "blame": {"da": "Det er din egen skyld.", "nb": "Det er din egen skyld.", "sv": "Det är ditt eget fel.",
              "de": "Das ist Ihre eigene Schuld.", "en": "That was your own fault."},
}


@pytest.mark.parametrize("lang", sorted(CLEAN))
def test_clean_draft_passes(lang):
    assert check_reply(CLEAN[lang], lang, "trustpilot") == []


@pytest.mark.parametrize("rule", sorted(BREAK))
@pytest.mark.parametrize("lang", sorted(CLEAN))
def test_draft_built_to_break_a_rule_is_caught(rule, lang):
    problems = check_reply(CLEAN[lang] + " " + BREAK[rule][lang], lang, "trustpilot")
    assert [p.rule for p in problems] == [rule]


def test_personal_data_is_caught_but_the_business_contact_is_allowed():
    text = "Skriv til os på kontakt@hansen-vvs.dk eller ring 12 34 56 78. Jens kan nås på jens@example.com"
    problems = check_reply(text, "da", "trustpilot", allowed=("kontakt@hansen-vvs.dk", "12 34 56 78"))
    assert problems == [Problem("personal_data", "jens@example.com")]


def test_length_limit_per_platform():
    text = "a" * 2049
    assert check_reply(text, "en", "trustpilot") == [Problem("length", "2049 characters, trustpilot allows 2048")]
    assert check_reply(text, "en", "google") == []


# Drafts built to break each further rule, in each language; each must be caught as exactly that rule.
MORE_BREAKS = {
    "incentive": {"da": "Til gengæld for en ny vurdering får du et gavekort.", "nb": "Vi gir deg noe til gjengjeld.",
                  "sv": "I utbyte får du en present.", "de": "Im Gegenzug erhalten Sie eine Prämie.",
                  "en": "In return for a new review we will send you something nice."},
    "edit_request": {"da": "Vil du overveje at opdatere din anmeldelse?", "nb": "Kan du endre vurderingen din?",
                     "sv": "Kan du ändra ditt omdöme?", "de": "Bitte überlegen Sie, die Bewertung zu ändern.",
                     "en": "Would you consider giving us more stars?"},
    "blame": {"da": "Du burde have læst vejledningen.", "nb": "Du burde ha lest bruksanvisningen.",
              "sv": "Du borde ha läst instruktionerna.", "de": "Sie hätten die Anleitung lesen müssen.",
              "en": "You should have read the instructions."},
}


@pytest.mark.parametrize("rule", sorted(MORE_BREAKS))
@pytest.mark.parametrize("lang", sorted(CLEAN))
def test_more_ways_to_break_a_rule_are_caught(rule, lang):
    problems = check_reply(CLEAN[lang] + " " + MORE_BREAKS[rule][lang], lang, "trustpilot")
    assert {p.rule for p in problems} == {rule}


PERSONAL = {  # text -> what is found
    "Vi har talt med Kasper om det.": "Kasper",
    "Det kostede 4.500 kr. i alt.": "4.500 kr.",
    "Prisen var kr 300 for timen.": "kr 300",
    "Der Betrag von 1.200 EUR ist offen.": "1.200 EUR",
    "Das kostet € 89.": "€ 89",
    "Vi kommer til Vestergade 12 på mandag.": "Vestergade 12",
    "Vi kommer til Storgata 5B.": "Storgata 5B",
    "Wir kommen in die Hauptstraße 3.": "Hauptstraße 3",
    "We will be at 12 Mill Road on Monday.": "12 Mill Road",
    "Ring til Jens på 87 65 43 21.": "87 65 43 21",
    "Skriv til jens.p@example.dk.": "jens.p@example.dk",
}


@pytest.mark.parametrize("text,found", sorted(PERSONAL.items()))
def test_personal_data_names_what_it_found(text, found):
    assert check_reply(text, "da", "trustpilot", forbidden=("Kasper",)) == [Problem("personal_data", found)]


def test_forbidden_details_are_whole_words_and_the_business_own_name_is_allowed():
    text = "Venlig hilsen Mette Hansen, Hansen VVS ApS. Vi kommer med Kaspers kollega."
    assert check_reply(text, "da", "trustpilot", allowed=("Hansen VVS ApS", "Mette Hansen"),
                       forbidden=("Hansen", "Kasper")) == []
    assert check_reply("Hej Jens Hansen", "da", "trustpilot", allowed=("Hansen VVS ApS",), forbidden=("Hansen",)) == [
        Problem("personal_data", "Hansen")]


MONEY = {"da": "Vi ser på fakturaen.", "nb": "Vi ser på regningen.", "sv": "Vi tittar på betalningen.",
         "de": "Wir prüfen die Rechnung.", "en": "We will look at the bill."}


@pytest.mark.parametrize("lang", sorted(CLEAN))
def test_money_is_a_rule_only_for_the_draft_to_an_unpaid_customer(lang):
    text = CLEAN[lang] + " " + MONEY[lang]
    assert check_reply(text, lang, "trustpilot") == []
    assert [p.rule for p in check_reply(text, lang, "trustpilot", no_money=True)] == ["money"]
    assert check_reply(CLEAN[lang], lang, "trustpilot", no_money=True) == []


def test_money_words_are_whole_words_or_word_starts():
    assert check_reply("However, we feel we should call you.", "en", "trustpilot", no_money=True) == []
    assert check_reply("The payments are late.", "en", "trustpilot", no_money=True) == [Problem("money", "payment")]


def test_length_limit_for_any_other_platform():
    assert check_reply("a" * 1501, "de", "schemaorg") == [Problem("length", "1501 characters, schemaorg allows 1500")]
