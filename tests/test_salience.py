"""The region stage: where a text first names each region, weighed with the linear score."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from newstagger import Tagger
from newstagger.errors import ModelError
from newstagger.gazetteer import load_gazetteer
from newstagger.salience import SALIENCE_FEATURES, SalienceStage, fit_salience, salience_array, salience_rows

from .conftest import SEEDS_GAZETTEER
from .test_model import _rewrite_card

LABELS = ["south-asia", "east-asia", "europe", "middle-east", "africa", "oceania"]


@pytest.fixture(scope="module")
def matcher():
    return load_gazetteer(SEEDS_GAZETTEER).matcher()


def rows_of(matcher, text):
    rows = salience_rows(matcher.read(text)[1], len(text), LABELS)
    assert salience_array([matcher.read(text)[1]], [len(text)], LABELS).tolist() == [list(map(list, rows))]
    return dict(zip(LABELS, rows))


@pytest.mark.parametrize("text, expected", [
    ("India tests a missile", {"south-asia": (1.0, 0.0)}),
    # The first mention counts, not the later ones.
    ("Talks in Islamabad; India and Pakistan", {"south-asia": (1.0, 9 / 38)}),
    ("Ceasefire holds, Qatar says", {"middle-east": (1.0, 17 / 27)}),
    # A name standing for two regions marks both.
    ("AUKUS partners meet in Japan", {"europe": (1.0, 0.0), "oceania": (1.0, 0.0), "east-asia": (1.0, 23 / 28)}),
    ("Storms hit the coast", {}),
    # A stray town (its country never named beside another) says nothing.
    ("Mozambique reports death toll from Palma attack", {"africa": (1.0, 0.0)}),
])
def test_rows_give_each_named_region_its_first_position(matcher, text, expected):
    rows = rows_of(matcher, text)
    assert {k: v for k, v in rows.items() if v[0]} == expected and set(rows) == set(LABELS)
    assert all(v == (0.0,) * len(SALIENCE_FEATURES) for k, v in rows.items() if k not in expected)


def test_the_stage_learns_that_a_late_first_mention_is_seldom_a_party():
    """Synthetic pairs: named early means the label, named late means not; the stage must learn it
    beyond what the linear logit says, and its out-of-fold probabilities must show it."""
    rng = np.random.default_rng(0)
    n, k = 400, 3
    position = rng.uniform(0, 1, (n, k))
    named = rng.uniform(0, 1, (n, k)) < 0.6
    rows = np.stack([named.astype(float), np.where(named, position, 0.0)], axis=2)
    gold = named & (position < 0.4)
    logits = rng.normal(0, 1, (n, k)) + named  # the linear score sees only that a place was named
    stage, out_of_fold = fit_salience(logits, rows, gold, folds=4, seed=0)
    assert stage.weights[2] < -3  # first_position
    early, late = named & (position < 0.2), named & (position > 0.6)
    assert out_of_fold[early].mean() > 0.7 > 0.2 > out_of_fold[late].mean()


def test_probabilities_alone_equal_the_batch_bit_for_bit():
    rng = np.random.default_rng(1)
    stage = SalienceStage(rng.normal(0, 2, 1 + len(SALIENCE_FEATURES)), rng.normal(0, 1, 4))
    logits = np.vstack([rng.normal(0, 3, (500, 4)), rng.uniform(-900, 900, (50, 4))])
    rows = rng.uniform(0, 1, (550, 4, len(SALIENCE_FEATURES)))
    batch = stage.probabilities(logits, rows)
    from newstagger.model import _sigmoid

    for i in range(len(logits)):
        alone = [_sigmoid(x) for x in stage.linear_terms(logits[i].tolist(), rows[i].tolist())]
        assert alone == batch[i].tolist()


def test_a_model_trained_with_the_gazetteer_has_the_stage_on_its_region_facet(staged_tagger):
    [head] = staged_tagger.heads
    assert head.facet == "region" and head.salience is not None
    stage = staged_tagger.card["hyperparameters"]["region_stage"]
    assert stage["features"] == list(SALIENCE_FEATURES) and stage["facet"] == "region"
    assert staged_tagger.card["heads"][0]["salience"] == list(SALIENCE_FEATURES)


def test_a_model_without_gazetteer_or_regions_has_no_stage(tiny_tagger):
    # The tiny corpus's labels ("asia", "europe") are not all gazetteer regions, and it has no gazetteer.
    assert all(h.salience is None for h in tiny_tagger.heads)
    assert tiny_tagger.card["hyperparameters"]["region_stage"] is None


def test_the_stage_survives_save_and_load(staged_tagger, tmp_path):
    again = Tagger.load(staged_tagger.save(tmp_path / "again.npz"))
    np.testing.assert_array_equal(again.heads[0].salience.weights, staged_tagger.heads[0].salience.weights)
    texts = ["Pakistan buys Chinese frigates", "Germany and Japan hold talks; India watches", "Nothing here"]
    assert again.tag(texts) == staged_tagger.tag(texts)


def test_the_stage_moves_the_scores(staged_tagger):
    """The same model without its stage scores a late mention differently: the stage is really used."""
    text = "Japan and South Korea hold naval drills in the Sea of Japan, a report from Qatar says"
    with_stage = staged_tagger.tag(text)[0]["scores"]["region"]
    head = staged_tagger.heads[0]
    bare = Tagger(staged_tagger.features, [dataclasses.replace(head, salience=None)],
                  staged_tagger.card, staged_tagger.gazetteer)
    assert bare.tag(text)[0]["scores"]["region"] != with_stage


def test_a_text_gets_the_same_results_alone_and_in_a_batch(staged_tagger):
    texts = ["India tests a missile", "Talks in Islamabad; India and Pakistan", "Iran, Israel; Japan watches",
             "", "Germany orders tanks\nBerlin said Tokyo and Riyadh were told.", "zzzz"] * 2
    together = staged_tagger.tag(texts)
    assert [staged_tagger.tag(t)[0] for t in texts] == together
    assert staged_tagger.tag(texts[:3]) == together[:3]


def test_a_stage_reading_other_features_is_refused(staged_model_path, tmp_path):
    card = Tagger.load(staged_model_path).card
    heads = [dict(h, salience=["named", "something_else"]) for h in card["heads"]]
    other = _rewrite_card(staged_model_path, tmp_path / "other.npz", heads=heads)
    with pytest.raises(ModelError, match="something_else.*retrain"):
        Tagger.load(other)


def test_a_version_1_model_without_stages_still_loads(tiny_model_path, tmp_path):
    old = _rewrite_card(tiny_model_path, tmp_path / "v1.npz", format_version=1,
                        heads=[{k: v for k, v in h.items() if k != "salience"}
                               for h in json.loads(json.dumps(Tagger.load(tiny_model_path).card["heads"]))])
    assert Tagger.load(old).tag("Rafale jets for India") == Tagger.load(tiny_model_path).tag("Rafale jets for India")
