"""Platform rules for public replies: no personal data, no incentives, no edit requests, no blame, length limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.text import load_data

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d(?:[ \-]?\d){7,}(?!\w)")


@dataclass(frozen=True)
class Problem:
    rule: str
    detail: str


def check_reply(text: str, lang: str, source: str, allowed: tuple[str, ...] = ()) -> list[Problem]:
    """Every platform rule a draft breaks; `allowed` holds the business's own contact, which may appear."""
    rules = load_data("reply_rules.toml")
    problems: list[Problem] = []
    scrubbed = text
    for contact in allowed:
        if contact:
            scrubbed = scrubbed.replace(contact, "")
    for pattern, rule in ((_EMAIL, "personal_data"), (_PHONE, "personal_data")):
        for found in pattern.findall(scrubbed):
            problems.append(Problem(rule, found))
    lowered = text.casefold()
    for rule in ("incentive", "edit_request", "blame"):
        for phrase in rules[rule].get(lang, []) + (rules[rule]["en"] if lang != "en" else []):
            if phrase in lowered:
                problems.append(Problem(rule, phrase))
    limit = rules["length"].get(source.casefold(), rules["length"]["default"])
    if len(text) > limit:
        problems.append(Problem("length", f"{len(text)} characters, {source} allows {limit}"))
    return problems
