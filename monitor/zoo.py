"""A zoo of labelled worlds for measuring matching: firms' job exports and the reviews written about them.

Each world is one firm in one country (da, nb, sv, de, en) with its own size, trade, customers, crew and
mix of review sites, drawn from the seed across realistic ranges (see `draw_params`). A review is written
either by the customer of one job, chosen uniformly, or by someone who never was a customer: a person (or
firm) from the same population who writes about a job that is not in the export, drawn from the same
process as real jobs, so never-customers name job types, crew, streets and dates the way customers do
(they cannot quote an invoice number). Every random choice's probability can be computed from a review and
a candidate job, which makes the Bayes posterior exact (`bayes_posterior`).

Seeds: ZOO_SEEDS (1001-1012) are for evaluation only and are never used for fitting or tuning anything.
Seeds >= 2001 are free for anyone to fit or tune on.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor.zoo_people import (COMPANY_PATTERNS, COMPANY_WORDS, EMAIL_DOMAINS, LEGAL_FORMS, Company, Person, Pools,
                                pick, pools, street_names, towns)
from monitor.zoo_texts import TRADES, platforms
from monitor.zoo_writing import CRAWL_DAY, WINDOW_DAYS, ReviewWriter, Subject, delay_pmf, translit, typo_variants

# The public face of the zoo; tests and the benchmark use these names from here.
__all__ = ["ZOO_SEEDS", "FREE_SEEDS_FROM", "World", "Person", "Company", "Subject", "generate", "draw_params",
           "bayes_posterior", "start_weights", "delay_pmf", "translit", "typo_variants"]

ZOO_SEEDS = tuple(range(1001, 1013))  # evaluation only: never fit or tune on these
FREE_SEEDS_FROM = 2001  # seeds from here on are free for fitting and tuning

COUNTRIES = ("da", "nb", "sv", "de", "en")

MAX_REVIEWS = 10_000  # customers' reviews written per world, at most
MONTH_LOAD = (0.8, 0.9, 1.1, 1.2, 1.2, 1.1, 0.55, 1.0, 1.2, 1.15, 1.0, 0.7)  # summer holidays and Christmas are quiet
WEEKDAY_LOAD = (1, 1, 1, 1, 1, 0.08, 0.02)


@dataclass
class World:
    """One firm's job export, the reviews written about it, and which job each review is about."""

    jobs: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    truth: dict[str, str | None]  # review id -> job id, None for a never-customer
    params: dict[str, Any]
    # What the export says, kept parsed (job id -> its subject), and how each review was written;
    # the Bayes posterior reads the first, tests read the second.
    job_subjects: dict[str, Subject] = field(default_factory=dict, repr=False)
    written: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    first_day: date = date(2024, 1, 1)
    area: "Area | None" = field(default=None, repr=False)  # the towns and streets the firm works in
    companies: list[Company] = field(default_factory=list, repr=False)  # the area's firms, each equally likely

    def day(self, iso: str) -> int:
        """Day of the window of an ISO date or time."""
        return (date.fromisoformat(iso[:10]) - self.first_day).days


