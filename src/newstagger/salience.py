"""The region stage: weigh each region's linear score with where the text first names it.

The linear head reads place names as tokens, one weight per token and region. Whether a country is
a party to the story or only mentioned beside it (a source, a comparison, a venue) also shows in
where the text first names it: news puts its parties in the headline and the lede, and that reads
the same for every region. One logistic regression over (text, region) pairs learns it once for
all regions, from the cross-validated linear scores, so rare regions borrow what common ones teach.
Its output is the region's probability; the thresholds are tuned on it.

Chosen on the corpus's dev split (three seeds, region micro-F1 +0.007 to +0.010). More features
of a region's mentions (its share of them, in the title, named first, only as the teller, how many,
as a country) added at most 0.002 more, and some took weights that only undo what the linear
head's own place tokens already say (a region's share of mentions weighed -2): so only these two.
Stray towns do not count, as in gazetteer.document_tokens. Fitting imports scikit-learn; applying
the stage needs only this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
from scipy.special import expit

if TYPE_CHECKING:
    from .gazetteer import Matcher

SALIENCE_FEATURES = (
    "named",            # the text names a place of the region
    "first_position",   # where its first mention starts, as a fraction of the text's length
)
SALIENCE_C = 1.0                     # the pair regression's regularisation
_UNNAMED = (0.0,) * len(SALIENCE_FEATURES)


def salience_rows(first: dict[str, int], text_length: int, labels: Sequence[str]) -> list[tuple[float, ...]]:
    """Return one SALIENCE_FEATURES tuple per label (all zeros where the text names none of it).

    first: where the text first names each region, as Matcher.read gives it.
    """
    if not first:
        return [_UNNAMED] * len(labels)
    length = max(text_length, 1)
    return [_UNNAMED if (start := first.get(label)) is None else (1.0, start / length) for label in labels]


def salience_array(firsts: Sequence[dict[str, int]], lengths: Sequence[int], labels: Sequence[str]) -> np.ndarray:
    """Return salience_rows for many texts as one (texts x labels x features) array."""
    out = np.zeros((len(firsts), len(labels), len(SALIENCE_FEATURES)))
    column = {label: j for j, label in enumerate(labels)}
    for i, (first, length) in enumerate(zip(firsts, lengths)):
        for region, start in first.items():
            j = column.get(region)
            if j is not None:
                out[i, j] = (1.0, start / max(length, 1))
    return out


def salience_inputs(texts: Sequence[str], matcher: "Matcher", labels: Sequence[str]) -> np.ndarray:
    """Return the salience array of many texts, reading each with the matcher."""
    return salience_array([matcher.read(text)[1] for text in texts], [len(t) for t in texts], labels)


@dataclass
class SalienceStage:
    """p(label) = sigmoid(w0 * Platt logit + w . features + bias[label])."""

    weights: np.ndarray   # (1 + len(SALIENCE_FEATURES),): the logit's weight, then each feature's
    bias: np.ndarray      # (n_labels,)

    def __post_init__(self) -> None:
        self._weight_list = np.asarray(self.weights, dtype=np.float64).tolist()
        self._bias_list = np.asarray(self.bias, dtype=np.float64).tolist()

    def probabilities(self, logits: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Probabilities for (documents x labels) logits and their (documents x labels x features) rows.

        The terms are added one after another in the order probabilities_of_one adds them, so a
        text gets the same probabilities alone and in a batch, bit for bit.
        """
        w = self._weight_list
        total = logits * w[0]
        for k in range(rows.shape[2]):
            total += rows[:, :, k] * w[k + 1]
        total += self.bias
        return expit(total)

    def linear_terms(self, logits: Sequence[float], rows: Sequence[Sequence[float]]) -> list[float]:
        """The stage's linear term for one document's labels, in plain Python (see probabilities)."""
        w = self._weight_list
        out = []
        for logit, row, bias in zip(logits, rows, self._bias_list):
            total = logit * w[0]
            for k, value in enumerate(row, 1):
                total += value * w[k]
            out.append(total + bias)
        return out


def pair_matrix(logits: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Return one row per (document, label): the logit, the features, then a one-hot of the label."""
    n_docs, n_labels = logits.shape
    labels = np.broadcast_to(np.eye(n_labels), (n_docs, n_labels, n_labels))
    return np.concatenate([logits[:, :, None], rows, labels], axis=2).reshape(n_docs * n_labels, -1)


def fit_salience(logits: np.ndarray, rows: np.ndarray, gold: np.ndarray, folds: int,
                 seed: int) -> tuple[SalienceStage, np.ndarray]:
    """Fit the stage on cross-validated logits; return it with out-of-fold probabilities to tune on.

    The out-of-fold probabilities come from folds over documents (a document's pairs never
    straddle two folds), so the thresholds tuned on them are not tuned on the stage's own fit.
    """
    from sklearn.model_selection import KFold

    n_docs, n_labels = logits.shape
    X, y = pair_matrix(logits, rows), gold.astype(int).ravel()
    out_of_fold = np.zeros(n_docs * n_labels)
    for train_docs, test_docs in KFold(folds, shuffle=True, random_state=seed).split(np.arange(n_docs)):
        train, test = _pairs_of(train_docs, n_labels), _pairs_of(test_docs, n_labels)
        if len(set(y[train])) < 2:  # a fold with one class: the final fit decides alone
            out_of_fold[test] = y[train][0] if len(train) else 0.0
            continue
        out_of_fold[test] = _regression().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    stage = _stage_of(_regression().fit(X, y) if len(set(y)) > 1 else None, n_labels, y)
    return stage, out_of_fold.reshape(n_docs, n_labels)


def _regression():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=SALIENCE_C, solver="lbfgs", max_iter=3000)


def _pairs_of(docs: np.ndarray, n_labels: int) -> np.ndarray:
    return (docs[:, None] * n_labels + np.arange(n_labels)).ravel()


def _stage_of(regression, n_labels: int, y: np.ndarray) -> SalienceStage:
    n_features = len(SALIENCE_FEATURES)
    if regression is None:  # every pair had the same answer: a constant stage
        return SalienceStage(np.zeros(1 + n_features), np.full(n_labels, 10.0 if y.all() else -10.0))
    coef = regression.coef_.ravel()
    return SalienceStage(coef[:1 + n_features].copy(), coef[1 + n_features:] + regression.intercept_[0])
