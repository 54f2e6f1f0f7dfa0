"""What matching cannot know in advance, estimated from each firm's own jobs and reviews, without labels.

Fellegi-Sunter record linkage over the blocked candidates: for a review and a job, each comparison
(how the name fits, days from completion, date of experience, town, kind of work, crew, job or
invoice number, street) falls in one level. m is the chance of that level when the review is about
the job, u when it is not. Where the firm's customer list tells u directly (term frequencies: how many
customers a name in that form would fit, the share of jobs completed that many days before the review,
in a town, with a crew member, of a kind), it is read from there on every analyze (match.JobIndex); the
other u, every m, how strangers write their names, how often reviews tell anything at all, and the
share of reviews about none of the firm's jobs are estimated by EM over the firm's reviews. Each review is about one of its candidates or
none, so the E-step weighs a review's candidates against each other and against "none"; people's
decisions fix those reviews' answers. The prior (monitor/data/match_model.json "prior", counted on
labelled monitor/synthetic.py worlds) adds a few pseudo-reviews, so a small firm's estimates stay sensible.

The result is a match.Model: log(m/u) per level (log m where the term frequency carries u), the
intercept log((1 - share) / share) plus what a review that tells nothing says, all calibrated by one
slope and offset fitted on labelled worlds free for tuning (match_model.json "calibration"). The share
is that among reviews with a candidate: the scores only ever weigh those.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from monitor.job_words import Counting, JobWords

# Each comparison's levels, as match.FEATURES names them; a pair is in at most one level of each.
COMPARISONS: dict[str, tuple[str, ...]] = {
    "name": ("name_full", "name_reversed", "name_variant", "name_surname_initial", "name_first_initial",
             "name_initials", "name_title_initial", "name_first_only", "name_surname_only", "name_other_first_name", "name_partner",
             "name_company", "name_none"),
    "delay": ("before_start", "during_job", "days_0_7", "days_8_30", "days_31_60", "days_61_120", "days_121_240",
              "days_241_400", "days_over_400"),
    # The date of experience, when the reviewer gave one that is not the review's own day: this job's completion
    # or start day (and then in place of the delay), or that far from its completion.
    "experienced": ("dated_completion", "dated_start", "experienced_near", "experienced_mid", "experienced_far"),
    "location": ("location", "location_other"),
    "job_type": ("job_type_same", "job_type_other"),
    "crew": ("crew", "crew_other"),
    "reference": ("reference", "reference_other"),
    "street": ("street", "street_other"),
}
# Levels whose u comes from the firm's term frequencies, carried by a feature of fixed weight:
# a name fits exp(coincidences) of the N jobs by chance (u = that / N, and the 1/N of each job's
# prior share cancels it); the days from completion, a completion or start day, a town, crew member, kind of work,
# street or number are shared by exp(-rarity) of them.
BY_FREQUENCY = (frozenset(COMPARISONS["name"][:-1]) | frozenset(COMPARISONS["delay"])
                | {"dated_completion", "dated_start", "location", "job_type_same", "crew", "reference", "street"})
FIXED_WEIGHTS = {"job_words": 1.0, "name_site": 1.0, "delay_rarity": 1.0, "coincidences": -1.0, "coincidences_initial": -1.0, "coincidences_one_name": -1.0,
                 "location_rarity": 1.0, "job_type_rarity": 1.0, "crew_rarity": 1.0, "reference_rarity": 1.0,
                 "street_rarity": 1.0}
# How a reviewer wrote their name, as match.written_as tells it. sigma is its chance in a review about none
# of the firm's jobs, so a fit's weight is log(m / (sigma * u)): "Jens" fits many, and strangers often write only that.
WRITTEN = ("written_one_name", "written_initial", "written_full", "written_title")
# What a review tells at all: mu is its chance in a review about one of its candidates, nu in one about
# none; every candidate of a review that tells it gains logit(mu) - logit(nu), and the intercept holds
# log((1 - mu) / (1 - nu)) for each, so a review that tells nothing leans a little towards none.
TRAITS = ("says_job_type", "says_crew", "says_reference", "says_street", "says_location", "says_experienced",
          "says_not_found")
ITERATIONS = 40
TOLERANCE = 1e-3  # largest change of any weight, in log-odds, at which EM stops
SHARE_BOUNDS = (0.01, 0.95)  # never-customers: a firm's reviews are neither all customers' nor all strangers'
# Pseudo-reviews added to a site's count of each form and to the count the firm's mix expects there: a form a
# site's reviewers used a handful of times says little of that site (with a share of the firm's mix instead,
# a firm whose sites do not differ got habits of e-fold on its rarest forms).
SITE_EXPECTED = 5.0
# A site's habit moves a form's odds at most e-fold: a form none of a site's few hundred reviewers used yet is
# rare there, not impossible.
SITE_BOUND = 1.0


@dataclass(frozen=True)
class Prior:
    """The shipped starting point: level chances counted on labelled synthetic worlds."""

    m: dict[str, float]
    u: dict[str, float]
    none_share: float  # reviews about none of their candidates
    written: dict[str, float]  # sigma: how names are written in reviews about none of the firm's jobs
    told: dict[str, float]  # mu, by trait
    told_by_none: dict[str, float]  # nu, by trait
    strength: float  # as many pseudo-reviews
    email_weight: float  # a fit through the e-mail address rather than the name on the invoice (not estimated)
    slope: float = 1.0  # calibration of the final log-odds: slope * z + offset (match_model.json "calibration")
    offset: float = 0.0


@lru_cache(maxsize=1)
def default_prior() -> Prior:
    from monitor.match import MODEL_PATH

    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    prior = data["prior"]
    calibration = data.get("calibration", {})
    return Prior(prior["m"], prior["u"], prior["none_share"], prior["written"], prior["told"], prior["told_by_none"],
                 prior["strength"], data["weights"].get("name_by_email", 0.0),
                 calibration.get("slope", 1.0), calibration.get("offset", 0.0))


@dataclass
class Estimates:
    """One firm's figures: what the scores are made of, kept in match_estimates."""

    none_share: float
    m: dict[str, float]
    u: dict[str, float]
    weights: dict[str, float]
    intercept: float
    reviews: int  # reviews the figures were estimated on
    labelled: int  # of which a person decided
    candidates: int  # (review, job) pairs weighed
    iterations: int
    converged: bool
    job_words: JobWords | None = None  # the firm's own words for its job types, learnt with the rest
    # Per review source, for each name level and way of writing: log(its count on that site / the count the firm's
    # mix expects there, smoothed), among the reviews about a job (levels) and about none (ways of writing). Facebook's reviewers sign
    # as the customer's partner, Google's as "Jens H.": a firm's overall mix says too little of either.
    site_habits: dict[str, dict[str, float]] | None = None

    def as_row(self, business_id: str, estimated_at: str) -> dict[str, Any]:
        return {"business_id": business_id, "estimated_at": estimated_at, "reviews": self.reviews,
                "labelled": self.labelled, "candidates": self.candidates, "never_customer_share": round(self.none_share, 4),
                "iterations": self.iterations, "converged": int(self.converged),
                "m": json.dumps({k: round(v, 4) for k, v in self.m.items()}, sort_keys=True),
                "u": json.dumps({k: round(v, 4) for k, v in self.u.items()}, sort_keys=True),
                "weights": json.dumps({k: round(v, 3) for k, v in self.weights.items()}, sort_keys=True),
                "job_words": json.dumps(self.job_words.described() if self.job_words else {}, ensure_ascii=False),
                "site_habits": json.dumps(self.site_habits or {}, sort_keys=True)}


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def weights_of(m: dict[str, float], u: dict[str, float], none_share: float, jobs: int,
               email_weight: float, company_share: float = 1.0) -> tuple[float, dict[str, float]]:
    """The model's intercept and weights for these chances (m and u also hold mu and nu by TRAITS, u sigma by WRITTEN;
    company_share: of the firm's jobs, those for a company)."""
    weights = dict(FIXED_WEIGHTS)
    intercept = math.log((1.0 - none_share) / none_share)
    for trait in TRAITS:
        weights[trait] = _logit(m[trait]) - _logit(u[trait])
        intercept += math.log((1.0 - m[trait]) / (1.0 - u[trait]))
    weights["name_by_email"] = email_weight
    for written in WRITTEN:
        weights[written] = -math.log(u[written])
    for levels in COMPARISONS.values():
        for level in levels:
            if level == "name_company":
                # Only a company's job can fit by its company name: m is the chance among reviews about a company's
                # jobs, which are company_share of the reviews about any job (counted over all of them, a firm whose
                # customers are a tenth companies made a company's own name ten times weaker than it is).
                weights[level] = math.log(m[level]) - math.log(max(company_share, 1.0 / max(jobs, 1)))
            elif level in BY_FREQUENCY:
                weights[level] = math.log(m[level])
            elif level == "name_none":  # u is about 1; the job's prior share 1/N is left to it
                weights[level] = math.log(m[level]) - math.log(max(jobs, 1))
            else:
                weights[level] = math.log(m[level]) - math.log(u[level])
    return intercept, weights


