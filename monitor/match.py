"""Which job is a review about? Every signal a person would use, a calibrated score, and the reasons.

Candidates are blocked by name keys, references in the text and postcode, each within
a date window found by bisection, so cost grows with reviews, not reviews x jobs.
Each candidate gets features in the form record linkage weighs evidence (which name
form fits, how many customers would fit it by chance, how long after completion,
what the text names); a conditional-logit model fitted on labelled data
(monitor/data/match_model.json, made by `benchmarks/match_quality.py --fit`) weighs
each review's candidates against each other and against "none of them, never a
customer", so the scores of one review's candidates sum to at most 1.
Pure functions here; run_matching reads and writes.
"""

from __future__ import annotations

import bisect
import gc
import json
import math
import multiprocessing
import operator
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import sqlite_utils

from monitor.estimate import TRAITS, WRITTEN, Estimates, estimate
from monitor.job_words import Counting, JobWords
from monitor.names import Name, email_name, first_name_gender, names_alike, parse_name, plain_name, same_last_name
from monitor.text import fold, fold_word, job_type_words, load_data, platform_name, tokens

MODEL_PATH = Path(__file__).parent / "data" / "match_model.json"
FEATURES = (
    # how the reviewer's name fits the customer's (one of these), and how many customers it would fit by chance
    "name_full", "name_reversed", "name_variant", "name_surname_initial", "name_first_initial", "name_initials",
    "name_title_initial", "name_first_only", "name_surname_only", "name_other_first_name", "name_partner", "name_company", "name_none", "name_by_email",
    # how much more (or less) often than on the firm's other sites this site's reviewers sign in this form
    "name_site",
    "coincidences", "coincidences_initial", "coincidences_one_name",
    # how the reviewer wrote their name (one of these, with any fit)
    "written_one_name", "written_initial", "written_full", "written_title",
    # what the review tells at all, for each of its candidates: customers tell more than strangers do
    "says_job_type", "says_crew", "says_reference", "says_street", "says_location", "says_experienced",
    "says_not_found",  # the firm's reply: "we cannot find you"
    # days from completion to the review (one of these)
    "before_start", "during_job", "days_0_7", "days_8_30", "days_31_60", "days_61_120", "days_121_240",
    "days_241_400", "days_over_400", "delay_rarity",
    # or, when the reviewer's date of experience is the job's completion or start day, that (one of these)
    "dated_completion", "dated_start",
    # what the review says or shows
    "experienced_near", "experienced_mid", "experienced_far", "location", "location_other", "location_rarity",
    "job_type_same", "job_type_rarity", "job_type_other", "job_words", "crew", "crew_other", "crew_rarity",
    "reference", "reference_other", "reference_rarity", "street", "street_other", "street_rarity",
)
WINDOW_BEFORE = 730  # a defect can surface two years after completion
WINDOW_AFTER = 14  # a review written while the job is still going on
# Term frequencies are the firm's own, smoothed with this many customers of a typical population, whose
# shares by name key follow (a first name, a surname; with an initial, a twentieth of that).
PSEUDO_CUSTOMERS = 20
TYPICAL_SHARE = {"first": 0.01, "last": 0.005, "first+initial": 0.0005, "initial+last": 0.0003, "company": 0.0002,
                 "last_initial": 0.05}
CHANCE_FLOOR = 0.1  # expected chance fits: a name no customer has is not infinitely telling
NARROW_WINDOW = 180  # for weak keys (first name only, surname only)
MAX_WEAK_CANDIDATES = 8
MAX_STRONG_CANDIDATES = 10
SLIP_SCAN = 40  # jobs of the same first name read for a surname one slip away
SITE_SHOWN = 0.3  # a site's name habit is a piece of evidence of its own from this weight (odds a third higher or lower)
SCORED_CANDIDATES = 8  # weighed against each other: the best few by name, then nearest in time


@dataclass(frozen=True)
class Model:
    """Weights on the log-odds of 'this review is about this job' against 'about none of the jobs'."""

    intercept: float
    weights: dict[str, float]
    none_share: float | None = None  # the firm's estimated share of reviews about none of its jobs, if estimated
    _weight_of: Any = field(init=False, repr=False, compare=False)
    _rounded: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every feature has a weight (0 if the model has none): utility then sums in C, no lookups with defaults.
        object.__setattr__(self, "_weight_of", defaultdict(float, self.weights).__getitem__)
        # What a signal that is simply there adds, as the reasons show it: rounding is slow, done once.
        object.__setattr__(self, "_rounded", {name: round(self._weight_of(name), 3) for name in (*FEATURES, *self.weights)})

    def utility(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(map(operator.mul, map(self._weight_of, features), features.values()))
        return z if -40.0 <= z <= 40.0 else (40.0 if z > 0 else -40.0)  # bounded: exp() never overflows

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Each signal's part of the log-odds, rounded as the reasons show it."""
        return {name: self._rounded[name] if value == 1.0 else round(self._weight_of(name) * value, 3)
                for name, value in features.items() if value}

    def probabilities(self, candidate_features: list[dict[str, float]]) -> list[float]:
        """P(the review is about each candidate): each against the others and against none of them."""
        odds = list(map(math.exp, map(self.utility, candidate_features)))
        total = 1.0 + sum(odds)
        return [o / total for o in odds]


@lru_cache(maxsize=1)
def default_model() -> Model:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    return Model(data["intercept"], data["weights"])


@lru_cache(maxsize=1)
def model_threshold() -> float:
    """The default match threshold for each firm's estimated model, chosen on worlds free for tuning
    (benchmarks/match_tuning.py); the fixed model's own is "threshold" in the same file."""
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))["prior"]["threshold"]


@dataclass
class Settings:
    threshold: float = field(default_factory=model_threshold)  # at or above: a match
    margin: float = 0.15  # a runner-up this close, the two together above threshold, makes it ambiguous


def _log_count(count: float) -> float:
    """The log of an expected number of chance fits, floored at 0.1: a name no customer has is not infinitely telling."""
    return math.log(max(count, CHANCE_FLOOR))


def _day(text: str) -> int:
    return date.fromisoformat(text[:10]).toordinal()


def _day_or_none(text: str | None) -> int | None:
    return _day(text) if text else None


class JobFacts(NamedTuple):
    """What scoring reads of one job: unpacked at once for each candidate."""

    completed: int  # days (ordinal)
    started: int
    city: str  # folded
    city_in_text: str  # " city ", as it stands among a review's words
    postcode: str
    categories: frozenset[str]  # kinds of work
    crew: frozenset[str]  # folded names
    references: set[str]  # job and invoice numbers, folded
    street_in_text: str  # " gammel kongevej ", or "" for no address


_new_facts = tuple.__new__