def draw_params(seed: int) -> dict[str, Any]:
    """A firm's parameters, drawn from the seed across realistic ranges."""
    rng = random.Random(f"zoo-params-{seed}")
    # Every fourth seed is a big firm (10,000-50,000 jobs in two years); successive big seeds take turns
    # in the lower, middle and upper third of that range (on a log scale), so a few seeds cover all of it.
    if seed % 4 == 0:
        third = (seed // 4) % 3
        low, high = math.log(10_000), math.log(50_000)
        jobs = round(math.exp(rng.uniform(low + third * (high - low) / 3, low + (third + 1) * (high - low) / 3)))
    else:
        jobs = round(math.exp(rng.uniform(math.log(500), math.log(10_000))))
    country = COUNTRIES[rng.randrange(len(COUNTRIES))]
    trade = rng.choice(sorted(TRADES))
    platform_weights = [rng.gammavariate(0.8, 1) + 0.05 for _ in range(4)]
    type_weights = [rng.gammavariate(1.0, 1) + 0.02 for _ in TRADES[trade]]
    return {
        "seed": seed,
        "country": country,
        "trade": trade,
        "jobs": jobs,
        "never_customer_share": rng.uniform(0.05, 0.40),
        "returning_share": rng.uniform(0.0, 0.30),
        "company_share": rng.uniform(0.0, 0.20),
        "location_rate": rng.uniform(0.0, 0.80),
        "job_words_rate": rng.uniform(0.10, 0.60),
        "review_rate": rng.uniform(0.10, 0.50),  # customers' reviews per job (firms that ask every customer get many)
        "reply_rate": rng.uniform(0.1, 0.8),
        "several_reviews_share": rng.uniform(0.02, 0.10),  # an author writing on two sites
        "english_share": 0.0 if country == "en" else rng.uniform(0.0, 0.08),
        "platform_mix": {p.name: w / sum(platform_weights) for p, w in zip(platforms(country), platform_weights)},
        "type_mix": {t.key: w / sum(type_weights) for t, w in zip(TRADES[trade], type_weights)},
        "delay_median_days": rng.uniform(1.0, 14.0),
        "delay_sigma": rng.uniform(0.7, 1.5),
        "during_job_share": rng.uniform(0.01, 0.08),
        "late_share": rng.uniform(0.02, 0.12),
        "towns_in_area": rng.randint(3, 12),
        "staff": max(2, min(60, round(jobs / 400 * rng.uniform(0.7, 1.4)))),
        "export_name_order": rng.choice(("first last", "last, first")),
        "invoice_style": rng.choice(("plain", "year", "prefixed")),
        "payment_terms_days": rng.choice((8, 14, 30)),
        "first_day": (date(2023, 1, 2) + timedelta(days=rng.randrange(700))).isoformat(),
    }


class Area:
    """The firm's catchment: towns with their shares of the work, and each town's streets."""

    def __init__(self, country: str, count: int, rng: random.Random) -> None:
        every = towns(country)
        home = rng.choices(every, weights=[size for _, _, size in every])[0]
        others = rng.sample([t for t in every if t != home], count - 1)
        total_others = sum(size for _, _, size in others)
        self.share = {home[0]: 0.45, **{town: 0.55 * size / total_others for town, _, size in others}}
        self.postcode = {town: code for town, code, _ in [home, *others]}
        names = street_names(country)
        self.streets = {town: rng.sample(names, min(len(names), max(15, round(size / 4)))) for town, _, size in [home, *others]}
        self.towns = list(self.share)
        self.weights = [self.share[t] for t in self.towns]

    def town(self, rng: random.Random) -> str:
        return rng.choices(self.towns, weights=self.weights)[0]

    def street_share(self, street: str) -> float:
        """Chance that a random job of the area is on a street of this name."""
        return sum(share / len(self.streets[town]) for town, share in self.share.items() if street in self.streets[town])


def start_weights(first_day: date) -> list[float]:
    """Relative chance of a job starting on each day of the window: weekdays, and quiet months."""
    weights = []
    for offset in range(WINDOW_DAYS):
        day = first_day + timedelta(days=offset)
        weights.append(MONTH_LOAD[day.month - 1] * WEEKDAY_LOAD[day.weekday()])
    total = sum(weights)
    return [w / total for w in weights]


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower().replace("ø", "o").replace("æ", "ae").replace("ß", "ss"))
    return "".join(c for c in folded if c.isalnum())


class Population:
    """Draws people and firms of a country; the firms of the area are a fixed list."""

    def __init__(self, country: str, company_count: int, area: Area, rng: random.Random) -> None:
        self.country = country
        self.pools: Pools = pools(country)
        self.rng = rng
        self.count = 0
        self.companies = [self._company(area) for _ in range(company_count)]

    def person(self) -> Person:
        rng, p = self.rng, self.pools
        gender = rng.randrange(2)
        names = p.first[gender]
        first = pick(rng, names)
        middle = None
        if rng.random() < p.middle_share:
            while (middle := pick(rng, names)) == first:
                pass
        self.count += 1
        return Person(gender, first, middle, pick(rng, p.surnames), self.count)

    def company(self) -> Company:
        return self.rng.choice(self.companies)

    def _company(self, area: Area) -> Company:
        rng, country = self.rng, self.country
        pattern = rng.choice(COMPANY_PATTERNS[country])
        legal = pick(rng, LEGAL_FORMS[country])
        town = area.town(rng)
        values = {"surname": pick(rng, self.pools.surnames), "town": town, "street": rng.choice(area.streets[town]),
                  "word": rng.choice(COMPANY_WORDS[country].split()), "legal": legal}
        full = pattern.format(**values)
        short = pattern.replace(" {legal}", "").format(**values)
        self.count += 1
        return Company(full, short, self.count)


