"""The firm's own words for its job types, learnt from its reviews and its people's decisions."""

import json
import math
from datetime import date, timedelta

import pytest

from monitor import owner_pages
from monitor.match import match_business, view

CHARGER, PANEL = "Elbillader", "Nytt sikringsskap"
START = date(2026, 1, 5)


def job(number: int, customer: str, job_type: str, completed: date) -> dict:
    return {"id": f"b:{number}", "job_id": str(number), "customer_name": customer, "job_type": job_type,
            "city": "Skien", "started_at": (completed - timedelta(days=1)).isoformat(),
            "completed_at": completed.isoformat()}


def review(number: int, author: str, written: date, body: str) -> dict:
    return {"id": f"r{number}", "author": author, "published_at": f"{written.isoformat()}T10:00:00Z", "body": body,
            "lang": "nb"}


def customers_naming_their_work(count: int) -> tuple[list[dict], list[dict]]:
    """Customers with one job each, charger or panel in turn, who write of it in words no vocabulary knows."""
    jobs, reviews = [], []
    for i in range(count):
        completed = START + timedelta(days=2 * i)
        job_type, work = (CHARGER, "Ladeboksen") if i % 2 == 0 else (PANEL, "Skapet")
        jobs.append(job(i, f"Per Tveit{i:03d}", job_type, completed))
        reviews.append(review(i, f"Per Tveit{i:03d}", completed + timedelta(days=4), f"{work} virker. Takk for hjelpen!"))
    return jobs, reviews


def test_em_learns_which_words_name_which_job_type():
    jobs, reviews = customers_naming_their_work(120)
    _, estimates = match_business(reviews, jobs)
    table = estimates.job_words
    assert table.telling_word(view(reviews[0]).word_set) == "ladeboksen"
    # Half the reviews are about chargers and "ladeboksen" is said of nothing else: twice as often as on average,
    # shrunk by two pseudo-reviews of the firm's mix (61 of 62 reviews saying it are about chargers, half of all).
    assert table.types == (CHARGER, PANEL)
    assert table.weight("ladeboksen", 0) == pytest.approx(math.log(61 / 62 / 0.5), abs=1e-4)  # every review sure of its job, to a hundred-thousandth
    assert table.weight("ladeboksen", 1) == -3.0  # log(1 / 62 / 0.5), bounded
    assert table.weight("skapet", 1) == pytest.approx(math.log(61 / 62 / 0.5), abs=1e-4)  # every review sure of its job, to a hundred-thousandth
    assert set(table.information) == {"ladeboksen", "skapet"}  # "virker", "hjelpen": said of every job, they name none
    assert estimates.as_row("b", "now")["job_words"] == '{"ladeboksen": {"Elbillader": 0.68}, "skapet": {"Nytt sikringsskap": 0.68}}'


def with_a_returning_customer(jobs: list[dict], reviews: list[dict]) -> tuple[list[dict], list[dict]]:
    """Kari Lunde had a panel and a charger fitted the same day; her review names the charger."""
    day = START + timedelta(days=300)
    return (jobs + [job(500, "Kari Lunde", PANEL, day), job(501, "Kari Lunde", CHARGER, day)],
            reviews + [review(500, "Kari Lunde", day + timedelta(days=4), "Ladeboksen virker fint.")])


def test_a_review_naming_the_work_picks_that_job_of_two_alike():
    jobs, reviews = with_a_returning_customer(*customers_naming_their_work(120))
    results, estimates = match_business(reviews, jobs)
    result = results[-1]
    assert (result.status, result.job_id) == ("auto", "b:501")
    piece = next(p for p in result.reasons["evidence"] if p["kind"] == "job_words")
    lift = estimates.job_words.weight("ladeboksen", 0)
    assert piece == {"kind": "job_words", "word": "ladeboksen", "job_type": CHARGER, "times": round(math.exp(lift), 1),
                     "weight": round(round(estimates.weights["job_words"] * lift, 3), 2)}  # as the signals round it
    assert piece["times"] == 2.0
    assert result.reasons["explained"]["job_words"] == (
        "mentions 'ladeboksen', which this firm's reviews of Elbillader jobs use 2.0 times as often as on average")
    assert result.reasons["runner_up"]["job"] == "b:500"
    assert result.reasons["runner_up"]["score"] == 0.04  # the panel
    # Where the firm's customers never name their work, the two jobs stay alike: a person has to choose.
    jobs, reviews = customers_naming_their_work(120)
    quiet = [r | {"body": "Takk for hjelpen!"} for r in reviews]
    jobs, quiet = with_a_returning_customer(jobs, quiet)
    results, estimates = match_business(quiet, jobs)
    assert (results[-1].status, estimates.job_words.information) == ("ambiguous", {})