@dataclass
class JobIndex:
    """The jobs of one business, indexed by the keys reviews are blocked on, with what scoring needs."""

    jobs: list[dict[str, Any]]
    # What matching reads for every candidate, in lists: forked workers then copy these few pages,
    # not every job's dict (copy-on-write follows reference counts).
    ids: list[str] = field(default_factory=list)
    customers: list[str | None] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    facts: list[JobFacts] = field(default_factory=list)
    # Name, street and postcode keys -> their jobs as sorted ints, completion day << position_bits | position:
    # one int per entry instead of a (day, position) tuple, so bisection compares ints and the
    # build makes no tuples.
    keys: dict[tuple[str, ...], list[int]] = field(default_factory=lambda: defaultdict(list))
    position_bits: int = 0
    persons: list[Name] = field(default_factory=list)  # the customer's name, parsed
    category_share: dict[str, float] = field(default_factory=dict)  # of jobs, by kind of work
    # Shares of jobs by city and by crew member: how often such a fit happens by chance in this firm.
    city_share: dict[str, float] = field(default_factory=dict)
    crew_share: dict[str, float] = field(default_factory=dict)
    aliases: list[Name | None] = field(default_factory=list)  # the person a job's e-mail address names, if another
    # Order and invoice numbers, each naming one job or a few: kept out of `keys`, where 100,000
    # one-entry tuple keys made the build about a tenth slower.
    by_reference: dict[str, list[int]] = field(default_factory=dict)
    street_keys: set[str] = field(default_factory=set)
    street_first_words: set[str] = field(default_factory=set)  # of streets named in two or more words
    postcodes: set[str] = field(default_factory=set)  # the four-digit ones (Danish, Norwegian), as reviews write them
    type_stems: set[str] = field(default_factory=set)  # the words of the firm's job types, as _stems keys them
    _log_coincidences: dict[tuple[str, tuple[str, ...]], float] = field(default_factory=dict)
    customer_identity: list[tuple[Any, ...]] = field(default_factory=list)  # name and address: one customer's jobs
    distinct_customers: int = 0
    _customers_of_gender: tuple[int, int] | None = None  # distinct customers with a woman's, a man's first name
    _customers_under: dict[tuple[str, ...], int] = field(default_factory=dict)
    sorted_completed: list[int] = field(default_factory=list)
    _delay_rarity: dict[int, dict[str, float]] = field(default_factory=dict)
    _jobs_on: dict[str, dict[int, int]] = field(default_factory=dict)  # "completed"/"started" -> day -> jobs
    full_name_chances: list[float | None] = field(default_factory=list)  # log_coincidences of each customer's full name, once read
    type_of: list[int] = field(default_factory=list)  # each job's type as a number, -1 for none
    type_names: tuple[str, ...] = ()  # number -> the export's job type
    job_words: JobWords | None = None  # the firm's own words for its job types, once estimated
    site_habits: dict[str, dict[str, float]] | None = None  # per review source, once estimated (Estimates.site_habits)

    @classmethod
    def build(cls, jobs: list[dict[str, Any]]) -> "JobIndex":
        index = cls(jobs)
        # Column by column: map() over the cached parsers stays in C for every value seen before.
        index.ids = [job["id"] for job in jobs]
        index.customers = [job.get("customer_name") for job in jobs]
        # Equal values as one object: scoring reads a few thousand days and cities, not 50,000 copies
        # scattered in memory (unpacking a job's facts touches each value's reference count).
        one = {}.setdefault
        index.completed = completed = [one(day, day) for day in map(_day, [job["completed_at"] for job in jobs])]
        started = [one(day, day) for day in map(_day_or_none, [job.get("started_at") for job in jobs])]
        index.persons = persons = list(map(parse_name, index.customers))
        emailed = list(map(parse_name, map(email_name, [job.get("customer_email") for job in jobs])))
        streets = list(map(_street, [job.get("address") or "" for job in jobs]))
        cities = list(map(fold_word, [job.get("city") or "" for job in jobs]))
        postcodes = [one(code, code) for code in [str(job.get("postcode") or "").strip() for job in jobs]]
        categories = list(map(_categories, [job.get("job_type") or "" for job in jobs]))
        index.type_of, index.type_names = _type_numbers([job.get("job_type") or "" for job in jobs])
        crews = list(map(_crew, [job.get("crew") or "" for job in jobs]))
        keys, by_reference = index.keys, index.by_reference
        index.position_bits = bits = max(len(jobs), 1).bit_length()
        for position, job in enumerate(jobs):
            day, name, street = completed[position], persons[position], streets[position]
            city, postcode = cities[position], postcodes[position]
            references = {fold(str(value)) for value in (job.get("job_id"), job.get("invoice_no")) if value}
            index.facts.append(_new_facts(JobFacts, (  # NamedTuple's own __new__ parses arguments slowly
                day, started[position] or day, city, one(padded := f" {city} ", padded) if city else "", postcode,
                categories[position], crews[position], references, one(padded := f" {street} ", padded) if street else "")))
            entry = day << bits | position
            name_keys = _name_keys(name)
            for key in name_keys:
                keys[key].append(entry)
            # A company's contact person, or the partner who booked, writes the review under their own name.
            alias = emailed[position]
            if not alias.words or alias.words == name.words:
                alias = None
            index.aliases.append(alias)
            if alias is not None:
                for key in _name_keys(alias):
                    if key not in name_keys:
                        keys[key].append(entry)
            for reference in references:
                by_reference.setdefault(reference, []).append(position)
            if street:
                keys[("street", street)].append(entry)
            if postcode:
                keys[("postcode", postcode)].append(entry)
        index.full_name_chances = [None] * len(jobs)
        index.customer_identity = list(zip([name.words for name in persons], [job.get("address") for job in jobs], postcodes))
        category_counts: dict[str, int] = defaultdict(int)
        for facts in index.facts:
            for category in facts.categories:
                category_counts[category] += 1
        index.category_share = {category: count / len(jobs) for category, count in category_counts.items()}
        index.type_stems = {category for category in category_counts if category.startswith("w:")}
        index.city_share = _shares([facts.city for facts in index.facts if facts.city], len(jobs))
        index.crew_share = _shares([name for facts in index.facts for name in facts.crew], len(jobs))
        for key, entries in keys.items():
            if len(entries) > 1:
                entries.sort()
            if key[0] == "postcode" and len(key[1]) == 4 and key[1].isdigit():
                index.postcodes.add(key[1])
            elif key[0] == "street":
                index.street_keys.add(key[1])
                if " " in key[1]:
                    index.street_first_words.add(key[1].split(" ", 1)[0])
        return index

    def delay_rarity(self, day: int) -> dict[str, float]:
        """-log(the share of jobs completed in each band of days before `day`): a review 10 days after
        completion says more in a quiet month than in a busy one. Kept per day: reviews share their days."""
        rarity = self._delay_rarity.get(day)
        if rarity is None:
            if not self.sorted_completed:
                self.sorted_completed = sorted(self.completed)
            days, total = self.sorted_completed, max(len(self.completed), 1)

            def share(first: int, last: int) -> float:  # of jobs completed from day - last to day - first
                count = bisect.bisect_right(days, day - first) - bisect.bisect_left(days, day - last)
                # With PSEUDO_CUSTOMERS jobs spread evenly over two years: a small firm's few dates are not the rule.
                spread = PSEUDO_CUSTOMERS * (last - first + 1) / WINDOW_BEFORE
                return -math.log((count + spread) / (total + PSEUDO_CUSTOMERS))

            rarity = self._delay_rarity[day] = {band: share(first, last) for band, (first, last) in _BAND_DAYS.items()}
        return rarity

    def date_rarity(self, which: str, day: int) -> float:
        """-log(the share of jobs completed, or started, on that day): a date of experience that is a job's
        completion day says more in a quiet week than in a busy one."""
        counts = self._jobs_on.get(which)
        if counts is None:
            counts = self._jobs_on[which] = defaultdict(int)
            for value in (self.completed if which == "completed" else [facts.started for facts in self.facts]):
                counts[value] += 1
        # With PSEUDO_CUSTOMERS jobs spread evenly over two years, as delay_rarity: a small firm's few dates are not the rule.
        return -math.log((counts.get(day, 0) + PSEUDO_CUSTOMERS / WINDOW_BEFORE) / (len(self.completed) + PSEUDO_CUSTOMERS))

    def coincidences(self, level: str, person: Name) -> float:
        """How many jobs' customers a name fitting `person` in this form would fit by chance:
        a full-name fit on Jens Jensen says less than one on Mogens Friisdal."""
        # A stranger has a name as often as the firm's distinct customers do (a customer with fourteen
        # jobs makes the name no commoner), and could fit any of the jobs.
        first, last = person.first, person.last
        share = self.customer_share
        if level == "company":
            chance = share(("company", " ".join(person.words)))
        elif level == "first_only":
            chance = share(("first", first))
        elif level in ("surname_only", "other_first_name"):
            chance = share(("last", last))
        elif level == "partner":  # Hanne Hansen for Jens Hansen: only the Hansens with a man's first name would fit
            gender = first_name_gender(first)
            chance = share(("last", last)) * (1.0 if gender is None else self.gender_share(gender))
        elif level == "surname_initial":
            chance = share(("first+initial", first, last[:1]))
        elif level in ("first_initial", "initials"):
            chance = share(("initial+last", first[:1], last))
        elif level == "title_initial":  # "Herr M.": every customer whose surname begins so
            chance = share(("last_initial", last[:1]))
        else:  # both names: first and surname drawn independently, as a stranger's would be
            chance = share(("first", first)) * share(("last", last))
        return chance * len(self.jobs)

    def customer_share(self, key: tuple[str, ...]) -> float:
        """The share of the firm's distinct customers (name and address) filed under a name key, with
        PSEUDO_CUSTOMERS of a typical population's: a firm of three customers, one a Jens, does not make
        every third stranger a Jens."""
        return ((self.customers_under(key) + PSEUDO_CUSTOMERS * TYPICAL_SHARE[key[0]])
                / (self.customer_count() + PSEUDO_CUSTOMERS))

    def customers_under(self, key: tuple[str, ...]) -> int:
        """How many distinct customers (name and address) are filed under a name key."""
        counted = self._customers_under.get(key)
        if counted is None:
            entries = self.keys.get(key) or ()
            mask = (1 << self.position_bits) - 1
            identity = self.customer_identity
            counted = self._customers_under[key] = len({identity[entry & mask] for entry in entries})
        return counted

    def gender_share(self, gender: int) -> float:
        """The share of the firm's distinct customers whose first name is a woman's (0) or a man's (1), with
        PSEUDO_CUSTOMERS of whom 45% are of each (the rest a name the list does not know, or a company)."""
        if self._customers_of_gender is None:
            first_of = {identity: person.first for identity, person in zip(self.customer_identity, self.persons)}
            genders = Counter(first_name_gender(first) for first in first_of.values())
            self._customers_of_gender = (genders[0], genders[1])
        return ((self._customers_of_gender[gender] + PSEUDO_CUSTOMERS * 0.45)
                / (self.customer_count() + PSEUDO_CUSTOMERS))

    def customer_count(self) -> int:
        """How many distinct customers (name and address) the firm's jobs are for."""
        if not self.distinct_customers:
            self.distinct_customers = len(set(self.customer_identity))
        return self.distinct_customers

    def customers_named_alike(self, level: str, person: Name) -> int:
        """How many distinct customers have a name that fits in this form as `person`'s does: for "Jens H."
        every Jens H., for "Hansen" every Hansen. The count an owner can check against the export; the
        weight comes from the smoothed chance of coincidences(), which a small firm's counts would overstate."""
        first, last = person.first, person.last
        if level == "company":
            key: tuple[str, ...] = ("company", " ".join(person.words))
        elif level == "first_only":
            key = ("first", first)
        elif level in ("surname_only", "other_first_name"):
            key = ("last", last)
        elif level == "surname_initial":
            key = ("first+initial", first, last[:1])
        elif level in ("first_initial", "initials"):
            key = ("initial+last", first[:1], last)
        elif level == "title_initial":
            key = ("last_initial", last[:1])
        else:
            key = ("full", first, last)
        return max(self.customers_under(key), 1)  # the candidate's own customer is one, whatever the keys hold

    def company_share(self) -> float:
        """The share of the firm's jobs that are for a company."""
        return sum(person.company for person in self.persons) / max(len(self.persons), 1)

    def count(self, key: tuple[str, ...]) -> int:
        """How many jobs are filed under a key."""
        entries = self.keys.get(key)
        return 0 if entries is None else len(entries)

    def log_coincidences(self, level: str, person: Name) -> float:
        """log(coincidences), floored at 0.1 expected fits; cached: customers and their names come back."""
        key = (level, person.words)  # a tuple of strings hashes in C; a Name would hash in Python
        logged = self._log_coincidences.get(key)
        if logged is None:
            logged = self._log_coincidences[key] = _log_count(self.coincidences(level, person))
        return logged

    def name_fit(self, rv: "ReviewView", position: int) -> tuple[float, str]:
        """How well a reviewer's name fits the job's customer, or the person its e-mail address names."""
        name, person = rv.name, self.persons[position]
        # A third of all candidates: the same first name and surname. Answered without a call.
        if person.last and name.last == person.last and name.first == person.first and not (name.company or person.company):
            return _EXACT_FIT
        fit = names_alike(name, person)
        alias = self.aliases[position]
        if alias is not None and fit[0] < 1.0:
            by_email = names_alike(name, alias)
            if by_email[0] > fit[0]:
                return by_email[0], f"{by_email[1]} (e-mail address)"
        return fit

    def lookup(self, key: tuple[str, ...], low: int, high: int, limit: int | None = None, around: int = 0) -> list[int]:
        """Jobs under `key` completed within [low, high]; the `limit` nearest to `around` for weak keys."""
        entries = self.keys.get(key)
        if not entries:
            return []
        bits = self.position_bits
        mask = (1 << bits) - 1
        start = bisect.bisect_left(entries, low << bits)
        end = bisect.bisect_right(entries, high << bits | mask, start)
        if limit is None or end - start <= limit:
            return [entry & mask for entry in entries[start:end]]
        # The `limit` entries nearest to `around` lie within `limit` places of it on either side.
        middle = bisect.bisect_left(entries, around << bits, start, end)
        # Nearest first; ties stay in order of (day, position). Plain tuples sort faster than a key function.
        nearby = sorted([(abs(around - (entry >> bits)), entry)
                         for entry in entries[max(start, middle - limit):min(end, middle + limit)]])
        return [entry & mask for _, entry in nearby[:limit]]


