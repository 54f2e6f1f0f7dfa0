"""Is this reviewer that customer? Names as people write them on review sites."""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from itertools import filterfalse
from typing import NamedTuple

from rapidfuzz.distance import OSA, JaroWinkler

from monitor.text import fold, load_data

# Legal forms of the five countries' firms as they are written (dots read as spaces: "e.K." is "ek").
LEGAL_FORMS = {"aps", "a/s", "as", "i/s", "is", "ivs", "k/s", "ks", "p/s", "amba", "smba", "fmba",  # Danish
               "asa", "ans", "da", "enk",  # Norwegian
               "ab", "hb", "kb",  # Swedish
               "gmbh", "ggmbh", "mbh", "ag", "kg", "ug", "ohg", "gbr", "ek", "partg",  # German
               "ltd", "limited", "llp", "llc", "inc", "plc",  # British
               "co", "&", "og", "und", "and"}
_PARTICLES = {"von", "van", "der", "de", "la", "af", "zu"}


class Name(NamedTuple):
    """A folded person or company name split into what matching uses. A tuple, so that it hashes
    in C: matching looks names up in caches a great many times."""

    words: tuple[str, ...]
    company: bool
    first: str  # the first word, or ""
    last: str  # the last word of two or more, or ""

    @classmethod
    def of(cls, words: tuple[str, ...], company: bool) -> "Name":
        return cls(words, company, words[0] if words else "", words[-1] if len(words) > 1 else "")

    @property
    def first_is_initial(self) -> bool:
        return len(self.first) == 1

    @property
    def last_is_initial(self) -> bool:
        return len(self.last) == 1


@lru_cache(maxsize=200_000)
def parse_name(text: str | None) -> Name:
    """'Jens H.' -> (jens, h); 'Müller Sanitär GmbH' -> company (mueller, sanitaer)."""
    if not text:
        return Name.of((), False)
    folded = fold(text)
    raw = (folded if "," in folded else _E_K.sub(" ek", folded)).replace(".", " ")  # "Jensen, E.K." is a person
    if raw.count(",") == 1:  # "Jensen, Anne Marie", as many exports list customers: Anne Marie Jensen
        surname, given = raw.split(",")
        if given.strip() and surname.strip() and _COMPANY_MARKS.isdisjoint(raw.replace(",", " ").split()):
            raw = f"{given} {surname}"
    # "Ø." folds to "oe": an initial all the same, the first letter of "oeyvik" as the customer's name folds.
    words = [w if w not in _FOLDED_LETTERS else w[0] for w in (w.strip("'\"()") for w in raw.replace(",", " ").split())]
    company = not _COMPANY_MARKS.isdisjoint(words)
    kept = tuple(filterfalse(_NOT_NAME_WORDS.__contains__, words))
    if len(kept) > 1 and kept[0] in _SALUTATIONS:  # "Herr Müller", "Mrs Smith": the name is what follows
        kept = kept[1:]
        if len(kept) == 1:  # "Herr M.", "Mrs Smith": a surname or its initial, and no first name
            return Name(kept, company, "", kept[0])
    return Name.of(kept, company)


_FOLDED_LETTERS = {"ae", "oe", "aa", "ue"}  # æ ä, ø ö, å, ü as fold() writes them
_E_K = re.compile(r"\be\. ?k\.?\s*$")  # "Müller e.K.", "e. K." at the end: one legal form, not two initials
_SALUTATIONS = {"herr", "frau", "hr", "fru", "mr", "mrs", "ms", "miss", "dr"}


# Legal forms mark a company; "og", "&" and "co" alone do not ("Hansen & Søn" may be a family).
_COMPANY_MARKS = LEGAL_FORMS - {"og", "und", "and", "&", "co"}
_NOT_NAME_WORDS = LEGAL_FORMS | _PARTICLES | {""}


# Mailboxes of a firm, not of a person: no name in them.
_ROLE_MAILBOXES = {"info", "kontakt", "contact", "mail", "post", "admin", "office", "kontor", "faktura", "invoice",
                   "regnskab", "bogholderi", "service", "booking", "salg", "sales", "support", "hello", "hej"}


