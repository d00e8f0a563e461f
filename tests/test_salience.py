"""The region stage: where a text first names each region, weighed with the linear score."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from newstagger import Tagger
from newstagger.errors import ModelError
from newstagger.gazetteer import load_gazetteer
from newstagger.salience import (SALIENCE_FEATURES, PairInput, SalienceStage, context_words, fit_salience,
                                 pair_inputs)

from .conftest import SEEDS_GAZETTEER
from .test_model import _rewrite_card

LABELS = ["south-asia", "east-asia", "europe", "middle-east", "africa", "oceania"]


@pytest.fixture(scope="module")
def matcher():
    return load_gazetteer(SEEDS_GAZETTEER).matcher()


def rows_of(matcher, text):
    return {label: (p.named, p.first_position) for label, p in
            zip(LABELS, pair_inputs(matcher.read(text)[1], text, LABELS))}


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
    assert all(v == (0.0, 0.0) for k, v in rows.items() if k not in expected)


@pytest.mark.parametrize("text, start, end, words", [
    ("Ceasefire holds, Qatar says", 17, 22, ["L1:,", "L2:holds", "R1:says"]),
    ("US-made jets for Taiwan", 0, 2, ["R1:-made", "R2:jets"]),
    ("Japan", 0, 5, []),
    ("Talks like Japan’s in Tokyo", 11, 16, ["L1:like", "L2:talks", "R1:’s", "R2:in"]),
])
def test_context_words_are_the_words_next_to_a_name(text, start, end, words):
    assert context_words(text, start, end) == words


def test_a_region_gathers_the_context_words_of_all_its_names(matcher):
    text = "Japan says China and Japan agree"
    [china, japan] = [p for label, p in zip(["southeast-asia", "east-asia"],
                                            pair_inputs(matcher.read(text)[1], text, ["southeast-asia", "east-asia"]))]
    assert china == PairInput(0.0, 0.0, ())
    assert japan.named and japan.first_position == 0.0
    assert set(japan.context) == {"R1:says", "R2:china", "L1:and", "L2:china", "L1:says", "L2:japan",
                                  "R1:and", "R2:japan", "R1:agree"}


def test_the_stage_learns_that_a_late_first_mention_is_seldom_a_party():
    """Synthetic pairs: named early means the label, named late means not; the stage must learn it
    beyond what the linear logit says, and its out-of-fold probabilities must show it."""
    rng = np.random.default_rng(0)
    n, k = 400, 3
    position = rng.uniform(0, 1, (n, k))
    named = rng.uniform(0, 1, (n, k)) < 0.6
    gold = named & (position < 0.4)
    # A context word that always means "not a party", another that means nothing.
    teller = named & ~gold & (rng.uniform(0, 1, (n, k)) < 0.5)
    pairs = [[PairInput(1.0, float(position[i, j]), ("R1:says",) * bool(teller[i, j]) + ("L1:the",))
              if named[i, j] else PairInput(0.0, 0.0, ()) for j in range(k)] for i in range(n)]
    logits = rng.normal(0, 1, (n, k)) + named  # the linear score sees only that a place was named
    stage, out_of_fold = fit_salience(logits, pairs, gold, folds=4, seed=0)
    assert stage.weights[2] < -3  # first_position
    weight = dict(zip(stage.context, stage.context_weights))
    assert weight["R1:says"] < -1 < weight["L1:the"]
    early, late = named & (position < 0.2), named & (position > 0.6)
    assert out_of_fold[early].mean() > 0.7 > 0.2 > out_of_fold[late].mean()


def test_probabilities_alone_equal_the_batch_bit_for_bit():
    from newstagger.model import _sigmoid

    rng = np.random.default_rng(1)
    stage = SalienceStage(rng.normal(0, 2, 3), rng.normal(0, 1, 4), ["R1:says", "L1:like"], rng.normal(0, 1, 2))
    logits = np.vstack([rng.normal(0, 3, (500, 4)), rng.uniform(-900, 900, (50, 4))])
    evidence = rng.normal(0, 2, logits.shape) * (rng.uniform(0, 1, logits.shape) < 0.7)
    batch = stage.probabilities(logits, evidence)
    for i in range(len(logits)):
        alone = [_sigmoid(x) for x in stage.linear_terms(logits[i].tolist(), evidence[i].tolist())]
        assert alone == batch[i].tolist()


def test_evidence_at_tagging_time_is_the_sum_over_the_training_pairs(matcher):
    """Tagging sums a region's evidence straight from the mentions; training reads pair_inputs.
    Both must describe the same thing, or the stage would be applied to other inputs than it learned."""
    rng = np.random.default_rng(3)
    context = ["R1:says", "L1:like", "R1:-made", "L1:,", "R2:jets", "L1:with"]
    stage = SalienceStage(rng.normal(0, 1, 3), rng.normal(0, 1, len(LABELS)), context, rng.normal(0, 1, len(context)))
    weight = dict(zip(context, stage.context_weights.tolist()))
    for text in ["Ceasefire holds, Qatar says", "US-made jets for Taiwan and Japan", "Talks like Japan's with India",
                 "Storms hit the coast", "India, India, India says; Pakistan with India"]:
        mentions = matcher.read(text)[1]
        expected = []
        for pair in pair_inputs(mentions, text, LABELS):
            total = stage.weights[1] + stage.weights[2] * pair.first_position
            for word in pair.context:
                total += weight.get(word, 0.0)
            expected.append(float(total) if pair.named else 0.0)
        assert stage.evidence(mentions, text, LABELS) == expected, text


def test_a_model_trained_with_the_gazetteer_has_the_stage_on_its_region_facet(staged_tagger):
    [head] = staged_tagger.heads
    assert head.facet == "region" and head.salience is not None
    stage = staged_tagger.card["hyperparameters"]["region_stage"]
    assert stage["features"] == list(SALIENCE_FEATURES) and stage["facet"] == "region"
    assert staged_tagger.card["heads"][0]["salience"] == {"features": list(SALIENCE_FEATURES), "context_window": 2,
                                                          "context_span": 40}
    assert len(head.salience.context) == len(head.salience.context_weights) > 0


def test_a_model_without_gazetteer_or_regions_has_no_stage(tiny_tagger):
    # The tiny corpus's labels ("asia", "europe") are not all gazetteer regions, and it has no gazetteer.
    assert all(h.salience is None for h in tiny_tagger.heads)
    assert tiny_tagger.card["hyperparameters"]["region_stage"] is None


def test_the_stage_survives_save_and_load(staged_tagger, tmp_path):
    again = Tagger.load(staged_tagger.save(tmp_path / "again.npz"))
    np.testing.assert_array_equal(again.heads[0].salience.weights, staged_tagger.heads[0].salience.weights)
    assert again.heads[0].salience.context == staged_tagger.heads[0].salience.context
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
    heads = [dict(h, salience=dict(h["salience"], features=["named", "something_else"])) for h in card["heads"]]
    other = _rewrite_card(staged_model_path, tmp_path / "other.npz", heads=heads)
    with pytest.raises(ModelError, match="something_else.*retrain"):
        Tagger.load(other)


def test_a_version_1_model_without_stages_still_loads(tiny_model_path, tmp_path):
    old = _rewrite_card(tiny_model_path, tmp_path / "v1.npz", format_version=1,
                        heads=[{k: v for k, v in h.items() if k != "salience"}
                               for h in json.loads(json.dumps(Tagger.load(tiny_model_path).card["heads"]))])
    assert Tagger.load(old).tag("Rafale jets for India") == Tagger.load(tiny_model_path).tag("Rafale jets for India")


def test_the_stage_explains_its_terms_as_they_stand_in_the_text(matcher):
    stage = SalienceStage(np.array([1.0, 0.5, -2.0]), np.zeros(len(LABELS)),
                          ["R1:says", "L1:despite", "L2:fail", "R1:unseen", "R1::", "L1:,"],
                          np.array([-1.0, 0.3, 0.2, 9.0, 0.4, 0.1]))
    text = "Talks fail despite Qatar effort, Qatar says; Qatar: more"
    terms = dict(stage.explain(matcher.read(text)[1], text, "middle-east"))
    position = text.index("Qatar") / len(text)
    # Each word once, shown beside the name it stood next to (punctuation after it as written);
    # words not in the stage's vocabulary left out.
    assert terms == {f"first named at {position:.0%} of the text": 0.5 - 2.0 * position,
                     '"despite Qatar"': 0.3, '"fail … Qatar"': 0.2, '", Qatar"': 0.1, '"Qatar says"': -1.0,
                     '"Qatar:"': 0.4}
    assert stage.explain(matcher.read(text)[1], text, "europe") == []


def test_explanations_of_a_staged_region_include_the_stage(staged_tagger):
    [result] = staged_tagger.tag(["India tests a missile near Pakistan"], explain=True)
    assert "south-asia" in result["labels"]["region"]
    terms = [t for t, _ in result["explanation"]["region"]["south-asia"]]
    assert any(t.startswith('"India" → IN') for t in terms), terms
    assert "first named at 0% of the text" in terms, terms


def test_the_stage_is_fitted_deterministically(staged_tagger, tmp_path):
    from newstagger.train import train_from_paths

    from .conftest import write_region_corpus

    again = train_from_paths([write_region_corpus(tmp_path / "data")], gazetteer_dir=SEEDS_GAZETTEER,
                             folds=2, seed=0, n_jobs=1)
    first, second = staged_tagger.heads[0].salience, again.heads[0].salience
    np.testing.assert_array_equal(first.weights, second.weights)
    np.testing.assert_array_equal(first.context_weights, second.context_weights)
    assert first.context == second.context
