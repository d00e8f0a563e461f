"""NB-LR heads (newstagger train --nb-alpha): the maths, the folded coefficients, the option end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from newstagger import Tagger
from newstagger.cli import main
from newstagger.documents import read_documents
from newstagger.evaluation import label_matrix
from newstagger.features import model_inputs
from newstagger.nb_weighting import NBOneVsRest, log_count_ratio
from newstagger.train import build_pipeline, hyperparameters, train_from_paths


def test_log_count_ratio_by_hand():
    # 3 documents, 3 features; label on documents 0 and 1.
    X = sparse.csr_matrix(np.array([[2.0, 0, 1], [1, 0, 0], [0, 3, 1]]))
    present = X.copy()
    present.data[:] = 1.0
    y = np.array([1, 1, 0])
    ratio = log_count_ratio(present, y, np.asarray(present.sum(0)).ravel(), alpha=1.0)
    positive = np.array([2, 0, 1]) + 1.0   # documents with the label that contain each feature, smoothed
    negative = np.array([0, 1, 1]) + 1.0
    expected = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    np.testing.assert_allclose(ratio, expected)


def test_folded_coefficients_score_unscaled_features_as_the_fit_scored_scaled_ones():
    rng = np.random.default_rng(0)
    X = sparse.random(60, 30, density=0.2, random_state=0, format="csr")
    Y = np.column_stack([rng.integers(0, 2, 60), np.ones(60, int), np.zeros(60, int)])
    head = LogisticRegression(C=4.0, solver="liblinear")
    clf = NBOneVsRest(head, alpha=0.5).fit(X, Y)
    present = X.copy()
    present.data[:] = 1.0
    ratio = log_count_ratio(present, Y[:, 0], np.asarray(present.sum(0)).ravel(), 0.5)
    scaled = X.multiply(ratio).tocsr()
    by_hand = LogisticRegression(C=4.0, solver="liblinear").fit(scaled, Y[:, 0]).decision_function(scaled)
    scores = clf.decision_function(X)
    np.testing.assert_allclose(scores[:, 0], by_hand, atol=1e-8)
    # Labels always / never present get constant scores, as OneVsRestClassifier gives them.
    assert (scores[:, 1] == 1).all() and (scores[:, 2] == 0).all()
    assert [getattr(e, "y_", None) for e in clf.estimators_[1:]] == [1, 0]


@pytest.mark.parametrize("alpha", [0.0, -1.0])
def test_smoothing_must_be_positive(alpha):
    with pytest.raises(ValueError, match="must be positive"):
        NBOneVsRest(LogisticRegression(), alpha=alpha).fit(sparse.eye(4, format="csr"), np.array([0, 1, 0, 1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fitting_leaves_the_callers_matrix_as_it_was(dtype):
    """The fit sorts its own copy: the matrix it was given (shared with the other facets' heads) is untouched.

    A float64 conversion alone shares the index arrays, and sorting them in place once scrambled the
    matrix the next facet was fitted on.
    """
    rows = [[(2, 1.0), (0, 2.0)], [(1, 1.0)], [(2, 3.0), (1, 1.0)], [(0, 1.0), (2, 1.0)]]  # unsorted columns
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.array([c for r in rows for c, _ in r], dtype=np.int32)
    data = np.array([v for r in rows for _, v in r], dtype=dtype)
    X = sparse.csr_matrix((data, indices, indptr), shape=(4, 3))
    before = X.toarray(), X.indices.copy(), X.data.copy()
    NBOneVsRest(LogisticRegression(), alpha=1.0).fit(X, np.array([[1, 0], [0, 1], [1, 1], [0, 0]]))
    np.testing.assert_array_equal(X.toarray(), before[0])
    np.testing.assert_array_equal(X.indices, before[1])
    np.testing.assert_array_equal(X.data, before[2])


def test_an_nb_model_tags_with_the_plain_runtime_exactly_as_its_pipeline(tiny_data, tmp_path):
    """The saved NB-LR model is plain arrays: the runtime's scores equal the fitted pipeline's."""
    tagger = Tagger.load(train_from_paths([tiny_data], folds=2, seed=0, n_jobs=1, nb_alpha=1.0)
                         .save(tmp_path / "nb.npz"))
    assert tagger.card["hyperparameters"]["nb_alpha"] == 1.0
    docs = read_documents([tiny_data], tagger.taxonomy)
    inputs = model_inputs([d.text for d in docs], None)
    params = hyperparameters(False, nb_alpha=1.0)
    params["head"]["random_state"] = 0
    X = tagger.features.transform(inputs)
    for head in tagger.heads:
        gold = label_matrix([d.labels[head.facet] for d in docs], head.labels).astype(int)
        pipe = build_pipeline(params, head.facet).fit(inputs, gold)
        np.testing.assert_allclose(head.decision(X), pipe.decision_function(inputs), atol=1e-4)


def test_cli_train_nb_alpha_is_recorded_and_checked(runner, tiny_data, tmp_path):
    out = tmp_path / "m.npz"
    result = runner.invoke(main, ["train", "--data", str(tiny_data), "--out", str(out), "--folds", "2",
                                  "--jobs", "1", "--nb-alpha", "0.5"])
    assert result.exit_code == 0, result.output
    assert Tagger.load(out).card["hyperparameters"]["nb_alpha"] == 0.5
    bad = runner.invoke(main, ["train", "--data", str(tiny_data), "--out", str(tmp_path / "x.npz"),
                               "--nb-alpha", "0"])
    assert bad.exit_code == 2 and "--nb-alpha" in bad.output
    assert not (tmp_path / "x.npz").exists()
    assert json.loads(json.dumps(Tagger.load(out).card))  # the card stays plain JSON
