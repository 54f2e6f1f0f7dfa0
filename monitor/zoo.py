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

from monitor.zoo_people import (COMPANY_PATTERNS, COMPANY_WORDS, EMAIL_DOMAINS, LEGAL_FORMS, SALUTATIONS, Pools, pools,
                                street_names, towns)
from monitor.zoo_texts import (ANONYMOUS, COMPANY_FORMS, HANDLES, NAMING, PLAIN, REPLIES, TITLES, TRADES, JobType,
                               Platform, platforms)

ZOO_SEEDS = tuple(range(1001, 1013))  # evaluation only: never fit or tune on these
FREE_SEEDS_FROM = 2001  # seeds from here on are free for fitting and tuning

COUNTRIES = ("da", "nb", "sv", "de", "en")
WINDOW_DAYS = 730  # the export covers two years of job starts
CRAWL_DAY = WINDOW_DAYS + 30  # reviews are collected up to a month after the last job started

# Fixed habits (not drawn): chances that a text naming the job names each thing, given it names the job.
MENTION_CHANCES = {"type": 0.8, "crew": 0.4, "street": 0.25, "invoice": 0.1}
SAME_TOWN = 0.8  # a reviewer who gives a location gives the job's town; otherwise a town of the area
EXPERIENCED_AT = {"completed": 0.5, "published": 0.35, "started": 0.15}  # Trustpilot's date of experience
LOWERCASE = 0.06  # names typed all in lower case, on every site alike
TRANSLITERATED = {"digraph": 0.05, "stripped": 0.05}  # Müller as Mueller / Muller, Søren as Soeren / Soren
UNKNOWN_REPLY = {"never": 0.4, "customer": 0.03}  # "we cannot find you" among the firm's replies
LATE_DAYS = (60, 540)  # defects surfacing months later: uniform over these days after completion
MAX_DELAY_DAYS = 730
RATINGS = {5: 0.6, 4: 0.15, 3: 0.07, 2: 0.06, 1: 0.12}  # the same for customers and never-customers
MONTH_LOAD = (0.8, 0.9, 1.1, 1.2, 1.2, 1.1, 0.55, 1.0, 1.2, 1.15, 1.0, 0.7)  # summer holidays and Christmas are quiet
WEEKDAY_LOAD = (1, 1, 1, 1, 1, 0.08, 0.02)


@dataclass(frozen=True)
class Person:
    gender: int  # 0 woman, 1 man
    first: str
    middle: str | None
    last: str
    ident: int = 0  # two Anne Jensens are two people


@dataclass(frozen=True)
class Company:
    full: str
    short: str  # without its legal form
    ident: int = 0


@dataclass(frozen=True)
class Subject:
    """What a review is written about: a job in the export, or a job that never was (a never-customer's)."""

    customer: Person | Company
    type_key: str
    start: int  # day of the window
    duration: int
    town: str
    street: str
    crew: tuple[str, ...] = ()
    invoice: str | None = None


@dataclass
class World:
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
        "review_rate": rng.uniform(0.05, 0.30),  # customers' reviews per job
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