def _shares(values: list[str], total: int) -> dict[str, float]:
    """Each value's share of `total` jobs."""
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[value] += 1
    return {value: count / max(total, 1) for value, count in counts.items()}


@lru_cache(maxsize=10_000)
def _crew(crew: str) -> frozenset[str]:
    return frozenset(fold(name.strip()) for name in crew.split(",") if name.strip())


def _type_numbers(job_types: list[str]) -> tuple[list[int], tuple[str, ...]]:
    """Each job's type as a number (-1 for none; types alike but for case and spacing are one), and each
    number's type as the export first writes it."""
    number_of: dict[str, int] = {}
    names: list[str] = []
    numbers = []
    for job_type in job_types:
        key = _type_key(job_type)
        number = number_of.get(key)
        if number is None and key:
            number = number_of[key] = len(names)
            names.append(job_type.strip())
        numbers.append(-1 if number is None else number)
    return numbers, tuple(names)


@lru_cache(maxsize=10_000)
def _type_key(job_type: str) -> str:
    return " ".join(tokens(job_type))


@lru_cache(maxsize=10_000)
def _categories(job_type: str) -> frozenset[str]:
    # The firm's own job types name the job in whatever language: no word is a false friend there.
    # Beside the vocabulary's kinds of work, the words of the firm's own job type ("w:photo" for
    # "Photovoltaikanlage"): customers name their job in words the vocabulary does not know.
    return frozenset(job_type_words().find(tokens(job_type), lang="export")) | _stems(tokens(job_type))


TYPE_STEM = 5  # letters of a word that name a kind of work: "badeværelset" ~ "Badeværelsesrenovering"


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str | None:
    """A word's kind-of-work key, its first letters, if it is long enough to name one."""
    return f"w:{word[:TYPE_STEM]}" if len(word) >= TYPE_STEM and word.isalpha() else None


def _stems(words: Iterable[str]) -> frozenset[str]:
    """The kind-of-work keys of these words."""
    return frozenset(filter(None, map(_stem, words)))


@lru_cache(maxsize=100_000)
def _name_keys(name: Name) -> tuple[tuple[str, ...], ...]:
    """The name keys a job is found under; customers come back, so each name is keyed once. Each is
    kept as written and as typed without æøåäöü (plain_name), under which reviews look names up."""
    keys = list(_spelled_keys(name))
    plain = plain_name(name)
    if plain is not name:
        keys += [key for key in _spelled_keys(plain) if key not in keys]
    return tuple(keys)


def _spelled_keys(name: Name) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    if name.first:
        keys.append(("first", name.first))
        if name.last:
            keys += [("full", name.first, name.last), ("first+initial", name.first, name.last[0]),
                     ("initial+last", name.first[0], name.last)]
    if name.last:  # "Herr M." is found under the surname's initial
        keys += [("last", name.last), ("last_initial", name.last[0])]
    if name.company:
        keys.append(("company", " ".join(name.words)))
    return keys


@lru_cache(maxsize=100_000)
def _street(address: str) -> str:
    """'Gammel Kongevej 12B' -> 'gammel kongevej': the words of an address without its numbers."""
    return " ".join(t for t in tokens(address) if not t[0].isdigit())


@dataclass(slots=True)
class ReviewView:
    """What matching needs from a review, computed once."""

    review: dict[str, Any]
    name: Name
    day: int
    experienced: int | None
    words: list[str]
    word_set: set[str]
    text: str
    location: str
    categories: set[str]  # kinds of work the vocabulary finds in the text
    # The firm's crew names, job and invoice numbers and streets the text names: read once, for every candidate.
    named: tuple[set[str], set[str], set[str]] | None = None
    traits: tuple[str, ...] | None = None  # review_traits
    kinds: set[str] | None = None  # kinds_named


def view(review: dict[str, Any]) -> ReviewView:
    return views([review])[0]


# A location that is only a country (Trustpilot shows every reviewer's country code) says nothing of the job.
_COUNTRIES = frozenset(fold(name) for name in (
    "danmark", "denmark", "dänemark", "norge", "noreg", "norway", "norwegen", "sverige", "sweden", "schweden",
    "deutschland", "germany", "tyskland", "united kingdom", "great britain", "england", "scotland", "wales",
    "storbritannien", "storbritannia", "grossbritannien", "großbritannien", "österreich", "schweiz", "suomi",
    "finland", "ireland", "usa", "united states"))


@lru_cache(maxsize=10_000)
def _reviewer_place(location: str) -> str:
    """The reviewer's town or postcode, folded; "" for a country, a country code or nothing."""
    folded = fold(location).strip(" .,")
    if (len(folded) == 2 and folded.isalpha()) or folded in _COUNTRIES:
        return ""
    return folded


def views(reviews: list[dict[str, Any]]) -> list[ReviewView]:
    """view() of each review, column by column (as JobIndex.build does): a fifth faster than one by one."""
    words = list(map(tokens, [" ".join(filter(None, [r.get("title"), r.get("body"), r.get("reply_body")])) for r in reviews]))
    word_sets = list(map(set, words))
    return list(map(
        ReviewView,
        reviews,
        map(parse_name, [r.get("author") for r in reviews]),
        map(_day, [r["published_at"] for r in reviews]),
        map(_day_or_none, [r.get("experienced_at") for r in reviews]),
        words,
        word_sets,
        [f" {' '.join(review_words)} " for review_words in words],  # the text, its words between spaces
        map(_reviewer_place, [r.get("author_location") or "" for r in reviews]),
        map(job_type_words().find, word_sets, [r.get("lang") for r in reviews]),
    ))


@lru_cache(maxsize=100_000)
def written_as(name: Name) -> str:
    """How a reviewer wrote their name: one word, with an initial, in full (two or more words), or with a
    title ("Herr M.", "Mrs Smith")."""
    if name.last and not name.first:
        return "written_title"
    if len(name.words) <= 1:
        return "written_one_name"
    return "written_initial" if any(len(word) == 1 for word in name.words) else "written_full"


