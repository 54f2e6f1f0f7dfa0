"""Complaint probability from text: a logistic regression fitted on real reviews, shipped as hashed weights.

Features, the same at fit time (benchmarks/fit_complaint_model.py) and here:
- character 3-5-grams of the text's words joined by single spaces, letters folded to a 6-bit alphabet
  (æ/ä and ø/ö share a code, so Danish, Norwegian and Swedish spellings meet), hashed to 2**BITS buckets;
- word 1-2-grams, hashed by CRC-32 to 2**BITS buckets;
- each of these twice: in a block shared by all languages and in the review's language's own block
  (Norwegian reads Danish's, having no reviews of its own to learn from);
- a few dense values: positive and negative lexicon valence (packaged sentiment lexicons, negation-aware; a word
  the lexicon lacks takes the mean valence of the lexicon's words with its Snowball stem, so "besvikna" reads as
  "besviken"),
  complaint and praise cue counts and theme hits from `monitor.themes`.
The file holds only bucket numbers and weights, lexicon words as CRC-32 keys: no texts.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np
import Stemmer

from monitor.text import DATA

MODEL_FILE = DATA / "complaint_model.npz"
BITS = 18
LANGUAGES = ("da", "sv", "de", "en")  # languages with their own block; others read BLOCK_OF's
BLOCK_OF = {"nb": "da", "nn": "da"}
DENSE = ("lexicon_positive", "lexicon_negative", "cue_negative", "cue_positive", "themes")
NEGATION_WINDOW = 3
STEMMERS = {"da": "danish", "nb": "norwegian", "nn": "norwegian", "sv": "swedish", "de": "german", "en": "english"}
SHORTEST_STEM = 3  # stems of one or two letters are left out of the stem lexicon: too many unrelated words share them
_WORD = re.compile(r"\w+", re.UNICODE)
_GOLDEN = np.uint32(2654435761)  # Knuth's multiplicative hash: spreads exact n-gram codes over buckets
_SHIFT = np.uint32(32 - BITS)


def _alphabet() -> bytes:
    """A bytes.translate() table from Latin-1 to codes: letters 1-62, space 0, anything else 63."""
    groups = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t",
              "u", "v", "w", "x", "y", "z", "æä", "øö", "å", "ü", "ß", "0123456789", "éèêë", "áàâ", "óòô", "íìî",
              "úùû", "ç", "ñ", "_"]
    table = bytearray([63] * 256)
    table[ord(" ")] = 0
    for code, letters in enumerate(groups, start=1):
        for letter in letters:
            table[ord(letter)] = code
    return bytes(table)


_TABLE = _alphabet()


def words_of(text: str) -> list[str]:
    """Lower-case words, "n't" read as "not" like the cue matcher does."""
    return _WORD.findall(text.lower().replace("n't", " not").replace("n’t", " not"))


def char_buckets(words: list[str]) -> np.ndarray:
    """Buckets of the character 3-5-grams of the words joined by spaces (with a space at each end).

    Exact 6-bit codes packed into one uint32 per n-gram, all in numpy, with bytes.translate() (str.translate()
    alone took 20 us a review): 12 us for a 70-character review with 200 n-grams, measured on a busy machine.
    """
    joined = (" " + " ".join(words) + " ").encode("latin-1", "replace").translate(_TABLE)
    codes = np.frombuffer(joined, dtype=np.uint8).astype(np.uint32)
    if len(codes) < 3:
        return np.zeros(0, dtype=np.uint32)
    three = codes[:-2] | (codes[1:-1] << 6) | (codes[2:] << 12)
    four = three[:-1] | (codes[3:] << 18)
    five = four[:-1] | (codes[4:] << 24)
    keys = np.concatenate([three | np.uint32(1 << 30), four | np.uint32(2 << 30), five | np.uint32(3 << 30)])
    return (keys * _GOLDEN) >> _SHIFT


def batch_char_buckets(texts: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """char_buckets() of many texts at once: (number of the text, bucket) of every n-gram, texts in order.

    All texts are joined and coded in one go; an n-gram whose first and last letters lie in different texts
    is dropped.
    """
    joined = [" " + " ".join(words) + " " for words in texts]
    codes = np.frombuffer("".join(joined).encode("latin-1", "replace").translate(_TABLE), dtype=np.uint8).astype(np.uint32)
    text_of = np.repeat(np.arange(len(texts)), [len(piece) for piece in joined])
    if len(codes) < 3:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
    three = codes[:-2] | (codes[1:-1] << 6) | (codes[2:] << 12)
    four = three[:-1] | (codes[3:] << 18)
    five = four[:-1] | (codes[4:] << 24)
    keys, owners = [], []
    for size, grams, tag in ((3, three, 1), (4, four, 2), (5, five, 3)):
        inside = text_of[:len(grams)] == text_of[size - 1:]
        keys.append(grams[inside] | np.uint32(tag << 30))
        owners.append(text_of[:len(grams)][inside])
    return np.concatenate(owners), (np.concatenate(keys) * _GOLDEN) >> _SHIFT


def batch_word_buckets(hashes: Sequence[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """word_buckets() of many texts at once, from their words' CRC-32s: (number of the text, bucket) of every gram."""
    unigrams = np.fromiter(chain.from_iterable(hashes), dtype=np.uint32)
    text_of = np.repeat(np.arange(len(hashes)), [len(h) for h in hashes])
    inside = text_of[:-1] == text_of[1:]
    grams = np.concatenate([unigrams, (unigrams[:-1] * np.uint32(0x9E3779B1) + unigrams[1:])[inside]])
    return np.concatenate([text_of, text_of[:-1][inside]]), (grams * _GOLDEN) >> _SHIFT


