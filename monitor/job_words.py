"""Which of a firm's own words name which of its job types, learnt from its reviews without labels.

Customers name the work in their own words ("ladeboksen", "the loo", "strømbruddet"), which no shipped
vocabulary knows and which differ from the export's job types ("Elbillader", "Toilet replacement",
"Feilsøking"). During the firm's EM (monitor/estimate.py) each review's words are counted against the
job types of its candidates, each candidate weighed by its current responsibility; the lift of a word
for a type, P(type | the word, about a job) / P(type | about a job), is then the evidence the word
gives for a candidate of that type (log lift: P(word | type) / P(word)). A stranger writes of work
drawn as a customer's is, so the same lift weighs a candidate against "never a customer".

A word names a type only when its reviews' mix of types differs from the firm's beyond chance (a
G-test over the reviews sure of their job, corrected for the number of words tried): in a few hundred reviews "great" or "and" falls on
one type now and then. Only a review's most telling word counts (the one whose lift for some type is largest): the words of
one phrase ("nytt sikringsskap") tell the same thing, and their lifts multiplied would count it twice.
A review is weighed with the counts of the other reviews, not its own: a word seen in three reviews
would otherwise vouch for itself, and strangers' reviews would confirm their own wrong candidates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

PSEUDO_REVIEWS = 2.0  # a word's counts are shrunk towards the firm's mix of job types by this many reviews
TELLING = 0.2  # log lift a word needs for some type before it counts as naming the work
BOUND = 3.0  # largest |log lift| one word gives: a firm's counts are few
MIN_REVIEWS = 3  # words in fewer of the firm's reviews are not counted
# A word tells only if its reviews' mix of types differs from the firm's beyond chance: a G-test at a
# level that leaves about this many of the firm's words telling by chance ("great", "and" among 300 reviews).
CHANCE_WORDS = 0.01
SURE = 0.8  # the test counts the reviews at least this sure of their job: an even split between two says nothing


@dataclass(frozen=True)
class JobWords:
    """The learnt table: per telling word, how much of the reviews saying it are about each job type."""

    counts: dict[str, np.ndarray]  # word -> reviews saying it, by type (each weighed by its responsibility)
    information: dict[str, float]  # word -> its largest log lift, for the words that are telling
    types: tuple[str, ...]  # type number -> the export's job type, for the reasons
    type_share: np.ndarray  # of the reviews about a job, by type
    own: dict[str, dict[int, float]]  # a counted review's id -> its own part of its telling word's counts, by type
    lifts: dict[str, list[float]]  # word -> its log lift by type, for reviews that were not counted

    def __post_init__(self) -> None:
        object.__setattr__(self, "_telling", frozenset(self.information))

    def telling_word(self, words: AbstractSet[str]) -> str | None:
        """The review's most telling word, ties to the first in alphabetical order, or None."""
        found = self._telling.intersection(words)  # in C: most reviews say none of the few telling words
        if not found:
            return None
        information = self.information
        return min([(-information[word], word) for word in found])[1]

    def weight(self, word: str, job_type: int, review_id: str | None = None) -> float:
        """The word's log lift for the type, from the counts of reviews other than this one."""
        own = self.own.get(review_id) if review_id is not None else None
        if not own:  # most reviews of a big firm: read, not computed (matching asks for every candidate)
            return self.lifts[word][job_type]
        counts = self.counts[word]
        count = max(float(counts[job_type]) - own.get(job_type, 0.0), 0.0)
        total = max(float(counts.sum()) - sum(own.values()), 0.0)
        return float(_log_lift(count, total, float(self.type_share[job_type])))

    def described(self, limit: int = 30) -> dict[str, dict[str, float]]:
        """The most telling words with the type each names best: for the estimates an owner can inspect."""
        best = sorted(self.information.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return {word: {self.types[int(np.argmax(self.counts[word] / self.type_share))]: round(value, 2)} for word, value in best}


def _log_lift(count: "float | np.ndarray", total: "float | np.ndarray", share: "float | np.ndarray") -> "float | np.ndarray":
    """log(P(type | the word) / P(type)), the word's counts shrunk towards the firm's mix of types, bounded."""
    return np.clip(np.log((count + PSEUDO_REVIEWS * share) / (total + PSEUDO_REVIEWS) / share), -BOUND, BOUND)


@dataclass
class Counting:
    """What EM counts words against: each candidate row's job type and each review's words, as arrays."""

    row_type: np.ndarray  # per row: its job's type number, -1 for a job without one
    pair_row: np.ndarray  # (row, word) pairs: a row's review names the word
    pair_word: np.ndarray
    review_word_review: np.ndarray  # (review, word) pairs, sorted by review then word number
    review_word_word: np.ndarray
    words: tuple[str, ...]  # word number -> word, in alphabetical order
    types: tuple[str, ...]
    review_ids: list[str]  # review number -> its id, for the reviews' own parts of the counts
    _g_needed: float | None = None

    @classmethod
    def build(cls, review_words: list[set[str]], review_of_row: np.ndarray, row_type: np.ndarray,
              types: tuple[str, ...], review_ids: list[str]) -> "Counting | None":
        """None when there is nothing to learn: no job types, or no words shared by a few reviews."""
        if not types or not len(row_type):
            return None
        # Words said of every job ("og", "sehr") are counted too: their lift stays near 1, so they never tell;
        # a firm with two job types may name one of them in half its reviews.
        frequency = Counter(word for words in review_words for word in words)
        words = tuple(sorted(word for word, count in frequency.items()
                             if count >= MIN_REVIEWS and len(word) >= 3 and not word.isdigit()))
        if not words:
            return None
        number = {word: i for i, word in enumerate(words)}
        per_review = [sorted(number[w] for w in ws if w in number) for ws in review_words]
        review_word_review = np.repeat(np.arange(len(per_review)), [len(ids) for ids in per_review])
        review_word_word = np.array([i for ids in per_review for i in ids], dtype=int)
        starts = np.concatenate([[0], np.cumsum([len(ids) for ids in per_review])])
        typed_rows = np.flatnonzero(row_type >= 0)
        reviews = review_of_row[typed_rows]
        counts = starts[reviews + 1] - starts[reviews]
        pair_row = np.repeat(typed_rows, counts)
        pair_word = np.concatenate([review_word_word[starts[r]:starts[r + 1]] for r in reviews]) if len(reviews) else \
            np.array([], dtype=int)
        return cls(row_type, pair_row, pair_word.astype(int), review_word_review, review_word_word, words, types, review_ids)

    def learn(self, responsibility: np.ndarray) -> "Learnt":
        """Each word's counts by type and its largest log lift, from rows weighed so."""
        types = len(self.types)
        typed = self.row_type >= 0
        by_type = np.bincount(self.row_type[typed], weights=responsibility[typed], minlength=types) + 1.0
        type_share = by_type / by_type.sum()
        cells = self.pair_word * types + self.row_type[self.pair_row]
        counts = np.bincount(cells, weights=responsibility[self.pair_row], minlength=len(self.words) * types)
        counts = counts.reshape(len(self.words), types)
        lift = _log_lift(counts, counts.sum(axis=1, keepdims=True), type_share)
        sure = np.where(responsibility >= SURE, responsibility, 0.0)[self.pair_row]
        sure_counts = np.bincount(cells, weights=sure, minlength=len(self.words) * types).reshape(len(self.words), types)
        expected = sure_counts.sum(axis=1, keepdims=True) * type_share
        with np.errstate(divide="ignore", invalid="ignore"):
            g = 2.0 * np.where(sure_counts > 0, sure_counts * np.log(sure_counts / expected), 0.0).sum(axis=1)
        information = np.where(g >= self.g_needed, lift.max(axis=1), -np.inf)
        return Learnt(counts, type_share, information, responsibility)

    @property
    def g_needed(self) -> float:
        """The G a word's mix of types needs: chi-square's inverse survival at CHANCE_WORDS / words tried."""
        if self._g_needed is None:
            from scipy.special import chdtri  # scipy.stats would take 0.3 s more to import

            self._g_needed = float(chdtri(max(len(self.types) - 1, 1), CHANCE_WORDS / len(self.words)))
        return self._g_needed

    def column(self, learnt: "Learnt", review_of_row: np.ndarray, reviews: int) -> np.ndarray:
        """Each row's evidence: its review's most telling word's log lift for the row's job type, counted
        without the review itself."""
        information = learnt.information
        values = information[self.review_word_word]
        # Within each review, the largest information first, ties by word number (alphabetical), as telling_word.
        order = np.lexsort((self.review_word_word, -values, self.review_word_review))
        review_sorted = self.review_word_review[order]
        first = np.flatnonzero(np.diff(np.concatenate([[-1], review_sorted])) != 0)
        best_word = np.full(reviews, -1)
        chosen = order[first]
        keep = values[chosen] >= TELLING
        best_word[review_sorted[first][keep]] = self.review_word_word[chosen][keep]
        word_of_row = best_word[review_of_row]
        out = np.zeros(len(review_of_row))
        usable = (word_of_row >= 0) & (self.row_type >= 0)
        rows = np.flatnonzero(usable)
        words, types = word_of_row[rows], self.row_type[rows]
        own_same, own_total = self._own(learnt.responsibility, review_of_row, rows)
        counts = learnt.counts
        out[rows] = _log_lift(np.maximum(counts[words, types] - own_same, 0.0),
                              np.maximum(counts[words].sum(axis=1) - own_total, 0.0), learnt.type_share[types])
        return out

    def _own(self, responsibility: np.ndarray, review_of_row: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of these rows, its review's own weight on rows of the same type, and on typed rows at all."""
        if not len(rows):
            return np.zeros(0), np.zeros(0)
        typed = np.flatnonzero(self.row_type >= 0)
        key = review_of_row[typed].astype(np.int64) * (len(self.types) + 1) + self.row_type[typed]
        groups, group_of = np.unique(key, return_inverse=True)
        by_group = np.bincount(group_of, weights=responsibility[typed], minlength=len(groups))
        by_review = np.bincount(review_of_row[typed], weights=responsibility[typed], minlength=int(review_of_row.max()) + 1)
        wanted = review_of_row[rows].astype(np.int64) * (len(self.types) + 1) + self.row_type[rows]
        return by_group[np.searchsorted(groups, wanted)], by_review[review_of_row[rows]]

    def table(self, learnt: "Learnt", review_of_row: np.ndarray, review_ids: list[str]) -> JobWords:
        telling = np.flatnonzero(learnt.information >= TELLING)
        telling_words = {self.words[i] for i in telling}
        own: dict[str, dict[int, float]] = {}
        typed = np.flatnonzero(self.row_type >= 0)
        for row in typed:  # each counted review's own part of the counts of the words it says
            weight = float(learnt.responsibility[row])
            if weight > 0.0:
                parts = own.setdefault(review_ids[review_of_row[row]], {})
                parts[int(self.row_type[row])] = parts.get(int(self.row_type[row]), 0.0) + weight
        counts = learnt.counts[telling]
        lifts = _log_lift(counts, counts.sum(axis=1, keepdims=True), learnt.type_share)
        return JobWords({self.words[i]: learnt.counts[i].copy() for i in telling},
                        {self.words[i]: float(learnt.information[i]) for i in telling}, self.types, learnt.type_share,
                        own if telling_words else {}, {self.words[i]: row.tolist() for i, row in zip(telling, lifts)})


@dataclass
class Learnt:
    """One M-step's counts: by word and type, the share of each type, each word's largest log lift."""

    counts: np.ndarray
    type_share: np.ndarray
    information: np.ndarray
    responsibility: np.ndarray
