"""Per-facet linear heads: decision scores, calibrated probabilities, thresholded label sets."""
from __future__ import annotations

from dataclasses import dataclass

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

    def decision(self, X: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef.T) + self.intercept

    def assign(self, probabilities: np.ndarray) -> list[list[int]]:
        """Return, per document, the indices of the assigned labels, highest score first."""
        if self.exclusive:
            return np.argmax(probabilities, axis=1)[:, None].tolist()
        thresholds = self.thresholds.tolist()
        out = []
        for row in probabilities.tolist():  # Python lists: faster than numpy calls for a few labels
            chosen = [i for i, (p, t) in enumerate(zip(row, thresholds)) if p >= t]
            chosen.sort(key=row.__getitem__, reverse=True)  # stable: ties keep label order
            out.append(chosen)
        return out


def platt(scores: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """Map decision scores to probabilities with per-label sigmoid parameters."""
    return expit(scores * calibration[:, 0] + calibration[:, 1])
