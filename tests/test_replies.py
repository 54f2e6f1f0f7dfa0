"""Reply drafts: variants and their key sentences per language, names, personal data, storage, regeneration, alerts.

Complaint texts here are invented; real reviews are read from ../shared/corpus by benchmarks/reply_drafts_sample.py.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from monitor.analyze import run_analysis
from monitor.config import ConfigError, parse_config
from monitor.reply_rules import check_reply
from monitor.replies import (
    LANGUAGES, Case, Contact, build_drafts, drafts_for_review, first_name, mark_draft_used, primary_theme,
    reply_language, run_replies,
)
from monitor.store import decide_match, save_jobs, save_reviews

CONTACT = Contact("Hansen VVS ApS", "Mette Hansen", "+45 12 34 56 78", "kontakt@hansen-vvs.dk")
BARE = Contact("Hansen VVS ApS")


def drafts(case: Case, contact: Contact = CONTACT) -> dict[str, str]:
    built, refused = build_drafts(case, contact)
    assert refused == []
    return {draft.variant: draft.text for draft in built}


def matched(lang: str, themes=("leak",), rating=1, unpaid=False, author="Jens Peter Hansen") -> Case:
    return Case(author, rating, lang, "trustpilot", themes, matched=True, has_jobs=True, unpaid=unpaid,
                forbidden=("Kasper", "Vestergade 12"))


# --- which variants a complaint gets -------------------------------------------------------------------------

def test_a_matched_complaint_gets_specific_contact_and_general():
    assert list(drafts(matched("da"))) == ["specific", "contact", "general"]


def test_a_complaint_that_matches_no_job_gets_which_job_instead_of_specific():
    case = Case("Jens", 1, "da", "trustpilot", ("leak",), matched=False, has_jobs=True)
    assert list(drafts(case)) == ["which_job", "contact", "general"]


def test_an_unpaid_customer_gets_no_money_instead_of_specific():
    assert list(drafts(matched("da", unpaid=True))) == ["no_money", "contact", "general"]


def test_a_business_without_jobs_gets_specific_that_owns_nothing():
    text = drafts(Case("Jens", 1, "da", "trustpilot", ("leak",)))["specific"]
    assert "Vi er kede af at høre om problemerne med vand og fugt." in text
    assert "ansvaret" not in text and "uden beregning" not in text
    assert "Vi vil gerne se nærmere på det. Du er meget velkommen til at ringe til os på +45 12 34 56 78" in text


# --- each variant's key sentences, per language -----------------------------------------------------------------

SPECIFIC_OURS = {
    "da": ["Hej Jens\n", "Tak fordi du skrev til os, og undskyld – sådan skal det ikke være.",
           "Du skriver om problemerne med vand og fugt, og det tager vi ansvar for.",
           "Vi kontakter dig inden for to hverdage og aftaler et tidspunkt, hvor vi kommer og udbedrer utætheden "
           "uden beregning.", "Venlig hilsen\nMette Hansen\nHansen VVS ApS"],
    "nb": ["Hei Jens,\n", "Takk for at du skrev til oss, og beklager – slik skal det ikke være.",
           "Du skriver om problemene med vann og fukt, og det tar vi ansvar for.",
           "Vi tar kontakt med deg innen to virkedager og avtaler et tidspunkt da vi kommer og utbedrer lekkasjen, "
           "uten kostnad for deg.", "Vennlig hilsen\nMette Hansen\nHansen VVS ApS"],
    "sv": ["Hej Jens,\n", "Tack för att du skrev till oss, och vi ber om ursäkt – så här ska det inte vara.",
           "Du skriver om problemen med vatten och fukt, och det tar vi ansvar för.",
           "Vi kontaktar dig inom två arbetsdagar och bokar en tid då vi kommer och åtgärdar läckan, "
           "utan kostnad för dig.", "Vänliga hälsningar\nMette Hansen\nHansen VVS ApS"],
    "de": ["Hallo Jens,\n", "vielen Dank, dass Sie uns geschrieben haben, und wir bitten um Entschuldigung – so "
           "darf es nicht sein.", "Sie schreiben über die Probleme mit Wasser und Feuchtigkeit, und dafür übernehmen wir die "
           "Verantwortung.", "Wir melden uns innerhalb von zwei Werktagen bei Ihnen und vereinbaren einen Termin, an "
           "dem wir die undichte Stelle suchen und beheben – für Sie kostenfrei.",
           "Freundliche Grüße\nMette Hansen\nHansen VVS ApS"],
    "en": ["Hi Jens,\n", "Thank you for writing to us, and we apologise – this is not how it should be.",
           "You mention the water and damp problems, and we take responsibility for that.",
           "We will contact you within two working days to arrange a time to come back and fix the leak at our cost.",
           "Kind regards\nMette Hansen\nHansen VVS ApS"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_specific_owns_a_defect_on_our_job_and_offers_to_redo_it_at_our_cost(lang):
    text = drafts(matched(lang))["specific"]
    for sentence in SPECIFIC_OURS[lang]:
        assert sentence in text


def test_specific_in_full():
    assert drafts(matched("da"))["specific"] == (
        "Hej Jens\n\n"
        "Tak fordi du skrev til os, og undskyld – sådan skal det ikke være. "
        "Du skriver om problemerne med vand og fugt, og det tager vi ansvar for.\n\n"
        "Vi kontakter dig inden for to hverdage og aftaler et tidspunkt, hvor vi kommer og udbedrer utætheden "
        "uden beregning.\n\n"
        "Venlig hilsen\nMette Hansen\nHansen VVS ApS"
    )


SPECIFIC_SERVICE = {  # a matched delay complaint rated 3: no visit, no cost, the mixed-rating opening
    "da": ["Tak for din anmeldelse. Vi er glade for, at noget gik godt, men vi beklager resten.",
           "Vi kontakter dig inden for to hverdage for at høre, hvordan vi kan gøre det bedre, og aftale den videre plan."],
    "nb": ["Takk for anmeldelsen. Fint at noe gikk bra, men vi beklager resten.",
           "Vi tar kontakt med deg innen to virkedager for å høre hvordan vi kan bli bedre, og avtale den videre planen."],
    "sv": ["Tack för ditt omdöme. Roligt att en del blev bra, men vi beklagar resten.",
           "Vi kontaktar dig inom två arbetsdagar för att höra hur vi kan bli bättre och komma överens om den "
           "fortsatta planen."],
    "de": ["vielen Dank für Ihre Bewertung. Schön, dass einiges gut geklappt hat; den Rest bedauern wir.",
           "Wir melden uns innerhalb von zwei Werktagen bei Ihnen, um den weiteren Ablauf mit Ihnen abzustimmen."],
    "en": ["Thank you for your review. We are glad some of it went well, but the rest was not good enough.",
           "We will contact you within two working days to hear how we can do better and agree the next steps."],
}
COST = {"da": "beregning", "nb": "kostnad", "sv": "kostnad", "de": "kosten", "en": "cost"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_specific_for_a_service_complaint_promises_a_call_and_nothing_about_cost(lang):
    text = drafts(matched(lang, themes=("delay",), rating=3))["specific"]
    for sentence in SPECIFIC_SERVICE[lang]:
        assert sentence in text
    assert COST[lang] not in text.casefold()


CONTACT_SENTENCES = {
    "da": "Vi vil gerne tale med dig om det. Du er meget velkommen til at ringe til os på +45 12 34 56 78 eller "
          "skrive til kontakt@hansen-vvs.dk.",
    "nb": "Vi vil gjerne snakke med deg om det. Du er velkommen til å ringe oss på +45 12 34 56 78 eller skrive til "
          "kontakt@hansen-vvs.dk.",
    "sv": "Vi vill gärna prata med dig om det. Du är välkommen att ringa oss på +45 12 34 56 78 eller skriva till "
          "kontakt@hansen-vvs.dk.",
    "de": "Wir würden gern mit Ihnen darüber sprechen. Rufen Sie uns gern unter +45 12 34 56 78 an oder schreiben "
          "Sie an kontakt@hansen-vvs.dk.",
    "en": "We would like to talk to you about it. You are very welcome to call us on +45 12 34 56 78 or write to "
          "kontakt@hansen-vvs.dk.",
}
CONTACT_NONE = {"da": "Du er meget velkommen til at kontakte os direkte.",
                "nb": "Du er velkommen til å kontakte oss direkte.", "sv": "Du är välkommen att kontakta oss direkt.",
                "de": "Nehmen Sie gern direkt Kontakt mit uns auf.",
                "en": "You are very welcome to contact us directly."}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_contact_invites_to_the_configured_contact_or_to_get_in_touch(lang):
    assert CONTACT_SENTENCES[lang] in drafts(matched(lang))["contact"]
    assert CONTACT_NONE[lang] in drafts(matched(lang), BARE)["contact"]
    closing = SPECIFIC_OURS[lang][-1].split("\n")[0]
    assert drafts(matched(lang), BARE)["contact"].endswith(f"\n\n{closing}\nHansen VVS ApS")


GENERAL = {
    "da": "Tak for din anmeldelse. Vi er kede af, at du ikke er tilfreds, og vi tager din kritik alvorligt. "
          "Vi ser på, hvad der er sket, så vi kan gøre det bedre fremover.",
    "nb": "Takk for anmeldelsen. Vi beklager at du ikke er fornøyd, og vi tar kritikken din på alvor. "
          "Vi ser på hva som har skjedd, slik at vi kan gjøre det bedre.",
    "sv": "Tack för ditt omdöme. Vi är ledsna över att du inte är nöjd, och vi tar din kritik på allvar. "
          "Vi ser över vad som har hänt, så att vi kan bli bättre.",
    "de": "vielen Dank für Ihre Bewertung. Es tut uns leid, dass Sie nicht zufrieden sind, und wir nehmen Ihre "
          "Kritik ernst. Wir sehen uns an, was passiert ist, damit wir es künftig besser machen.",
    "en": "Thank you for your review. We are sorry you are not satisfied, and we take your criticism seriously. "
          "We are looking into what happened so that we can do better.",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_general(lang):
    assert GENERAL[lang] in drafts(matched(lang))["general"]


WHICH_JOB = {
    "da": ["Vi kan ikke finde en opgave, der passer til din beskrivelse, og vil gerne se nærmere på det.",
           "Vil du skrive adressen eller ordrenummeret til os på kontakt@hansen-vvs.dk? Skriv dem ikke her, for "
           "anmeldelser er offentlige."],
    "nb": ["Vi finner ikke noe oppdrag som passer med beskrivelsen din, og vil gjerne se nærmere på det.",
           "Vil du sende adressen eller ordrenummeret til oss på kontakt@hansen-vvs.dk? Ikke skriv dem her, siden "
           "anmeldelser er offentlige."],
    "sv": ["Vi hittar inget uppdrag som stämmer med din beskrivning och vill gärna titta närmare på det.",
           "Vill du skicka adressen eller ordernumret till oss på kontakt@hansen-vvs.dk? Skriv dem inte här, "
           "eftersom omdömen är offentliga."],
    "de": ["Wir finden keinen Auftrag, der zu Ihrer Beschreibung passt, und möchten der Sache gern nachgehen.",
           "Würden Sie uns die Adresse oder die Auftragsnummer an kontakt@hansen-vvs.dk schicken? Bitte schreiben "
           "Sie beides nicht hier hinein, denn Bewertungen sind öffentlich."],
    "en": ["We cannot find a job that matches your description, and we would like to look into it.",
           "Could you send the address or the order number to kontakt@hansen-vvs.dk? Please do not post them here, "
           "as reviews are public."],
}
ADMISSION = {"da": ["ansvar", "undskyld"], "nb": ["ansvar", "beklager –"], "sv": ["ansvar", "ursäkt"],
             "de": ["verantwortung", "entschuldigen"], "en": ["responsib", "sorry"]}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_which_job_asks_for_the_address_or_order_number_and_admits_nothing(lang):
    text = drafts(Case("Jens", 1, lang, "trustpilot", ("crack",), matched=False, has_jobs=True))["which_job"]
    for sentence in WHICH_JOB[lang]:
        assert sentence in text
    assert [word for word in ADMISSION[lang] if word in text.casefold()] == []


NO_MONEY = {
    "da": "Vi kontakter dig inden for to hverdage, så vi kan gennemgå opgaven sammen.",
    "nb": "Vi tar kontakt med deg innen to virkedager, slik at vi kan gå gjennom oppdraget sammen.",
    "sv": "Vi kontaktar dig inom två arbetsdagar så att vi kan gå igenom uppdraget tillsammans.",
    "de": "Wir melden uns innerhalb von zwei Werktagen bei Ihnen, um den Auftrag gemeinsam mit Ihnen durchzugehen.",
    "en": "We will contact you within two working days so that we can go through the job together.",
}


@pytest.mark.parametrize("theme", ["extra_cost", "invoice_dispute", "leak", "crack", "delay", "unknown_theme"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_money_never_mentions_money(lang, theme):
    text = drafts(matched(lang, themes=(theme,), unpaid=True))["no_money"]
    assert check_reply(text, lang, "trustpilot", allowed=CONTACT.allowed(), no_money=True) == []
    if theme in ("extra_cost", "invoice_dispute", "delay", "unknown_theme"):
        assert NO_MONEY[lang] in text


def test_no_money_still_offers_to_put_a_defect_right():
    text = drafts(matched("en", themes=("crack",), unpaid=True))["no_money"]
    assert "We will contact you within two working days to arrange a time to come back and repair the cracks " \
           "and joints." in text


# --- names, language, themes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("author,expected", [
    ("Jens Peter Hansen", "Jens"), ("Jens H.", "Jens"), ("jens hansen", "Jens"), ("ANNE-METTE", "Anne-Mette"),
    ("Søren", "Søren"), ("J. Hansen", None), ("Kunde 241", None), ("Anonym", None), ("Müller Sanitär GmbH", None),
    ("jens@example.com", None), ("[NAME]", None), ("", None), (None, None), ("Familien Hansen", None),
])
def test_first_given_name_only(author, expected):
    assert first_name(author) == expected


def test_no_first_name_greets_without_one():
    texts = [drafts(matched(lang, author="Anonym"))["general"].split("\n")[0] for lang in LANGUAGES]
    assert texts == ["Hej", "Hei,", "Hej,", "Guten Tag,", "Hello,"]


@pytest.mark.parametrize("review_lang,business,expected", [
    ("nb", ["da"], "nb"), ("fi", ["de", "en"], "de"), ("fr", ["fi", "sv"], "sv"), (None, ["pl"], "en"), ("und", [], "en"),
])
def test_reply_language(review_lang, business, expected):
    assert reply_language(review_lang, business) == expected


def test_the_theme_spoken_about_is_the_first_in_order_and_unknown_themes_fall_back_to_generic():
    assert primary_theme(("delay", "leak"), "da") == "leak"
    assert primary_theme(("radon",), "da") == "generic"
    text = drafts(matched("da", themes=("radon",)))["specific"]
    assert "Vi er kede af at høre om det, der gik galt." in text
    assert "Vi kontakter dig inden for to hverdage for at høre, hvad der gik galt, og finde en løsning." in text


def test_an_invoice_complaint_on_our_job_is_not_owned():
    text = drafts(matched("en", themes=("invoice_dispute",)))["specific"]
    assert "We are sorry to hear about the disagreement over the invoice." in text
    assert "responsibility" not in text


# --- never anyone's personal data ---------------------------------------------------------------------------------

def job(number: str = "J7", **extra) -> dict:
    return {"job_id": number, "customer_name": "Jens Peter Hansen", "customer_email": "jens.p@example.dk",
            "customer_phone": "+45 87 65 43 21", "address": "Vestergade 12", "postcode": "8000", "city": "Aarhus",
            "job_type": "Badeværelse", "crew": "Kasper Nielsen og Mads", "completed_at": "2026-09-20",
            "invoice_no": "F-2041", "amount": 12500.0, "due_at": "2026-10-05", "paid_at": "2026-10-01"} | extra


def complaint(business_id: str, external_id: str = "r1", **extra) -> dict:
    return {"business_id": business_id, "source": "trustpilot", "external_id": external_id,
            "url": f"https://dk.trustpilot.com/reviews/{external_id}", "author": "Jens Peter Hansen", "rating": 1,
            "title": "Utæt bruser",
            "body": "Kasper Nielsen fra Vestergade 12 lavede badeværelset for 12.500 kr, og nu drypper bruseren. "
                    "Ring på 87 65 43 21 eller skriv til jens.p@example.dk.",
            "published_at": "2026-10-02T08:15:00Z"} | extra


CONFIG = parse_config({"business": [{"name": "Hansen VVS ApS", "languages": ["da", "en"], "replies": {
    "signer": "Mette Hansen", "contact_phone": "+45 12 34 56 78", "contact_email": "kontakt@hansen-vvs.dk"}}]})


@pytest.fixture
def on_our_job(db, business_id):
    """A complaint about job J7, confirmed by the owner; review and job full of names, sums and addresses."""
    save_jobs(db, business_id, [job()])
    save_reviews(db, [complaint(business_id)])
    decide_match(db, "trustpilot:r1", f"{business_id}:J7", "confirmed", "owner")
    return db


def stored(db) -> list[tuple]:
    return db.execute("SELECT variant, lang, used_at FROM reply_drafts ORDER BY variant").fetchall()


def test_analysis_stores_drafts_without_any_personal_data(on_our_job):
    summary = run_analysis(on_our_job, CONFIG)
    assert summary.failed == {}
    assert summary.stages["replies"] == {"complaints": 1, "drafted": 1, "unchanged": 0, "written": 3, "refused": 0,
                                         "removed": 0}
    assert stored(on_our_job) == [("contact", "da", None), ("general", "da", None), ("specific", "da", None)]
    for (text,) in on_our_job.execute("SELECT text FROM reply_drafts").fetchall():
        for secret in ("Kasper", "Nielsen", "Mads", "Vestergade", "12.500", "12500", "8000", "Aarhus", "87 65",
                       "jens.p@", "F-2041", "Peter"):
            assert secret not in text
        assert text.startswith("Hej Jens\n\n")


def test_a_draft_that_breaks_a_rule_is_not_stored_and_is_counted(on_our_job, business_id, caplog):
    # A crew member called like a word of the closing line is still a name no draft may carry.
    save_jobs(on_our_job, business_id, [job(crew="Venlig")])
    summary = run_analysis(on_our_job, CONFIG)
    assert summary.stages["replies"]["refused"] == 3
    assert stored(on_our_job) == []
    assert "reply draft specific for review trustpilot:r1 not stored: personal_data (Venlig)" in caplog.text


def test_unpaid_invoice_gives_no_money(on_our_job, business_id):
    save_jobs(on_our_job, business_id, [job(paid_at=None)])
    run_analysis(on_our_job, CONFIG)
    assert [row[0] for row in stored(on_our_job)] == ["contact", "general", "no_money"]


def test_review_in_a_language_without_templates_is_answered_in_the_business_language(db, business_id):
    config = parse_config({"business": [{"name": "Hansen VVS ApS", "languages": ["fi", "de", "en"]}]})
    save_reviews(db, [complaint(business_id, title=None, body="Todella huono työ, hana vuotaa edelleen eikä kukaan "
                                                              "tullut paikalle korjaamaan sitä.")])
    run_analysis(db, config)
    assert db.execute("SELECT lang FROM reviews").fetchall() == [("fi",)]
    assert db.execute("SELECT DISTINCT lang FROM reply_drafts").fetchall() == [("de",)]
    general = db.execute("SELECT text FROM reply_drafts WHERE variant = 'general'").fetchone()[0]
    assert general.startswith("Hallo Jens,\n\nvielen Dank für Ihre Bewertung.")


def test_no_jobs_imported_gives_specific_and_a_job_export_without_this_job_gives_which_job(db, business_id):
    save_reviews(db, [complaint(business_id)])
    run_analysis(db, CONFIG)
    assert [row[0] for row in stored(db)] == ["contact", "general", "specific"]
    save_jobs(db, business_id, [job("J9", customer_name="Ole Olsen", completed_at="2025-01-10")])
    run_analysis(db, CONFIG)
    assert [row[0] for row in stored(db)] == ["contact", "general", "which_job"]


def test_drafts_are_rebuilt_when_the_review_changes_and_left_alone_when_nothing_does(on_our_job, business_id):
    run_analysis(on_our_job, CONFIG)
    before = on_our_job.execute("SELECT id, text FROM reply_drafts ORDER BY id").fetchall()
    again = run_analysis(on_our_job, CONFIG).stages["replies"]
    assert (again["unchanged"], again["written"]) == (1, 0)
    assert on_our_job.execute("SELECT id, text FROM reply_drafts ORDER BY id").fetchall() == before
    save_reviews(on_our_job, [complaint(business_id, rating=3, author="Jens Peter Hansen",
                                        body="Fint badeværelse, men bruseren drypper og de kom for sent.")])
    changed = run_analysis(on_our_job, CONFIG).stages["replies"]
    assert (changed["drafted"], changed["written"]) == (1, 3)
    specific = on_our_job.execute("SELECT text FROM reply_drafts WHERE variant = 'specific'").fetchone()[0]
    assert "Tak for din anmeldelse. Vi er glade for, at noget gik godt, men vi beklager resten." in specific
    assert on_our_job.execute("SELECT COUNT(*) FROM reply_drafts").fetchone()[0] == 3


def test_drafts_are_rebuilt_when_the_match_changes(on_our_job, business_id):
    run_analysis(on_our_job, CONFIG)
    decide_match(on_our_job, "trustpilot:r1", f"{business_id}:J7", "rejected", "owner")
    run_analysis(on_our_job, CONFIG)
    assert [row[0] for row in stored(on_our_job)] == ["contact", "general", "which_job"]


def test_a_used_draft_is_kept_as_it_was(on_our_job, business_id):
    run_analysis(on_our_job, CONFIG)
    draft_id, text = on_our_job.execute("SELECT id, text FROM reply_drafts WHERE variant = 'specific'").fetchone()
    assert mark_draft_used(on_our_job, draft_id, "owner") is True
    save_reviews(on_our_job, [complaint(business_id, rating=2, body="Bruseren drypper stadig.")])
    decide_match(on_our_job, "trustpilot:r1", f"{business_id}:J7", "rejected", "owner")
    run_analysis(on_our_job, CONFIG)
    assert on_our_job.execute("SELECT text, used_by FROM reply_drafts WHERE id = ?", [draft_id]).fetchone() == (text, "owner")
    # The answer is posted: the unused drafts go, the used one stays.
    on_our_job.execute("UPDATE reviews SET reply_body = 'Tak', reply_at = '2026-10-03T09:00:00Z'")
    assert run_replies(on_our_job, CONFIG)["removed"] == 3
    assert on_our_job.execute("SELECT id FROM reply_drafts").fetchall() == [(draft_id,)]


def test_mark_draft_used_changes_a_row_once_and_refuses_unknown_ids(on_our_job):
    run_analysis(on_our_job, CONFIG)
    draft_id = on_our_job.execute("SELECT id FROM reply_drafts WHERE variant = 'contact'").fetchone()[0]
    assert mark_draft_used(on_our_job, draft_id, "owner") is True
    assert mark_draft_used(on_our_job, draft_id, "someone else") is False
    row = on_our_job.execute("SELECT used_by, used_at IS NOT NULL FROM reply_drafts WHERE id = ?", [draft_id]).fetchone()
    assert row == ("owner", 1)
    with pytest.raises(KeyError, match="there is no reply draft 'nope'"):
        mark_draft_used(on_our_job, "nope", "owner")


def test_drafts_on_demand_for_any_review(on_our_job, business_id):
    save_reviews(on_our_job, [complaint(business_id, "r2", rating=5, title="Super", body="Alt i orden, tak."),
                              complaint(business_id, "r3", rating=1, title="Dårligt", body="Det drypper stadig.")])
    # before analysis: the rating decides; 1 star is a complaint that fits no job
    assert [d.variant for d in drafts_for_review(on_our_job, CONFIG, "trustpilot:r3")] == ["which_job", "contact", "general"]
    run_analysis(on_our_job, CONFIG)
    praise = drafts_for_review(on_our_job, CONFIG, "trustpilot:r2")
    assert [(d.variant, d.lang) for d in praise] == [("thanks", "da"), ("thanks_short", "da")]
    # analysis matched it to Jens Peter Hansen's job J7, so the thanks says it was a pleasure to work for him
    assert praise[0].text == ("Hej Jens\n\nMange tak for de pæne ord – det var en fornøjelse at arbejde for dig. Vi er glade for, at du er tilfreds, og vi giver rosen "
                              "videre til holdet.\n\nVenlig hilsen\nMette Hansen\nHansen VVS ApS")
    assert on_our_job.execute("SELECT COUNT(*) FROM reply_drafts WHERE review_id = 'trustpilot:r2'").fetchone() == (0,)
    # the matched complaint gets the same drafts on demand as analysis stored
    on_demand = {d.variant: d.text for d in drafts_for_review(on_our_job, CONFIG, "trustpilot:r1")}
    assert on_demand == dict(on_our_job.execute(
        "SELECT variant, text FROM reply_drafts WHERE review_id = 'trustpilot:r1'").fetchall())
    with pytest.raises(KeyError):
        drafts_for_review(on_our_job, CONFIG, "trustpilot:none")


def praise(lang: str, rating: float | None, matched: bool = True) -> Case:
    return Case("Anne Berg", rating, lang, "trustpilot", matched=matched, has_jobs=True, complaint=False)


THANKS = {  # 4-5 stars on a matched job
    "da": "Mange tak for de pæne ord – det var en fornøjelse at arbejde for dig. Vi er glade for, at du er tilfreds, "
          "og vi giver rosen videre til holdet.",
    "nb": "Tusen takk for de hyggelige ordene – det var en glede å jobbe for deg. Vi er glade for at du er fornøyd, "
          "og vi gir rosen videre til teamet.",
    "sv": "Tack så mycket för de vänliga orden – det var ett nöje att arbeta åt dig. Vi är glada att du är nöjd, "
          "och vi för berömmet vidare till teamet.",
    "de": "vielen Dank für Ihre freundlichen Worte – es war uns eine Freude, für Sie zu arbeiten. Es freut uns, dass "
          "Sie zufrieden sind, und wir geben Ihr Lob gern an das Team weiter.",
    "en": "Thank you very much for your kind words – it was a pleasure to work for you. We are glad you are happy, "
          "and we will pass your praise on to the team.",
}
THANKS_MIXED = {  # 3 stars that are no complaint: invites what could be better, with the contact
    "da": "Tak for din anmeldelse. Vi er glade for, at meget gik godt, og hvis noget kunne have været bedre, vil vi "
          "gerne høre om det. Du er meget velkommen til at ringe til os på +45 12 34 56 78 eller skrive til kontakt@hansen-vvs.dk.",
    "nb": "Takk for anmeldelsen. Vi er glade for at mye gikk bra, og hvis noe kunne vært bedre, vil vi gjerne høre om "
          "det. Du er velkommen til å ringe oss på +45 12 34 56 78 eller skrive til kontakt@hansen-vvs.dk.",
    "sv": "Tack för ditt omdöme. Vi är glada att mycket gick bra, och om något kunde ha varit bättre vill vi gärna höra "
          "om det. Du är välkommen att ringa oss på +45 12 34 56 78 eller skriva till kontakt@hansen-vvs.dk.",
    "de": "vielen Dank für Ihre Bewertung. Es freut uns, dass vieles gut gelaufen ist, und wenn etwas besser hätte sein "
          "können, hören wir gern davon. Rufen Sie uns gern unter +45 12 34 56 78 an oder schreiben Sie an kontakt@hansen-vvs.dk.",
    "en": "Thank you for your review. We are glad that much of it went well, and if anything could have been better, we "
          "would like to hear about it. You are very welcome to call us on +45 12 34 56 78 or write to kontakt@hansen-vvs.dk.",
}
MENTION = {  # no rating and no complaint: a forum question as often as praise, so no "kind words"
    "da": ("Tak fordi du nævner os. Har du spørgsmål om vores arbejde, svarer vi gerne.", "Tak fordi du nævner os. Vi hjælper gerne."),
    "nb": ("Takk for at du nevner oss. Har du spørsmål om arbeidet vårt, svarer vi gjerne.",
           "Takk for at du nevner oss. Vi hjelper deg gjerne."),
    "sv": ("Tack för att du nämner oss. Har du frågor om vårt arbete svarar vi gärna.",
           "Tack för att du nämner oss. Vi hjälper dig gärna."),
    "de": ("vielen Dank, dass Sie uns erwähnen. Wenn Sie Fragen zu unserer Arbeit haben, beantworten wir sie gern.",
           "vielen Dank, dass Sie uns erwähnen. Wir helfen Ihnen gern."),
    "en": ("Thank you for mentioning us. If you have any questions about our work, we are happy to answer them.",
           "Thank you for mentioning us. We would be glad to help you."),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_praise_gets_thanks_and_a_short_thanks(lang):
    built = drafts(praise(lang, 5))
    assert list(built) == ["thanks", "thanks_short"]
    assert built["thanks"].split("\n\n")[1] == THANKS[lang]
    assert drafts(praise(lang, 4, matched=False))["thanks"].split("\n\n")[1] == THANKS[lang].replace(
        THANKS[lang][THANKS[lang].index(" –"):THANKS[lang].index(".")], "")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_three_stars_without_complaint_invite_what_could_be_better(lang):
    assert drafts(praise(lang, 3))["thanks"].split("\n\n")[1] == THANKS_MIXED[lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unrated_mention_that_is_no_complaint_is_thanked_for_the_mention(lang):
    built = drafts(praise(lang, None), BARE)
    reach = drafts(matched(lang), BARE)["contact"].split("\n\n")[1].split(". ")[-1]  # "...contact us directly."
    assert built["thanks"].split("\n\n")[1] == f"{MENTION[lang][0]} {reach}"
    assert built["thanks_short"].split("\n\n")[1] == MENTION[lang][1]


def test_contact_settings_are_validated():
    with pytest.raises(ConfigError, match=r"business\[0\]\.replies\.contact_phone: 'ring os' is not a phone number"):
        parse_config({"business": [{"name": "X", "replies": {"contact_phone": "ring os"}}]})
    with pytest.raises(ConfigError, match=r"business\[0\]\.replies\.contact_email: 'kontakt' is not an e-mail"):
        parse_config({"business": [{"name": "X", "replies": {"contact_email": "kontakt"}}]})
    with pytest.raises(ConfigError, match=r"business\[0\]\.replies\.signer: the signer is one line"):
        parse_config({"business": [{"name": "X", "replies": {"signer": "{{ 7*7 }}"}}]})
    with pytest.raises(ConfigError, match=r"replies\.fax: unknown key, expected one of: signer, contact_phone"):
        parse_config({"business": [{"name": "X", "replies": {"fax": "1"}}]})


def test_template_code_in_a_value_is_printed_not_run():
    text = drafts(matched("en"), Contact("{{ ''.__class__.__mro__ }} Ltd"))["general"]
    assert text.endswith("Kind regards\n{{ ''.__class__.__mro__ }} Ltd")


# --- the alert ---------------------------------------------------------------------------------------------------

def test_the_unanswered_alert_carries_the_specific_draft(on_our_job, business_id):
    from tests.test_alerts import Webhook
    from monitor.alerts import run_alerts

    run_analysis(on_our_job, CONFIG)
    hook = Webhook()
    try:
        config = parse_config({"business": [{"name": "Hansen VVS ApS", "languages": ["en"],
                                             "replies": CONFIG.business[0].replies.model_dump(),
                                             "channel": [{"url": hook.url}]}]})
        run_alerts(on_our_job, config)
    finally:
        hook.close()
    message = next(m["message"] for m in hook.received if m["title"].startswith("Unanswered"))
    specific = on_our_job.execute("SELECT text FROM reply_drafts WHERE variant = 'specific'").fetchone()[0]
    assert message.endswith("\n\nSuggested reply:\n" + specific)
    assert specific.startswith("Hej Jens\n\nTak fordi du skrev til os")


# --- the shipped templates never break a rule -------------------------------------------------------------------

def test_no_combination_of_language_theme_band_situation_and_contact_breaks_a_rule():
    """A draft depends on language, theme, rating band, match, payment and contact only (never on the review's
    text), so this walks every branch of every template; benchmarks/reply_drafts_sample.py reads them over real
    complaints."""
    from monitor.text import load_data

    themes = [*load_data("themes.toml"), "radon"]
    contacts = (CONTACT, Contact("Hansen VVS ApS", None, None, None, "https://www.hansen-vvs.dk/kontakt"),
                Contact("Hansen VVS ApS", None, "+45 12 34 56 78"), Contact("Hansen VVS ApS", None, None, "a@b.dk"),
                BARE)
    situations = ((True, True, False), (True, True, True), (False, True, False), (False, False, False))
    checked = 0
    for lang in LANGUAGES:
        for theme in themes:
            for rating in (1, 3):
                for is_matched, has_jobs, unpaid in situations:
                    for contact in contacts:
                        case = Case("Jens Peter Hansen", rating, lang, "schemaorg", (theme,), is_matched, has_jobs,
                                    unpaid, forbidden=("Kasper", "Vestergade 12", "F-2041", "12500"))
                        built, refused = build_drafts(case, contact)
                        assert refused == [], (lang, theme, rating, is_matched, unpaid, contact)
                        assert len(built) == 3
                        checked += 1
    assert checked == len(LANGUAGES) * len(themes) * 2 * len(situations) * len(contacts)


def test_no_thanks_breaks_a_rule():
    """Every branch of the drafts for reviews that are no complaint: band, match and contact."""
    checked = 0
    for lang in LANGUAGES:
        for rating in (None, 3, 4, 5):
            for is_matched in (True, False):
                for contact in (CONTACT, Contact("Hansen VVS ApS", None, None, None, "https://www.hansen-vvs.dk/kontakt"), BARE):
                    case = Case("Jens Peter Hansen", rating, lang, "trustpilot", (), is_matched, True, False,
                                forbidden=("Kasper", "Vestergade 12"), complaint=False)
                    built, refused = build_drafts(case, contact)
                    assert refused == [] and [d.variant for d in built] == ["thanks", "thanks_short"], (lang, rating)
                    checked += 1
    assert checked == len(LANGUAGES) * 4 * 2 * 3


def test_every_language_words_every_theme_the_drafts_rank():
    from monitor.text import load_data

    common = load_data("replies/common.toml")
    for lang in LANGUAGES:
        worded = set(load_data(f"replies/{lang}.toml")["themes"])
        assert set(common["theme_order"]) | {"generic"} == worded, lang
    assert set(common["visit"]) | set(common["money"]) | set(common["not_owned"]) <= set(common["theme_order"])
    assert set(common["theme_order"]) == set(load_data("themes.toml"))


NO_MONEY_NOTED = {
    "da": "Tak fordi du skrev til os. Vi er kede af, at du ikke er tilfreds, og vi har noteret os, hvad du skriver om "
          "ventetiden og forsinkelserne.",
    "nb": "Takk for at du skrev til oss. Vi beklager at du ikke er fornøyd, og vi har merket oss det du skriver om "
          "ventetiden og forsinkelsene.",
    "sv": "Tack för att du skrev till oss. Vi beklagar att du inte är nöjd, och vi har noterat det du skriver om "
          "väntetiden och förseningarna.",
    "de": "vielen Dank, dass Sie uns geschrieben haben. Es tut uns leid, dass Sie nicht zufrieden sind, und wir haben "
          "notiert, was Sie über die Wartezeit und die Verzögerungen schreiben.",
    "en": "Thank you for writing to us. We are sorry you are not satisfied, and we have noted what you write about the "
          "waiting and the delays.",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_money_notes_the_problem_without_owning_it(lang):
    text = drafts(matched(lang, themes=("delay",), unpaid=True))["no_money"]
    assert NO_MONEY_NOTED[lang] in text
    assert [word for word in ADMISSION[lang][:1] if word in text.casefold()] == []