def export_name(person: Person | Company, order: str) -> str:
    """The customer's name as the firm's system holds it."""
    if isinstance(person, Company):
        return person.full
    given = f"{person.first} {person.middle}" if person.middle else person.first
    return f"{person.last}, {given}" if order == "last, first" else f"{given} {person.last}"


def _email(person: Person | Company, country: str, rng: random.Random) -> str | None:
    if isinstance(person, Company):
        return rng.choice(("info", "kontakt" if country != "en" else "office", "post")) + "@" + _slug(person.short)[:20] + (
            ".co.uk" if country == "en" else "." + {"da": "dk", "nb": "no", "sv": "se", "de": "de"}[country])
    domain = rng.choice(EMAIL_DOMAINS[country].split())
    first, last = _slug(person.first), _slug(person.last)
    style = rng.random()
    if style < 0.15:
        return None
    if style < 0.5:
        return f"{first}.{last}@{domain}"
    if style < 0.7:
        return f"{first}{last}{rng.randint(1, 99)}@{domain}"
    if style < 0.85:
        return f"{first[0]}{last[0]}{rng.randint(1950, 2005)}@{domain}"
    return f"{first}{rng.randint(1, 999)}@{domain}"


def _phone(country: str, rng: random.Random) -> str:
    digits = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    if country == "da":
        return rng.choice((f"+45 {digits(2)} {digits(2)} {digits(2)} {digits(2)}", f"{rng.randint(2, 9)}{digits(7)}"))
    if country == "nb":
        return rng.choice((f"+47 9{digits(2)} {digits(2)} {digits(3)}", f"4{digits(7)}"))
    if country == "sv":
        return f"07{rng.choice('0236')}-{digits(3)} {digits(2)} {digits(2)}"
    if country == "de":
        return rng.choice((f"01{rng.choice('567')}{digits(1)} {digits(7)}", f"0{digits(3)} {digits(6)}"))
    return rng.choice((f"07{digits(3)} {digits(6)}", f"01{digits(3)} {digits(6)}"))


def _address(country: str, street: str, rng: random.Random) -> str:
    number = rng.randint(1, 140)
    if country == "da" and rng.random() < 0.3:
        return f"{street} {number}, {rng.randint(1, 5)}. {rng.choice(('th', 'tv', 'mf'))}"
    if country == "en":
        return f"{number} {street}"
    return f"{street} {number}"


