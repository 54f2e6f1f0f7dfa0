"""Platform rules for public replies: no personal data, no incentives, no edit requests, no blame, length limits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.text import load_data

RULES = ("personal_data", "incentive", "edit_request", "blame", "money", "length")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d(?:[ \-]?\d){7,}(?!\w)")
# Sums of money: "4.500 kr.", "kr 300", "€ 1.200", "1200 EUR", "2.500,-".
_AMOUNT = re.compile(
    r"(?<!\w)(?:(?:kr\.?|dkk|nok|sek|eur|€|£|\$)\s?\d(?:[\d.,']*\d)?|\d[\d.,' ]*\s?(?:kr\.?|kroner|kronor|dkk|nok|sek|"
    r"eur|euro|€|£|,-)(?!\w))",
    re.IGNORECASE,
)
# A street and house number: "Vestergade 12", "Storgata 5B", "Hauptstraße 3", "12 Mill Road".
_STREETS = r"(?:vej|vejen|gade|gaden|gate|gata|gatan|väg|vägen|stræde|strædet|allé|alle|torv|torvet|plads|pladsen|" \
    r"straße|strasse|str\.|weg|platz|gasse|ring)"
_ADDRESS = re.compile(
    rf"(?<!\w)[^\W\d_]+{_STREETS}\s+\d+[a-z]?(?!\w)|(?<!\w)\d+[a-z]?\s+[A-Z]\w+\s+(?:road|street|lane|avenue|close|drive)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    rule: str
    detail: str


def check_reply(text: str, lang: str, source: str, allowed: tuple[str, ...] = (), forbidden: Iterable[str] = (),
                no_money: bool = False) -> list[Problem]:
    """Every platform rule a draft breaks.

    `allowed` holds the business's own contact, which may appear; `forbidden` the names and details of this
    case that must not (crew, the customer's surname, address, invoice); `no_money` forbids any mention of money.
    """
    rules = load_data("reply_rules.toml")
    problems = _personal_data(text, allowed, forbidden)
    lowered = text.casefold()
    for rule in ("incentive", "edit_request", "blame"):
        for phrase in _phrases(rules[rule], lang):
            if phrase in lowered:
                problems.append(Problem(rule, phrase))
    if no_money:
        for word in _phrases(rules["money"], lang):
            if re.search(_money_pattern(word), lowered):
                problems.append(Problem("money", word.rstrip("*")))
    limit = rules["length"].get(source.casefold(), rules["length"]["default"])
    if len(text) > limit:
        problems.append(Problem("length", f"{len(text)} characters, {source} allows {limit}"))
    return problems


def _money_pattern(word: str) -> str:
    """A whole word, or with a trailing '*' any word starting so ('fee' must not catch 'feel')."""
    stem = re.escape(word.rstrip("*"))
    return rf"(?<!\w){stem}" if word.endswith("*") else rf"(?<!\w){stem}(?!\w)"


def _phrases(per_language: dict[str, list[str]], lang: str) -> list[str]:
    return list(dict.fromkeys(per_language.get(lang, []) + per_language["en"]))


def _personal_data(text: str, allowed: tuple[str, ...], forbidden: Iterable[str]) -> list[Problem]:
    """E-mail addresses, phone numbers, sums and street addresses, and any of `forbidden` as a whole word."""
    scrubbed = text
    for contact in allowed:
        if contact:
            scrubbed = scrubbed.replace(contact, "")
    problems = [Problem("personal_data", found.strip())
                for pattern in (_EMAIL, _PHONE, _AMOUNT, _ADDRESS) for found in pattern.findall(scrubbed)]
    for item in dict.fromkeys(f.strip() for f in forbidden if f and len(f.strip()) >= 2):
        if re.search(rf"(?<!\w){re.escape(item)}(?!\w)", scrubbed, re.IGNORECASE):
            problems.append(Problem("personal_data", item))
    return problems