def word_hashes(words: list[str]) -> list[int]:
    """CRC-32 of each word (also the lexicon's keys)."""
    return [zlib.crc32(word.encode("utf-8")) for word in words]


def word_buckets(hashes: list[int]) -> np.ndarray:
    """Buckets of word unigrams and bigrams from their CRC-32s (bigram: first * 0x9E3779B1 + second, mod 2**32)."""
    unigrams = np.array(hashes, dtype=np.uint32)
    grams = np.concatenate([unigrams, unigrams[:-1] * np.uint32(0x9E3779B1) + unigrams[1:]])
    return (grams * _GOLDEN) >> _SHIFT


def lexicon_values(words: list[str], hashes: list[int], lexicon: dict[int, float], negators: frozenset[str],
                   by_stem: dict[str, float] | None = None) -> tuple[float, float]:
    """Sum of positive and of negative valences (-1..1), a negator up to three words before turning one round.

    A word not in `lexicon` takes its valence from `by_stem` (see stem_valences()), where one is given.
    """
    positive = negative = 0.0
    last_negator = -NEGATION_WINDOW - 1
    for i, (word, key) in enumerate(zip(words, hashes)):
        if word in negators:
            last_negator = i
            continue
        value = lexicon.get(key)
        if value is None and by_stem:
            value = by_stem.get(word)
        if value is None:
            continue
        if i - last_negator <= NEGATION_WINDOW:
            value = -value
        if value > 0:
            positive += value
        else:
            negative -= value
    return positive, negative


def stem_valences(words: Iterable[str], stem_lexicon: dict[int, float], lang: str) -> dict[str, float]:
    """Valence by stem of each of the words that has one: the lookup table lexicon_values() takes as `by_stem`.

    Built once for the distinct words of a batch of texts: stemming every word of every text doubled the
    model's time on long reviews.
    """
    distinct = list(set(words))
    found = map(stem_lexicon.get, word_hashes(_stemmer(lang).stemWords(distinct)))
    return {word: value for word, value in zip(distinct, found) if value is not None}


@lru_cache(maxsize=8)
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(STEMMERS.get(lang, "english"))


def stem_lexicon(words: dict[str, float], lang: str) -> dict[str, float]:
    """Mean valence of the lexicon's words per stem of SHORTEST_STEM letters or more."""
    values: dict[str, list[float]] = {}
    for word, value in words.items():
        stem = _stemmer(lang).stemWord(word)
        if len(stem) >= SHORTEST_STEM:
            values.setdefault(stem, []).append(value)
    return {stem: sum(v) / len(v) for stem, v in values.items()}