def generate(seed: int, **overrides: Any) -> World:
    """The world of a seed; overrides replace drawn parameters (e.g. jobs=2000, never_customer_share=0.1)."""
    params = draw_params(seed)
    unknown = set(overrides) - set(params)
    if unknown:
        raise ValueError(f"unknown parameters: {sorted(unknown)}")
    params.update(overrides)
    # Parameters that follow from an overridden country or trade: the same shares on that country's sites.
    sites = [p.name for p in platforms(params["country"])]
    if set(params["platform_mix"]) != set(sites):
        params["platform_mix"] = dict(zip(sites, params["platform_mix"].values()))
    types = [t.key for t in TRADES[params["trade"]]]
    if set(params["type_mix"]) != set(types):
        params["type_mix"] = dict(zip(types, params["type_mix"].values()))
    if params["country"] == "en":
        params["english_share"] = 0.0
    # Seeded by the seed alone: an override that changes no draw (the export's name order) changes nothing else.
    rng = random.Random(f"zoo-world-{seed}")
    country = params["country"]
    first_day = date.fromisoformat(params["first_day"])
    area = Area(country, params["towns_in_area"], rng)
    company_count = max(20, round(params["jobs"] * params["company_share"] * 0.6))
    people = Population(country, company_count, area, rng)
    job_types = {t.key: t for t in TRADES[params["trade"]]}
    staff_pool = people.pools.first
    staff = [pick(rng, staff_pool[1 if rng.random() < 0.9 else 0]) for _ in range(params["staff"])]
    business = f"zoo-{seed}"
    weights = start_weights(first_day)

    def new_subject(customer: Person | Company) -> Subject:
        job_type = job_types[pick(rng, params["type_mix"])]
        town = area.town(rng)
        return Subject(customer, job_type.key, rng.choices(range(WINDOW_DAYS), weights=weights)[0],
                       pick(rng, job_type.durations), town, rng.choice(area.streets[town]))

    def new_customer() -> Person | Company:
        return people.company() if rng.random() < params["company_share"] else people.person()

    # Jobs, in the order of their start (export numbers count up with time).
    subjects = []
    homes: dict[Person | Company, tuple[str, str]] = {}  # a customer's town and street stay theirs
    customers: list[Person | Company] = []
    for _ in range(params["jobs"]):
        if customers and rng.random() < params["returning_share"]:
            customer = rng.choice(customers)
        else:
            customer = new_customer()
            if customer not in homes:
                customers.append(customer)
        subject = new_subject(customer)
        town, street = homes.setdefault(customer, (subject.town, subject.street))
        subjects.append(Subject(customer, subject.type_key, subject.start, subject.duration, town, street))
    subjects.sort(key=lambda s: s.start)
    first_export_no = rng.randint(1000, 90000)
    jobs, job_subjects = [], {}
    addresses: dict[Person | Company, str] = {}
    contacts: dict[Person | Company, tuple[str | None, str]] = {}
    for number, subject in enumerate(subjects):
        export_no = str(first_export_no + number)
        started = first_day + timedelta(days=subject.start)
        completed = started + timedelta(days=subject.duration)
        year = completed.year
        invoice = {"plain": str(200000 + first_export_no + number), "year": f"{year}-{number + 1:05d}",
                   "prefixed": f"F{first_export_no + number}"}[params["invoice_style"]]
        crew = tuple(rng.sample(staff, min(len(staff), rng.choices((1, 2, 3), weights=(0.55, 0.35, 0.1))[0])))
        subject = Subject(subject.customer, subject.type_key, subject.start, subject.duration, subject.town, subject.street,
                          crew, invoice)
        job_id = f"{business}:{export_no}"
        job_subjects[job_id] = subject
        email, phone = contacts.setdefault(subject.customer, (_email(subject.customer, country, rng), _phone(country, rng)))
        address = addresses.setdefault(subject.customer, _address(country, subject.street, rng))
        job_type = job_types[subject.type_key]
        amount = round(job_type.amount * math.exp(rng.gauss(0, 0.5)), 2)
        due = completed + timedelta(days=params["payment_terms_days"])
        paid = None if rng.random() < 0.04 else completed + timedelta(days=max(0, round(rng.lognormvariate(2.3, 0.6))))
        jobs.append({
            "id": job_id, "business_id": business, "job_id": export_no,
            "customer_name": export_name(subject.customer, params["export_name_order"]),
            "customer_email": email, "customer_phone": phone, "address": address,
            "postcode": area.postcode[subject.town] if country != "en" else
            f"{area.postcode[subject.town]} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            "city": subject.town, "job_type": job_type.labels[country], "crew": ", ".join(crew),
            "started_at": started.isoformat(), "completed_at": completed.isoformat(), "invoice_no": invoice,
            "amount": amount, "due_at": due.isoformat(),
            "paid_at": paid.isoformat() if paid and paid <= first_day + timedelta(days=CRAWL_DAY) else None,
        })

    writer = ReviewWriter(params, area, people, job_types, first_day, rng)
    # At least 300 and at most 10,000 reviews are written: enough to measure a small firm, and a big one in minutes.
    events = round(min(max(params["jobs"] * params["review_rate"], 300), MAX_REVIEWS) / (1 - params["never_customer_share"]))
    drafts = []
    job_ids = [job["id"] for job in jobs]
    for _ in range(events):
        if rng.random() < params["never_customer_share"]:
            job_id, subject = None, new_subject(new_customer())
        else:
            job_id = rng.choice(job_ids)
            subject = job_subjects[job_id]
        for _ in range(2 if rng.random() < params["several_reviews_share"] else 1):
            draft = writer.write(subject, customer=job_id is not None)
            if draft is not None:
                drafts.append((draft, job_id))
    drafts.sort(key=lambda pair: pair[0][0]["published_at"])
    reviews, truth, written = [], {}, {}
    for number, ((review, how), job_id) in enumerate(drafts):
        review["id"] = f"{business}:r{number + 1:06d}"
        reviews.append(review)
        truth[review["id"]] = job_id
        written[review["id"]] = how
    return World(jobs, reviews, truth, params, job_subjects, written, first_day, area, people.companies)


def bayes_posterior(world: World, min_probability: float = 1e-4) -> dict[str, list[tuple[str | None, float]]]:
    """Each review's exact posterior over its true job and None (never a customer), under the world's own process.

    Every job whose likelihood is not zero counts in the sum; jobs below min_probability are not listed
    (a review signed "Anonymous" leaves tens of thousands of jobs each with a sliver of it)."""
    from monitor.zoo_bayes import posterior

    return posterior(world, min_probability)