def estimate(rows: np.ndarray, review_of_row: np.ndarray, written: np.ndarray, traits: np.ndarray, jobs: int,
             feature_names: tuple[str, ...], fixed_row: dict[int, int] | None = None,
             excluded_rows: np.ndarray | None = None, prior: Prior | None = None, company_share: float = 1.0,
             job_words: Counting | None = None, sources: list[str | None] | None = None) -> Estimates:
    """EM over one firm's blocked candidates.

    rows: one per (review, candidate job), the features in `feature_names` order; review_of_row: its
    review (0 .. reviews - 1); written: per review, how its author's name is written (index in WRITTEN,
    -1 for no name); traits: per review, 1 for each of TRAITS it tells; jobs: the firm's. fixed_row:
    review -> the row a person confirmed, or -1 for "not our customer". excluded_rows: rows a person rejected.
    company_share: the share of the firm's jobs that are a company's. job_words: the rows' job types and the
    reviews' words, to learn which words name which type (monitor/job_words.py); its column is rewritten
    after every M-step. sources: per review, the site it was read from (None unknown): with two or more, each
    site's name habits are learnt (Estimates.site_habits) and its column rewritten after every M-step too."""
    prior = prior or default_prior()
    reviews = len(written)
    has_candidates = np.bincount(review_of_row, minlength=reviews) > 0
    column = {name: i for i, name in enumerate(feature_names)}
    written_as = np.zeros((reviews, len(WRITTEN)))
    named = written >= 0
    written_as[np.flatnonzero(named), written[named]] = 1.0
    fixed_row = fixed_row or {}
    indicators = {c: rows[:, [column[level] for level in levels]] for c, levels in COMPARISONS.items()}  # 0/1
    m = {level: prior.m[level] for levels in COMPARISONS.values() for level in levels} | dict(prior.told)
    u = {level: prior.u[level] for levels in COMPARISONS.values() for level in levels} | dict(prior.told_by_none)
    u |= prior.written
    told_prior = np.array([prior.told[t] for t in TRAITS])
    written_prior = np.array([prior.written[w] for w in WRITTEN])
    share = prior.none_share
    allowed = np.ones(len(rows))
    if excluded_rows is not None and len(excluded_rows):
        allowed[excluded_rows] = 0.0
    fixed_reviews = np.array(sorted(fixed_row), dtype=int)
    fixed_targets = np.array([fixed_row[r] for r in fixed_reviews], dtype=int)
    weight_vector = np.zeros(len(feature_names))
    previous: np.ndarray | None = None
    iterations, converged = 0, False
    words_column = column.get("job_words") if job_words is not None else None
    learnt = None
    words_moved = 0.0
    sites = _Sites.of(sources, review_of_row, indicators["name"], written, column) if sources else None
    for iterations in range(1, ITERATIONS + 1):
        intercept, weights = weights_of(m, u, share, jobs, prior.email_weight, company_share)
        for name, value in weights.items():
            if name in column:
                weight_vector[column[name]] = value
        current = np.concatenate([[intercept], weight_vector])
        if (previous is not None and np.max(np.abs(current - previous)) < TOLERANCE and words_moved < TOLERANCE * 10
                and (sites is None or sites.moved < TOLERANCE * 10)):
            converged = True
            break
        previous = current.copy()
        # E-step: each review's candidates against each other and against none, as Model.probabilities does.
        odds = np.exp(np.clip(rows @ weight_vector + intercept, -40.0, 40.0)) * allowed
        total = 1.0 + np.bincount(review_of_row, weights=odds, minlength=reviews)
        responsibility = odds / total[review_of_row]
        none = 1.0 / total
        if len(fixed_reviews):  # a person's decision is the answer for that review
            responsibility[np.isin(review_of_row, fixed_reviews)] = 0.0
            responsibility[fixed_targets[fixed_targets >= 0]] = 1.0
            none[fixed_reviews] = (fixed_targets < 0).astype(float)
        # M-step: chances, each with the prior's pseudo-reviews.
        about_none = float(none.sum())
        # Among reviews with a candidate only: the others are about none by construction (a handle, a job blocking
        # did not find) and say nothing of how often a review that fits a job is a stranger's; counted in, they
        # made the share 0.1-0.2 too high on the zoo's free worlds and every score too modest.
        share = float(np.clip((none[has_candidates].sum() + prior.strength * prior.none_share)
                              / (has_candidates.sum() + prior.strength), *SHARE_BOUNDS))
        sigma = none @ written_as + prior.strength * written_prior
        u.update({w: float(value) for w, value in zip(WRITTEN, sigma / sigma.sum())})
        told = (traits.T @ (1.0 - none) + prior.strength * told_prior) / (reviews - about_none + prior.strength)
        # Strangers tell as much as this firm's customers until its reviews about none show otherwise.
        told_by_none = (traits.T @ none + prior.strength * told) / (about_none + prior.strength)
        for trait, mu, nu in zip(TRAITS, told, told_by_none):
            m[trait], u[trait] = float(np.clip(mu, 1e-3, 1 - 1e-3)), float(np.clip(nu, 1e-3, 1 - 1e-3))
        not_match = 1.0 - responsibility
        for comparison, levels in COMPARISONS.items():
            m_prior = np.array([prior.m[level] for level in levels])
            u_prior = np.array([prior.u[level] for level in levels])
            m_new = responsibility @ indicators[comparison] + prior.strength * m_prior
            u_new = not_match @ indicators[comparison] + prior.strength * u_prior
            for level, m_value, u_value in zip(levels, m_new / m_new.sum(), u_new / u_new.sum()):
                m[level], u[level] = max(float(m_value), 1e-4), max(float(u_value), 1e-4)
        if words_column is not None:
            learnt = job_words.learn(responsibility)
            column_now = job_words.column(learnt, review_of_row, reviews)
            words_moved = float(np.max(np.abs(column_now - rows[:, words_column]))) if len(column_now) else 0.0
            rows[:, words_column] = column_now
        if sites is not None:
            sites.learn(rows, responsibility, none)
    intercept, weights = weights_of(m, u, share, jobs, prior.email_weight, company_share)
    # EM's independent signals leave scores too sure at the top and too modest in the middle; one slope
    # and offset on the log-odds, fitted on labelled worlds free for tuning (benchmarks/match_tuning.py
    # --calibrate), make a score of 0.9 right about 9 times in 10. Applied to every weight, so the
    # evidence still adds up to the score.
    intercept = prior.slope * intercept + prior.offset
    weights = {name: prior.slope * value for name, value in weights.items()}
    table = job_words.table(learnt, review_of_row, job_words.review_ids) if job_words is not None and learnt else None
    return Estimates(share, m, u, weights, intercept, reviews, len(fixed_row), int(rows.shape[0]), iterations, converged,
                     table, sites.habits() if sites is not None else None)