def dense_values(positive: float, negative: float, words: int, cue_negative: int, cue_positive: int, themes: int) -> list[float]:
    """The dense features, scaled so that a long review does not count more than a short one."""
    root = math.sqrt(max(words, 1))
    return [positive / root, negative / root, min(cue_negative, 4) / 2, min(cue_positive, 4) / 2, min(themes, 2) / 2]


SHORT_WORDS = 6
THEME_FLOOR = 0.3


@dataclass(frozen=True)
class Reading:
    """What the model read in a text: P(complaint) and the lexicons' positive and negative valence."""

    probability: float
    lexicon_positive: float
    lexicon_negative: float


def decide(reading: Reading, threshold: float, words: int, cue_negative: int, cue_positive: int, themes: int,
           three_stars: bool = False) -> bool:
    """Complaint from text: the model's probability, helped by the trades vocabulary the reviews it learnt from lack.

    A text in which neither lexicons, cues nor themes find anything is not a complaint: the reviews the
    model learnt from that have no praise in them are mostly complaints, a news item about the firm is not.
    A trades problem named with more complaint cues than praise is a complaint in a 3-star review, and
    without a rating unless the model is fairly sure it is not (a flood the firm's fitters helped with is
    news, not a leak): fitted on shops, banks and railways, the model knows cracked tiles and tripping fuses
    poorly. In a very short text without praise, naming the problem is enough ("Der drypper stadig").
    """
    if decided_by_themes(words, cue_negative, cue_positive, themes, three_stars):
        return True
    if not (cue_negative or cue_positive or themes or reading.lexicon_positive or reading.lexicon_negative):
        return False
    if reading.probability >= threshold:
        return True
    return bool(themes) and cue_negative > cue_positive and reading.probability >= THEME_FLOOR


def decided_by_themes(words: int, cue_negative: int, cue_positive: int, themes: int, three_stars: bool) -> bool:
    """The cases in which decide() says complaint whatever the model reads: it need not be asked."""
    return bool(themes) and ((words <= SHORT_WORDS and cue_positive == 0) or (three_stars and cue_negative > cue_positive))


@dataclass
class ComplaintModel:
    """Weights per language (shared block + the language's own, added), lexicons, and the decision threshold."""

    chars: dict[str, np.ndarray]
    words: dict[str, np.ndarray]
    dense: list[float]
    intercept: float
    threshold: float
    lexicons: dict[str, dict[int, float]]
    negators: dict[str, frozenset[str]]
    version: str
    stem_lexicons: dict[str, dict[int, float]] = field(default_factory=dict)  # empty: words are looked up as written

    def read(self, words: list[str], lang: str | None, cue_negative: int = 0, cue_positive: int = 0,
             themes: int = 0) -> Reading:
        """P(complaint) for a text's `words_of()` in `lang`, given the cue counts `monitor.themes` found in it."""
        return self.read_many([words], [lang], [(cue_negative, cue_positive, themes)])[0]

    def read_many(self, texts: Sequence[list[str]], langs: Sequence[str | None],
                  cues: Sequence[tuple[int, int, int]]) -> list[Reading]:
        """read() for many texts at once: each text's `words_of()`, language and (negative, positive, themes) counts.

        The n-grams of all texts of one weight block are hashed and looked up in a few numpy calls and summed per
        text by np.bincount, which adds each text's weights in its own order: a text reads the same alone as in
        any batch. Per text in Python remain only the word hashes and the lexicon. Processor time per text,
        best of 3 on a busy machine: 11 µs for the benchmark's 12-word texts against 40 read one at a time,
        58 against 80 for the corpus's 67-word reviews; the stem lexicon adds 2 and 26 µs.
        """
        count = len(texts)
        blocks = [lang if lang in self.chars else BLOCK_OF.get(lang or "", "en") for lang in langs]
        hashes = [word_hashes(words) for words in texts]
        score = np.full(count, self.intercept)
        for block in dict.fromkeys(blocks):
            rows = [i for i, b in enumerate(blocks) if b == block]
            chosen = [texts[i] for i in rows]
            for table, (text_of, buckets) in ((self.chars[block], batch_char_buckets(chosen)),
                                              (self.words[block], batch_word_buckets([hashes[i] for i in rows]))):
                sums = np.bincount(text_of, weights=table[buckets], minlength=len(rows))
                sizes = np.bincount(text_of, minlength=len(rows))
                score[rows] += sums / np.sqrt(np.maximum(sizes, 1))
        lexicon_langs = [lang if self.lexicons.get(lang or "") else block for lang, block in zip(langs, blocks)]
        by_stem = {lang: stem_valences(chain.from_iterable(t for t, l in zip(texts, lexicon_langs) if l == lang),
                                       self.stem_lexicons[lang], lang)
                   for lang in set(lexicon_langs) if self.stem_lexicons.get(lang)}
        readings = []
        for words, lang, block, lexicon_lang, hashed, counts, partial in zip(texts, langs, blocks, lexicon_langs, hashes,
                                                                              cues, score.tolist()):
            lexicon = self.lexicons.get(lexicon_lang, {})
            negators = self.negators.get(lang or "") or self.negators.get(block, frozenset())
            positive, negative = lexicon_values(words, hashed, lexicon, negators, by_stem.get(lexicon_lang))
            dense = dense_values(positive, negative, len(words), *counts)
            partial += sum(w * v for w, v in zip(self.dense, dense))
            readings.append(Reading(1 / (1 + math.exp(-max(min(partial, 30.0), -30.0))), positive, negative))
        return readings

    @classmethod
    def from_weights(cls, bits: int, blocks: list[str], weights: np.ndarray, dense: list[float], intercept: float,
                     threshold: float, lexicons: dict[str, dict[int, float]], negators: dict[str, frozenset[str]],
                     version: str, stem_lexicons: dict[str, dict[int, float]] | None = None) -> ComplaintModel:
        """A model from a flat weight vector over `blocks` of 2**bits buckets (how the fitting script scores folds)."""
        size = 1 << bits
        table = {name: weights[i * size:(i + 1) * size] for i, name in enumerate(blocks)}
        chars = {lang: (table["chars"] + table[f"chars:{lang}"]).astype(np.float32) for lang in LANGUAGES}
        words = {lang: (table["words"] + table[f"words:{lang}"]).astype(np.float32) for lang in LANGUAGES}
        for alias, lang in BLOCK_OF.items():
            chars[alias], words[alias] = chars[lang], words[lang]
        return cls(chars, words, [float(v) for v in dense], float(intercept), float(threshold), lexicons, negators, version,
                   stem_lexicons or {})


