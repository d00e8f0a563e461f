"""Per-facet linear heads: decision scores, calibrated probabilities, thresholded label sets."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from operator import ge

import numpy as np
from scipy import sparse
from scipy.special import expit


@dataclass
class Head:
    """One facet's labels with the fitted one-vs-rest weights, Platt calibration and thresholds."""

    facet: str
    labels: list[str]
    coef: np.ndarray          # (n_labels, n_features) float32
    intercept: np.ndarray     # (n_labels,)
    calibration: np.ndarray   # (n_labels, 2): slope and offset of the Platt sigmoid
    thresholds: np.ndarray    # (n_labels,) probability at or above which a label is assigned
    exclusive: bool = False   # every training document had exactly one label: predict the top one
    nonempty: bool = False    # every training document had at least one label: never predict none

    def decision(self, X: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef.T) + self.intercept

    def __post_init__(self) -> None:
        self._threshold_list = np.asarray(self.thresholds).tolist()

    def assign(self, probabilities: np.ndarray) -> list[list[int]]:
        """Return, per document, the indices of the assigned labels, highest score first."""
        return [self.chosen(row) for row in probabilities.tolist()]

    def choose(self, probabilities: list[float]) -> list[str]:
        """Return the labels assigned to one document, highest score first."""
        labels = self.labels
        return [labels[i] for i in self.chosen(probabilities)]

    def chosen(self, probabilities: list[float]) -> list[int]:
        """Return the indices of the labels one document's probabilities assign, highest first.

        Plain Python on a list: for a handful of labels it is faster than numpy calls.
        """
        if self.exclusive:
            return [_top(probabilities)]
        picked = list(compress(range(len(probabilities)), map(ge, probabilities, self._threshold_list)))
        if not picked and self.nonempty and probabilities:
            return [_top(probabilities)]
        if len(picked) > 1:
            picked.sort(key=probabilities.__getitem__, reverse=True)  # stable: ties keep label order
        return picked


def _top(probabilities: list[float]) -> int:
    """Return the index of the highest probability (the first of ties, as numpy's argmax)."""
    return max(range(len(probabilities)), key=probabilities.__getitem__)


def platt(scores: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """Map decision scores to probabilities with per-label sigmoid parameters."""
    return expit(scores * calibration[:, 0] + calibration[:, 1])
