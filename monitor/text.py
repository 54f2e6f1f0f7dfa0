"""Text folding shared by matching and findings: lower case, Nordic/German letters transliterated."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

DATA = Path(__file__).parent / "data"
_TOKEN = re.compile(r"[a-z0-9]+(?:[-/][a-z0-9]+)*")


@lru_cache(maxsize=200_000)
def fold_word(word: str) -> str:
    """fold() for single words, cached: texts repeat their words a great deal."""
    return fold(word)


def fold(text: str) -> str:
    """'Søren Müller' -> 'soeren mueller': lower case, æøå/äöüß transliterated, other accents removed."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    # Chained replace() scans in C; translate() with a table looks up every character (3-4 times slower).
    folded = (folded.replace("æ", "ae").replace("ø", "oe").replace("å", "aa").replace("ä", "ae")
              .replace("ö", "oe").replace("ü", "ue").replace("ß", "ss"))
    if folded.isascii():  # most text after transliteration: skip the costly decomposition
        return folded
    folded = unicodedata.normalize("NFKD", folded)  # é -> e + accent; an emoji stays itself
    if any(map(unicodedata.combining, folded)):
        return "".join(ch for ch in folded if not unicodedata.combining(ch))
    return folded


def tokens(text: str | None) -> list[str]:
    """Folded words of a text; order numbers like 'J-1001' or '2026/114' stay whole."""
    return _TOKEN.findall(fold(text)) if text else []


@lru_cache(maxsize=None)
def load_data(name: str) -> dict:
    """A TOML data file shipped in monitor/data/."""
    return tomllib.loads((DATA / name).read_text(encoding="utf-8"))


_INFLECTIONS = ("e", "en", "et", "er", "ene", "erne", "s", "es", "n")


class WordCategories:
    """Which categories' words occur in a text: whole words, word starts, and inside compounds."""

    def __init__(self, categories: dict[str, list[str]], not_words: dict[str, list[str]] | None = None):
        # word -> languages in which it names none of the categories ("*": any)
        self.not_words = {fold(word): frozenset(languages) for word, languages in (not_words or {}).items()}
        self.short: dict[str, set[str]] = {}
        prefixes = []
        for category, words in categories.items():
            for word in words:
                folded = fold(word)
                if len(folded) < 4:
                    self.short.setdefault(folded, set()).add(category)
                else:
                    prefixes.append((folded, category))
        self.by_prefix = dict(prefixes)
        self._regex = re.compile("|".join(re.escape(p) for p, _ in sorted(prefixes, key=lambda x: -len(x[0]))))
        self._of_word: dict[str, frozenset[str]] = {}  # texts repeat their words: each is looked at once

    def find(self, words: Iterable[str], lang: str | None = None) -> set[str]:
        """Categories named by any of the folded `words` of a text in `lang` (None: not known)."""
        found: set[str] = set()
        of_word = self._of_word
        not_words = self.not_words
        for word in words:
            categories = of_word.get(word)
            if categories is None:
                categories = self._word(word)
                if len(of_word) < 500_000:  # bounded: crawled text has an open vocabulary
                    of_word[word] = categories
            if categories:
                if word in not_words:  # "tak": thanks in Danish, a roof in Norwegian
                    languages = not_words[word]
                    if lang is None or lang in languages or "*" in languages:
                        continue
                found |= categories
        return found

    def _word(self, word: str) -> frozenset[str]:
        found = set(self.short.get(word, ()))
        for suffix in _INFLECTIONS:  # badet, taket, Dach(e)s: short words with their endings
            if word.endswith(suffix) and len(word) - len(suffix) >= 2:
                found |= self.short.get(word[: -len(suffix)], set())
        if len(word) >= 4:
            for match in self._regex.finditer(word):
                found.add(self.by_prefix[match.group(0)])
        return frozenset(found)


@lru_cache(maxsize=1)
def job_type_words() -> WordCategories:
    data = load_data("job_types.toml")
    not_words = data.get("not_job_words", {})
    return WordCategories({name: entry["words"] for name, entry in data.items() if name != "not_job_words"}, not_words)


PLATFORMS = {"trustpilot": "Trustpilot", "google": "Google", "facebook": "Facebook", "schemaorg": "schema.org", "feed": "feed",
             "anmeld-haandvaerker": "Anmeld Håndværker", "mittanbud": "Mittanbud", "reco": "Reco", "myhammer": "MyHammer",
             "checkatrade": "Checkatrade"}


def answer_url(url: str | None) -> str | None:
    """Where the owner answers a review: its page on the platform; none for a page on this machine (a test or
    demo site, gone once it stops)."""
    if not (url or "").startswith(("https://", "http://")):
        return None
    host = urlsplit(url).hostname or ""
    return None if host in ("127.0.0.1", "localhost", "::1") else url


def platform_name(name: str | None) -> str:
    """An unnamed source's platform as its users write it: 'trustpilot' -> Trustpilot, a feed's address -> its site."""
    if not name:
        return ""
    if name.startswith(("http://", "https://")):  # a feed known by its address: its site
        return urlsplit(name).hostname or name
    platform = name.split(":")[0]  # 'schemaorg:host' -> schemaorg
    return PLATFORMS.get(platform, platform)
