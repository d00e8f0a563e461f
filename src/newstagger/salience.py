"""The region stage: weigh each region's linear score with where and how the text names it.

The linear head reads place names as tokens, one weight per token and region. Whether a country is
a party to the story or only mentioned beside it (a source, a comparison, a venue) also shows in
where the text first names it (news puts its parties in the headline and the lede) and in the
words around its names ("Qatar says", "US-made", "like Japan"), and that reads the same for every
region. One logistic regression over (text, region) pairs learns it once for all regions, from
the cross-validated linear scores, so rare regions borrow what common ones teach. Its output is
the region's probability; the thresholds are tuned on it.

A pair's inputs: the region's Platt logit; whether the text names the region; where it first does,
as a fraction of the text's length; the words next to each of its names (CONTEXT_WINDOW each side,
by side and distance: "R1:says", "L1:the"); and one bias per region. Chosen on the corpus's dev
split over three seeds: region micro-F1 +0.007 to +0.010 from the first two, +0.004 more from the
context words. Six more features of a region's mentions (its share, in the title, named first,
only as the teller, how many, as a country) added at most 0.002, some with weights that only undid
the linear head's own place tokens. Stray towns do not count, as in gazetteer.document_tokens.
Fitting imports scikit-learn; applying the stage needs only this module.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Sequence

import numpy as np
from scipy import sparse
from scipy.special import expit

if TYPE_CHECKING:
    from .gazetteer import Mention

SALIENCE_FEATURES = (
    "named",            # the text names a place of the region
    "first_position",   # where its first mention starts, as a fraction of the text's length
)
CONTEXT_WINDOW = 2        # words each side of a name
CONTEXT_SPAN = 40         # characters each side searched for them
MIN_CONTEXT_PAIRS = 3     # a context word must occur with this many (text, region) pairs in training
SALIENCE_C = 1.0          # the pair regression's regularisation
_WORDS = re.compile(r"[\w'’-]+|[^\w\s]")   # words, and punctuation as words of its own ("Qatar:")
_PUNCTUATION = re.compile(r"[^\w\s]")
_LEFT = tuple(f"L{k}:" for k in range(1, CONTEXT_WINDOW + 1))
_RIGHT = tuple(f"R{k}:" for k in range(1, CONTEXT_WINDOW + 1))


class PairInput(NamedTuple):
    """What the stage reads of one (text, region) pair besides the logit."""

    named: float
    first_position: float
    context: tuple[str, ...]


_UNNAMED = PairInput(0.0, 0.0, ())


def context_words(text: str, start: int, end: int) -> list[str]:
    """Return the words next to text[start:end], tagged by side and distance: L1, L2, R1, R2."""
    before = _WORDS.findall(text[max(0, start - CONTEXT_SPAN):start].lower())
    after = _WORDS.findall(text[end:end + CONTEXT_SPAN].lower())
    return ([tag + word for tag, word in zip(_LEFT, reversed(before))]
            + [tag + word for tag, word in zip(_RIGHT, after)])


def region_contexts(mentions: Sequence["Mention"], text: str) -> dict[str, tuple[int, dict[str, None]]]:
    """Return, per region the text names, where it first does and its names' context words (a dict
    used as an ordered set, so the words come in the same order on every run)."""
    seen: dict[str, tuple[int, dict[str, None]]] = {}
    for start, end, regions in mentions:
        words = context_words(text, start, end)
        for region in regions:
            entry = seen.get(region)
            if entry is None:
                seen[region] = (start, dict.fromkeys(words))
            else:
                entry[1].update(dict.fromkeys(words))
    return seen


def pair_inputs(mentions: Sequence["Mention"], text: str, labels: Sequence[str]) -> list[PairInput]:
    """Return one PairInput per label for a text's mentions (unnamed regions get _UNNAMED)."""
    seen = region_contexts(mentions, text)
    length = max(len(text), 1)
    return [_UNNAMED if (entry := seen.get(label)) is None
            else PairInput(1.0, entry[0] / length, tuple(entry[1])) for label in labels]