def written_index(index: JobIndex, rv: ReviewView) -> int:
    """How the reviewer wrote their name, as an index in estimate.WRITTEN, or -1 for no name. One word that
    is no customer's first name or surname (a handle, "Anonymous", "Kunde") is no name: strangers who sign
    with a first name alone are counted apart from those who sign with none."""
    if not rv.name.words:
        return -1
    written = written_as(rv.name)
    if written == "written_one_name":
        word = rv.name.words[0]
        if not (index.count(("first", word)) or index.count(("last", word))):
            return -1
    return WRITTEN.index(written)


def review_traits(index: JobIndex, rv: ReviewView) -> tuple[str, ...]:
    """What the review tells at all (a kind of work, the firm's crew, numbers or streets, where the reviewer
    lives, when the work was done), whichever job it is about; kept in rv.traits."""
    if rv.traits is None:
        crew, references, streets = firm_words(index, rv)
        rv.traits = tuple(trait for trait, told in (
            ("says_job_type", kinds_named(index, rv)), ("says_crew", crew), ("says_reference", references),
            ("says_street", streets), ("says_location", rv.location), ("says_experienced", rv.experienced is not None),
            ("says_not_found", rv.review.get("reply_body") and reply_not_found(rv.review["reply_body"])))
            if told)
    return rv.traits


def kinds_named(index: JobIndex, rv: ReviewView) -> set[str]:
    """The kinds of work the review names: the vocabulary's, and words of the firm's own job types (kept in rv.kinds)."""
    if rv.kinds is None:
        stems = _stems(rv.word_set) if index.type_stems else frozenset()
        rv.kinds = rv.categories | (stems & index.type_stems) if stems else rv.categories
    return rv.kinds


@lru_cache(maxsize=1)
def _not_found_phrases() -> tuple[str, ...]:
    return tuple(phrase for phrases in load_data("match_words.toml")["not_found"].values() for phrase in phrases)


@lru_cache(maxsize=10_000)
def reply_not_found(reply: str) -> bool:
    """Whether the firm's reply says it cannot find the reviewer (monitor/data/match_words.toml); firms reuse their replies."""
    folded = fold(reply)
    return any(phrase in folded for phrase in _not_found_phrases())


def firm_words(index: JobIndex, rv: ReviewView) -> tuple[set[str], set[str], set[str]]:
    """The firm's crew names, job and invoice numbers, and streets the review names (kept in rv.named)."""
    if rv.named is None:
        phrases = rv.word_set
        if not index.street_first_words.isdisjoint(phrases):  # "Gammel Kongevej": pairs of words, where a street's first word occurs
            words = rv.words
            phrases = phrases | {f"{words[i]} {words[i + 1]}" for i in range(len(words) - 1) if words[i] in index.street_first_words}
        rv.named = (rv.word_set & index.crew_share.keys(), rv.word_set & index.by_reference.keys(), phrases & index.street_keys)
    return rv.named


def candidates(index: JobIndex, rv: ReviewView, rejected: AbstractSet[str] = frozenset()) -> list[int]:
    """Jobs worth scoring for a review: strong keys in the wide window, weak keys in a narrow one."""
    wide = (rv.day - WINDOW_BEFORE, rv.day + WINDOW_AFTER)
    narrow = (rv.day - NARROW_WINDOW, rv.day + WINDOW_AFTER)
    found: set[int] = set()
    name = plain_name(rv.name)  # "Oyvind Gronstad" finds Øyvind Grønstad, "Müller" finds Muller
    for word in firm_words(index, rv)[1]:  # order and invoice numbers written in the text
        found.update(p for p in index.by_reference[word][:MAX_STRONG_CANDIDATES] if wide[0] <= index.completed[p] <= wide[1])
    for street in firm_words(index, rv)[2]:  # many customers live on Vestergade: keep the nearest in time
        found.update(index.lookup(("street", street), *wide, MAX_WEAK_CANDIDATES, rv.day))
    if name.first and name.last:
        cap = (MAX_STRONG_CANDIDATES, rv.day)  # common names (Jens Jensen) have many jobs: keep the nearest in time
        strong = index.lookup(("full", name.first, name.last), *wide, *cap)
        reversed_name = ("full", name.last, name.first)  # "Hansen Jens": seldom a customer's name
        if reversed_name in index.keys:
            strong = strong + index.lookup(reversed_name, *wide, *cap)
        if name.last_is_initial:
            strong += index.lookup(("first+initial", name.first, name.last), *wide, *cap)
        if name.first_is_initial:
            strong += index.lookup(("initial+last", name.first, name.last), *wide, *cap)
        found.update(strong)
        if not strong:  # a typo in the surname keeps its first letter; a nickname, a spouse: near in time
            found.update(index.lookup(("first+initial", name.first, name.last[0]), *wide, MAX_WEAK_CANDIDATES, rv.day))
            found.update(index.lookup(("initial+last", name.first[0], name.last), *narrow, MAX_WEAK_CANDIDATES, rv.day))
            found.update(index.lookup(("last", name.last), *narrow, MAX_WEAK_CANDIDATES, rv.day))
            # A surname no customer has may be a slip in its first letter ("Æstheim" for Sætheim): by the first name.
            if len(name.last) > 1 and ("last", name.last) not in index.keys:
                persons = index.persons
                found.update(p for p in index.lookup(("first", name.first), *narrow, SLIP_SCAN, rv.day)
                             if same_last_name(name.last, persons[p].last) == "spelling")
    elif name.first:
        found.update(index.lookup(("first", name.first), *narrow, MAX_WEAK_CANDIDATES, rv.day))
        found.update(index.lookup(("last", name.first), *narrow, MAX_WEAK_CANDIDATES, rv.day))
    elif name.last:  # a title and a surname, or its initial ("Herr M."): near in time
        key = ("last_initial", name.last) if name.last_is_initial else ("last", name.last)
        found.update(index.lookup(key, *narrow, MAX_WEAK_CANDIDATES, rv.day))
    if name.company or (name.words and len(name.words) <= 3):
        company = ("company", " ".join(name.words))
        if company in index.keys:  # seldom: asked before a lookup
            found.update(index.lookup(company, *wide, MAX_STRONG_CANDIDATES, rv.day))
    for postcode in index.postcodes & rv.word_set.union(rv.location.split()):  # "8240 Risskov", in the text or the location
        found.update(index.lookup(("postcode", postcode), *narrow, MAX_WEAK_CANDIDATES, rv.day))
    if rv.experienced is not None and rv.experienced != rv.day and name.words:
        found.update(_dated_jobs(index, rv))
    if rejected:
        return sorted(p for p in found if index.ids[p] not in rejected)
    return sorted(found)


DATED_SPAN = 60  # days from a job's start to its completion, at most, when a date of experience is its start


def _dated_jobs(index: JobIndex, rv: ReviewView) -> list[int]:
    """Jobs under the review's name keys that were completed on its date of experience, or, under its strong
    keys, started on it: a Lars who dates the work to a day keeps that day's Lars among his candidates,
    however many Lars came later. (Start days under a first name or surname alone: a common one's two
    months of jobs, read for every dated review, made matching a fifth slower.)"""
    name, day = plain_name(rv.name), rv.experienced
    if not name.first:  # a title and a surname, or its initial
        strong, weak = [], [("last_initial", name.last) if name.last_is_initial else ("last", name.last)]
    elif name.last:
        strong = [("full", name.first, name.last), ("first+initial", name.first, name.last[0]),
                  ("initial+last", name.first[0], name.last)]
        weak = [("last", name.last)]
    else:
        strong, weak = [], [("first", name.first), ("last", name.first)]
    facts = index.facts
    found = [position for key in strong + weak for position in index.lookup(key, day, day)]
    return found + [position for key in strong for position in index.lookup(key, day + 1, day + DATED_SPAN)
                    if facts[position].started == day]


def features(index: JobIndex, position: int, rv: ReviewView, name_reason: str | None = None) -> dict[str, float]:
    """The evidence one review gives for one job, by name (absent signals are 0)."""
    if name_reason is None:
        name_reason = index.name_fit(rv, position)[1]
    return review_features(index, rv, [(position, name_reason)])[0]


