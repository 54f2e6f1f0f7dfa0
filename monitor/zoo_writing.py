"""How people write a review about a job, for the zoo of labelled worlds: the site, the name they sign
with, when they write, what their text names, where they say they live, and the firm's reply.

The chances here are fixed habits, the same in every world; `monitor.zoo` draws the rest per firm.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from monitor.zoo_people import SALUTATIONS, Company, Person, pick
from monitor.zoo_texts import (ANONYMOUS, COMPANY_FORMS, HANDLES, NAMING, PLAIN, REPLIES, TITLES, JobType, Platform,
                               platforms)

if TYPE_CHECKING:
    from monitor.zoo import Area, Population

WINDOW_DAYS = 730  # the export covers two years of job starts
CRAWL_DAY = WINDOW_DAYS + 30  # reviews are collected up to a month after the last job started
LATE_DAYS = (60, 540)  # defects surfacing months later: uniform over these days after completion
MAX_DELAY_DAYS = 730
# Chances that a text naming the job names each thing, given it names the job.
MENTION_CHANCES = {"type": 0.8, "crew": 0.4, "street": 0.25, "invoice": 0.1}
SAME_TOWN = 0.8  # a reviewer who gives a location gives the job's town; otherwise a town of the area
EXPERIENCED_AT = {"completed": 0.5, "published": 0.35, "started": 0.15}  # Trustpilot's date of experience
LOWERCASE = 0.06  # names typed all in lower case, on every site alike
TRANSLITERATED = {"digraph": 0.05, "stripped": 0.05}  # Müller as Mueller / Muller, Søren as Soeren / Soren
UNKNOWN_REPLY = {"never": 0.4, "customer": 0.03}  # "we cannot find you" among the firm's replies
RATINGS = {5: 0.6, 4: 0.15, 3: 0.07, 2: 0.06, 1: 0.12}  # the same for customers and never-customers


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


def title_case(token: str) -> str:
    """Each part of a name capitalised: 'hans-peter' -> 'Hans-Peter'."""
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
        site = self.sites[pick(rng, params["platform_mix"])]
        published_day = self._published_day(subject)
        if published_day > CRAWL_DAY:
            return None
        language = "en" if rng.random() < params["english_share"] else self.country
        author, how = self._author(subject.customer, site)
        how["platform"] = site.name
        experienced = None
        if site.has_experienced_at:
            choice = pick(rng, EXPERIENCED_AT)
            how["experienced"] = choice
            completed = subject.start + subject.duration
            experienced = {"completed": min(completed, published_day), "published": published_day,
                           "started": subject.start}[choice]
        rating = pick(rng, RATINGS)
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
        return ({"source": site.name, "author": author, "author_location": location,
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
            form = pick(rng, COMPANY_FORMS)
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
        form = pick(rng, site.forms)
        style = pick(rng, {"none": 1 - sum(TRANSLITERATED.values()), **TRANSLITERATED}) if country != "en" else "none"
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
            wrong = title_case(rng.choices(list(variants), weights=list(variants.values()))[0])
            name = f"{wrong} {last}" if slipped == 0 else f"{first} {wrong}"
        elif form_used == "nickname":
            name = f"{rng.choice(p.nicknames[first])} {last}"
        elif form_used == "spouse":
            partner = p.first[1 - person.gender]
            name = f"{pick(rng, partner)} {last}"
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