@lru_cache(maxsize=100_000)
def email_name(email: str | None) -> str | None:
    """The person an e-mail address names: 'peter.hansen@x.dk' -> 'peter hansen'; None for 'ph1975@' or 'info@'."""
    if not email or "@" not in email:
        return None
    local = fold(email.split("@", 1)[0].split("+", 1)[0])  # jens.hansen+faktura@: the tag names nobody
    parts = ["".join(filter(str.isalpha, part)) for part in re.split(r"[._\-]", local)]
    parts = [part for part in parts if part]
    if len(parts) < 2 or any(part in _ROLE_MAILBOXES for part in parts):
        return None
    return " ".join(parts)


@lru_cache(maxsize=1)
def _nickname_groups() -> dict[str, frozenset[int]]:
    """Folded first name -> the groups it stands in (Chris is Christian's and Christina's)."""
    found: dict[str, set[int]] = defaultdict(set)
    for number, group in enumerate(load_data("nicknames.toml")["groups"]):
        for name in group:
            found[fold(name)].add(number)
    return {name: frozenset(numbers) for name, numbers in found.items()}


def _plain(word: str) -> str:
    """Müller, Mueller and Muller alike: folded vowels without their transliteration."""
    return word.replace("ae", "a").replace("oe", "o").replace("ue", "u").replace("aa", "a")


@lru_cache(maxsize=200_000)
def plain_name(name: Name) -> Name:
    """The name as a keyboard without æøåäöü types it, whichever way it was written: Søren Müller,
    Soeren Mueller and Soren Muller are all 'soren muller'. Matching looks names up so."""
    words = tuple(map(_plain, name.words))
    if words == name.words:
        return name
    return Name(words, name.company, _plain(name.first), _plain(name.last))


def _same_word(a: str, b: str, spelling: float, nicknames: bool) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    if len(a) == 1 or len(b) == 1:
        return "initial" if a[0] == b[0] else None
    if _plain(a) == _plain(b):
        return "transliteration"
    if nicknames:
        groups = _nickname_groups()
        if a in groups and b in groups and not groups[a].isdisjoint(groups[b]):
            return "nickname"
    if JaroWinkler.similarity(a, b) >= spelling and min(len(a), len(b)) >= 4:
        return "spelling"
    # One letter dropped or two swapped, the typo people make ('Jnsen'): Jaro-Winkler is low for short names.
    if not nicknames and min(len(a), len(b)) >= 5 and OSA.distance(a, b, score_cutoff=1) <= 1:
        return "spelling"
    # Shorter names slip too ('Dna', 'Livv'), unless both are given names of their own (Mia, Mai).
    if min(len(a), len(b)) >= 3 and _slipped(_plain(a), _plain(b)) and not (nicknames and _genders().get(a) is not None
                                                             and _genders().get(b) is not None):
        return "spelling"
    return None


def _slipped(a: str, b: str) -> bool:
    """Two neighbouring letters swapped ('Dna' for Dan) or one letter doubled or undoubled ('Livv' for Liv):
    slips of the keyboard, which other names seldom differ by (unlike one letter for another: Jens, Jans)."""
    if len(a) == len(b):
        differ = [i for i in range(len(a)) if a[i] != b[i]]
        return (len(differ) == 2 and differ[1] == differ[0] + 1
                and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])
    short, long = sorted((a, b), key=len)
    if len(long) != len(short) + 1:
        return False
    at = next((i for i in range(len(short)) if short[i] != long[i]), len(short))  # long's extra letter
    return long[:at] + long[at + 1:] == short and at > 0 and long[at] == long[at - 1]


@lru_cache(maxsize=200_000)  # people share a few hundred first names: the same pairs come back all the time
def same_first_name(a: str, b: str) -> str | None:
    """'exact', 'transliteration', 'nickname', 'initial' or 'spelling' when two first names can be one person."""
    return _same_word(a, b, 0.9, nicknames=True)


