"""Which language is a review in? py3langid (its model ships in the package), limited to the languages in play."""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# py3langid says 'no' for Norwegian Bokmål; repmon stores ISO 639-1 'nb'.
_TO_REPMON = {"no": "nb"}
_TO_MODEL = {"nb": "no"}


@lru_cache(maxsize=16)
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([_TO_MODEL.get(code, code) for code in languages])
    return identifier


def detect(text: str | None, languages: tuple[str, ...] = ("da", "nb", "nn", "sv", "de", "en"),
           fallback: str | None = None) -> str | None:
    """The language of `text` among `languages`; for a text too short to tell, `fallback` (the business's own)."""
    if not text or not text.strip():
        return fallback
    code, confidence = _identifier(tuple(sorted(set(languages) | {"en"})) if languages else ("en",)).classify(text)
    code = _TO_REPMON.get(code, code)
    if fallback and confidence < 0.5 and len(text.split()) <= 4:
        return fallback
    return code
