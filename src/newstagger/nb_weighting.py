"""NB-LR: one-vs-rest logistic regressions on naive-Bayes-scaled features (training only).

For label j, feature k is multiplied by its log-count ratio

    r_jk = log((a + p_jk) / |a + p_j|_1) - log((a + q_jk) / |a + q_j|_1)

where p_jk and q_jk count the positive and the negative training documents that contain feature k
and a is the smoothing (Wang & Manning 2012, "Baselines and bigrams": NBSVM / NB-LR). A feature
that separates the label gets a larger scale, so the regression needs less weight to use it.

The scaling is linear, so each label's fitted weights fold back into plain coefficients over the
unscaled features (coef_jk = w_jk * r_jk): the saved model, and tagging, are exactly as without it.
Each `estimators_[j]` is therefore an ordinary fitted estimator over the unscaled features, as
OneVsRestClassifier's are, and train.py reads them the same way.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone


class NBOneVsRest(ClassifierMixin, BaseEstimator):
    """One classifier per label (columns of Y), each fitted on its label's NB-scaled features."""

    def __init__(self, estimator, alpha: float = 1.0):
        self.estimator = estimator
        self.alpha = alpha

    def fit(self, X, Y) -> "NBOneVsRest":
        if not self.alpha > 0:
            raise ValueError(f"the NB smoothing must be positive, got {self.alpha}")
        # A copy of our own (a change of dtype alone would share the caller's index arrays), sorted
        # once, so that the per-label copies below are known sorted at a glance; otherwise the
        # regression's input checks sort each of them again (a sixth of the fit on the default corpus).
        X = sparse.csr_matrix(X, dtype=np.float64, copy=True)
        X.sum_duplicates()
        Y = np.asarray(Y).reshape(X.shape[0], -1).astype(int)
        present = X.copy()
        present.data[:] = 1.0
        documents_with = np.asarray(present.sum(0)).ravel()
        self.estimators_ = []
        for y in Y.T:
            if y.all() or not y.any():  # as OneVsRestClassifier: a constant predictor
                self.estimators_.append(_Constant(int(y[0])))
                continue
            ratio = log_count_ratio(present, y, documents_with, self.alpha)
            scaled = X.copy()
            scaled.data *= ratio[scaled.indices]
            fitted = clone(self.estimator).fit(scaled, y)
            fitted.coef_ = fitted.coef_ * ratio  # folded back: the same scores on unscaled features
            self.estimators_.append(fitted)
        return self

    def decision_function(self, X) -> np.ndarray:
        X = sparse.csr_matrix(X)
        out = np.empty((X.shape[0], len(self.estimators_)))
        for j, est in enumerate(self.estimators_):
            out[:, j] = X @ est.coef_.ravel() + est.intercept_[0] if hasattr(est, "coef_") else est.y_
        return out if out.shape[1] > 1 else out.ravel()


def log_count_ratio(present: sparse.csr_matrix, y: np.ndarray, documents_with: np.ndarray,
                    alpha: float) -> np.ndarray:
    """Return each feature's smoothed log ratio of its share in positive vs negative documents."""
    positive = np.asarray(present[y == 1].sum(0)).ravel() + alpha
    negative = documents_with - positive + 2 * alpha  # (documents_with - (positive - alpha)) + alpha
    return np.log(positive / positive.sum()) - np.log(negative / negative.sum())


class _Constant:
    """A label always (y_ = 1) or never (0) present in training; scored as OneVsRestClassifier scores it."""

    def __init__(self, y: int):
        self.y_ = y
