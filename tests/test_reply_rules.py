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
