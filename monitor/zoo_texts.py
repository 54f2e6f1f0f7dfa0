"""What reviews look like on each site and in each language, for the zoo of labelled worlds.

Job types per trade with the words customers use for them, sentences that name a job (its type, a crew
member, the street, the invoice), sentences that name nothing, titles, the firm's replies, and each
platform's habits in showing who wrote a review. Sentences that name something are templates with one
slot each, so that what a text names can be read back exactly (the Bayes posterior needs that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class JobType:
    key: str
    durations: dict[int, float]  # days from start to completion -> probability
    amount: float  # median invoice amount in euros
    labels: dict[str, str]  # country -> how the firm's export names it
    words: dict[str, tuple[str, ...]]  # language -> what customers call it


def _jt(key: str, durations: str, amount: float, **by_language: str) -> JobType:
    """JobType from 'days:p ...' and per language 'Export label | word | word'."""
    labels, words = {}, {}
    for language, text in by_language.items():
        label, *said = (part.strip() for part in text.split("|"))
        labels[language] = label
        words[language] = tuple(said)
    return JobType(key, {int(d): float(p) for d, p in (item.split(":") for item in durations.split())}, amount, labels, words)


TRADES: dict[str, tuple[JobType, ...]] = {
    "plumbing": (
        _jt("leak", "0:0.8 1:0.2", 350,
            da="Reparation af utæt rør | utæt rør | vandskaden | lækagen",
            nb="Reparasjon av lekkasje | lekkasjen | vannlekkasje | lekk rør",
            sv="Läcka åtgärdad | läckan | vattenläcka | läckande rör",
            de="Rohrbruch Reparatur | Rohrbruch | Wasserschaden | das undichte Rohr",
            en="Leak repair | leak | burst pipe | leaking pipe"),
        _jt("toilet", "0:0.85 1:0.15", 600,
            da="Udskiftning af toilet | toilet | nyt toilet | toilettet",
            nb="Bytte toalett | toalett | nytt toalett | doen",
            sv="Byte av toalett | toalett | ny toalett | toaletten",
            de="WC-Austausch | WC | neue Toilette | die Toilette",
            en="Toilet replacement | toilet | new toilet | loo"),
        _jt("bathroom", "5:0.15 8:0.25 10:0.25 14:0.2 20:0.15", 14000,
            da="Badeværelsesrenovering | badeværelse | nyt bad | badeværelset",
            nb="Baderomsrenovering | baderom | nytt bad | badet",
            sv="Badrumsrenovering | badrum | nytt badrum | badrummet",
            de="Badsanierung | Bad | Badsanierung | das neue Bad",
            en="Bathroom refit | bathroom | new bathroom | bathroom refit"),
        _jt("heat_pump", "1:0.3 2:0.5 3:0.2", 9000,
            da="Installation af varmepumpe | varmepumpe | varmepumpen",
            nb="Montering av varmepumpe | varmepumpe | varmepumpen",
            sv="Installation värmepump | värmepump | värmepumpen",
            de="Wärmepumpe Installation | Wärmepumpe | die Wärmepumpe",
            en="Heat pump install | heat pump | air source heat pump"),
        _jt("heating_service", "0:1", 250,
            da="Service på fjernvarmeunit | fjernvarmeunit | fjernvarmen | servicebesøget",
            nb="Service varmtvannsbereder | varmtvannsberederen | bereder | servicebesøket",
            sv="Service fjärrvärmecentral | fjärrvärmen | fjärrvärmecentralen | servicebesöket",
            de="Heizungswartung | Heizung | Wartung | Therme",
            en="Boiler service | boiler | boiler service | combi"),
        _jt("tap", "0:1", 300,
            da="Nyt køkkenarmatur | vandhane | armatur | køkkenvasken",
            nb="Nytt kjøkkenbatteri | kran | blandebatteri | kjøkkenvasken",
            sv="Ny köksblandare | blandare | kran | diskbänken",
            de="Neue Küchenarmatur | Armatur | Wasserhahn | Spüle",
            en="Kitchen tap | tap | mixer tap | kitchen sink"),
    ),
    "electrical": (
        _jt("fault", "0:1", 250,
            da="Fejlsøgning | fejlsøgning | fejlen | strømsvigtet",
            nb="Feilsøking | feilsøking | feilen | strømbruddet",
            sv="Felsökning | felsökning | felet | strömavbrottet",
            de="Fehlersuche | Fehlersuche | den Fehler | Stromausfall",
            en="Fault finding | fault | tripping | power cut"),
        _jt("panel", "1:0.6 2:0.4", 2500,
            da="Ny eltavle | eltavle | tavlen | HPFI-relæ",
            nb="Nytt sikringsskap | sikringsskap | skapet | jordfeilbryter",
            sv="Nytt elskåp | elcentral | elskåpet | jordfelsbrytare",
            de="Neuer Zählerschrank | Zählerschrank | Sicherungskasten | FI-Schalter",
            en="Consumer unit upgrade | consumer unit | fuse board | fuse box"),
        _jt("charger", "0:0.7 1:0.3", 1500,
            da="Ladestander | ladestander | ladeboks | ladestanderen",
            nb="Elbillader | elbillader | laderen | ladeboks",
            sv="Laddbox | laddbox | laddboxen | laddstolpe",
            de="Wallbox Installation | Wallbox | Ladestation",
            en="EV charger install | EV charger | car charger | charging point"),
        _jt("rewire", "3:0.2 5:0.4 8:0.3 12:0.1", 8000,
            da="Omlægning af el-installation | el-installationen | ny el | kablerne",
            nb="Omlegging av elektrisk anlegg | det elektriske anlegget | ny el | ledningene",
            sv="Omdragning av el | elen | ny el | kablarna",
            de="Elektroinstallation erneuert | Elektrik | neue Leitungen | Elektroinstallation",
            en="Rewire | rewire | new wiring | wiring"),
        _jt("lighting", "0:0.6 1:0.4", 700,
            da="Montering af lamper | lamper | spots | belysningen",
            nb="Montering av lys | lys | spotter | belysningen",
            sv="Montering av belysning | lampor | spotlights | belysningen",
            de="Lampenmontage | Lampen | Spots | Beleuchtung",
            en="Lighting | lights | downlights | lighting"),
        _jt("solar", "2:0.4 3:0.4 5:0.2", 11000,
            da="Solcelleanlæg | solceller | solcelleanlægget",
            nb="Solcelleanlegg | solceller | solcelleanlegget",
            sv="Solcellsanläggning | solceller | solcellsanläggningen",
            de="Photovoltaikanlage | PV-Anlage | Photovoltaik | Solaranlage",
            en="Solar PV | solar panels | solar PV"),
    ),
}

# Sentences naming one thing of the job; one slot each, {type}, {crew}, {street} or {invoice}.
NAMING = {
    "da": {"type": ("Vi fik hjælp med {type}.", "Opgaven var {type} hos os.", "Det drejede sig om {type}."),
           "crew": ("{crew} stod for arbejdet.", "Stor tak til {crew} fra firmaet.", "Montøren hed {crew}."),
           "street": ("Arbejdet blev udført på {street}.", "Vi bor på {street}."),
           "invoice": ("Faktura nr. {invoice}.", "Det gælder faktura {invoice}.")},
    "nb": {"type": ("Vi fikk hjelp med {type}.", "Oppdraget var {type} hos oss.", "Det gjaldt {type}."),
           "crew": ("{crew} sto for arbeidet.", "Stor takk til {crew} fra firmaet.", "Montøren het {crew}."),
           "street": ("Arbeidet ble utført i {street}.", "Vi bor i {street}."),
           "invoice": ("Faktura nr. {invoice}.", "Det gjelder faktura {invoice}.")},
    "sv": {"type": ("Vi fick hjälp med {type}.", "Uppdraget var {type} hos oss.", "Det gällde {type}."),
           "crew": ("{crew} skötte jobbet.", "Stort tack till {crew} från firman.", "Montören hette {crew}."),
           "street": ("Jobbet gjordes på {street}.", "Vi bor på {street}."),
           "invoice": ("Faktura nr {invoice}.", "Det gäller faktura {invoice}.")},
    "de": {"type": ("Es ging um {type}.", "Auftrag war {type} bei uns.", "Wir brauchten Hilfe wegen {type}."),
           "crew": ("{crew} hat die Arbeiten ausgeführt.", "Großes Lob an {crew} von der Firma.", "Der Monteur hieß {crew}."),
           "street": ("Die Arbeiten waren in der {street}.", "Wir wohnen in der {street}."),
           "invoice": ("Rechnungsnummer {invoice}.", "Es geht um die Rechnung {invoice}.")},
    "en": {"type": ("We needed help with a {type}.", "The job was a {type} at ours.", "It was about the {type}."),
           "crew": ("{crew} did the work.", "Big thanks to {crew} from the firm.", "The engineer was called {crew}."),
           "street": ("The work was done on {street}.", "We live on {street}."),
           "invoice": ("Invoice no. {invoice}.", "This is about invoice {invoice}.")},
}

# Sentences that name nothing of the job, by rating: 1-2 stars, 3, 4-5.
PLAIN = {
    "da": {"low": ("Meget utilfreds med forløbet.", "De kom ikke til den aftalte tid.", "Prisen var langt over tilbuddet.",
                   "Ingen svarede på mine opkald.", "Arbejdet måtte laves om.", "Kan ikke anbefales."),
           "mid": ("Arbejdet var i orden, men det tog lang tid.", "Fint resultat, dårlig kommunikation.", "Okay oplevelse."),
           "high": ("Rigtig godt arbejde.", "Kom til tiden og ryddede op efter sig.", "Venlige og professionelle folk.",
                    "Kan varmt anbefales.", "Fair pris og hurtig service.", "Vi bruger dem gerne igen.")},
    "nb": {"low": ("Svært misfornøyd.", "De kom ikke til avtalt tid.", "Prisen var mye høyere enn tilbudet.",
                   "Ingen svarte på telefonen.", "Arbeidet måtte gjøres om.", "Kan ikke anbefales."),
           "mid": ("Greit arbeid, men det tok lang tid.", "Fint resultat, dårlig kommunikasjon.", "Helt ok."),
           "high": ("Veldig bra jobbet.", "Kom presis og ryddet etter seg.", "Hyggelige og profesjonelle folk.",
                    "Anbefales på det varmeste.", "Fornuftig pris og rask service.", "Vi bruker dem gjerne igjen.")},
    "sv": {"low": ("Mycket missnöjd.", "De kom inte på utsatt tid.", "Priset blev mycket högre än offerten.",
                   "Ingen svarade i telefon.", "Jobbet fick göras om.", "Kan inte rekommenderas."),
           "mid": ("Okej jobb men det tog lång tid.", "Bra resultat, dålig kommunikation.", "Helt okej."),
           "high": ("Mycket bra utfört arbete.", "Kom i tid och städade efter sig.", "Trevliga och professionella.",
                    "Rekommenderas varmt.", "Rimligt pris och snabb service.", "Vi anlitar dem gärna igen.")},
    "de": {"low": ("Sehr unzufrieden.", "Der Termin wurde nicht eingehalten.", "Die Rechnung lag weit über dem Angebot.",
                   "Niemand hat zurückgerufen.", "Es musste nachgebessert werden.", "Nicht zu empfehlen."),
           "mid": ("Arbeit in Ordnung, aber es hat lange gedauert.", "Ergebnis gut, Kommunikation schlecht.", "Ganz okay."),
           "high": ("Sehr saubere Arbeit.", "Pünktlich und alles aufgeräumt.", "Freundlich und kompetent.",
                    "Absolut empfehlenswert.", "Fairer Preis und schneller Service.", "Gerne wieder.")},
    "en": {"low": ("Very disappointed.", "They never turned up when agreed.", "The bill was far above the quote.",
                   "Nobody returned my calls.", "The work had to be redone.", "Would not recommend."),
           "mid": ("Decent work but it took ages.", "Good result, poor communication.", "It was okay."),
           "high": ("Really good job.", "On time and tidied up after themselves.", "Friendly and professional.",
                    "Highly recommended.", "Fair price and quick service.", "Would use again.")},
}

TITLES = {
    "da": {"low": ("Skuffende", "Aldrig igen", "Dårlig service"), "mid": ("Okay", "Blandet oplevelse"),
           "high": ("Super service", "Kan anbefales", "Godt håndværk")},
    "nb": {"low": ("Skuffende", "Aldri igjen", "Dårlig service"), "mid": ("Ok", "Blandet opplevelse"),
           "high": ("Super service", "Anbefales", "Godt håndverk")},
    "sv": {"low": ("Besviken", "Aldrig igen", "Dålig service"), "mid": ("Okej", "Blandad upplevelse"),
           "high": ("Toppenservice", "Rekommenderas", "Bra hantverk")},
    "de": {"low": ("Enttäuschend", "Nie wieder", "Schlechter Service"), "mid": ("Okay", "Gemischt"),
           "high": ("Top Service", "Empfehlenswert", "Gute Handwerksarbeit")},
    "en": {"low": ("Disappointing", "Never again", "Poor service"), "mid": ("Okay", "Mixed experience"),
           "high": ("Great service", "Recommended", "Quality work")},
}

REPLIES = {  # the firm's answers by the review's rating, and "we cannot find you"
    "da": {"high": ("Tak for din anmeldelse!", "Tak for de pæne ord, vi ses igen."),
           "low": ("Vi er kede af oplevelsen og ringer dig op.", "Beklager, vi kontakter dig."),
           "mid": ("Vi er kede af oplevelsen og ringer dig op.", "Beklager, vi kontakter dig."),
           "unknown": ("Vi kan ikke finde dig i vores kundesystem. Skriv venligst til os.",
                       "Vi har ingen opgave registreret i dit navn.")},
    "nb": {"high": ("Takk for tilbakemeldingen!", "Takk for hyggelige ord."),
           "low": ("Vi beklager og ringer deg.", "Beklager, vi tar kontakt."),
           "mid": ("Vi beklager og ringer deg.", "Beklager, vi tar kontakt."),
           "unknown": ("Vi finner deg ikke i kundesystemet vårt. Ta gjerne kontakt.",
                       "Vi har ikke noe oppdrag registrert på ditt navn.")},
    "sv": {"high": ("Tack för ditt omdöme!", "Tack för de fina orden."),
           "low": ("Vi beklagar och ringer upp dig.", "Ledsen att höra, vi kontaktar dig."),
           "mid": ("Vi beklagar och ringer upp dig.", "Ledsen att höra, vi kontaktar dig."),
           "unknown": ("Vi hittar dig inte i vårt kundregister. Hör gärna av dig.",
                       "Vi har inget uppdrag registrerat på ditt namn.")},
    "de": {"high": ("Vielen Dank für Ihre Bewertung!", "Danke für das Lob."),
           "low": ("Das tut uns leid, wir rufen Sie an.", "Wir melden uns bei Ihnen."),
           "mid": ("Das tut uns leid, wir rufen Sie an.", "Wir melden uns bei Ihnen."),
           "unknown": ("Wir können Sie in unserer Kundenkartei nicht finden. Bitte melden Sie sich.",
                       "Zu Ihrem Namen finden wir keinen Auftrag.")},
    "en": {"high": ("Thanks for your review!", "Thank you for the kind words."),
           "low": ("Sorry to hear this, we will call you.", "We will be in touch to put this right."),
           "mid": ("Sorry to hear this, we will call you.", "We will be in touch to put this right."),
           "unknown": ("We cannot find you in our customer records. Please get in touch.",
                       "We have no job booked under your name.")},
}

# Names people hide behind: sign-offs with no name, and handles (a word, maybe two digits).
ANONYMOUS = {"da": ("Anonym", "Kunde", "Privat"), "nb": ("Anonym", "Kunde", "Privatperson"),
             "sv": ("Anonym", "Kund", "Privatperson"), "de": ("Anonym", "Kunde", "Privatkunde"),
             "en": ("Anonymous", "Customer", "Verified customer")}
HANDLES = {"da": ("Husejer", "Villaejer", "Boligejer", "Gørdetselv", "Nabohjælp", "Sommerhus"),
           "nb": ("Huseier", "Boligeier", "Hyttefolk", "Oppussing", "Nabohjelp"),
           "sv": ("Villaägare", "Husägare", "Stugägare", "Renovering", "Grannhjälp"),
           "de": ("Hausbesitzer", "Eigenheim", "Bauherr", "Heimwerker", "Altbaufan"),
           "en": ("Homeowner", "Landlord", "Renovator", "DIYer", "Firsttimebuyer")}

# How each site shows who wrote: shares of name forms for a person, and whether the site shows a title
# and a date of experience (Trustpilot does both). Google shows "First L." to the public for many
# accounts; Facebook shows the profile's real name; the trade directories initials and first names.
PERSON_FORMS = ("full", "full_middle", "first_initial", "initial_last", "first", "salutation", "typo", "nickname",
                "spouse", "handle", "anonymous")


@dataclass(frozen=True)
class Platform:
    name: str
    forms: dict[str, float]  # person name form -> probability
    has_title: bool
    has_experienced_at: bool


def _forms(text: str) -> dict[str, float]:
    forms = {form: float(share) for form, share in (item.split(":") for item in text.split())}
    assert abs(sum(forms.values()) - 1) < 1e-9 and set(forms) <= set(PERSON_FORMS), text
    return forms


TRUSTPILOT = Platform("trustpilot", _forms("full:0.5 full_middle:0.04 first_initial:0.06 initial_last:0.02 first:0.14 "
                                           "typo:0.04 nickname:0.04 spouse:0.04 handle:0.1 anonymous:0.02"), True, True)
GOOGLE = Platform("google", _forms("full:0.38 full_middle:0.02 first_initial:0.3 initial_last:0.02 first:0.1 typo:0.03 "
                                   "nickname:0.04 spouse:0.05 handle:0.05 anonymous:0.01"), False, False)
FACEBOOK = Platform("facebook", _forms("full:0.72 full_middle:0.08 first:0.02 nickname:0.06 spouse:0.1 handle:0.02"),
                    False, False)
DIRECTORIES = {  # each country's trade directory
    "da": Platform("anmeld-haandvaerker", _forms("full:0.15 first_initial:0.35 first:0.35 typo:0.02 nickname:0.03 "
                                                 "anonymous:0.1"), False, False),
    "nb": Platform("mittanbud", _forms("full:0.1 first_initial:0.3 first:0.45 nickname:0.03 anonymous:0.12"), False, False),
    "sv": Platform("reco", _forms("full:0.3 first_initial:0.25 first:0.3 nickname:0.03 anonymous:0.12"), False, False),
    "de": Platform("myhammer", _forms("full:0.08 first_initial:0.25 first:0.15 salutation:0.35 anonymous:0.17"),
                   False, False),
    "en": Platform("checkatrade", _forms("full:0.1 first_initial:0.3 first:0.15 salutation:0.2 anonymous:0.25"),
                   False, False),
}
COMPANY_FORMS = {"company_full": 0.4, "company_short": 0.25, "contact": 0.35}  # a firm as customer, any site


def platforms(country: str) -> tuple[Platform, ...]:
    """The sites a firm in the country is reviewed on."""
    return (TRUSTPILOT, GOOGLE, FACEBOOK, DIRECTORIES[country])


SLOT_PATTERN = {"type": r"(?P<value>[^.]+?)", "crew": r"(?P<value>[^\s.]+)", "street": r"(?P<value>[^.]+?)",
                "invoice": r"(?P<value>[A-Za-z0-9/-]+)"}


@lru_cache(maxsize=None)
def naming_patterns(language: str) -> dict[str, tuple[re.Pattern[str], ...]]:
    """Per slot, the regular expressions that read its value back from a text."""
    patterns = {}
    for slot, templates in NAMING[language].items():
        compiled = []
        for template in templates:
            before, after = template.split("{" + slot + "}")
            compiled.append(re.compile(r"(?:^|(?<=\. ))" + re.escape(before) + SLOT_PATTERN[slot] + re.escape(after) + r"(?= |$)"))
        patterns[slot] = tuple(compiled)
    return patterns
