"""Reply drafts for complaints: three variants in the customer's language, built from templates and checked.

Templates are data (monitor/data/replies/<lang>.toml, Jinja2 in a sandbox); a draft knows the review's
rating band and theme, whether the job is matched (then it owns the problem, and offers to redo defects at
the business's cost), whether the customer has an unpaid invoice (then it never mentions money) and the
business's configured contact. It greets by first name only and names no one else. Every draft is
checked against the platform rules (monitor/reply_rules.py); one that fails is not stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import sqlite_utils
from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from monitor.config import Business, Config
from monitor.db import utc_now
from monitor.names import parse_name
from monitor.reply_rules import Problem, check_reply
from monitor.text import DATA, load_data

LANGUAGES = ("da", "nb", "sv", "de", "en")
VARIANTS = ("specific", "no_money", "which_job", "contact", "general", "thanks", "thanks_short")
FIRST_CHOICE = ("specific", "no_money", "which_job")  # exactly one of these per complaint: the alert carries it
TEMPLATES = DATA / "replies"
logger = logging.getLogger("repmon.replies")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


@dataclass(frozen=True)
class Contact:
    """Who the drafts come from: the business's name, signer and the only contact details they may carry."""

    business: str
    signer: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None

    def allowed(self) -> tuple[str, ...]:
        """What a draft may carry although it looks like personal data: the business's own name and contact.
        A customer called Hansen may be greeted by Hansen VVS, signed by Mette Hansen, but not called Hansen."""
        return tuple(sorted((v for v in (self.url, self.email, self.phone, self.business, self.signer) if v),
                            key=len, reverse=True))


@dataclass(frozen=True)
class Case:
    """What a draft may know of one complaint."""

    author: str | None
    rating: float | None
    lang: str
    source: str
    themes: tuple[str, ...] = ()
    matched: bool = False  # a job is matched (auto or confirmed): the complaint is about our work
    has_jobs: bool = False  # the business has imported jobs at all, so "no match" means something
    unpaid: bool = False  # the matched job's invoice is unpaid
    forbidden: tuple[str, ...] = field(default=())  # crew, the customer's other names, address, invoice...
    complaint: bool = True  # False for praise, whose drafts (asked for on demand) thank instead


@dataclass(frozen=True)
class Draft:
    variant: str
    lang: str
    text: str


def first_name(author: str | None) -> str | None:
    """The reviewer's first given name to greet ('Jens Peter Hansen' -> 'Jens'); None for initials, companies,
    handles and placeholders such as 'Anonym' or 'Kunde 241'."""
    if not author or any(ch.isdigit() or ch in "@[]()<>{}/\\_#%&|" for ch in author):
        return None
    words = author.split()
    word = words[0].strip(",.;:!?\"'") if words else ""
    if len(word) < 2 or len(word) > 30 or not _NAME_WORD.fullmatch(word) or parse_name(author).company:
        return None
    if word.casefold() in load_data("replies/common.toml")["not_names"]:
        return None
    if word.islower() or word.isupper():  # 'jens' and 'JENS' as people write their names on review sites
        word = "-".join(part.capitalize() for part in word.split("-"))
    return word


def reply_language(review_lang: str | None, business_languages: tuple[str, ...] | list[str]) -> str:
    """The review's language when drafts exist in it; else the business's first such language; else English."""
    if review_lang in LANGUAGES:
        return review_lang
    return next((lang for lang in business_languages if lang in LANGUAGES), "en")


def variants_for(case: Case) -> tuple[str, ...]:
    """specific, or no_money for an unpaid customer, or which_job when no job matches; then contact and general.
    A review that is no complaint gets thanks and thanks_short."""
    if not case.complaint:
        return "thanks", "thanks_short"
    if case.has_jobs and not case.matched:
        first = "which_job"
    elif case.unpaid:
        first = "no_money"
    else:
        first = "specific"
    return first, "contact", "general"


