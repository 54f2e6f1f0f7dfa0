"""The exact posterior of each zoo review's true job, from the world's own generative probabilities.

For a review r and each job j: P(r | j) is the product of the chances of every choice `monitor.zoo` made
in writing it (site, name form, spelling, dates, location, what the text names, the reply); the
choices that do not depend on the job (rating, plain sentences, title text, language, lower case) are
common to every hypothesis and left out. P(r | never a customer) sums the same chances over the
population and over jobs that never were. Each review is taken on its own, with the job export, as a
matcher sees it. Jobs are left out of a review's sum only where its likelihood is exactly zero.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from monitor.zoo import World, start_weights
from monitor.zoo_writing import (EXPERIENCED_AT, LOWERCASE, MENTION_CHANCES, SAME_TOWN, TRANSLITERATED, UNKNOWN_REPLY,
                                 WINDOW_DAYS, delay_pmf, translit, typo_variants)
from monitor.zoo_people import SALUTATIONS, Company, Person, pools
from monitor.zoo_texts import ANONYMOUS, COMPANY_FORMS, HANDLES, REPLIES, TRADES, naming_patterns, platforms

assert LOWERCASE < 1  # lower case is chosen alike for every author, so it cancels: names compare in lower case


def _initial(token: str) -> str:
    return token[:1] + "."


class NameModel:
    """Chances of a display name given a known person, and given a random person of the country."""

    def __init__(self, country: str) -> None:
        self.country = country
        self.pools = p = pools(country)
        self.styles = {"none": 1 - sum(TRANSLITERATED.values()), **TRANSLITERATED} if country != "en" else {"none": 1.0}
        self.salutations = tuple(s.lower() for s in SALUTATIONS.get(country, ("", "")))
        self.first: dict[tuple[int, str], dict[str, float]] = {}  # (gender, style) -> lower token -> mass
        self.first_initial: dict[tuple[int, str], dict[str, float]] = {}
        self.nick: dict[tuple[int, str], dict[str, float]] = {}  # shown nickname, or the first name if it has none
        self.first_middle: dict[tuple[int, str], dict[tuple[str, str], float]] = {}
        self.last: dict[str, dict[str, float]] = {}
        self.last_initial: dict[str, dict[str, float]] = {}
        for style in self.styles:
            self.last[style] = _masses({translit(n, style).lower(): w for n, w in p.surnames.items()}, p.surnames, style)
            self.last_initial[style] = _sum_by(((_initial(translit(n, style).lower()), w) for n, w in p.surnames.items()))
            for gender in (0, 1):
                names = p.first[gender]
                self.first[gender, style] = _sum_by((translit(n, style).lower(), w) for n, w in names.items())
                self.first_initial[gender, style] = _sum_by((_initial(translit(n, style).lower()), w) for n, w in names.items())
                shown = []
                for n, w in names.items():
                    nicks = p.nicknames.get(n)
                    if nicks:
                        shown += [(translit(k, style).lower(), w / len(nicks)) for k in nicks]
                    else:
                        shown.append((translit(n, style).lower(), w))
                self.nick[gender, style] = _sum_by(shown)
                pairs = defaultdict(float)
                for a, wa in names.items():
                    for b, wb in names.items():
                        if a != b:
                            pairs[translit(a, style).lower(), translit(b, style).lower()] += wa * wb / (1 - wa)
                self.first_middle[gender, style] = dict(pairs)
        self.typo_first = {g: _sum_by((v, w * q) for n, w in p.first[g].items() for v, q in typo_variants(n.lower()).items())
                           for g in (0, 1)}
        self.typo_last = _sum_by((v, w * q) for n, w in p.surnames.items() for v, q in typo_variants(n.lower()).items())
        handles = [h.lower() for h in HANDLES[country]]
        self.handle = {h: 0.5 / len(handles) for h in handles}
        self.handle.update({f"{h}{n}": 0.5 / len(handles) / 90 for h in handles for n in range(10, 100)})
        anonymous = [a.lower() for a in ANONYMOUS[country]]
        self.anonymous = {a: 1 / len(anonymous) for a in anonymous}

    def nameless(self, text: str, forms: dict[str, float]) -> float:
        """The part of a name's chance that any person shares: a handle or no name."""
        return forms.get("handle", 0.0) * self.handle.get(text, 0.0) + forms.get("anonymous", 0.0) * self.anonymous.get(text, 0.0)

    def random_person(self, tokens: tuple[str, ...], forms: dict[str, float]) -> float:
        """Chance that a random person of the country shows this name on a site with these forms (nameless left out)."""
        total = 0.0
        n = len(tokens)
        middle = self.pools.middle_share
        for gender in (0, 1):
            by_form = 0.0
            for style, chance in self.styles.items():
                first, last = self.first[gender, style], self.last[style]
                part = 0.0
                if n == 1:
                    part += forms.get("first", 0.0) * first.get(tokens[0], 0.0)
                elif n == 2:
                    o0, o1 = tokens
                    both = first.get(o0, 0.0) * last.get(o1, 0.0)
                    part += (forms.get("full", 0.0) + forms.get("full_middle", 0.0) * (1 - middle)) * both
                    part += forms.get("first_initial", 0.0) * first.get(o0, 0.0) * self.last_initial[style].get(o1, 0.0)
                    part += forms.get("initial_last", 0.0) * self.first_initial[gender, style].get(o0, 0.0) * last.get(o1, 0.0)
                    if o0 == self.salutations[gender]:
                        part += forms.get("salutation", 0.0) * self.last_initial[style].get(o1, 0.0)
                    part += forms.get("nickname", 0.0) * self.nick[gender, style].get(o0, 0.0) * last.get(o1, 0.0)
                    part += forms.get("spouse", 0.0) * self.first[1 - gender, style].get(o0, 0.0) * last.get(o1, 0.0)
                elif n == 3:
                    part += forms.get("full_middle", 0.0) * middle * self.first_middle[gender, style].get(tokens[:2], 0.0) * \
                        self.last[style].get(tokens[2], 0.0)
                by_form += chance * part
            if n == 2:  # slips are typed without transliteration
                o0, o1 = tokens
                by_form += forms.get("typo", 0.0) * 0.5 * (self.typo_first[gender].get(o0, 0.0) * self.last["none"].get(o1, 0.0)
                                                           + self.first[gender, "none"].get(o0, 0.0) * self.typo_last.get(o1, 0.0))
            total += 0.5 * by_form
        return total


