"""The theme model: its stored form, its arithmetic, and how it changes a complaint's themes."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from monitor import theme_model as tm
from monitor.text import load_data
from monitor.themes import Vocabulary

THEMES = ("leak", "refusal")


def bucket(stem: str) -> int:
    return zlib.crc32(stem.encode("utf-8")) >> (32 - tm.BITS)


def stored_model(tmp_path, weights: dict[str, float], intercept: float, hit: float, threshold: float,
                 learnt: tuple[str, ...] = ("refusal",)) -> tm.ThemeModel:
    """A model deciding `learnt` from one hit weight and stem weights, saved and loaded as shipped ones are."""
    dense = np.zeros((len(learnt), len(THEMES) + len(tm.LANGUAGES)))
    dense[:, THEMES.index("refusal")] = hit
    buckets = np.zeros((1 << tm.BITS, len(learnt)))
    for stem, weight in weights.items():
        buckets[bucket(stem), :] = weight
    path = tmp_path / "theme_model.npz"
    tm.save(path, THEMES, learnt, dense, buckets, np.full(len(learnt), intercept), np.full(len(learnt), threshold), "test1")
    tm.load.cache_clear()
    return tm.load(path)


def vocabulary_with(model: tm.ThemeModel | None) -> Vocabulary:
    words = Vocabulary(load_data("themes.toml"), load_data("complaint_cues.toml"))
    words.__dict__["theme_model"] = model  # the cached property, as if the package shipped this model
    return words


def test_no_model_file_means_no_model(tmp_path):
    assert tm.load(tmp_path / "missing.npz") is None


def test_stem_buckets_hold_each_stem_and_neighbour_pair_once():
    found = tm.stem_buckets(["vask", "laekag", "vask"])
    expected = {bucket("vask"), bucket("laekag"), bucket("vask laekag"), bucket("laekag vask")}
    assert sorted(found.tolist()) == sorted(expected)


def test_dense_values_are_the_hits_then_the_language():
    values = tm.dense_values({"refusal"}, "nn", THEMES)
    assert values.tolist() == [0.0, tm.HIT, 0.0, 1.0, 0.0, 0.0, 0.0]  # nynorsk reads as Bokmål


def test_a_stored_model_gives_the_logistic_of_its_weights(tmp_path):
    model = stored_model(tmp_path, {"afvist": 1.5}, intercept=-2.0, hit=0.25, threshold=0.5)
    chance = model.probabilities(["de", "afvist"], {"refusal"}, "da")["refusal"]
    assert chance == pytest.approx(1 / (1 + math.exp(-(-2.0 + 0.25 * tm.HIT + 1.5))), abs=1e-3)
    assert model.decide(["de", "afvist"], set(), "da") == {"refusal": False}  # -2 + 1.5 < 0
    assert model.version == "test1"


def test_the_model_adds_a_theme_the_words_missed_with_the_sentence_of_its_strongest_word(tmp_path):
    text = "Vi ringede tre gange. De spillede kispus med mig hele vejen. Elendigt."
    assert vocabulary_with(None).analyse(text, 1, "da").themes == {}
    words = vocabulary_with(stored_model(tmp_path, {"kispus": 4.0, "spilled": 0.5}, -1.0, 1.0, 0.5))
    finding = words.analyse(text, 1, "da")
    assert finding.themes == {"refusal": "De spillede kispus med mig hele vejen."}
    assert text[slice(*finding.spans["refusal"])] == "kispus"


def test_the_model_drops_a_theme_it_does_not_believe_and_leaves_the_themes_it_did_not_learn(tmp_path):
    text = "Vi har en lækage under vasken og de afviste min reklamation."
    assert set(vocabulary_with(None).analyse(text, 1, "da").themes) == {"leak", "refusal"}
    finding = vocabulary_with(stored_model(tmp_path, {}, -10.0, 1.0, 0.5)).analyse(text, 1, "da")
    assert set(finding.themes) == {"leak"} and set(finding.spans) == {"leak"}


def test_learnt_false_and_praise_keep_the_vocabulary_decision(tmp_path):
    words = vocabulary_with(stored_model(tmp_path, {"tak": 9.0}, -10.0, 1.0, 0.5))
    text = "Vi har en lækage under vasken og de afviste min reklamation."
    assert set(words.analyse(text, 1, "da", learnt=False).themes) == {"leak", "refusal"}
    praise = words.analyse("Fantastisk service, tak!", 5, "da")
    assert not praise.complaint and praise.themes == {}


def test_the_analysis_version_follows_the_theme_model(tmp_path):
    assert vocabulary_with(None).version != vocabulary_with(stored_model(tmp_path, {}, 0.0, 1.0, 0.5)).version