def review_features(index: JobIndex, rv: ReviewView, fits: list[tuple[int, str]]) -> list[dict[str, float]]:
    """features() of each of a review's candidates (position, how the name fits), in that order.

    The hot path of matching and of the estimation's rows: what depends on the review alone (how the name
    is written, what it tells at all, the rarity of each delay, the words it names) is read once, not per
    candidate, and the caches are read without method calls. Each dict's keys keep features()'s order:
    Model.utility sums in that order, so the scores stay the same to the last bit."""
    if not fits:
        return []
    written = written_as(rv.name)
    told = dict.fromkeys(rv.traits or review_traits(index, rv), 1.0)
    day, experienced, location, text = rv.day, rv.experienced, rv.location, rv.text
    categories_named = rv.kinds if rv.kinds is not None else kinds_named(index, rv)
    rarity_of_band = index.delay_rarity(day)
    crew_named, references_named, streets_named = rv.named or firm_words(index, rv)
    has_words = bool(rv.word_set)
    facts_of, persons, aliases, full_name_chances = index.facts, index.persons, index.aliases, index.full_name_chances
    logged_chances = index._log_coincidences
    jobs = len(index.jobs)
    job_words, type_of = index.job_words, index.type_of
    telling = job_words.telling_word(rv.word_set) if job_words is not None else None
    habits = index.site_habits.get(rv.review.get("source")) if index.site_habits else None
    # Strangers on this site sign in this form more (less) often than on the firm's others: every candidate's odds move.
    written_on_site = habits.get(written, 0.0) if habits else 0.0
    review_id = rv.review.get("id")
    weighed: list[dict[str, float]] = []
    for position, name_reason in fits:
        form = _NAME_FORMS[name_reason]
        if form is not None:
            level, by_email, name_feature, chance_feature, both_names = form
            if level == "other_first_name" and _partners(rv.name.first, (aliases[position] if by_email else persons[position]).first):
                # Hanne Hansen for Jens Hansen: a partner more often than a namesake
                name_feature, level = "name_partner", "partner"
            f = {name_feature: 1.0, written: 1.0}  # strangers write a name in this form this often
            if habits:
                f["name_site"] = habits.get(name_feature, 0.0) - written_on_site
            if by_email:
                f["name_by_email"] = 1.0
            # The more customers this name would fit by chance, the less a fit says (log of the expected count).
            if both_names:  # the customer's first name and surname: read for most candidates, kept per job
                chance = full_name_chances[position]
                if chance is None:  # kept here only, not also under (level, words)
                    chance = full_name_chances[position] = _log_count(index.coincidences(level, persons[position]))
            else:
                chance = logged_chances.get((level, (aliases[position] if by_email else persons[position]).words))
                if chance is None:
                    chance = index.log_coincidences(level, aliases[position] if by_email else persons[position])
            f[chance_feature] = chance
        else:  # found by a street, a postcode or a number in the text: the name does not fit
            f = {"name_none": 1.0}
            if habits:
                f["name_site"] = habits.get("name_none", 0.0)
        f.update(told)
        completed, started, city, city_in_text, postcode, categories, crew, references, street_in_text = facts_of[position]
        # A date of experience that is the review's own day is the site's default: it says nothing of the job.
        if experienced is not None and experienced != day and (experienced == completed or experienced == started):
            # The reviewer dated the work to this job's completion or start: as likely by chance as the share of
            # the firm's jobs completed (started) that day. It stands for the days since completion, which a
            # stranger's date, drawn as a job's would be, mirrors.
            dated = "dated_completion" if experienced == completed else "dated_start"
            f[dated] = 1.0
            f["delay_rarity"] = index.date_rarity("completed" if experienced == completed else "started", experienced)
        else:
            days = day - completed
            band = ("before_start" if day < started - 1 else "during_job" if days < 0
                    else _DAY_BUCKETS[days] if days < _DAY_BUCKET_COUNT else "days_over_400")
            f[band] = 1.0
            # As likely by chance as the share of the firm's jobs completed that long before this review's day.
            f["delay_rarity"] = rarity_of_band[band]
            if experienced is not None and experienced != day:
                offset = abs(experienced - completed)
                f["experienced_near" if offset <= 7 else "experienced_mid" if offset <= 30 else "experienced_far"] = 1.0
        if (city and (city in location or city_in_text in text)) or (postcode and postcode in location):
            f["location"] = 1.0
            # As likely by chance as the share of the firm's jobs in that town.
            f["location_rarity"] = -math.log(index.city_share.get(city, 1.0 / jobs))
        elif location:
            f["location_other"] = 1.0
        if categories_named and categories:
            shared = categories_named & categories
            if shared:
                f["job_type_same"] = 1.0
                # A roof says more than a bathroom when a quarter of the jobs are bathrooms.
                f["job_type_rarity"] = -math.log(min(map(index.category_share.__getitem__, shared)))
            else:
                f["job_type_other"] = 1.0
        # Beside the vocabulary's kinds of work, not instead: used only where the vocabulary was silent, the
        # learnt words found less on the zoo's free worlds.
        if telling is not None and type_of[position] >= 0:
            f["job_words"] = job_words.weight(telling, type_of[position], review_id)
        if has_words:
            if crew_named:
                shared_crew = crew & crew_named
                if shared_crew:
                    f["crew"] = 1.0
                    f["crew_rarity"] = -math.log(min(map(index.crew_share.__getitem__, shared_crew)))
                else:
                    f["crew_other"] = 1.0
            if references_named:
                shared_references = references & references_named
                if shared_references:
                    f["reference"] = 1.0
                    f["reference_rarity"] = math.log(jobs / min(len(index.by_reference[r]) for r in shared_references))
                else:
                    f["reference_other"] = 1.0
            if street_in_text and street_in_text in text:
                f["street"] = 1.0
                f["street_rarity"] = -math.log(index.count(("street", street_in_text[1:-1])) / jobs)
            elif streets_named:
                f["street_other"] = 1.0
        weighed.append(f)
    return weighed


# Which weight a chance count gets, by name form (both names: "coincidences").
_COINCIDENCES = {"first_only": "coincidences_one_name", "surname_only": "coincidences_one_name",
                 "other_first_name": "coincidences_one_name", "surname_initial": "coincidences_initial",
                 "first_initial": "coincidences_initial", "initials": "coincidences_initial",
                 "title_initial": "coincidences_initial"}


def _partners(first: str, other: str) -> bool:
    """Whether two first names are of different genders, as far as the first-name list knows them."""
    one, two = first_name_gender(first), first_name_gender(other)
    return one is not None and two is not None and one != two


def _day_bands(limits: tuple[tuple[int, str], ...]) -> list[str]:
    bands: list[str] = []
    for limit, band in limits:
        bands += [band] * (limit + 1 - len(bands))
    return bands


# The band of each number of days from completion to the review, 0-400: a list read for every candidate.
_DAY_BUCKETS = _day_bands(((7, "days_0_7"), (30, "days_8_30"), (60, "days_31_60"), (120, "days_61_120"),
                           (240, "days_121_240"), (400, "days_241_400")))
_DAY_BUCKET_COUNT = len(_DAY_BUCKETS)
_EXACT_FIT = (1.0, "first name exact, surname exact")
# Each band's days from completion to the review, (fewest, most), for the share of jobs completed in it;
# a review before the start or during the job: jobs completed up to a week or two after it.
_BAND_DAYS = {"before_start": (-WINDOW_AFTER, -2), "during_job": (-7, -1), "days_0_7": (0, 7), "days_8_30": (8, 30),
              "days_31_60": (31, 60), "days_61_120": (61, 120), "days_121_240": (121, 240), "days_241_400": (241, 400),
              "days_over_400": (401, WINDOW_BEFORE)}


class _NameForms(dict):
    """name_similarity's reason -> (name form, by e-mail address?, its feature, its chance feature, both of
    the customer's names?), or None for no fit; read as a plain dict."""

    def __missing__(self, reason: str) -> tuple[str, bool, str, str, bool] | None:
        level = _name_level(reason)
        by_email = reason.endswith("(e-mail address)")
        both_names = level in ("full", "variant", "reversed") and not by_email
        self[reason] = None if level is None else (
            level, by_email, f"name_{level}", _COINCIDENCES.get(level, "coincidences"), both_names)
        return self[reason]


_NAME_FORMS = _NameForms()


def _name_level(reason: str) -> str | None:
    """The form in which a name fits, from name_similarity's reason: 'first name exact, surname initial' -> surname_initial."""
    reason = reason.removesuffix(" (e-mail address)")
    if reason in ("no name", "different name"):
        return None
    if reason == "company name":
        return "company"
    if reason.startswith("first name only"):
        return "first_only"
    if reason == "surname only":
        return "surname_only"
    if reason == "same surname, other first name":
        return "other_first_name"
    if reason == "title, surname initial":
        return "title_initial"
    first_kind, last_kind = (part.split()[-1] for part in reason.split(", ")[:2])
    if first_kind == last_kind == "initial":
        return "initials"
    if last_kind == "initial":
        return "surname_initial"
    if first_kind == "initial":
        return "first_initial"
    if reason.endswith("reversed"):
        return "reversed"
    exact = ("exact", "transliteration")
    return "full" if first_kind in exact and last_kind in exact else "variant"