def delay_pmf(params: dict[str, Any]) -> list[float]:
    """Chance of each whole number of days from completion to review, for reviews written after the job.

    A log-normal habit (most write within days, a long tail) and defects surfacing months later; the
    share written during the job is apart (`during_job_share`)."""
    median, sigma = params["delay_median_days"], params["delay_sigma"]
    late, during = params["late_share"], params["during_job_share"]
    mu = math.log(median)

    def cdf(x: float) -> float:
        return 0.0 if x <= 0 else 0.5 * (1 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2))))

    habit = [cdf(d + 1) - cdf(d) for d in range(MAX_DELAY_DAYS + 1)]
    habit_total = sum(habit)
    low, high = LATE_DAYS
    main = 1 - late - during
    return [main * h / habit_total + (late / (high - low + 1) if low <= d <= high else 0.0) for d, h in enumerate(habit)]


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


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
        first = _pick(rng, names)
        middle = None
        if rng.random() < p.middle_share:
            while (middle := _pick(rng, names)) == first:
                pass
        self.count += 1
        return Person(gender, first, middle, _pick(rng, p.surnames), self.count)

    def company(self) -> Company:
        return self.rng.choice(self.companies)

    def _company(self, area: Area) -> Company:
        rng, country = self.rng, self.country
        pattern = rng.choice(COMPANY_PATTERNS[country])
        legal = _pick(rng, LEGAL_FORMS[country])
        town = area.town(rng)
        values = {"surname": _pick(rng, self.pools.surnames), "town": town, "street": rng.choice(area.streets[town]),
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
    rng = random.Random(f"zoo-world-{seed}-{sorted(params.items())!r}")
    country = params["country"]
    first_day = date.fromisoformat(params["first_day"])
    area = Area(country, params["towns_in_area"], rng)
    company_count = max(20, round(params["jobs"] * params["company_share"] * 0.6))
    people = Population(country, company_count, area, rng)
    job_types = {t.key: t for t in TRADES[params["trade"]]}
    staff_pool = people.pools.first
    staff = [_pick(rng, staff_pool[1 if rng.random() < 0.9 else 0]) for _ in range(params["staff"])]
    business = f"zoo-{seed}"
    weights = start_weights(first_day)

    def new_subject(customer: Person | Company) -> Subject:
        job_type = job_types[_pick(rng, params["type_mix"])]
        town = area.town(rng)
        return Subject(customer, job_type.key, rng.choices(range(WINDOW_DAYS), weights=weights)[0],
                       _pick(rng, job_type.durations), town, rng.choice(area.streets[town]))

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
    events = round(params["jobs"] * params["review_rate"] / (1 - params["never_customer_share"]))
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


def translit(text: str, style: str) -> str:
    """Names as typed on a keyboard without the letters: 'digraph' Müller -> Mueller, 'stripped' -> Muller."""
    if style == "none":
        return text
    table = ({"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e"} if style == "digraph"
             else {"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e"})
    out = []
    for char in text:
        low = char.lower()
        if low in table:
            swap = table[low]
            out.append(swap.capitalize() if char != low else swap)
        else:
            out.append(char)
    return "".join(out)


def typo_variants(token: str) -> dict[str, float]:
    """Every one-slip misspelling of a lower-case name with its chance: a letter left out, two swapped, one doubled."""
    variants: dict[str, float] = {}
    n = len(token)
    if n < 2:
        return {token: 1.0}
    for i in range(n):
        dropped = token[:i] + token[i + 1:]
        variants[dropped] = variants.get(dropped, 0.0) + 1 / 3 / n
        doubled = token[:i + 1] + token[i:]
        variants[doubled] = variants.get(doubled, 0.0) + 1 / 3 / n
    for i in range(n - 1):
        swapped = token[:i] + token[i + 1] + token[i] + token[i + 2:]
        variants[swapped] = variants.get(swapped, 0.0) + 1 / 3 / (n - 1)
    return variants


def _title(token: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in token.split("-"))


class ReviewWriter:
    """Writes one review about a subject, or None when it would be published after the crawl."""

    def __init__(self, params: dict[str, Any], area: Area, people: Population, job_types: dict[str, JobType],
                 first_day: date, rng: random.Random) -> None:
        self.params, self.area, self.people, self.job_types = params, area, people, job_types
        self.first_day, self.rng = first_day, rng
        self.country = params["country"]
        self.sites: dict[str, Platform] = {p.name: p for p in platforms(self.country)}
        self.delays = delay_pmf(params)

    def write(self, subject: Subject, customer: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
        rng, params = self.rng, self.params
        site = self.sites[_pick(rng, params["platform_mix"])]
        published_day = self._published_day(subject)
        if published_day > CRAWL_DAY:
            return None
        language = "en" if rng.random() < params["english_share"] else self.country
        author, how = self._author(subject.customer, site)
        how["platform"] = site.name
        experienced = None
        if site.has_experienced_at:
            choice = _pick(rng, EXPERIENCED_AT)
            how["experienced"] = choice
            completed = subject.start + subject.duration
            experienced = {"completed": min(completed, published_day), "published": published_day,
                           "started": subject.start}[choice]
        rating = _pick(rng, RATINGS)
        mood = "low" if rating <= 2 else "mid" if rating == 3 else "high"
        plain = rng.sample(PLAIN[language][mood], rng.choices((1, 2, 3), weights=(0.4, 0.4, 0.2))[0])
        named = self._named(subject, language, customer)
        how["named"] = {slot: value for slot, value, _ in named}
        sentences = plain + [text for _, _, text in named]
        rng.shuffle(sentences)
        location = None
        if rng.random() < params["location_rate"]:
            location = subject.town if rng.random() < SAME_TOWN else self.area.town(rng)
        reply = None
        if rng.random() < params["reply_rate"]:
            kind = "unknown" if rng.random() < UNKNOWN_REPLY["customer" if customer else "never"] else mood
            reply = rng.choice(REPLIES[language][kind])
        published = datetime_text(self.first_day + timedelta(days=published_day), rng)
        return ({"author": author, "author_location": location,
                 "title": rng.choice(TITLES[language][mood]) if site.has_title else None,
                 "body": " ".join(sentences), "reply_body": reply, "lang": language, "rating": float(rating),
                 "published_at": published,
                 "experienced_at": (self.first_day + timedelta(days=experienced)).isoformat() if experienced is not None else None},
                how)

    def _published_day(self, subject: Subject) -> int:
        rng, params = self.rng, self.params
        if rng.random() < params["during_job_share"]:
            return subject.start + rng.randint(0, subject.duration)
        return subject.start + subject.duration + rng.choices(range(len(self.delays)), weights=self.delays)[0]

    def _named(self, subject: Subject, language: str, customer: bool) -> list[tuple[str, str, str]]:
        """(slot, value, sentence) for what the text names of the job."""
        rng = self.rng
        if rng.random() >= self.params["job_words_rate"]:
            return []
        named = []
        for slot, chance in MENTION_CHANCES.items():
            if slot == "invoice" and not customer:
                continue  # only a customer has an invoice to quote
            if rng.random() >= chance:
                continue
            if slot == "type":
                value = rng.choice(self.job_types[subject.type_key].words[language])
            elif slot == "crew":
                # A never-customer names someone, as a customer would; the firm's crew are not theirs to know.
                value = rng.choice(subject.crew) if customer else self.people.person().first
            elif slot == "street":
                value = subject.street
            else:
                value = subject.invoice
            named.append((slot, value, rng.choice(NAMING[language][slot]).replace("{" + slot + "}", value)))
        return named

    def _author(self, customer: Person | Company, site: Platform) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        if isinstance(customer, Company):
            form = _pick(rng, COMPANY_FORMS)
            if form != "contact":
                name = customer.full if form == "company_full" else customer.short
                lower = rng.random() < LOWERCASE
                return (name.lower() if lower else name), {"form": form, "lowercase": lower}
            contact = self.people.person()
            name, how = self._person_author(contact, site)
            how["contact"] = contact
            how["company_form"] = "contact"
            return name, how
        return self._person_author(customer, site)

    def _person_author(self, person: Person, site: Platform) -> tuple[str, dict[str, Any]]:
        rng, country, p = self.rng, self.country, self.people.pools
        form = _pick(rng, site.forms)
        style = _pick(rng, {"none": 1 - sum(TRANSLITERATED.values()), **TRANSLITERATED}) if country != "en" else "none"
        first, last = person.first, person.last
        if form == "full_middle" and person.middle is None or form == "nickname" and first not in p.nicknames:
            form_used = "full"
        else:
            form_used = form
        if form_used == "full":
            name = f"{first} {last}"
        elif form_used == "full_middle":
            name = f"{first} {person.middle} {last}"
        elif form_used == "first_initial":
            name = f"{first} {translit(last, style)[0]}."
        elif form_used == "initial_last":
            name = f"{translit(first, style)[0]}. {last}"
        elif form_used == "first":
            name = first
        elif form_used == "salutation":
            name = f"{SALUTATIONS[country][person.gender]} {translit(last, style)[0]}."
        elif form_used == "typo":
            style = "none"
            slipped = rng.randrange(2)
            token = (first, last)[slipped].lower()
            variants = typo_variants(token)
            wrong = _title(rng.choices(list(variants), weights=list(variants.values()))[0])
            name = f"{wrong} {last}" if slipped == 0 else f"{first} {wrong}"
        elif form_used == "nickname":
            name = f"{rng.choice(p.nicknames[first])} {last}"
        elif form_used == "spouse":
            partner = p.first[1 - person.gender]
            name = f"{_pick(rng, partner)} {last}"
        elif form_used == "handle":
            style = "none"
            name = rng.choice(HANDLES[country]) + (str(rng.randint(10, 99)) if rng.random() < 0.5 else "")
        else:
            style = "none"
            name = rng.choice(ANONYMOUS[country])
        name = translit(name, style)
        lower = rng.random() < LOWERCASE
        return (name.lower() if lower else name), {"form": form, "form_used": form_used, "translit": style, "lowercase": lower}


def datetime_text(day: date, rng: random.Random) -> str:
    """An ISO time of day on that day, in the hours people write reviews."""
    return f"{day.isoformat()}T{rng.randint(7, 22):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"


def bayes_posterior(world: World, min_probability: float = 1e-6) -> dict[str, list[tuple[str | None, float]]]:
    """Each review's exact posterior over its true job and None (never a customer), under the world's own process."""
    from monitor.zoo_bayes import posterior

    return posterior(world, min_probability)
