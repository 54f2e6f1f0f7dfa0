"""A deterministic synthetic trades business: jobs and reviews with known truth.

Used to calibrate and evaluate the matcher, for benchmarks, and by the demo. The
noise is the noise of real data: common surnames shared by many customers,
customers with several jobs, reviewers who were never customers, spouses
reviewing a job booked in the partner's name, first names only, initials,
reversed order, typos, companies, and defects that surface months later.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor.text import fold

# Surnames with their rough share in Denmark/Germany/Sweden: a few very common, a long tail.
COMMON_SURNAMES = [("Jensen", 45), ("Nielsen", 45), ("Hansen", 40), ("Pedersen", 30), ("Andersen", 30),
                   ("Christensen", 22), ("Larsen", 22), ("Sørensen", 20), ("Rasmussen", 17), ("Jørgensen", 15),
                   ("Petersen", 14), ("Madsen", 12), ("Kristensen", 12), ("Olsen", 10), ("Thomsen", 10),
                   ("Müller", 12), ("Schmidt", 9), ("Andersson", 8), ("Johansson", 8), ("Møller", 8)]
RARE_STEMS = ["Holm", "Lund", "Dahl", "Bech", "Krogh", "Vester", "Øster", "Bak", "Friis", "Skov", "Juhl", "Ravn",
              "Winther", "Berg", "Kjær", "Bruun", "Ny", "Mølle", "Sand", "Strand", "Lind", "Grøn", "Frost", "Brandt",
              "Kold", "Bjerre", "Hvid", "Sten", "Toft", "Mark", "Eng", "Bøg", "Ege", "Ask", "Birk", "Hede"]
RARE_ENDINGS = ["", "gaard", "holm", "lund", "bæk", "sø", "by", "strup", "rup", "mann", "berg", "feldt", "kjær", "dal"]
FIRST_NAMES = ["Jens", "Peter", "Lars", "Michael", "Henrik", "Søren", "Thomas", "Jan", "Niels", "Anders", "Morten",
               "Jesper", "Mads", "Rasmus", "Christian", "Martin", "Kasper", "Frederik", "Mikkel", "Ole", "Klaus",
               "Jürgen", "Stefan", "Erik", "Johan", "Anne", "Kirsten", "Hanne", "Mette", "Anna", "Helle", "Susanne",
               "Lene", "Maria", "Marianne", "Camilla", "Louise", "Charlotte", "Pia", "Tina", "Ida", "Sofie", "Emma",
               "Karin", "Birgit", "Ingrid", "Astrid", "Sabine", "Lise", "Bente", "Jytte", "Inge", "Lone", "Dorte",
               "Allan", "Bjarne", "Bo", "Brian", "Carsten", "Claus", "Dennis", "Flemming", "Finn", "Gert", "Hans",
               "Jacob", "Jakob", "Jimmy", "John", "Jonas", "Jørgen", "Kenneth", "Kim", "Kurt", "Leif", "Mogens",
               "Nikolaj", "Palle", "Poul", "Preben", "René", "Steen", "Svend", "Torben", "Troels", "Ulrik", "Vagn",
               "Aksel", "Bent", "Benny", "Erling", "Frank", "Georg", "Gunnar", "Holger", "Ib", "Jan-Erik", "Karl",
               "Knud", "Magnus", "Oskar", "Per", "Rune", "Tage", "Uffe", "Viggo", "Wolfgang", "Dieter", "Uwe",
               "Matthias", "Sven", "Björn", "Olof", "Håkan", "Arne", "Øyvind", "Terje", "Geir", "Kjetil",
               "Annette", "Berit", "Britt", "Connie", "Dorthe", "Eva", "Gitte", "Grethe", "Hanna", "Heidi", "Inger",
               "Janne", "Jette", "Julie", "Karen", "Kathrine", "Lena", "Linda", "Lisbeth", "Malene", "Merete",
               "Mia", "Nanna", "Nina", "Pernille", "Rikke", "Sanne", "Signe", "Stine", "Trine", "Ulla", "Vibeke",
               "Winnie", "Yvonne", "Agnete", "Gudrun", "Monika", "Petra", "Ulrike", "Åsa", "Ylva", "Siv", "Randi",
               "Solveig", "Tove", "Marit", "Grete", "Emily", "Sarah", "James", "David"]
NICKNAMES = {"Lars": "Lasse", "Christian": "Chris", "Thomas": "Tom", "Michael": "Mikkel", "Peter": "Per",
             "Susanne": "Sanne", "Elisabeth": "Lise", "Anders": "Andy", "Henrik": "Henry", "Niels": "Nils"}
STREETS = ["Åboulevarden", "Strandvejen", "Vestergade", "Nørregade", "Søndergade", "Østergade", "Skolevej", "Kirkevej",
           "Birkevej", "Egevej", "Møllevej", "Engvej", "Bakkevej", "Parkvej", "Skovvej", "Granvej", "Rosenvænget",
           "Kastanievej", "Lindevej", "Ringvejen", "Havnegade", "Banegårdsgade", "Fasanvej", "Tjørnevej", "Lærkevej",
           "Violvej", "Bøgevej", "Ahornvej", "Hasselvej", "Elmevej", "Pilevej", "Syrenvej", "Hybenvej", "Solvej"]
CITIES = [("8000", "Aarhus C"), ("8200", "Aarhus N"), ("8210", "Aarhus V"), ("8220", "Brabrand"), ("8240", "Risskov"),
          ("8260", "Viby J"), ("8270", "Højbjerg"), ("8300", "Odder"), ("8320", "Mårslet"), ("8330", "Beder"),
          ("8340", "Malling"), ("8355", "Solbjerg"), ("8361", "Hasselager"), ("8362", "Hørning"), ("8370", "Hadsten"),
          ("8380", "Trige"), ("8381", "Tilst"), ("8382", "Hinnerup"), ("8400", "Ebeltoft"), ("8410", "Rønde"),
          ("8450", "Hammel"), ("8462", "Harlev J"), ("8464", "Galten"), ("8520", "Lystrup"), ("8530", "Hjortshøj"),
          ("8541", "Skødstrup"), ("8543", "Hornslet"), ("8550", "Ryomgård"), ("8600", "Silkeborg"), ("8660", "Skanderborg")]
JOB_TYPES = [("Badeværelse", 25), ("Varmepumpe", 12), ("Køkken", 12), ("Afløb", 15), ("Radiator", 12),
             ("Tagrenovering", 6), ("Elinstallation", 8), ("Gulvvarme", 10)]
JOB_TYPE_WORDS = {  # what a customer writes about each kind of job, per language
    "Badeværelse": {"da": "badeværelset", "nb": "badet", "sv": "badrummet", "de": "das Badezimmer", "en": "the bathroom"},
    "Varmepumpe": {"da": "varmepumpen", "nb": "varmepumpen", "sv": "värmepumpen", "de": "die Wärmepumpe", "en": "the heat pump"},
    "Køkken": {"da": "køkkenet", "nb": "kjøkkenet", "sv": "köket", "de": "die Küche", "en": "the kitchen"},
    "Afløb": {"da": "afløbet", "nb": "avløpet", "sv": "avloppet", "de": "den Abfluss", "en": "the drain"},
    "Radiator": {"da": "radiatoren", "nb": "radiatoren", "sv": "elementet", "de": "den Heizkörper", "en": "the radiator"},
    "Tagrenovering": {"da": "taget", "nb": "taket", "sv": "taket", "de": "das Dach", "en": "the roof"},
    "Elinstallation": {"da": "elinstallationen", "nb": "elektrikerarbeidet", "sv": "elinstallationen", "de": "die Elektroinstallation", "en": "the wiring"},
    "Gulvvarme": {"da": "gulvvarmen", "nb": "gulvvarmen", "sv": "golvvärmen", "de": "die Fußbodenheizung", "en": "the floor heating"},
}
CREW = ["Kasper", "Mads", "Jonas", "Emil", "Tobias", "Anton", "Oliver", "Malthe", "Sebastian", "Lukas", "Viktor", "Noah"]
PRAISE = {"da": "Tak for godt arbejde med {thing}.", "nb": "Takk for godt arbeid med {thing}.",
          "sv": "Tack för bra arbete med {thing}.", "de": "Danke für die gute Arbeit an {thing}.",
          "en": "Thanks for the good work on {thing}."}
ALSO = {"da": "De kiggede også på {thing}.", "nb": "De så også på {thing}.", "sv": "De tittade också på {thing}.",
        "de": "Sie haben sich auch {thing} angesehen.", "en": "They also looked at {thing}."}
GENERIC = {"da": "Alt i alt en fin oplevelse.", "nb": "Alt i alt en fin opplevelse.", "sv": "Allt som allt en bra upplevelse.",
           "de": "Alles in allem eine gute Erfahrung.", "en": "All in all a good experience."}
LANG_SHARE = [("da", 70), ("de", 10), ("sv", 8), ("nb", 5), ("en", 7)]


@dataclass
class World:
    """Jobs, reviews, and for each review the job it is truly about (None: never a customer)."""

    jobs: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, str | None] = field(default_factory=dict)
    name_kind: dict[str, str] = field(default_factory=dict)  # how the reviewer's name was written


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _surname(rng: random.Random) -> str:
    if rng.random() < 0.45:
        return _weighted(rng, COMMON_SURNAMES)
    return rng.choice(RARE_STEMS) + rng.choice(RARE_ENDINGS)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    at = rng.randrange(1, len(word) - 1)
    return word[:at] + word[at + 1:] if rng.random() < 0.5 else word[:at] + word[at + 1] + word[at] + word[at + 2:]


def _phone(customer: dict[str, Any]) -> str:
    """A Danish mobile number of the customer's own, from their name and address: drawing it from the
    generator's random stream would change every world drawn after it."""
    digest = int(hashlib.sha1(f"{customer['first']} {customer['last']} {customer['address']}".encode()).hexdigest(), 16)
    digits = f"{20 + digest % 80:02d}{digest // 80 % 1_000_000:06d}"
    return f"+45 {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}"