def explain(index: JobIndex, position: int, rv: ReviewView, f: dict[str, float], fit: str | None = None) -> dict[str, str]:
    """Each signal that fired, in words, for the reasons a person reads (`fit`: the name fit's reason, if known)."""
    job, facts = index.jobs[position], index.facts[position]
    days = rv.day - facts.completed
    fit = fit or index.name_fit(rv, position)[1]
    named = job.get("customer_email") if fit.endswith("(e-mail address)") else job.get("customer_name")
    why = {"name": f"{rv.review.get('author')!r} ~ {named!r}: {fit}"}
    why["date"] = (f"review {facts.started - rv.day} days before the job started" if f.get("before_start")
                   else f"review {days} days after completion")
    if f.get("dated_completion") or f.get("dated_start"):
        why["date"] = f"date of experience is the day the job {'was completed' if f.get('dated_completion') else 'started'}"
    elif rv.experienced is not None:
        why["experienced"] = f"date of experience {abs(rv.experienced - facts.completed)} days from completion"
    if f.get("location"):
        why["location"] = f"reviewer in {job.get('city') or job.get('postcode')}"
    if abs(f.get("name_site", 0.0)) >= SITE_SHOWN:
        why["site"] = (f"on {platform_name(rv.review.get('source'))} a name written this way is "
                       f"{'more' if f['name_site'] > 0 else 'less'} often a customer's than on the firm's other sites")
    if f.get("job_type_same"):
        why["job_type"] = f"text is about {_kinds_in_words(kinds_named(index, rv) & facts.categories, rv)} like the job ({job.get('job_type')})"
    elif f.get("job_type_other"):
        why["job_type"] = f"text is about {_kinds_in_words(kinds_named(index, rv), rv)}, the job was {job.get('job_type')}"
    if "job_words" in f and index.job_words is not None:
        word, lift = index.job_words.telling_word(rv.word_set), math.exp(f["job_words"])
        why["job_words"] = (f"mentions {word!r}, which this firm's reviews of {job.get('job_type')} jobs use {lift:.1f} times as "
                            "often as on average" if lift >= 1 else
                            f"mentions {word!r}, which this firm's reviews mostly use of jobs other than {job.get('job_type')}")
    if f.get("crew"):
        why["crew"] = f"names the crew: {', '.join(sorted(facts.crew & rv.word_set))}"
    if f.get("reference"):
        why["reference"] = f"quotes {', '.join(sorted(facts.references & rv.word_set))}"
    if f.get("street"):
        why["street"] = f"names the street {(job.get('address') or '').rsplit(' ', 1)[0]}"
    for name in ("coincidences", "coincidences_initial", "coincidences_one_name"):
        if name in f:
            why["commonness"] = f"the name would fit about {math.exp(f[name]):.1f} of the {len(index.jobs)} jobs by chance"
    return why


def _kinds_in_words(kinds: AbstractSet[str], rv: ReviewView) -> str:
    """Kinds of work as the reasons name them: the vocabulary's, or else the review's words that share a job type's."""
    named = sorted(kind for kind in kinds if not kind.startswith("w:"))
    return ", ".join(named or sorted(repr(word) for word in rv.word_set if _stem(word) in kinds))


# Which signals make up each piece of evidence a person reads: its weight is their sum.
_EVIDENCE_OF = {
    **{name: "name" for name in FEATURES if name.startswith(("name_", "coincidences", "written_"))}, "name_site": "site",
    **{band: "days" for band in _BAND_DAYS}, "delay_rarity": "days",
    "experienced_near": "experienced", "experienced_mid": "experienced", "experienced_far": "experienced",
    "dated_completion": "days", "dated_start": "days",
    "says_experienced": "experienced", "says_not_found": "reply",
    "location": "location", "location_rarity": "location", "location_other": "location", "says_location": "location",
    "job_type_same": "job_type", "job_type_rarity": "job_type", "job_type_other": "job_type", "says_job_type": "job_type",
    "job_words": "job_words", "crew": "crew", "crew_rarity": "crew", "crew_other": "crew", "says_crew": "crew",
    "reference": "reference", "reference_rarity": "reference", "reference_other": "reference", "says_reference": "reference",
    "street": "street", "street_rarity": "street", "street_other": "street", "says_street": "street",
}


