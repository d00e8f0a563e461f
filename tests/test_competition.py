"""The competition stage: the labels of a multi-label facet weigh each other's scores."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit

from newstagger import Tagger
from newstagger.competition import CompetitionStage, fit_competition
from newstagger.errors import ModelError
from newstagger.train import _competition_if_better, _tuned_micro_f1

from .test_model import _rewrite_card


def _competing_labels(n_docs: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits of two labels that rarely go together, from one-vs-rest heads that cannot know it:
    each label's logit also rises with the other's evidence (shared words)."""
    rng = np.random.default_rng(seed)
    which = rng.integers(0, 3, n_docs)              # 0: label a, 1: label b, 2: neither
    gold = np.column_stack([which == 0, which == 1])
    own = np.where(gold, 2.0, -2.0) + rng.normal(0, 1.2, gold.shape)
    shared = 1.5 * gold[:, ::-1] + rng.normal(0, 0.5, gold.shape)   # the other label's evidence leaks in
    return own + shared, gold


def test_the_stage_learns_that_a_likely_neighbour_pulls_a_label_down():
    logits, gold = _competing_labels()
    stage, out_of_fold = fit_competition(logits, gold, folds=5, seed=0)
    n = gold.shape[1]
    assert stage.weights.shape == (2, 4) and stage.bias.shape == (2,)
    # label a's weight on b's probability, and b's on a's, are negative
    assert stage.weights[0, n + 1] < 0 and stage.weights[1, n + 0] < 0
    assert _tuned_micro_f1(out_of_fold, gold) > _tuned_micro_f1(expit(logits), gold) + 0.02


def test_the_stage_is_kept_only_where_it_beats_the_platt_scores():
    logits, gold = _competing_labels()
    stage, probs = _competition_if_better(logits, expit(logits), gold, 5, 0)
    assert stage is not None and probs.shape == gold.shape
    # Independent labels: nothing to learn, and the stage is not kept unless it happens to gain.
    rng = np.random.default_rng(3)
    gold = rng.random((600, 3)) < 0.3
    logits = np.where(gold, 1.5, -1.5) + rng.normal(0, 1.0, gold.shape)
    stage, probs = _competition_if_better(logits, expit(logits), gold, 5, 0)
    if stage is None:
        np.testing.assert_array_equal(probs, expit(logits))
    else:
        assert _tuned_micro_f1(probs, gold) > _tuned_micro_f1(expit(logits), gold)


def test_a_label_always_or_never_present_gets_a_constant():
    logits, gold = _competing_labels(300)
    gold = np.column_stack([gold[:, 0], np.zeros(len(gold), bool)])
    stage, out_of_fold = fit_competition(logits, gold, folds=3, seed=0)
    assert stage.bias[1] == -10.0 and not stage.weights[1].any() and not out_of_fold[:, 1].any()


def test_one_document_in_python_equals_the_batch_bit_for_bit():
    rng = np.random.default_rng(5)
    stage = CompetitionStage(rng.normal(0, 2, (4, 8)), rng.normal(0, 1, 4))
    logits = np.vstack([rng.normal(0, 3, (500, 4)), rng.uniform(-900, 900, (50, 4))])
    batch = stage.logits(logits)
    for row, expected in zip(logits.tolist(), batch.tolist()):
        assert stage.linear_terms(row, expit(np.array(row)).tolist()) == expected


def test_the_tiny_model_saves_and_loads_its_stage(tiny_tagger, tiny_model_path):
    [(head, _, _)] = tiny_tagger._competing
    entry = next(h for h in tiny_tagger.card["heads"] if h["facet"] == head.facet)
    assert entry["competition"] and tiny_tagger.card["format_version"] == 4
    reloaded = Tagger.load(tiny_model_path)
    stage = next(h for h in reloaded.heads if h.facet == head.facet).competition
    np.testing.assert_array_equal(stage.weights, head.competition.weights)


def test_a_stage_reading_other_inputs_is_refused(tiny_model_path, tmp_path):
    heads = [dict(h, competition=dict(h["competition"], inputs=["something_else"])) if h.get("competition") else h
             for h in json.loads(json.dumps(Tagger.load(tiny_model_path).card["heads"]))]
    other = _rewrite_card(tiny_model_path, tmp_path / "other.npz", heads=heads)
    with pytest.raises(ModelError, match="something_else.*retrain"):
        Tagger.load(other)


def test_explanations_of_a_competing_facet_name_the_texts_words(tiny_tagger):
    [(head, _, _)] = tiny_tagger._competing
    text = "India signs deal for Rafale jets and Pakistan orders frigates"
    [result] = tiny_tagger.tag([text], explain=True)
    for label in result["labels"][head.facet]:
        terms = result["explanation"][head.facet][label]
        assert terms and all(weight > 0 for _, weight in terms)


def test_a_facet_with_many_labels_does_not_fit_the_stage(monkeypatch):
    from newstagger import train
    from newstagger.competition import MAX_COMPETING_LABELS

    def refuse(*_args):
        raise AssertionError("the stage was fitted")

    monkeypatch.setattr(train, "fit_competition", refuse)
    n = MAX_COMPETING_LABELS + 1
    rng = np.random.default_rng(0)
    gold = rng.random((200, n)) < 0.2
    scores = np.where(gold, 1.0, -1.0) + rng.normal(0, 1, gold.shape)

    class Constant:  # the final classifier: only its weights are read
        estimators_ = [type("E", (), {"coef_": np.zeros((1, 3)), "intercept_": np.zeros(1)})()] * n

    head, _ = train.make_head("topics", [f"t{i}" for i in range(n)], Constant(), scores, gold, 3, competing=(3, 0))
    assert head.competition is None
