"""Does a text mention the business? Names, aliases and domains, as people write them."""

from __future__ import annotations

import re
import unicodedata

# Two spellings people use for the Nordic and German letters: transliterated (Søren -> Soeren)
# and stripped (Søren -> Soren). Texts and names are compared in both.
_TRANSLITERATE = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_STRIP = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_APOSTROPHES = str.maketrans({"’": "'", "`": "'", "´": "'"})
# A genitive or a compound tail may follow a name: Hansens, Hansen's, Hansen VVS', Hansen VVS-firmaet.
_SUFFIX = r"(?:'s|s'|'|s|-[a-z0-9]+)?"


def fold(text: str, table: dict[int, str]) -> str:
    """Lower-case, Nordic/German letters mapped by `table`, other accents removed."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES).translate(table))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


class MentionMatcher:
    """Matches any of a business's names in free text: whole words, case- and accent-insensitive."""

    def __init__(self, names: list[str]):
        self.names = [n for n in (name.strip() for name in names) if n]
        patterns = {_pattern(name) for name in self.names}
        self._regex = re.compile("|".join(sorted(patterns, key=len, reverse=True))) if patterns else None

    def mentions(self, text: str | None) -> bool:
        """Whether `text` mentions one of the names."""
        if not text or self._regex is None:
            return False
        return self._regex.search(fold(text, _TRANSLITERATE)) is not None


def _pattern(name: str) -> str:
    """Text is folded by transliteration; each word of the name may be in either spelling."""
    spelled = fold(name, _TRANSLITERATE), fold(name, _STRIP)
    if "." in name and " " not in name:  # a web domain: literal, any case
        alternatives = "|".join(re.escape(s) for s in sorted(set(spelled)))
        return rf"(?<![a-z0-9.-])(?:{alternatives})(?![a-z0-9-])"
    per_word = zip(*(re.findall(r"[a-z0-9]+", s) for s in spelled))
    words = ["(?:" + "|".join(re.escape(w) for w in sorted(set(forms))) + ")" for forms in per_word]
    if not words:
        return re.escape(spelled[0])
    body = rf"{_SUFFIX}[\s\-]+".join(words)
    return rf"(?<![a-z0-9]){body}{_SUFFIX}(?![a-z0-9])"