@dataclass
class SalienceStage:
    """p(label) = sigmoid(w_logit * Platt logit + evidence + bias[label]), where a named region's
    evidence is w_named + w_position * first_position + the weights of its context words."""

    weights: np.ndarray           # (3,): the logit's, "named"'s and "first_position"'s weights
    bias: np.ndarray              # (n_labels,)
    context: list[str] = field(default_factory=list)                                # context words ...
    context_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))       # ... and their weights

    def __post_init__(self) -> None:
        self._logit_weight, self._named_weight, self._position_weight = np.asarray(
            self.weights, dtype=np.float64).tolist()
        self._bias_list = np.asarray(self.bias, dtype=np.float64).tolist()
        self._context = dict(zip(self.context, np.asarray(self.context_weights, dtype=np.float64).tolist()))

    def evidence(self, mentions: Sequence["Mention"], text: str, labels: Sequence[str]) -> list[float]:
        """Return each label's evidence in a text (0.0 for a region it does not name): the same
        sums as over pair_inputs, without building the pairs of the regions it does not name."""
        seen = region_contexts(mentions, text)
        if not seen:
            return [0.0] * len(labels)
        weight, length = self._context.get, max(len(text), 1)
        out = []
        for label in labels:
            entry = seen.get(label)
            if entry is None:
                out.append(0.0)
                continue
            total = self._named_weight + self._position_weight * (entry[0] / length)
            for word in entry[1]:
                total += weight(word, 0.0)
            out.append(total)
        return out

    def explain(self, mentions: Sequence["Mention"], text: str, label: str) -> list[tuple[str, float]]:
        """Return the stage's terms for one label in a text, readable: where the text first names
        the region, and each context word as it stands beside a name ('"Qatar says"')."""
        named = [(start, end) for start, end, regions in mentions if label in regions]
        if not named:
            return []
        position = named[0][0] / max(len(text), 1)
        terms = [(f"first named at {position:.0%} of the text",
                  self._named_weight + self._position_weight * position)]
        seen: set[str] = set()
        for start, end in named:
            for word in context_words(text, start, end):
                if word in seen or word not in self._context:
                    continue
                seen.add(word)
                terms.append((_beside(word, text[start:end]), self._context[word]))
        return terms

    def probabilities(self, logits: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        """Probabilities for (documents x labels) logits and evidence; the same float operations in
        the same order as linear_terms, so a text gets the same probabilities alone and in a batch."""
        total = logits * self._logit_weight
        total += evidence
        total += self.bias
        return expit(total)

    def linear_terms(self, logits: Sequence[float], evidence: Sequence[float]) -> list[float]:
        """The stage's linear term for one document's labels, in plain Python (see probabilities)."""
        w = self._logit_weight
        return [logit * w + e + b for logit, e, b in zip(logits, evidence, self._bias_list)]


def _beside(word: str, name: str) -> str:
    """Show a context word where it stood: "R1:says" beside Qatar is '"Qatar says"', "L2:talks" '"talks … Qatar"',
    and punctuation right after the name as written: "R1:," is '"Qatar,"'."""
    place, token = word.split(":", 1)
    if place[1:] != "1":
        gap = " … "
    else:
        gap = "" if place == "R1" and _PUNCTUATION.fullmatch(token) else " "
    return f'"{token}{gap}{name}"' if place[0] == "L" else f'"{name}{gap}{token}"'


def fit_salience(logits: np.ndarray, pairs: list[list[PairInput]], gold: np.ndarray, folds: int,
                 seed: int) -> tuple[SalienceStage, np.ndarray]:
    """Fit the stage on cross-validated logits; return it with out-of-fold probabilities to tune on.

    pairs: per document, one PairInput per label. The out-of-fold probabilities come from folds
    over documents (a document's pairs never straddle two folds), so the thresholds tuned on them
    are not tuned on the stage's own fit.
    """
    from sklearn.model_selection import KFold

    n_docs, n_labels = logits.shape
    vocabulary = _context_vocabulary(pairs)
    X, y = _pair_matrix(logits, pairs, vocabulary), gold.astype(int).ravel()
    out_of_fold = np.zeros(n_docs * n_labels)
    for train_docs, test_docs in KFold(folds, shuffle=True, random_state=seed).split(np.arange(n_docs)):
        train, test = _pairs_of(train_docs, n_labels), _pairs_of(test_docs, n_labels)
        if len(set(y[train])) < 2:  # a fold with one class: the final fit decides alone
            out_of_fold[test] = y[train][0] if len(train) else 0.0
            continue
        out_of_fold[test] = _regression().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    if len(set(y)) < 2:  # every pair had the same answer: a constant stage
        stage = SalienceStage(np.zeros(3), np.full(n_labels, 10.0 if y.all() else -10.0))
    else:
        stage = _stage_of(_regression().fit(X, y), n_labels, vocabulary)
    return stage, out_of_fold.reshape(n_docs, n_labels)


def _context_vocabulary(pairs: list[list[PairInput]]) -> list[str]:
    counts: dict[str, int] = {}
    for doc in pairs:
        for pair in doc:
            for word in pair.context:
                counts[word] = counts.get(word, 0) + 1
    return sorted(word for word, n in counts.items() if n >= MIN_CONTEXT_PAIRS)


def _pair_matrix(logits: np.ndarray, pairs: list[list[PairInput]], vocabulary: list[str]) -> sparse.csr_matrix:
    """One row per (document, label): logit, named, first_position, a one-hot of the label, context words."""
    n_docs, n_labels = logits.shape
    flat = [pair for doc in pairs for pair in doc]
    dense = np.column_stack([logits.ravel(), [p.named for p in flat], [p.first_position for p in flat],
                             np.tile(np.eye(n_labels), (n_docs, 1))])
    column = {word: j for j, word in enumerate(vocabulary)}
    rows, cols = [], []
    for i, pair in enumerate(flat):
        found = [column[w] for w in pair.context if w in column]
        rows += [i] * len(found)
        cols += found
    words = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(flat), len(vocabulary)))
    return sparse.hstack([sparse.csr_matrix(dense), words]).tocsr()


def _regression():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=SALIENCE_C, solver="lbfgs", max_iter=3000)


def _pairs_of(docs: np.ndarray, n_labels: int) -> np.ndarray:
    return (docs[:, None] * n_labels + np.arange(n_labels)).ravel()


def _stage_of(regression, n_labels: int, vocabulary: list[str]) -> SalienceStage:
    coef = regression.coef_.ravel()
    return SalienceStage(coef[:3].copy(), coef[3:3 + n_labels] + regression.intercept_[0],
                         list(vocabulary), coef[3 + n_labels:].copy())
