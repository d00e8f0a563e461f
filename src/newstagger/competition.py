"""The competition stage: the labels of a multi-label facet weigh each other's scores.

A story has one or two main themes. The one-vs-rest heads score each label on its own, so a story
that is plainly about an arms deal can still pass the diplomacy threshold on a few shared words.
One logistic regression per label, over every label's Platt logit and its probability, learns how
a likely neighbour should move a label: the logits carry each label's own evidence, the
probabilities let a neighbour count only once it is likely (fitted on the corpus, every other
theme's probability pulls a theme down). The probability of each label is the stage's output,
and the thresholds are tuned on it.

Chosen on the corpus's dev split over three seeds: theme micro-F1 0.8175 / 0.8218 / 0.8199 →
0.8273 / 0.8263 / 0.8299; the logits alone gave 0.8210 on average and the probabilities alone
0.8215, and the region logits beside them nothing more. Multi-label facets of up to
MAX_COMPETING_LABELS labels get it, except the one with the region stage (salience.py), and keep
it only where it raises their cross-validated micro-F1 (train.py); a facet whose documents each
carry one label picks its top label, which the stage would not change much. Fitting imports
scikit-learn; applying it needs only numpy and this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.special import expit

COMPETITION_C = 1.0  # each label's regression's regularisation
# Up to this many labels: the stage fits one regression per label on twice as many inputs as labels,
# so its cost grows with the square. Reuters' 90 topics took 194 s to fit (3 folds), and the
# cross-validation then did not keep it; the corpus's 6 themes take 0.2 s.
MAX_COMPETING_LABELS = 20
# What the stage reads, as the model card records it; a file whose stage reads otherwise is refused.
COMPETITION_INPUTS = {"inputs": ["platt logits", "probabilities"], "per_label": "logistic regression"}


@dataclass
class CompetitionStage:
    """logit'(label i) = bias[i] + sum over labels j of weights[i, j] * logit(j)
    + weights[i, n + j] * sigmoid(logit(j)), where n is the number of labels."""

    weights: np.ndarray   # (n_labels, 2 * n_labels): every label's logit, then every label's probability
    bias: np.ndarray      # (n_labels,)

    def __post_init__(self) -> None:
        self._weights = np.asarray(self.weights, dtype=np.float64)
        self._bias = np.asarray(self.bias, dtype=np.float64)
        self._rows = list(zip(self._bias.tolist(), self._weights.tolist()))

    def logits(self, logits: np.ndarray) -> np.ndarray:
        """The stage's logits for (documents x labels) Platt logits.

        The terms are added one input at a time, in the order linear_terms adds them, so a text gets
        the same bits alone and in a batch (a matrix product may add them in another order).
        """
        inputs = np.hstack([logits, expit(logits)])
        total = np.tile(self._bias, (len(logits), 1))
        for j in range(inputs.shape[1]):
            total += inputs[:, j:j + 1] * self._weights[:, j]
        return total

    def linear_terms(self, logits: Sequence[float], probabilities: Sequence[float]) -> list[float]:
        """logits() for one document, in plain Python: `probabilities` are the sigmoids of `logits`."""
        inputs = [*logits, *probabilities]
        out = []
        for bias, weights in self._rows:
            total = bias
            for x, w in zip(inputs, weights):
                total += x * w
            out.append(total)
        return out

    def own_weight(self, label: int) -> float:
        """The weight of a label's own logit: how the linear head's terms reach the stage's units."""
        return self._rows[label][1][label]


def fit_competition(logits: np.ndarray, gold: np.ndarray, folds: int, seed: int) -> tuple[CompetitionStage, np.ndarray]:
    """Fit the stage on cross-validated Platt logits; return it with out-of-fold probabilities to tune on.

    The out-of-fold probabilities come from folds over documents, so the thresholds tuned on them
    are not tuned on the stage's own fit.
    """
    from sklearn.model_selection import KFold

    n_docs, n_labels = logits.shape
    X = np.hstack([logits, expit(logits)])
    weights, bias = np.zeros((n_labels, 2 * n_labels)), np.zeros(n_labels)
    out_of_fold = np.zeros((n_docs, n_labels))
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(X))
    for i in range(n_labels):
        y = gold[:, i].astype(int)
        if y.min() == y.max():  # a label always (or never) present: a constant, as the heads do
            bias[i] = 10.0 if y[0] else -10.0
            out_of_fold[:, i] = float(y[0])
            continue
        for train, test in splits:
            if y[train].min() == y[train].max():
                out_of_fold[test, i] = float(y[train][0])
            else:
                out_of_fold[test, i] = _regression().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        fitted = _regression().fit(X, y)
        weights[i], bias[i] = fitted.coef_.ravel(), fitted.intercept_[0]
    return CompetitionStage(weights, bias), out_of_fold


def _regression():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=COMPETITION_C, solver="lbfgs", max_iter=5000)
