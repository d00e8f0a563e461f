"""Per-facet linear heads: decision scores, calibrated probabilities, thresholded label sets."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from operator import ge

import numpy as np
from scipy import sparse
from scipy.special import expit

from .competition import CompetitionStage
from .salience import SalienceStage

FEW_ROWS = 8  # up to this many rows, labels are chosen row by row


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
    salience: SalienceStage | None = None  # the region stage (salience.py), which then gives the probabilities
    competition: CompetitionStage | None = None  # or the competition stage (competition.py), which does

    def decision(self, X: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef.T) + self.intercept

    def __post_init__(self) -> None:
        self._threshold_list = np.asarray(self.thresholds).tolist()

    def assign(self, probabilities: np.ndarray) -> list[list[int]]:
        """Return, per document, the indices of the assigned labels, highest score first.

        chosen() for every row of a (documents x labels) matrix. Most rows get two labels or
        fewer; those are decided by a few numpy calls for all rows at once, and only rows with
        more go through chosen() (a headline's two facets took 9-10 us one row at a time).
        """
        if probabilities.shape[0] <= FEW_ROWS:  # the whole-matrix calls cost more than they save
            return [self.chosen(row) for row in probabilities.tolist()]
        if self.exclusive:
            return [[i] for i in probabilities.argmax(axis=1).tolist()]
        above = probabilities >= self.thresholds
        counts = above.sum(axis=1).tolist()
        first = above.argmax(axis=1)                              # the first label above its threshold
        last = above.shape[1] - 1 - above[:, ::-1].argmax(axis=1)  # the last one
        rows = np.arange(len(above))
        # Of two labels, the higher score goes first; on a tie, label order (as chosen()'s stable sort).
        last_first = (probabilities[rows, last] > probabilities[rows, first]).tolist()
        tops = probabilities.argmax(axis=1).tolist() if self.nonempty else None
        assigned = []
        for row, (count, i, j, swap) in enumerate(zip(counts, first.tolist(), last.tolist(), last_first)):
            if count == 1:
                assigned.append([i])
            elif count == 2:
                assigned.append([j, i] if swap else [i, j])
            elif count == 0:
                assigned.append([tops[row]] if tops is not None else [])
            else:
                assigned.append(self.chosen(probabilities[row].tolist()))
        return assigned

    def choose_rows(self, probabilities: np.ndarray) -> list[list[str]]:
        """Return, per document, the assigned labels, highest score first (see assign)."""
        labels = self.labels
        return [[labels[i] for i in row] for row in self.assign(probabilities)]

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