def test_people_s_decisions_teach_the_words_where_names_cannot():
    """Each customer had a charger and a panel fitted the same day: names and dates cannot tell which job a
    review is about, so EM learns nothing from them; the owner's confirmations teach it."""
    jobs, reviews = [], []
    for i in range(60):
        completed = START + timedelta(days=3 * i)
        name = f"Ola Berg{i:03d}"
        jobs += [job(2 * i, name, CHARGER, completed), job(2 * i + 1, name, PANEL, completed)]
        work = "Ladeboksen" if i % 2 == 0 else "Skapet"
        reviews.append(review(i, name, completed + timedelta(days=4), f"{work} kom raskt opp."))
    undecided, estimates = match_business(reviews, jobs)
    assert {result.status for result in undecided} == {"ambiguous"}
    assert estimates.job_words is None or "ladeboksen" not in estimates.job_words.information
    # The owner confirms the first twenty: ten chargers, ten panels.
    decided = [(reviews[i], f"b:{2 * i if i % 2 == 0 else 2 * i + 1}") for i in range(20)]
    results, estimates = match_business(reviews, jobs, decided=decided)
    table = estimates.job_words
    assert table.weight("ladeboksen", table.types.index(CHARGER)) > 0.5
    assert table.weight("skapet", table.types.index(PANEL)) > 0.5
    assert [(result.status, result.job_id) for result in results[20:]] == [
        ("auto", f"b:{2 * i if i % 2 == 0 else 2 * i + 1}") for i in range(20, 60)]


def test_the_learnt_word_is_worded_in_the_owners_language():
    jobs, reviews = with_a_returning_customer(*customers_naming_their_work(120))
    result = match_business(reviews, jobs)[0][-1]
    lines = {lang: dict(owner_pages.evidence_lines(json.dumps(result.reasons), owner_pages.Formats(lang, date(2026, 12, 1))))
             for lang in ("da", "nb", "sv", "de", "en")}
    said = {lang: next((text, weight) for text, weight in found.items() if "'ladeboksen'" in text) for lang, found in lines.items()}
    assert said == {
        "da": ("Nævner 'ladeboksen', som dine anmeldelser af Elbillader bruger 2 gange så ofte som gennemsnittet", "+0,6"),
        "nb": ("Nevner 'ladeboksen', som anmeldelsene dine av Elbillader bruker 2 ganger så ofte som gjennomsnittet", "+0,6"),
        "sv": ("Nämner 'ladeboksen', som dina omdömen om Elbillader använder 2 gånger så ofta som genomsnittet", "+0,6"),
        "de": ("Erwähnt 'ladeboksen', das Ihre Bewertungen zu Elbillader 2-mal so oft verwenden wie im Durchschnitt", "+0,6"),
        "en": ("Mentions 'ladeboksen', which your reviews of Elbillader jobs use 2 times as often as on average", "+0.6"),
    }
    # For the job of the other type, the same word counts against it.
    panel = dict(result.reasons) | {"evidence": [{"kind": "job_words_other", "word": "ladeboksen", "job_type": PANEL,
                                                  "times": 0.0, "weight": -2.8}]}
    assert owner_pages.evidence_lines(json.dumps(panel), owner_pages.Formats("da", date(2026, 12, 1))) == [
        ("Nævner 'ladeboksen', som dine anmeldelser mest bruger om andet end Nytt sikringsskap", "-2,8")]