def _email(rng: random.Random, first: str, last: str, company: str | None) -> str | None:
    """A customer's address as invoicing systems hold it: often a name, sometimes not, sometimes none."""
    person = fold(f"{first}.{last}").replace(" ", "")
    if company:  # the contact person's mailbox, or the firm's
        domain = fold(company.split()[0]) + ".dk"
        return f"{person}@{domain}" if rng.random() < 0.6 else f"info@{domain}"
    roll = rng.random()
    if roll < 0.45:
        return f"{person}@{rng.choice(['gmail.com', 'hotmail.com', 'mail.dk', 'outlook.dk'])}"
    if roll < 0.75:
        return f"{fold(first)}{rng.randint(1950, 2005)}@gmail.com"
    return None


def display_name(rng: random.Random, first: str, last: str, company: str | None) -> tuple[str, str]:
    """How a customer shows up on a review site, and which kind of noise that is."""
    if company:
        return (company.replace(" ApS", "") if rng.random() < 0.5 else f"{first} {last}"), "company"
    roll = rng.random()
    if roll < 0.55:
        return f"{first} {last}", "full"
    if roll < 0.67:
        return f"{first} {last[0]}.", "initial"
    if roll < 0.72:
        return f"{first[0]}. {last}", "first initial"
    if roll < 0.77:
        return f"{last} {first}", "reversed"
    if roll < 0.83:
        return f"{first} {_typo(rng, last)}", "typo"
    if roll < 0.87:
        return f"{NICKNAMES.get(first, first)} {last}", "nickname"
    if roll < 0.94:
        return first, "first only"
    spouse = rng.choice([n for n in FIRST_NAMES if n != first])
    return f"{spouse} {last}", "spouse"


