"""Which themes a complaint names: per-theme logistic regressions over the vocabulary's hits and the text's stems.

The vocabulary (`monitor.themes`) finds themes by words, phrases and compounds; readers of real complaints mark
more (the many ways of saying "they never answered") and sometimes fewer (a "refund" that was paid). This
model, fitted on labelled real complaints by `benchmarks/fit_theme_model.py`, decides per theme from:
- whether the vocabulary found the theme (one value per theme) and the review's language;
- the text's word stems and stem bigrams, hashed to 2**BITS buckets, each counted once.
Themes with too few labelled examples to learn from keep the vocabulary's decision. The file holds weights
and bucket numbers only, no texts.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from monitor.text import DATA

MODEL_FILE = DATA / "theme_model.npz"
BITS = 16
LANGUAGES = ("da", "nb", "sv", "de", "en")
LANGUAGE_OF = {"nn": "nb"}
HIT = 4.0  # the vocabulary's hit as a value this large: regularised as lightly as one stem weight a quarter its size


def stem_buckets(stems: list[str]) -> np.ndarray:
    """Distinct buckets of the stems and of each pair of neighbouring stems."""
    grams = [zlib.crc32(stem.encode("utf-8")) for stem in stems]
    grams += [zlib.crc32(f"{a} {b}".encode("utf-8")) for a, b in zip(stems, stems[1:])]
    return np.unique(np.array(grams, dtype=np.uint32) >> np.uint32(32 - BITS)).astype(np.int64)


def dense_values(hits: set[str], lang: str | None, themes: tuple[str, ...]) -> np.ndarray:
    """The vocabulary's hit for each theme, then one value for the review's language."""
    values = np.zeros(len(themes) + len(LANGUAGES), dtype=np.float32)
    for position, theme in enumerate(themes):
        values[position] = HIT if theme in hits else 0.0
    lang = LANGUAGE_OF.get(lang or "", lang)
    if lang in LANGUAGES:
        values[len(themes) + LANGUAGES.index(lang)] = 1.0
    return values


@dataclass(frozen=True)
class ThemeModel:
    """Per learnt theme: weights of the dense values and the stem buckets, an intercept and a threshold."""

    themes: tuple[str, ...]  # every theme the dense hit values stand for, in order
    learnt: tuple[str, ...]  # the themes this model decides; the others keep the vocabulary's decision
    dense: np.ndarray  # learnt x dense values
    buckets: np.ndarray  # 2**BITS x learnt
    intercepts: np.ndarray
    thresholds: np.ndarray
    version: str

    def probabilities(self, stems: list[str], hits: set[str], lang: str | None) -> dict[str, float]:
        """P(theme) for each learnt theme."""
        scores = self.intercepts + self.dense @ dense_values(hits, lang, self.themes)
        found = stem_buckets(stems)
        if len(found):
            scores = scores + self.buckets[found].sum(axis=0)
        return {theme: 1 / (1 + math.exp(-max(min(float(s), 30.0), -30.0))) for theme, s in zip(self.learnt, scores)}

    def decide(self, stems: list[str], hits: set[str], lang: str | None) -> dict[str, bool]:
        """Learnt theme -> named or not."""
        chances = self.probabilities(stems, hits, lang)
        return {theme: chances[theme] >= threshold for theme, threshold in zip(self.learnt, self.thresholds)}

    def strongest_word(self, stems: list[str], theme: str) -> int | None:
        """The position of the stem that speaks most for `theme` (where its evidence is quoted from)."""
        if not stems:
            return None
        column = self.learnt.index(theme)
        weights = [float(self.buckets[zlib.crc32(stem.encode("utf-8")) >> (32 - BITS), column]) for stem in stems]
        best = max(range(len(stems)), key=weights.__getitem__)
        return best if weights[best] > 0 else None


def save(path: Path, themes: tuple[str, ...], learnt: tuple[str, ...], dense: np.ndarray, buckets: np.ndarray,
         intercepts: np.ndarray, thresholds: np.ndarray, version: str) -> None:
    """Store the nonzero bucket weights only, as float16."""
    rows, columns = np.nonzero(np.abs(buckets) >= 1e-4)
    np.savez_compressed(path, bits=BITS, themes=np.array(themes), learnt=np.array(learnt),
                        dense=dense.astype(np.float32), rows=rows.astype(np.int32), columns=columns.astype(np.int8),
                        weights=buckets[rows, columns].astype(np.float16), intercepts=intercepts.astype(np.float32),
                        thresholds=thresholds.astype(np.float32), version=version)


@lru_cache(maxsize=2)
def load(path: Path = MODEL_FILE) -> ThemeModel | None:
    """The shipped model (cached), or None where none is shipped."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as stored:
        if int(stored["bits"]) != BITS:
            raise ValueError(f"{path} was fitted with 2**{int(stored['bits'])} buckets, this code hashes to 2**{BITS}")
        learnt = tuple(str(t) for t in stored["learnt"])
        buckets = np.zeros((1 << BITS, len(learnt)), dtype=np.float32)
        buckets[stored["rows"], stored["columns"]] = stored["weights"].astype(np.float32)
        return ThemeModel(tuple(str(t) for t in stored["themes"]), learnt, stored["dense"], buckets,
                          stored["intercepts"], stored["thresholds"], str(stored["version"]))