def blocks() -> list[str]:
    """Names of the weight blocks, in the order of the flat weight vector."""
    return ["chars", "words"] + [f"{kind}:{lang}" for lang in LANGUAGES for kind in ("chars", "words")]


@lru_cache(maxsize=2)
def load(path: Path = MODEL_FILE) -> ComplaintModel:
    """The shipped model (cached): dense per-language tables rebuilt from the stored nonzero weights."""
    with np.load(path, allow_pickle=False) as stored:
        bits, names = int(stored["bits"]), [str(b) for b in stored["blocks"]]
        if bits != BITS:
            raise ValueError(f"{path} was fitted with 2**{bits} buckets, this code hashes to 2**{BITS}")
        weights = np.zeros(len(names) << bits, dtype=np.float32)
        weights[np.cumsum(stored["index_gaps"], dtype=np.int64)] = stored["weight"].astype(np.float32)
        lexicons: dict[str, dict[int, float]] = {}
        for lang, key, value in zip(stored["lexicon_lang"].tolist(), stored["lexicon_key"].tolist(),
                                    stored["lexicon_value"].astype(np.float32).tolist()):
            lexicons.setdefault(lang, {})[key] = value
        stem_lexicons: dict[str, dict[int, float]] = {}
        if "stem_lexicon_key" in stored.files:  # files fitted before stems were read have none
            for lang, key, value in zip(stored["stem_lexicon_lang"].tolist(),
                                        stored["stem_lexicon_key"].tolist(),
                                        stored["stem_lexicon_value"].astype(np.float32).tolist()):
                stem_lexicons.setdefault(lang, {})[key] = value
        negators = {lang: frozenset(words.split()) for lang, words in zip(stored["negator_lang"].tolist(),
                                                                           stored["negators"].tolist())}
        return ComplaintModel.from_weights(bits, names, weights, stored["dense"].tolist(), float(stored["intercept"]),
                                           float(stored["threshold"]), lexicons, negators, str(stored["version"]),
                                           stem_lexicons)