def build_drafts(case: Case, contact: Contact) -> tuple[list[Draft], list[tuple[str, list[Problem]]]]:
    """The case's drafts that pass every rule, and the variants refused with the rules they broke."""
    drafts, refused = [], []
    forbidden = _forbidden(case)
    values = _values(case, contact)
    for variant in variants_for(case):
        text = _tidy(_templates(case.lang)[("variants", variant)].render(values))
        problems = check_reply(text, case.lang, case.source, allowed=contact.allowed(), forbidden=forbidden,
                               no_money=variant == "no_money")
        if problems:
            refused.append((variant, problems))
        else:
            drafts.append(Draft(variant, case.lang, text))
    return drafts, refused


def render(variant: str, case: Case, contact: Contact) -> str:
    """One variant's text for the case, tidied: single spaces, at most one blank line between paragraphs."""
    return _tidy(_templates(case.lang)[("variants", variant)].render(_values(case, contact)))


def _values(case: Case, contact: Contact) -> dict[str, Any]:
    """What the variant templates see, with the parts (greeting, signature, contact sentence) rendered once."""
    templates = _templates(case.lang)
    common = load_data("replies/common.toml")
    theme = primary_theme(case.themes, case.lang)
    visit, money = theme in common["visit"], theme in common["money"]
    ours = case.matched and not money and theme not in common["not_owned"] and theme != "generic"
    values = {
        "first_name": first_name(case.author) or "", "business": contact.business, "signer": contact.signer or "",
        "phone": contact.phone or "", "email": contact.email or "", "url": contact.url or "",
        "band": _band(case),
        "theme": theme, "matched": case.matched, "ours": ours, "visit": visit, "money_theme": money,
        "at_our_cost": ours and visit,
        "problem": templates[(theme, "problem")].render(), "fix": templates[(theme, "fix")].render(),
    }
    for part in ("greeting", "signature", "reach"):
        values[part] = _tidy(templates[("parts", part)].render(values))
    return values


def _band(case: Case) -> str:
    """low: 1-2 stars, or no rating on a complaint; high: 4-5 stars; neutral: a mention with no rating that is no
    complaint (a question in a forum as often as praise); mixed: the rest."""
    if case.rating is None:
        return "low" if case.complaint else "neutral"
    if case.rating <= 2:
        return "low"
    return "high" if case.rating >= 4 and not case.complaint else "mixed"


def primary_theme(themes: tuple[str, ...], lang: str) -> str:
    """The theme a draft speaks about: the first of common.toml's order the review has and the language words;
    'generic' when none (a theme added later without reply wording gets the generic one)."""
    order = load_data("replies/common.toml")["theme_order"]
    known = set(_theme_names(lang))
    ranked = sorted((t for t in themes if t in known), key=lambda t: (order.index(t) if t in order else len(order), t))
    return ranked[0] if ranked else "generic"


def _forbidden(case: Case) -> tuple[str, ...]:
    """The case's forbidden details, minus the first name the draft greets (a crew member may share it)."""
    greeted = (first_name(case.author) or "").casefold()
    author_rest = tuple((case.author or "").split()[1:])
    return tuple(f for f in (*case.forbidden, *author_rest) if f.strip(",.").casefold() != greeted)


@lru_cache(maxsize=None)
def _theme_names(lang: str) -> tuple[str, ...]:
    return tuple(load_data(f"replies/{lang}.toml")["themes"])


@lru_cache(maxsize=None)
def _templates(lang: str) -> dict[tuple[str, str], Template]:
    """A language's templates compiled in a sandbox: a template can format values, not reach into Python."""
    environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    data = load_data(f"replies/{lang}.toml")
    compiled = {}
    for section in ("parts", "variants"):
        for name, source in data[section].items():
            compiled[(section, name)] = environment.from_string(source)
    for theme, wording in data["themes"].items():
        for key in ("problem", "fix"):
            compiled[(theme, key)] = environment.from_string(wording[key])
    return compiled


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@lru_cache(maxsize=None)
def templates_version() -> str:
    """A hash of every template file: changed wording rebuilds the unused drafts."""
    digest = hashlib.sha1()
    for path in sorted(TEMPLATES.glob("*.toml")):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update((DATA / "reply_rules.toml").read_bytes())
    return digest.hexdigest()[:12]