def evidence(index: JobIndex, position: int, rv: ReviewView, f: dict[str, float], model: Model,
             fit: str | None = None, signals: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """The evidence for one candidate as a person reads it, each piece with its numbers and its weight
    (its part of the log-odds); the explorer words them in the owner's language. `signals`: the
    candidate's model.contributions, if known."""
    job, facts = index.jobs[position], index.facts[position]
    fit = fit or index.name_fit(rv, position)[1]
    weight: dict[str, float] = defaultdict(float)
    evidence_of = _EVIDENCE_OF.get
    for name, value in (signals if signals is not None else model.contributions(f)).items():
        weight[evidence_of(name, name)] += value
    # Each piece is a dict literal, not made by a helper with keyword arguments: evidence is built for most
    # reviews, and that halved its time. Key order does not matter: _reasons_json sorts the keys.
    form = _NAME_FORMS[fit]
    by_email = form is not None and form[1]
    chance = None
    for name in _CHANCE_FEATURES:
        if name in f:
            chance = f[name]
            break
    # The name piece carries the job's own prior chance, 1 in N, as a person weighs "fits 1 of 2,400 customers".
    weight["name"] += math.log(max(len(index.jobs), 1))
    if abs(weight.get("site", 0.0)) < SITE_SHOWN:  # a site's slight habit is part of how the name reads, not a line of its own
        weight["name"] += weight.pop("site", 0.0)
    pieces: list[dict[str, Any]] = [{
        "kind": "name" if form else "name_none", "author": rv.review.get("author") or "",
        "customer": (job.get("customer_email") if by_email else job.get("customer_name")) or "",
        "form": ("partner" if "name_partner" in f else form[0]) if form else None, "by_email": by_email,
        "fits": round(math.exp(chance), 1) if chance is not None else None, "customers": len(index.jobs),
        "named": index.customers_named_alike(form[0], index.aliases[position] if by_email else index.persons[position])
        if form else None, "of_customers": index.customer_count(),
        "weight": round(weight["name"], 2)}]
    if "site" in weight:  # this site's reviewers sign in this form more, or less, often than elsewhere
        pieces.append({"kind": "site_usual" if weight["site"] > 0 else "site_unusual",
                       "site": platform_name(rv.review.get("source")), "weight": round(weight["site"], 2)})
    dated = "completion" if f.get("dated_completion") else "start" if f.get("dated_start") else None
    if dated:  # the date of experience stands for the days since completion: one piece for both
        pieces.append({"kind": f"experienced_{dated}", "date": date.fromordinal(rv.experienced).isoformat(),
                       "weight": round(weight.get("days", 0.0) + weight.get("experienced", 0.0), 2)})
    elif f.get("before_start"):
        pieces.append({"kind": "before_start", "days": facts.started - rv.day, "weight": round(weight.get("days", 0.0), 2)})
    elif f.get("during_job"):
        pieces.append({"kind": "during_job", "weight": round(weight.get("days", 0.0), 2)})
    else:
        pieces.append({"kind": "days", "days": rv.day - facts.completed, "weight": round(weight.get("days", 0.0), 2)})
    if rv.experienced is not None and not dated:
        pieces.append({"kind": "experienced", "days": abs(rv.experienced - facts.completed),
                       "weight": round(weight.get("experienced", 0.0), 2)})
    if f.get("location"):
        pieces.append({"kind": "location", "place": job.get("city") or job.get("postcode") or "",
                       "weight": round(weight.get("location", 0.0), 2)})
    elif f.get("location_other"):
        pieces.append({"kind": "location_other", "place": rv.review.get("author_location") or "",
                       "weight": round(weight.get("location", 0.0), 2)})
    same_type = f.get("job_type_same")
    if same_type or f.get("job_type_other"):
        lang = rv.review.get("lang")
        kinds = kinds_named(index, rv)
        wanted = kinds & facts.categories if same_type else kinds
        # Each distinct word once (the set of words), each word's categories looked up once per language.
        words = sorted([word for word in rv.word_set if (_word_categories(word, lang) | _stems((word,))) & wanted])
        pieces.append({"kind": "job_type" if same_type else "job_type_other", "words": words,
                       "job_type": job.get("job_type") or "", "weight": round(weight.get("job_type", 0.0), 2)})
    if "job_words" in f and index.job_words is not None:
        lift = math.exp(f["job_words"])
        pieces.append({"kind": "job_words" if lift >= 1 else "job_words_other", "word": index.job_words.telling_word(rv.word_set),
                       "job_type": job.get("job_type") or "", "times": round(lift, 1),
                       "weight": round(weight.get("job_words", 0.0), 2)})
    crew_named, references_named, streets_named = firm_words(index, rv)
    if f.get("crew") or f.get("crew_other"):
        pieces.append({"kind": "crew" if f.get("crew") else "crew_other",
                       "names": sorted(facts.crew & crew_named) if f.get("crew") else sorted(crew_named),
                       "weight": round(weight.get("crew", 0.0), 2)})
    if f.get("reference") or f.get("reference_other"):
        pieces.append({"kind": "reference" if f.get("reference") else "reference_other",
                       "numbers": sorted(facts.references & references_named) if f.get("reference") else sorted(references_named),
                       "weight": round(weight.get("reference", 0.0), 2)})
    if f.get("street") or f.get("street_other"):
        pieces.append({"kind": "street" if f.get("street") else "street_other",
                       "street": facts.street_in_text.strip() if f.get("street") else ", ".join(sorted(streets_named)),
                       "weight": round(weight.get("street", 0.0), 2)})
    if f.get("says_not_found"):
        pieces.append({"kind": "reply_not_found", "weight": round(weight.get("reply", 0.0), 2)})
    if model.none_share is not None:
        pieces.append({"kind": "never_customers", "share": round(model.none_share, 2), "customers": len(index.jobs),
                       "weight": round(model.intercept - math.log(max(len(index.jobs), 1)), 2)})
    return pieces


_CHANCE_FEATURES = ("coincidences", "coincidences_initial", "coincidences_one_name")


@lru_cache(maxsize=100_000)
def _word_categories(word: str, lang: str | None) -> frozenset[str]:
    """The kinds of work one folded word of a text in `lang` names."""
    return frozenset(job_type_words().find([word], lang))


def _reasons_json(reasons: dict[str, Any]) -> str:
    """matches.reasons: compact, keys sorted; orjson takes a fifth of the json module's time."""
    return orjson.dumps(reasons, option=orjson.OPT_SORT_KEYS).decode()


ALTERNATIVES = 4  # candidates kept in a match's reasons beyond the proposal and the runner-up
_NO_CANDIDATES = _reasons_json({"candidates": 0})


@dataclass(slots=True)
class MatchResult:
    review_id: str
    job_id: str | None
    score: float
    status: str  # auto, ambiguous or unmatched
    reasons_json: str  # as matches.reasons stores it: made in the workers, a fifth of a dict's memory

    @classmethod
    def of(cls, review_id: str, job_id: str | None, score: float, status: str, reasons: dict[str, Any]) -> "MatchResult":
        return cls(review_id, job_id, score, status, _reasons_json(reasons))

    @property
    def reasons(self) -> dict[str, Any]:
        return json.loads(self.reasons_json)


def name_fits(index: JobIndex, rv: ReviewView, found: list[int]) -> list[tuple[int, str]]:
    """The candidates worth weighing against each other, with how the name fits: all of them, or
    for a review with many, the best few by name, then nearest in time."""
    if len(found) <= SCORED_CANDIDATES:  # most reviews
        return [(position, index.name_fit(rv, position)[1]) for position in found]
    # Best name first, then nearest in time (reviews long before completion last; a job the date of
    # experience or a quoted number points to counts as nearest), then position: plain tuples, sorted
    # without a key function.
    fits = []
    dated = rv.experienced if rv.experienced is not None and rv.experienced != rv.day else None
    quoted = firm_words(index, rv)[1]
    for position in found:
        score, reason = index.name_fit(rv, position)
        days = rv.day - index.completed[position]
        facts = index.facts[position]
        pointed = (dated is not None and (facts.completed == dated or facts.started == dated)) or (
            quoted and not facts.references.isdisjoint(quoted))
        fits.append((-score, 0 if pointed else abs(days) if days >= -WINDOW_AFTER else 10**6, position, reason))
    fits.sort()
    return [(position, reason) for _, _, position, reason in fits[:SCORED_CANDIDATES]]


def scored_candidates(index: JobIndex, rv: ReviewView, found: list[int]) -> list[tuple[int, dict[str, float], str]]:
    """name_fits with each candidate's features."""
    return [(position, features(index, position, rv, reason), reason) for position, reason in name_fits(index, rv, found)]


def match_review(index: JobIndex, review: dict[str, Any], model: Model, settings: Settings,
                 rejected: AbstractSet[str] = frozenset()) -> MatchResult:
    """The most likely job for one review, or why there is none."""
    return MatchResult(*match_reviews(index, [review], model, settings, {review["id"]: rejected} if rejected else {})[0])


def match_reviews(index: JobIndex, reviews: list[dict[str, Any]], model: Model, settings: Settings,
                  rejected: dict[str, AbstractSet[str]]) -> list[tuple[str, str | None, float, str, str]]:
    """MatchResult fields for each review. Stage by stage over the batch, not review by review: each
    stage's code and data stay hot in the processor's caches, which made matching a fifth faster."""
    viewed = views(reviews)
    found = [candidates(index, rv, rejected.get(rv.review["id"], frozenset())) for rv in viewed]
    fits = [name_fits(index, rv, positions) for rv, positions in zip(viewed, found)]
    weighed = list(map(review_features, [index] * len(viewed), viewed, fits))
    probabilities = list(map(model.probabilities, weighed))
    return [_decide(index, rv, len(positions), fit, f, p, model, settings)
            for rv, positions, fit, f, p in zip(viewed, found, fits, weighed, probabilities)]


def _decide(index: JobIndex, rv: ReviewView, candidate_count: int, fits: list[tuple[int, str]],
            weighed: list[dict[str, float]], probabilities: list[float], model: Model,
            settings: Settings) -> tuple[str, str | None, float, str, str]:
    """The best candidate, the status its score and the runner-up's give, and the reasons."""
    review_id = rv.review["id"]
    if not candidate_count:
        return review_id, None, 0.0, "unmatched", _NO_CANDIDATES
    if len(fits) == 1:  # a quarter of all reviews
        order = [(-probabilities[0], fits[0][0], 0)]
    else:  # highest probability first, ties by position: plain tuples sort in C
        order = sorted(zip(map(operator.neg, probabilities), [position for position, _ in fits], range(len(fits))))
    _, best, i = order[0]
    best_p, best_f = probabilities[i], weighed[i]
    reasons: dict[str, Any] = {"candidates": candidate_count, "signals": model.contributions(best_f), "job": index.ids[best]}
    if best_p >= settings.threshold / 2:  # words for what a person may look at; not for the clearly unmatched
        reasons["explained"] = explain(index, best, rv, best_f, fits[i][1])
        reasons["evidence"] = evidence(index, best, rv, best_f, model, fits[i][1], reasons["signals"])
    runner_up_p = -order[1][0] if len(order) > 1 else None
    if runner_up_p is not None:
        reasons["runner_up"] = {"job": index.ids[order[1][1]], "score": round(runner_up_p, 3)}
        # The next likely ones too, for a person who finds the proposal wrong (the explorer lists them).
        others = [{"job": index.ids[position], "score": round(-neg_p, 3)} for neg_p, position, _ in order[2:ALTERNATIVES + 2]
                  if -neg_p >= 0.01]
        if others:
            reasons["alternatives"] = others
    # Two close candidates that together are likely: the review is about one of them, a person picks.
    if runner_up_p is not None and best_p - runner_up_p < settings.margin and best_p + runner_up_p >= settings.threshold:
        status, job_id = "ambiguous", index.ids[best]
    elif best_p < settings.threshold:
        status, job_id = "unmatched", None
    else:
        status, job_id = "auto", index.ids[best]
    return review_id, job_id, round(best_p, 4), status, _reasons_json(reasons)


def match_all(reviews: list[dict[str, Any]], jobs: list[dict[str, Any]], model: Model | None = None,
              settings: Settings | None = None, rejected: dict[str, AbstractSet[str]] | None = None,
              decided: list[tuple[dict[str, Any], str | None]] | None = None) -> list[MatchResult]:
    """Match every review of one business against that business's jobs.

    Without a `model`, the firm's own is estimated first (monitor/estimate.py); `decided` are reviews a
    person matched (a job id) or called no customer (None), which teach that estimate."""
    return match_business(reviews, jobs, model, settings, rejected, decided)[0]


def match_business(reviews: list[dict[str, Any]], jobs: list[dict[str, Any]], model: Model | None = None,
                   settings: Settings | None = None, rejected: dict[str, AbstractSet[str]] | None = None,
                   decided: list[tuple[dict[str, Any], str | None]] | None = None
                   ) -> tuple[list[MatchResult], Estimates | None]:
    """match_all, with the firm's estimates (None when a model was given)."""
    settings = settings or Settings()
    rejected = rejected or {}
    with _collector_paused():
        # The index and the rows are freed before the collector runs again: it would otherwise scan
        # them once more on the first allocation after matching (0.2 s at 100,000 reviews, now 0.1).
        index = JobIndex.build(jobs)
        estimates = None
        if model is None:
            estimates = estimate_firm(index, reviews, rejected, decided or [])
            index.job_words = estimates.job_words
            index.site_habits = estimates.site_habits
            model = Model(estimates.intercept, estimates.weights, estimates.none_share)
        return [MatchResult(*row) for row in _match_fields(reviews, index, model, settings, rejected)], estimates


ESTIMATION_REVIEWS = 8_000  # a bigger firm's figures are estimated on an even spread of this many


def estimate_firm(index: JobIndex, reviews: list[dict[str, Any]], rejected: dict[str, AbstractSet[str]],
                  decided: list[tuple[dict[str, Any], str | None]]) -> Estimates:
    """The firm's m, u and never-customer share by EM over its reviews' candidates, decisions included."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    step = max(1, math.ceil(len(reviews) / ESTIMATION_REVIEWS))
    decided_ids = {review["id"] for review, _ in decided}
    sample = [review for review in reviews[::step] if review["id"] not in decided_ids] + [review for review, _ in decided]
    answer = {review["id"]: job for review, job in decided}
    position_of = {job_id: position for position, job_id in enumerate(index.ids)} if decided else {}
    global _ESTIMATING
    _ESTIMATING = (index, sample, answer, position_of, rejected)
    ranges = [(start, min(start + CHUNK_REVIEWS // 2, len(sample))) for start in range(0, len(sample), CHUNK_REVIEWS // 2)]
    try:
        # In this process: the caches it fills (names parsed, compared; words of job types) are the
        # matching workers' when they fork. Workers of its own filled them twice, for more time in all.
        parts = list(map(_estimation_rows, ranges))
    finally:
        _ESTIMATING = None
    columns, values, sizes, review_of_row, written, traits, positions, words = [], [], [], [], [], [], [], []
    fixed_row: dict[int, int] = {}
    excluded: list[int] = []
    for (start, _), part in zip(ranges, parts):
        positions += part[8]
        words += part[9]
        offset = len(review_of_row)
        columns += part[0]
        values += part[1]
        sizes += part[2]
        review_of_row += [start + number for number in part[3]]
        fixed_row |= {start + number: row if row < 0 else offset + row for number, row in part[4].items()}
        excluded += [offset + row for row in part[5]]
        written += part[6]
        traits += part[7]
    matrix = np.zeros((len(review_of_row), len(FEATURES)))
    matrix[np.repeat(np.arange(len(review_of_row)), sizes), columns] = values
    rows_of_review = np.array(review_of_row, dtype=int)
    row_type = np.array(index.type_of, dtype=int)[np.array(positions, dtype=int)] if positions else np.zeros(0, dtype=int)
    counting = Counting.build(words, rows_of_review, row_type, index.type_names, [review["id"] for review in sample])
    with threadpool_limits(1):  # BLAS threads left spinning after EM would take the matching workers' cores
        return estimate(matrix, rows_of_review, np.array(written, dtype=int),
                        np.array(traits, dtype=float).reshape(len(sample), len(TRAITS)), len(index.jobs), FEATURES,
                        fixed_row, np.array(excluded, dtype=int), company_share=index.company_share(), job_words=counting,
                        sources=[review.get("source") for review in sample])


_ESTIMATING: tuple[JobIndex, list[dict[str, Any]], dict[str, str | None], dict[str, int],
                   dict[str, AbstractSet[str]]] | None = None
_COLUMN_OF = {name: i for i, name in enumerate(FEATURES)}.__getitem__


def _estimation_rows(bounds: tuple[int, int]) -> tuple[list[int], list[float], list[int], list[int], dict[int, int],
                                                       list[int], list[int], list[list[bool]], list[int], list[set[str]]]:
    """A range of the sample's candidates as sparse feature rows (columns, values, features per row), each
    row's review, fixed answers (review -> row, -1 for none), rejected rows, how names are written, traits,
    each row's job, and each review's words."""
    assert _ESTIMATING is not None, "set by estimate_firm"
    index, sample, answer, position_of, rejected = _ESTIMATING
    columns: list[int] = []
    values: list[float] = []
    sizes: list[int] = []
    positions: list[int] = []
    review_of_row: list[int] = []
    fixed_row: dict[int, int] = {}
    excluded: list[int] = []
    viewed = views(sample[bounds[0]:bounds[1]])
    for number, rv in enumerate(viewed):
        review_id = rv.review["id"]
        pairs = name_fits(index, rv, candidates(index, rv))  # rejected jobs too: known not to be the review's
        chosen = position_of.get(answer.get(review_id))
        if chosen is not None and chosen not in [position for position, _ in pairs]:
            pairs.append((chosen, index.name_fit(rv, chosen)[1]))  # a job the person found that blocking did not
        fixed = -1 if review_id in answer and answer[review_id] is None else None
        refused = rejected.get(review_id, ())
        for (position, _), f in zip(pairs, review_features(index, rv, pairs)):
            columns += map(_COLUMN_OF, f)
            values += f.values()
            sizes.append(len(f))
            if refused and index.ids[position] in refused:
                excluded.append(len(review_of_row))
            if position == chosen:
                fixed = len(review_of_row)
            review_of_row.append(number)
            positions.append(position)
        if fixed is not None:
            fixed_row[number] = fixed
    written = [written_index(index, rv) for rv in viewed]
    traits = [[trait in review_traits(index, rv) for trait in TRAITS] for rv in viewed]
    return columns, values, sizes, review_of_row, fixed_row, excluded, written, traits, positions, [rv.word_set for rv in viewed]


def _match_fields(reviews: list[dict[str, Any]], index: JobIndex, model: Model, settings: Settings,
                  rejected: dict[str, AbstractSet[str]]) -> list[tuple[str, str | None, float, str, str]]:
    workers = min(os.cpu_count() or 1, 4)
    if len(reviews) < PARALLEL_FROM or workers < 2:
        return [row for start in range(0, len(reviews), CHUNK_REVIEWS)
                for row in match_reviews(index, reviews[start:start + CHUNK_REVIEWS], model, settings, rejected)]
    # Forked workers share the index and the reviews copy-on-write; each matches a range of the
    # reviews, so only the results cross between processes. This process matches too, with one worker
    # fewer: a worker copies the index's pages as it reads them (reference counts), 200 MB at 100,000
    # reviews, and this process owns its pages already.
    global _SHARED
    ranges = [(start, min(start + CHUNK_REVIEWS, len(reviews))) for start in range(0, len(reviews), CHUNK_REVIEWS)]
    context = multiprocessing.get_context("fork")
    _SHARED = (index, model, settings, rejected, reviews, ranges, context.Value("i", 0))
    try:
        with context.Pool(workers - 1) as pool:
            # One small range at a time, whoever is free takes the next: with big ones, a range slowed
            # by a busy machine left the other core idle for up to 1.6 s at the end.
            theirs = pool.map_async(_match_claimed, [None] * (workers - 1), chunksize=1)
            parts = dict(_match_claimed(None))
            for part in theirs.get():
                parts.update(part)
    finally:
        _SHARED = None
    return [row for number in range(len(ranges)) for row in parts[number]]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Matching makes millions of small tuples and no reference cycles: the cyclic garbage collector
    would only re-scan the growing index (a third of the index build time). Reference counting still
    frees everything; the collector runs again afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


PARALLEL_FROM = 20_000
CHUNK_REVIEWS = 2_000  # a batch, and a worker's task: about 0.2 s, so the workers finish within that of each other
_SHARED: tuple[JobIndex, Model, Settings, dict[str, AbstractSet[str]], list[dict[str, Any]], list[tuple[int, int]],
              Any] | None = None


def _match_claimed(_: None) -> list[tuple[int, list[tuple[str, str | None, float, str, str]]]]:
    """The ranges of reviews this process claimed (the next unclaimed one until none is left), each
    numbered. Results travel back as plain tuples: pickling 100,000 dataclass instances took a second,
    tuples take a few hundredths."""
    assert _SHARED is not None, "set by match_all before the workers fork"
    index, model, settings, rejected, reviews, ranges, claimed = _SHARED
    done = []
    while True:
        with claimed.get_lock():
            number = claimed.value
            claimed.value += 1
        if number >= len(ranges):
            return done
        start, end = ranges[number]
        done.append((number, match_reviews(index, reviews[start:end], model, settings, rejected)))


def run_matching(db: sqlite_utils.Database, settings_by_business: dict[str, Settings] | None = None) -> dict[str, int]:
    """Match every review without a person's confirmation, per business; write what changed."""
    from monitor.store import save_matches

    totals = {"auto": 0, "ambiguous": 0, "unmatched": 0, "changed": 0}
    settings_by_business = settings_by_business or {}
    for (business_id,) in db.execute("SELECT id FROM businesses").fetchall():
        jobs = list(db.query("SELECT * FROM jobs WHERE business_id = ?", [business_id]))
        confirmed = {row[0] for row in db.execute(  # confirmed, or "not our customer" (rejected without a job)
            "SELECT review_id FROM matches WHERE status = 'confirmed' OR (status = 'rejected' AND job_id IS NULL)").fetchall()}
        rejected: dict[str, set[str]] = defaultdict(set)
        for review_id, job_id in db.execute("SELECT review_id, job_id FROM matches WHERE status = 'rejected'").fetchall():
            rejected[review_id].add(job_id)
        every_review = list(db.query(
            "SELECT id, source, author, author_location, title, body, reply_body, lang, published_at, experienced_at "
            "FROM reviews WHERE business_id = ?", [business_id]))
        reviews = [r for r in every_review if r["id"] not in confirmed]
        # A person's answers teach the business's estimates: the job confirmed, or none for "not our customer".
        answers = dict(db.execute("SELECT review_id, job_id FROM matches WHERE status = 'confirmed' "
                                  "OR (status = 'rejected' AND job_id IS NULL)").fetchall())
        decided = [(r, answers[r["id"]]) for r in every_review if r["id"] in answers]
        if jobs:
            results, estimates = match_business(reviews, jobs, settings=settings_by_business.get(business_id),
                                                rejected=rejected, decided=decided)
        else:
            results, estimates = [MatchResult.of(r["id"], None, 0.0, "unmatched", {"candidates": 0}) for r in reviews], None
        for result in results:
            totals[result.status] += 1
        totals["changed"] += save_matches(db, results)
        if estimates is not None:
            save_estimates(db, business_id, estimates)
    return totals


def save_estimates(db: sqlite_utils.Database, business_id: str, estimates: Estimates) -> None:
    """The business's row of match_estimates, replaced."""
    from monitor.db import utc_now, write_transaction

    with write_transaction(db):
        db.table("match_estimates").upsert(estimates.as_row(business_id, utc_now()), pk="business_id")