def _sum_by(pairs: Any) -> dict[Any, float]:
    out: dict[Any, float] = defaultdict(float)
    for key, weight in pairs:
        out[key] += weight
    return dict(out)


def _masses(by_token: dict[str, float], names: dict[str, float], style: str) -> dict[str, float]:
    """Mass per shown token (names that fold to one token add up)."""
    return _sum_by((translit(n, style).lower(), w) for n, w in names.items())


class KnownNames:
    """The export's person customers as arrays of name tokens, to weigh a display name against all at once."""

    def __init__(self, names: NameModel, people: list[Person | Company]) -> None:
        self.names = names
        self.styles = list(names.styles.items())
        vocab: dict[str, int] = {}

        def vid(token: str) -> int:
            return vocab.setdefault(token, len(vocab))

        persons = [(i, c) for i, c in enumerate(people) if isinstance(c, Person)]
        size = len(people)
        columns = ("first", "last", "middle", "first_initial", "last_initial", "nick1", "nick2")
        ids = {(style, col): [None] * size for style, _ in self.styles for col in columns}
        self.gender = np.full(size, 2)
        self.has_middle = np.zeros(size, dtype=bool)
        self.nicks = np.zeros(size, dtype=int)
        salutation = [None] * size
        for position, person in persons:
            self.gender[position] = person.gender
            self.has_middle[position] = person.middle is not None
            nicks = names.pools.nicknames.get(person.first, ())
            self.nicks[position] = len(nicks)
            if names.salutations[person.gender]:
                salutation[position] = vid(names.salutations[person.gender])
            for style, _ in self.styles:
                tf, tl = translit(person.first, style).lower(), translit(person.last, style).lower()
                ids[style, "first"][position] = vid(tf)
                ids[style, "last"][position] = vid(tl)
                ids[style, "first_initial"][position] = vid(_initial(tf))
                ids[style, "last_initial"][position] = vid(_initial(tl))
                if person.middle:
                    ids[style, "middle"][position] = vid(translit(person.middle, style).lower())
                for k, nick in enumerate(nicks[:2]):
                    ids[style, f"nick{k + 1}"][position] = vid(translit(nick, style).lower())
        self.vocab = vocab
        self.missing = len(vocab)  # the id of "no such token"; an observed token not in vocab gets -1
        self.columns = {key: np.array([self.missing if v is None else v for v in values]) for key, values in ids.items()}
        self.salutation = np.array([self.missing if v is None else v for v in salutation])
        self.typo_sources: dict[str, dict[int, float]] = defaultdict(dict)  # shown slip -> first or last id -> chance
        for position, person in persons:
            for token in (person.first.lower(), person.last.lower()):
                token_id = vocab[token]
                for variant, chance in typo_variants(token).items():
                    self.typo_sources[variant][token_id] = chance

        # Which jobs a shown token can concern: every form names the first name, the surname or a salutation.
        rows: dict[Any, set[int]] = defaultdict(set)
        for style, _ in self.styles:
            for column in ("first", "last"):
                for position, token_id in enumerate(self.columns[style, column]):
                    rows[int(token_id)].add(position)
            for position, (title, initial) in enumerate(zip(self.salutation, self.columns[style, "last_initial"])):
                rows[int(title), int(initial)].add(position)
        self.rows = {key: np.array(sorted(found)) for key, found in rows.items() if key != self.missing}

    def candidates(self, tokens: tuple[str, ...]) -> np.ndarray:
        """The jobs whose person customer could show these tokens; all others have no chance."""
        shown = [self.vocab.get(t, -1) for t in tokens]
        found = [self.rows.get(shown[0]), self.rows.get(shown[-1])]
        if len(tokens) == 2:
            found.append(self.rows.get((shown[0], shown[1])))
        arrays = [a for a in found if a is not None]
        return np.unique(np.concatenate(arrays)) if arrays else np.array([], dtype=int)

    def _typo_table(self, shown: str) -> np.ndarray:
        table = np.zeros(self.missing + 1)
        for token_id, chance in self.typo_sources.get(shown, {}).items():
            table[token_id] = chance
        return table

    def chances(self, tokens: tuple[str, ...], forms: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The jobs whose person customer may show this name, and the chance that they do (nameless forms left out)."""
        n = len(tokens)
        if n not in (1, 2, 3):
            return np.array([], dtype=int), np.array([])
        rows = self.candidates(tokens)
        total = np.zeros(len(rows))
        shown = [self.vocab.get(t, -1) for t in tokens]
        col = {key: values[rows] for key, values in self.columns.items()}
        has_middle, nicks, salutation, gender = self.has_middle[rows], self.nicks[rows], self.salutation[rows], self.gender[rows]
        for style, chance in self.styles:
            first, last = col[style, "first"], col[style, "last"]
            if n == 1:
                total += chance * forms.get("first", 0.0) * (first == shown[0])
            elif n == 2:
                same_first, same_last = first == shown[0], last == shown[1]
                full_share = forms.get("full", 0.0) + forms.get("full_middle", 0.0) * ~has_middle + \
                    forms.get("nickname", 0.0) * (nicks == 0)
                part = full_share * (same_first & same_last)
                part += forms.get("first_initial", 0.0) * (same_first & (col[style, "last_initial"] == shown[1]))
                part += forms.get("initial_last", 0.0) * ((col[style, "first_initial"] == shown[0]) & same_last)
                part += forms.get("salutation", 0.0) * ((salutation == shown[0]) & (col[style, "last_initial"] == shown[1]))
                nick = (col[style, "nick1"] == shown[0]).astype(float) + (col[style, "nick2"] == shown[0])
                part += forms.get("nickname", 0.0) * same_last * nick / np.maximum(nicks, 1)
                spouse = np.array([self.names.first[1, style].get(tokens[0], 0.0),
                                   self.names.first[0, style].get(tokens[0], 0.0), 0.0])
                part += forms.get("spouse", 0.0) * same_last * spouse[gender]
                total += chance * part
            else:
                total += chance * forms.get("full_middle", 0.0) * ((first == shown[0]) & (col[style, "middle"] == shown[1])
                                                                   & (last == shown[2]))
        if n == 2 and forms.get("typo", 0.0):
            first, last = col["none", "first"], col["none", "last"]
            total += forms["typo"] * 0.5 * ((last == shown[1]) * self._typo_table(tokens[0])[first]
                                            + (first == shown[0]) * self._typo_table(tokens[1])[last])
        return rows, total


class Posterior:
    """Precomputed facts of one world, and each review's posterior from them."""

    def __init__(self, world: World) -> None:
        self.world = world
        params = self.params = world.params
        country = params["country"]
        self.names = NameModel(country)
        self.sites = {p.name: p for p in platforms(country)}
        self.site_mix = params["platform_mix"]
        self.types = {t.key: t for t in TRADES[params["trade"]]}
        self.type_keys = list(self.types)
        self.delays = np.array(delay_pmf(params))
        self.during = params["during_job_share"]
        self.start_weights = np.array(start_weights(world.first_day))
        area = world.area
        self.area = area
        self.towns = list(area.share)
        self.town_share = np.array([area.share[t] for t in self.towns])
        self.companies_full = _sum_by((c.full.lower(), 1 / len(world.companies)) for c in world.companies)
        self.companies_short = _sum_by((c.short.lower(), 1 / len(world.companies)) for c in world.companies)
        ids, starts, durations, town_of, type_of, is_company = [], [], [], [], [], []
        self.street_of, self.crew_of, self.invoice_index = [], [], {}
        self.people: list[Person | Company] = []
        town_number = {t: i for i, t in enumerate(self.towns)}
        for position, job in enumerate(world.jobs):
            subject = world.job_subjects[job["id"]]
            ids.append(job["id"])
            starts.append(subject.start)
            durations.append(subject.duration)
            town_of.append(town_number[subject.town])
            type_of.append(self.type_keys.index(subject.type_key))
            self.street_of.append(subject.street)
            self.crew_of.append(subject.crew)
            self.invoice_index[subject.invoice] = position
            customer = subject.customer
            self.people.append(customer)
            is_company.append(isinstance(customer, Company))
        self.ids = ids
        self.known = KnownNames(self.names, self.people)
        self.company_full: dict[str, list[int]] = defaultdict(list)  # a firm's name -> its jobs
        self.company_short: dict[str, list[int]] = defaultdict(list)
        for position, customer in enumerate(self.people):
            if isinstance(customer, Company):
                self.company_full[customer.full.lower()].append(position)
                self.company_short[customer.short.lower()].append(position)
        self.street_of = np.array(self.street_of, dtype=object)
        self.crew_share: dict[str, dict[int, float]] = defaultdict(dict)
        for position, crew in enumerate(self.crew_of):
            for member in set(crew):
                self.crew_share[member][position] = crew.count(member) / len(crew)
        self.start = np.array(starts)
        self.duration = np.array(durations)
        self.completed = self.start + self.duration
        self.town_of = np.array(town_of)
        self.type_of = np.array(type_of)
        self.is_company = np.array(is_company, dtype=bool)
        self.never_durations = sorted({d for t in self.types.values() for d in t.durations})

    # --- time -------------------------------------------------------------------------------------
    def time(self, start: np.ndarray, duration: np.ndarray, published: int, experienced: int | None) -> np.ndarray:
        """P(published day, experienced day | job start and duration), per job."""
        completed = start + duration
        delay = published - completed
        inside = (delay >= 0) & (delay < len(self.delays))
        after = np.where(inside, self.delays[np.clip(delay, 0, len(self.delays) - 1)], 0.0)
        during = np.where((start <= published) & (published <= completed), self.during / (duration + 1), 0.0)
        chance = after + during
        if experienced is not None:
            chance = chance * (EXPERIENCED_AT["completed"] * (np.minimum(completed, published) == experienced)
                               + EXPERIENCED_AT["published"] * (experienced == published)
                               + EXPERIENCED_AT["started"] * (start == experienced))
        return chance

    def never_time(self, published: int, experienced: int | None) -> dict[int, float]:
        """Per duration, P(published, experienced | a job that never was, of that duration)."""
        starts = np.arange(WINDOW_DAYS)
        return {d: float(self.start_weights @ self.time(starts, np.full(WINDOW_DAYS, d), published, experienced))
                for d in self.never_durations}

    # --- one review ----------------------------------------------------------------------------------
    def review(self, review: dict[str, Any], min_probability: float) -> list[tuple[str | None, float]]:
        params, names = self.params, self.names
        text = (review["author"] or "").lower()
        tokens = tuple(text.split())
        trustpilot = review["title"] is not None
        sites = [s for s in self.sites.values() if s.has_title == trustpilot]
        published = self.world.day(review["published_at"])
        experienced = self.world.day(review["experienced_at"]) if review["experienced_at"] else None

        # Name. Every form's chance is linear in the sites' shares of it, so the sites add up into one mix.
        forms: dict[str, float] = defaultdict(float)
        for site in sites:
            for form, share in site.forms.items():
                forms[form] += self.site_mix[site.name] * share
        site_share = sum(self.site_mix[s.name] for s in sites)
        nameless = names.nameless(text, forms)  # a handle or no name: any person alike
        random_person = names.random_person(tokens, forms)
        contact = COMPANY_FORMS["contact"]
        name = np.full(len(self.ids), nameless)
        rows, chances = self.known.chances(tokens, forms)
        name[rows] += chances
        name[self.is_company] = contact * (nameless + random_person)
        for position in self.company_full.get(text, ()):
            name[position] += COMPANY_FORMS["company_full"] * site_share
        for position in self.company_short.get(text, ()):
            name[position] += COMPANY_FORMS["company_short"] * site_share
        positions = np.flatnonzero(name)
        name = name[positions]
        company_full = COMPANY_FORMS["company_full"] * site_share
        company_short = COMPANY_FORMS["company_short"] * site_share
        never_person = random_person + nameless
        kappa = params["company_share"]
        never_name = (1 - kappa) * never_person + kappa * (
            company_full * self.companies_full.get(text, 0.0) + company_short * self.companies_short.get(text, 0.0)
            + contact * never_person)

        # What the text names, and the reviewer's town.
        language = review["lang"]
        found = {}
        for slot, patterns in naming_patterns(language).items():
            for pattern in patterns:
                match = pattern.search(review["body"] or "")
                if match:
                    found[slot] = match.group("value")
                    break
        omega = params["job_words_rate"]

        def slot_set(chances: dict[str, float]) -> float:
            if not found:
                inner = 1.0
                for c in chances.values():
                    inner *= 1 - c
                return (1 - omega) + omega * inner
            inner = 1.0
            for slot, c in chances.items():
                inner *= c if slot in found else 1 - c
            return omega * inner

        customer_chances = MENTION_CHANCES
        never_chances = {k: v for k, v in MENTION_CHANCES.items() if k != "invoice"}
        job_factor = np.full(len(positions), slot_set(customer_chances))
        never_factor = slot_set(never_chances) if "invoice" not in found else 0.0
        type_word = found.get("type")
        type_chance = np.ones(len(self.type_keys))
        if type_word is not None:
            type_chance = np.array([t.words[language].count(type_word) / len(t.words[language]) for t in self.types.values()])
            job_factor *= type_chance[self.type_of[positions]]
        if "crew" in found:
            crew_name = found["crew"]
            share = np.zeros(len(self.ids))
            for position, fraction in self.crew_share.get(crew_name, {}).items():
                share[position] = fraction
            job_factor *= share[positions]
            never_factor *= 0.5 * sum(self.names.pools.first[g].get(crew_name, 0.0) for g in (0, 1))
        if "invoice" in found:
            job_factor *= positions == self.invoice_index.get(found["invoice"], -1)
        street = found.get("street")
        if street is not None:
            job_factor *= self.street_of[positions] == street
        location = review["author_location"]
        lam = params["location_rate"]
        if location is None:
            job_factor *= 1 - lam
            town_part = np.full(len(self.towns), 1 - lam)
        else:
            other = self.area.share.get(location, 0.0)
            same = np.array([t == location for t in self.towns], dtype=float)
            job_factor *= lam * (SAME_TOWN * same[self.town_of[positions]] + (1 - SAME_TOWN) * other)
            town_part = lam * (SAME_TOWN * same + (1 - SAME_TOWN) * other)
        if street is not None:
            town_part = town_part * np.array([(street in self.area.streets[t]) / len(self.area.streets[t]) for t in self.towns])
        never_factor *= float(self.town_share @ town_part)

        # The firm's reply.
        reply = review["reply_body"]
        psi = params["reply_rate"]
        if reply is None:
            reply_customer = reply_never = 1 - psi
        elif reply in REPLIES[language]["unknown"]:
            reply_customer, reply_never = psi * UNKNOWN_REPLY["customer"], psi * UNKNOWN_REPLY["never"]
        else:
            reply_customer, reply_never = psi * (1 - UNKNOWN_REPLY["customer"]), psi * (1 - UNKNOWN_REPLY["never"])

        # Dates: for jobs, their own; for a job that never was, summed over its type, duration and start.
        timing = self.time(self.start[positions], self.duration[positions], published, experienced)
        by_duration = self.never_time(published, experienced)
        never_timing = sum(params["type_mix"][key] * type_chance[i] * sum(p * by_duration[d] for d, p in t.durations.items())
                           for i, (key, t) in enumerate(self.types.items()))

        likelihood = name * job_factor * timing * reply_customer
        never = never_name * never_factor * never_timing * reply_never
        prior_never = params["never_customer_share"]
        weights = likelihood * (1 - prior_never) / len(self.ids)
        total = weights.sum() + prior_never * never
        if total <= 0:
            raise ValueError(f"review {review['id']} has no explanation under its world")
        result: list[tuple[str | None, float]] = [(None, prior_never * never / total)]
        keep = np.flatnonzero(weights / total >= min_probability)
        result += [(self.ids[positions[i]], float(weights[i] / total)) for i in keep]
        result.sort(key=lambda pair: -pair[1])
        return result


def posterior(world: World, min_probability: float = 1e-4) -> dict[str, list[tuple[str | None, float]]]:
    """Each review's posterior, most probable first; None always listed, jobs under min_probability left out."""
    model = Posterior(world)
    return {review["id"]: model.review(review, min_probability) for review in world.reviews}