# What a draft is built from, for one review or many (the WHERE clause is added by the caller).
_CASES = """
SELECT r.id, r.business_id, r.author, r.rating, r.title, r.body, r.lang, r.source, r.complaint,
       (SELECT json_group_array(theme) FROM (SELECT theme FROM review_themes WHERE review_id = r.id ORDER BY theme))
           AS themes,
       m.status, m.job_id, j.customer_name, j.crew, j.address, j.postcode, j.city, j.customer_email, j.customer_phone,
       j.invoice_no, j.amount,
       (EXISTS (SELECT 1 FROM review_flags f WHERE f.review_id = r.id AND f.flag = 'payment_dispute')
        OR (j.due_at IS NOT NULL AND j.paid_at IS NULL)) AS unpaid,
       EXISTS (SELECT 1 FROM jobs WHERE business_id = r.business_id) AS has_jobs
FROM reviews r
LEFT JOIN matches m ON m.id = (SELECT id FROM matches WHERE review_id = r.id AND status IN ('auto', 'confirmed')
                               ORDER BY status = 'confirmed' DESC, score DESC LIMIT 1)
LEFT JOIN jobs j ON j.id = m.job_id
"""
# Complaints that still wait for an answer, whatever their age: the owner wants the draft before the deadline.
# Feed entries (source is a URL) cannot be answered.
_OPEN_COMPLAINTS = _CASES + """WHERE r.complaint = 1 AND r.reply_body IS NULL AND r.removed_at IS NULL AND r.handled_at IS NULL
  AND r.source NOT LIKE 'http%'"""


def case_of(row: dict[str, Any], lang: str) -> Case:
    """A Case from a row of _CASES."""
    customer = (row.get("customer_name") or "").split()
    crew = re.split(r"\s*(?:,|&|/|\bog\b|\bund\b|\band\b|\boch\b)\s*", row.get("crew") or "")
    amount = row.get("amount")
    details = [row.get(k) for k in ("address", "postcode", "customer_email", "customer_phone", "invoice_no")]
    amounts = [f"{amount:g}", f"{amount:,.0f}".replace(",", "."), f"{amount:.2f}"] if isinstance(amount, float) else []
    return Case(
        author=row.get("author"), rating=row.get("rating"), lang=lang, source=row.get("source") or "",
        themes=tuple(json.loads(row["themes"])) if row.get("themes") else (),
        matched=row.get("status") in ("auto", "confirmed"), has_jobs=bool(row.get("has_jobs")),
        unpaid=bool(row.get("unpaid")) and row.get("status") in ("auto", "confirmed"),
        forbidden=tuple(x for x in (*customer[1:], *crew, *details, *amounts) if x),
        complaint=_is_complaint(row),
    )


def _is_complaint(row: dict[str, Any]) -> bool:
    """As analysis found; a review not analysed yet is a complaint when it has 1-2 stars or no rating."""
    if row.get("complaint") is not None:
        return row["complaint"] == 1
    return row.get("rating") is None or row["rating"] <= 2


def business_contacts(db: sqlite_utils.Database, config: Config) -> dict[str, tuple[Contact, tuple[str, ...]]]:
    """Per business id: its Contact and languages, from the config when it is configured, else its row."""
    configured: dict[str, Business] = {b.name.casefold(): b for b in config.business}
    found = {}
    for row in db.query("SELECT id, name, languages FROM businesses"):
        business = configured.get(row["name"].casefold())
        if business:
            r = business.replies
            found[row["id"]] = (Contact(business.name, r.signer, r.contact_phone, r.contact_email, r.contact_url),
                                tuple(business.languages))
        else:
            found[row["id"]] = (Contact(row["name"]), tuple(json.loads(row["languages"])) if row["languages"] else ())
    return found