def generate(seed: int = 7, jobs: int = 1000, reviews: int = 400, non_customer_share: float = 0.15,
             start: date = date(2024, 11, 1), days: int = 730, business_id: str = "demo") -> World:
    """A world of `jobs` completed jobs and `reviews` reviews, the same for the same arguments."""
    rng = random.Random(seed)
    world = World()
    customers = []
    for number in range(jobs):
        if customers and rng.random() < 0.08:  # a returning customer
            customer = rng.choice(customers)
        else:
            first, last = rng.choice(FIRST_NAMES), _surname(rng)
            company = f"{rng.choice(RARE_STEMS)}{rng.choice(['byg', ' Ejendomme', ' Invest'])} ApS" if rng.random() < 0.04 else None
            postcode, city = rng.choice(CITIES)
            customer = {"first": first, "last": last, "company": company, "email": _email(rng, first, last, company),
                        "address": f"{rng.choice(STREETS)} {rng.randint(1, 140)}", "postcode": postcode, "city": city}
            customers.append(customer)
        completed = start + timedelta(days=rng.randrange(days))
        job_type = _weighted(rng, JOB_TYPES)
        crew = rng.sample(CREW, rng.choice([1, 1, 2]))
        world.jobs.append({
            "id": f"{business_id}:J-{10000 + number}", "business_id": business_id,
            "job_id": f"J-{10000 + number}",
            "customer_name": customer["company"] or f"{customer['first']} {customer['last']}",
            "customer_email": customer["email"], "customer_phone": _phone(customer),
            "address": customer["address"], "postcode": customer["postcode"], "city": customer["city"],
            "job_type": job_type, "crew": ", ".join(crew), "materials": None,
            "started_at": (completed - timedelta(days=rng.randint(0, 6))).isoformat(),
            "completed_at": completed.isoformat(),
            "invoice_no": f"F-{20000 + number}", "amount": float(rng.randint(30, 900) * 100),
            "due_at": (completed + timedelta(days=30)).isoformat(), "paid_at": None,
            "_customer": customer,
        })
    for number in range(reviews):
        lang = _weighted(rng, LANG_SHARE)
        if rng.random() < non_customer_share:
            author = f"{rng.choice(FIRST_NAMES)} {_surname(rng)}" if rng.random() < 0.8 else rng.choice(FIRST_NAMES)
            anchor = start + timedelta(days=rng.randrange(days))
            text = GENERIC[lang]
            job, kind = None, "never a customer"
        else:
            job = rng.choice(world.jobs)
            customer = job["_customer"]
            author, kind = display_name(rng, customer["first"], customer["last"], customer["company"])
            delay = rng.choice([rng.randint(0, 30)] * 7 + [rng.randint(31, 120)] * 2 + [rng.randint(121, 400)])
            anchor = date.fromisoformat(job["completed_at"]) + timedelta(days=delay)
            parts = []
            if rng.random() < 0.6:
                parts.append(PRAISE[lang].format(thing=JOB_TYPE_WORDS[job["job_type"]][lang]))
            if rng.random() < 0.2:  # customers also mention other parts of the house
                other = rng.choice([t for t, _ in JOB_TYPES if t != job["job_type"]])
                parts.append(ALSO[lang].format(thing=JOB_TYPE_WORDS[other][lang]))
            if rng.random() < 0.25:
                parts.append(f"{job['crew'].split(', ')[0]} var flink." if lang == "da" else f"{job['crew'].split(', ')[0]} 👍")
            if rng.random() < 0.1:
                parts.append(f"({job['address'].rsplit(' ', 1)[0]})")
            if rng.random() < 0.03:
                parts.append(f"Faktura {job['invoice_no']}.")
            text = " ".join(parts) or GENERIC[lang]
        review_id = f"r{number:06d}"
        world.reviews.append({
            "id": f"synthetic:{review_id}", "business_id": business_id, "source": "synthetic", "external_id": review_id,
            "author": author, "author_location": (job["_customer"]["city"] if job and rng.random() < 0.2 else None),
            "rating": float(rng.choice([1, 2, 3, 4, 5, 5, 5])), "title": None, "body": text, "lang": lang,
            "published_at": f"{anchor.isoformat()}T{rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}:00Z",
            "experienced_at": (f"{job['completed_at']}T00:00:00Z" if job and rng.random() < 0.3 else None),
        })
        world.truth[f"synthetic:{review_id}"] = f"{business_id}:{job['job_id']}" if job else None
        world.name_kind[f"synthetic:{review_id}"] = kind
    for job in world.jobs:
        job.pop("_customer")
    return world