@lru_cache(maxsize=200_000)
def same_last_name(a: str, b: str) -> str | None:
    """'exact', 'transliteration', 'initial' or 'spelling' when two surnames can be one family's."""
    return _same_word(a, b, 0.92, nicknames=False)


_FIRST_WEIGHT = {"exact": 1.0, "transliteration": 0.98, "nickname": 0.9, "spelling": 0.85, "initial": 0.55}
_FIRST_ONLY = {kind: (0.5 * weight, f"first name only ({kind})") for kind, weight in _FIRST_WEIGHT.items()}
_LAST_WEIGHT = {"exact": 1.0, "transliteration": 0.98, "spelling": 0.85, "initial": 0.6}


def name_similarity(reviewer: str | None, customer: str | None) -> tuple[float, str]:
    """A 0-1 likeness of a review's display name to a job's customer name, and the reason in words."""
    return names_alike(parse_name(reviewer), parse_name(customer))


def names_alike(r: Name, c: Name) -> tuple[float, str]:
    """name_similarity of names already parsed (matching keeps them parsed)."""
    if not r.words or not c.words:
        return 0.0, "no name"
    if r.words == c.words and len(r.words) > 1:  # the common case, and the cheapest
        return 1.0, "company name" if c.company else "first name exact, surname exact"
    if c.company or r.company:
        similarity = JaroWinkler.similarity(" ".join(r.words), " ".join(c.words))
        if similarity >= 0.9:
            return 0.95, "company name"
    if not r.first:  # a title and a surname ("Herr Müller") or its initial ("Herr M.")
        last_kind = same_last_name(r.last, c.last)
        if last_kind == "initial":
            return 0.25, "title, surname initial"
        if last_kind in ("exact", "transliteration"):
            return 0.35, "surname only"
        return 0.0, "different name"
    if not r.last:  # one word: a first name only, or a surname only
        first_kind = same_first_name(r.first, c.first)
        if first_kind:
            return _FIRST_ONLY[first_kind]
        if same_last_name(r.first, c.last) in ("exact", "transliteration"):
            return 0.35, "surname only"
        return 0.0, "different name"
    best = _fit(same_first_name(r.first, c.first), same_last_name(r.last, c.last), False)
    if best[0] < 0.97:  # a reversed reading ('Hansen Jens') scores at most 0.97
        last_kind = same_last_name(r.first, c.last)  # nothing without the first word as a surname: asked first
        if last_kind:
            reversed_reading = _fit(same_first_name(r.last, c.first), last_kind, True)
            if reversed_reading[0] > best[0]:
                best = reversed_reading
    return best


@lru_cache(maxsize=None)  # a few dozen combinations of kinds
def _fit(first_kind: str | None, last_kind: str | None, reversed_order: bool) -> tuple[float, str]:
    """The likeness of a two-word name from how its first name and surname each fit, read in one order."""
    if first_kind and last_kind:
        score = 0.3 if first_kind == last_kind == "initial" else _FIRST_WEIGHT[first_kind] * _LAST_WEIGHT[last_kind]
        reason = f"first name {first_kind}, surname {last_kind}" + (", reversed" if reversed_order else "")
        return score * (0.97 if reversed_order else 1.0), reason
    if last_kind in ("exact", "transliteration"):
        return 0.3, "same surname, other first name"
    return 0.0, "different name"


@lru_cache(maxsize=1)
def _genders() -> dict[str, int]:
    """Folded first name -> 0 (women's) or 1 (men's), for names the list gives one gender."""
    table: dict[str, int] = {}
    for gender, key in ((0, "women"), (1, "men")):
        for name in load_data("first_names.toml")[key].split():
            for spelled in {fold(name), _plain(fold(name))}:
                table[spelled] = -1 if table.get(spelled, gender) != gender else gender
    return {name: gender for name, gender in table.items() if gender >= 0}


def first_name_gender(folded: str) -> int | None:
    """0 for a woman's first name, 1 for a man's, None when the list does not know it or it is both."""
    return _genders().get(folded) if len(folded) > 1 else None