def _inputs_hash(row: dict[str, Any], case: Case, contact: Contact) -> str:
    material = [row.get("title"), row.get("body"), row.get("job_id"), asdict(case), asdict(contact), templates_version()]
    return hashlib.sha1(json.dumps(material, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def run_replies(db: sqlite_utils.Database, config: Config) -> dict[str, int]:
    """Drafts for every open complaint whose inputs changed; drafts of answered ones go unless used.

    A used draft is never changed or removed: it records what the owner answered with.
    """
    contacts = business_contacts(db, config)
    stored: dict[str, set[str]] = {}
    for row in db.query("SELECT review_id, inputs_hash FROM reply_drafts WHERE used_at IS NULL"):
        stored.setdefault(row["review_id"], set()).add(row["inputs_hash"])
    counts = {"complaints": 0, "drafted": 0, "unchanged": 0, "written": 0, "refused": 0, "removed": 0}
    now = utc_now()
    open_ids: set[str] = set()
    with db.atomic():
        for row in db.query(_OPEN_COMPLAINTS):
            counts["complaints"] += 1
            open_ids.add(row["id"])
            contact, languages = contacts.get(row["business_id"], (Contact(row["business_id"]), ()))
            case = case_of(row, reply_language(row["lang"], languages))
            inputs = _inputs_hash(row, case, contact)
            if stored.get(row["id"]) == {inputs}:
                counts["unchanged"] += 1
                continue
            drafts, refused = build_drafts(case, contact)
            for variant, problems in refused:
                logger.warning("reply draft %s for review %s not stored: %s", variant, row["id"],
                               "; ".join(f"{p.rule} ({p.detail})" for p in problems))
            counts["refused"] += len(refused)
            counts["drafted"] += 1
            db.execute("DELETE FROM reply_drafts WHERE review_id = ? AND used_at IS NULL", [row["id"]])
            for draft in drafts:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO reply_drafts (id, review_id, business_id, variant, lang, text, inputs_hash, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [f"{row['id']}:{draft.variant}:{inputs[:10]}", row["id"], row["business_id"], draft.variant,
                     draft.lang, draft.text, inputs, now])
                counts["written"] += cursor.rowcount
        for review_id in stored.keys() - open_ids:
            counts["removed"] += db.execute(
                "DELETE FROM reply_drafts WHERE review_id = ? AND used_at IS NULL", [review_id]).rowcount
    return counts


def drafts_for_review(db: sqlite_utils.Database, config: Config, review_id: str) -> list[Draft]:
    """Drafts for any review, on demand and not stored: a complaint's variants, or thanks for praise."""
    row = next(db.query(_CASES + "WHERE r.id = ?", [review_id]), None)
    if row is None:
        raise KeyError(f"there is no review {review_id!r}")
    contact, languages = business_contacts(db, config).get(row["business_id"], (Contact(row["business_id"]), ()))
    return build_drafts(case_of(row, reply_language(row["lang"], languages)), contact)[0]


def mark_draft_used(db: sqlite_utils.Database, draft_id: str, who: str) -> bool:
    """Record that the owner answered with this draft; False when it was already recorded.

    An id that names no draft is refused with KeyError.
    """
    if db.execute("SELECT 1 FROM reply_drafts WHERE id = ?", [draft_id]).fetchone() is None:
        raise KeyError(f"there is no reply draft {draft_id!r}")
    with db.atomic():
        cursor = db.execute("UPDATE reply_drafts SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL",
                            [utc_now(), who, draft_id])
    return cursor.rowcount == 1


def alert_section(db: sqlite_utils.Database, review_id: str, alert_lang: str) -> str:
    """The complaint's first-choice draft under a heading in the alert's language, or '' when there is none."""
    row = db.execute(
        f"SELECT text FROM reply_drafts WHERE review_id = ? AND used_at IS NULL AND variant IN "
        f"({', '.join('?' * len(FIRST_CHOICE))}) ORDER BY created_at DESC LIMIT 1", [review_id, *FIRST_CHOICE]
    ).fetchone()
    if row is None:
        return ""
    heading = load_data(f"replies/{alert_lang if alert_lang in LANGUAGES else 'en'}.toml")["labels"]["alert"]
    return f"\n\n{heading}:\n{row[0]}"