class _Sites:
    """Each review source's name habits against the firm's, learnt in EM's M-step (see Estimates.site_habits)."""

    def __init__(self, names: list[str], site_of_review: np.ndarray, review_of_row: np.ndarray, level_of_row: np.ndarray,
                 written: np.ndarray, column: int) -> None:
        self.names, self.site_of_review, self.column = names, site_of_review, column
        self.site_of_row, self.level_of_row, self.written = site_of_review[review_of_row], level_of_row, written
        self.review_of_row = review_of_row
        self.level_ratio = np.zeros((len(names), len(COMPARISONS["name"])))
        self.written_ratio = np.zeros((len(names), len(WRITTEN)))
        self.moved = 0.0

    @classmethod
    def of(cls, sources: list[str | None], review_of_row: np.ndarray, name_levels: np.ndarray, written: np.ndarray,
           column: dict[str, int]) -> "_Sites | None":
        names = sorted({source for source in sources if source})
        if len(names) < 2 or "name_site" not in column:
            return None  # one site's habits are the firm's
        code = {name: number for number, name in enumerate(names)}
        site_of_review = np.array([code.get(source, -1) if source else -1 for source in sources], dtype=int)
        return cls(names, site_of_review, review_of_row, name_levels.argmax(axis=1), written, column["name_site"])

    def learn(self, rows: np.ndarray, responsibility: np.ndarray, none: np.ndarray) -> None:
        """Re-count the habits from this E-step's answers and rewrite the rows' column with them."""
        known = self.site_of_row >= 0
        self.level_ratio = _ratios(self.site_of_row[known], self.level_of_row[known], responsibility[known],
                                   len(self.names), len(COMPARISONS["name"]))
        named = (self.site_of_review >= 0) & (self.written >= 0)
        self.written_ratio = _ratios(self.site_of_review[named], self.written[named], none[named],
                                     len(self.names), len(WRITTEN))
        column = np.zeros(len(rows))
        site, level = self.site_of_row[known], self.level_of_row[known]
        column[known] = self.level_ratio[site, level]
        # Every candidate but one found without a name fit carries the way the name was written (match.review_features).
        written = self.written[self.review_of_row[known]]
        carries = (written >= 0) & (level != COMPARISONS["name"].index("name_none"))
        column[np.flatnonzero(known)[carries]] -= self.written_ratio[site[carries], written[carries]]
        self.moved = float(np.max(np.abs(column - rows[:, self.column]))) if len(rows) else 0.0
        rows[:, self.column] = column

    def habits(self) -> dict[str, dict[str, float]]:
        return {name: {**{level: round(float(value), 4) for level, value in zip(COMPARISONS["name"], self.level_ratio[number])},
                       **{way: round(float(value), 4) for way, value in zip(WRITTEN, self.written_ratio[number])}}
                for number, name in enumerate(self.names)}


def _ratios(site: np.ndarray, level: np.ndarray, weight: np.ndarray, sites: int, levels: int) -> np.ndarray:
    """log(each site's count of each level / the count the firm's mix expects there), both with SITE_EXPECTED
    pseudo-reviews, within SITE_BOUND: a form seen a handful of times says little of any site, a site with
    every review of the firm's has the firm's habits exactly."""
    counts = np.zeros((sites, levels))
    np.add.at(counts, (site, level), weight)
    firm = counts.sum(axis=0) / max(float(counts.sum()), 1e-9)
    expected = counts.sum(axis=1, keepdims=True) * firm
    return np.clip(np.log((counts + SITE_EXPECTED) / (expected + SITE_EXPECTED)), -SITE_BOUND, SITE_BOUND)
