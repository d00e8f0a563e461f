"""The Tagger: tag texts with labels and calibrated scores, explain them, save and load the model."""
from __future__ import annotations

import gc
import math
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import sparse
from scipy.special import expit

from . import artifact
from .competition import COMPETITION_INPUTS, CompetitionStage
from .config import default_model_path
from .errors import ModelError
from .features import FittedFeatures, WeightedTerms, input_row, input_rows
from .gazetteer import Gazetteer, Matcher
from .heads import Head, platt
from .salience import CONTEXT_SPAN, CONTEXT_WINDOW, SALIENCE_FEATURES, SalienceStage
from .taxonomy import Taxonomy

CHUNK = 4096          # texts vectorized at once: big enough to amortise, small enough for memory
FEW_DOCS = 8          # up to this many texts, scores are summed text by text without scipy.sparse
EXPLAIN_TOP = 8       # terms shown per label
_EDGE_PUNCT = "\"'.,;:!?()[]{}“”‘’«»—–-"


class Tagger:
    """A trained model: features, one head per facet, the gazetteer it was trained with, its card."""

    def __init__(self, features: FittedFeatures, heads: list[Head], card: dict,
                 gazetteer: Gazetteer | None = None):
        self.features = features
        self.heads = heads
        self.card = card
        self.gazetteer = gazetteer
        self.matcher: Matcher | None = gazetteer.matcher() if gazetteer else None
        self.taxonomy = Taxonomy.from_dict(card["taxonomy"])
        # (n_features, all labels), float64: scipy.sparse would otherwise convert the float32 weights
        # on every product, and every path below then adds the same float64 terms.
        self._weights = np.ascontiguousarray(np.vstack([h.coef for h in heads]).T, dtype=np.float64)
        self._spans = np.cumsum([0] + [len(h.labels) for h in heads]).tolist()
        self._head_spans = [(h, lo, hi) for h, lo, hi in zip(heads, self._spans, self._spans[1:])]
        self._intercepts = np.concatenate([h.intercept for h in heads])
        self._calibration = np.vstack([h.calibration for h in heads])
        self._platt_terms = list(zip(self._intercepts.tolist(), *self._calibration.T.tolist()))
        self._salient = [(h, lo, hi) for h, lo, hi in self._head_spans if h.salience is not None]
        self._competing = [(h, lo, hi) for h, lo, hi in self._head_spans if h.competition is not None]
        if self._salient and self.matcher is None:
            raise ModelError("a model with a region stage needs its gazetteer")

    @property
    def version(self) -> str:
        """Return a short model identifier: creation time and training-data hash prefix."""
        return f"{self.card.get('created_at', '?')}/{self.card.get('training_data', {}).get('sha256', '')[:12]}"

    def clear_caches(self) -> None:
        """Forget what tagging has remembered (per-word features, place-name combinations).

        Only benchmarks need this, to time a fresh process; results never depend on it.
        """
        self.features.clear_caches()
        if self.matcher:
            self.matcher.clear_cache()

    # -- tagging ---------------------------------------------------------------------------
    def tag(self, texts: str | Sequence[str], explain: bool = False) -> list[dict]:
        """Tag each text; return one {"labels", "scores"[, "explanation"]} dict per text."""
        if isinstance(texts, str):
            texts = [texts]
        texts = [_checked_text(t) for t in texts]
        results: list[dict] = []
        with _collector_paused():
            for start in range(0, len(texts), CHUNK):
                results.extend(self._tag_chunk(texts[start:start + CHUNK], explain))
        return results

    def _tag_chunk(self, texts: list[str], explain: bool) -> list[dict]:
        if self._salient:  # one read of each text gives both the gazetteer tokens and the mentions
            reads = [self.matcher.read(text) for text in texts]
            inputs = [input_row(text, tokens) for text, (tokens, _) in zip(texts, reads)]
            evidence = [[head.salience.evidence(mentions, text, head.labels)
                         for text, (_, mentions) in zip(texts, reads)] for head, _, _ in self._salient]
        else:
            inputs, evidence = input_rows(texts, self.matcher), []
        terms = self.features.weighted_terms(inputs)
        decision = self._decision(terms)
        if len(texts) == 1:
            chosen, rounded = self._scores_of_one(decision[0].tolist(), [e[0] for e in evidence])
        else:
            probabilities = self._probabilities(decision, evidence)
            # Rounding and listing the whole matrix at once, then plain Python per row: per-value
            # numpy calls were a fifth of the time of tagging a headline.
            rounded = _rounded(probabilities).tolist()
            chosen = zip(*[head.choose_rows(probabilities[:, lo:hi]) for head, lo, hi in self._head_spans])
        results = []
        for labels, scores in zip(chosen, rounded):
            result = {"labels": {}, "scores": {}}
            for (head, lo, hi), facet_labels in zip(self._head_spans, labels):
                result["labels"][head.facet] = facet_labels
                result["scores"][head.facet] = dict(zip(head.labels, scores[lo:hi]))
            results.append(result)
        if explain:
            for row, result in enumerate(results):
                mentions = reads[row][1] if self._salient else []
                result["explanation"] = self._explain(*terms.row(row), texts[row], result["labels"], mentions)
        return results

    def _probabilities(self, decision: np.ndarray, evidence: list[list[list[float]]]) -> np.ndarray:
        """Return the probabilities of (documents x all labels) decision scores: Platt's sigmoids, or
        a stage's output for the heads that have one. evidence: per region stage, per document."""
        probabilities = platt(decision + self._intercepts, self._calibration)
        for (head, lo, hi), head_evidence in zip(self._salient, evidence):
            probabilities[:, lo:hi] = head.salience.probabilities(self._platt_logits(decision, lo, hi),
                                                                  np.array(head_evidence))
        for head, lo, hi in self._competing:
            probabilities[:, lo:hi] = expit(head.competition.logits(self._platt_logits(decision, lo, hi)))
        return probabilities

    def _platt_logits(self, decision: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return (decision[:, lo:hi] + self._intercepts[lo:hi]) * self._calibration[lo:hi, 0] + self._calibration[lo:hi, 1]

    def _scores_of_one(self, decision: list[float],
                       evidence: list[list[float]]) -> tuple[list[tuple], list[list[float]]]:
        """platt(), the heads' choice and the rounding for one text, in plain Python.

        The same float operations in the same order (scipy's expit is 1 / (1 + exp(-x)) in C, and
        round() rounds half to even like np.rint), so the same results bit for bit, without a dozen
        numpy calls on 16 values: under a server's load, where each numpy call finds its code and
        data out of the CPU's caches, they cost more than all the rest of the arithmetic.
        """
        logits = [(score + intercept) * slope + offset
                  for score, (intercept, slope, offset) in zip(decision, self._platt_terms)]
        for (head, lo, hi), head_evidence in zip(self._salient, evidence):
            logits[lo:hi] = head.salience.linear_terms(logits[lo:hi], head_evidence)
        for head, lo, hi in self._competing:
            logits[lo:hi] = head.competition.linear_terms(logits[lo:hi], list(map(_sigmoid, logits[lo:hi])))
        probabilities = list(map(_sigmoid, logits))
        labels = tuple(head.choose(probabilities[lo:hi]) for head, lo, hi in self._head_spans)
        return [labels], [_rounded_floats(probabilities)]

    def _decision(self, terms: WeightedTerms) -> np.ndarray:
        """Return the linear scores (documents x all labels, before intercepts).

        Both paths add a document's terms one after another in column order, in float64, so a text
        gets the same scores alone and in any batch (np.add.reduceat, or float32 sums, add them
        otherwise, which moved the fourth decimal of about one text in 600).
        """
        n_docs = len(terms.indptr) - 1
        # A request's one or few texts: scipy.sparse's constructor and checks would cost more than
        # the arithmetic.
        if n_docs == 1:
            return self._summed_terms(terms.columns, terms.weights)[None, :]
        if n_docs <= FEW_DOCS:
            bounds = terms.indptr.tolist()
            return np.array([self._summed_terms(terms.columns[lo:hi], terms.weights[lo:hi])
                             for lo, hi in zip(bounds, bounds[1:])])
        X = sparse.csr_matrix((terms.weights, terms.columns, terms.indptr), shape=(n_docs, self.features.n_features))
        return np.asarray(X @ self._weights)

    def _summed_terms(self, columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Return one document's linear scores: its terms' weight rows, scaled, added in order."""
        return np.add.reduce(self._weights[columns] * weights[:, None], axis=0)

    # -- explanations ----------------------------------------------------------------------
    def _explain(self, columns: np.ndarray, weights: np.ndarray, text: str, labels: dict[str, list[str]],
                 mentions: list) -> dict:
        """Explain one text's labels; mentions: its regions' mentions as tagging read them (for the region stage)."""
        hits = self.matcher.matches(text) if self.matcher else []
        # Which readable terms a column stands for depends on the text, not on the label: found
        # once here, it serves every label explained.
        owners = _TermOwners(self.features.char_words(text), hits)
        attribution = _Attribution([owners.shares(*self.features.feature_name(j)) for j in columns.tolist()])
        out: dict[str, dict[str, list]] = {}
        for k, head in enumerate(self.heads):
            out[head.facet] = {}
            for label in labels[head.facet]:
                i = head.labels.index(label)
                contrib = weights * self._weights[columns, self._spans[k] + i]
                stage_terms: list[tuple[str, float]] = []
                if head.salience is not None:
                    # In the stage's units, where the label is decided: the linear terms reach it
                    # through the Platt slope and the stage's weight on the logit.
                    contrib = contrib * (head.calibration[i, 0] * head.salience.weights[0])
                    stage_terms = head.salience.explain(mentions, text, label)
                elif head.competition is not None:  # the stage's units, as for the region stage
                    contrib = contrib * (head.calibration[i, 0] * head.competition.own_weight(i))
                out[head.facet][label] = attribution.top_terms(contrib, stage_terms)
        return out

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model to one .npz file, atomically."""
        arrays: dict[str, np.ndarray] = {}
        extras: dict[str, object] = {}
        for i, idf in enumerate(self.features.idfs):
            extras[f"vocabulary.{i}"] = self.features.terms(i)
            if idf is not None:
                arrays[f"idf.{i}"] = idf.astype(np.float64)
        for head in self.heads:
            for part in ("coef", "intercept", "calibration", "thresholds"):
                arrays[f"head.{head.facet}.{part}"] = getattr(head, part)
            if head.salience is not None:
                for part in ("weights", "bias", "context_weights"):
                    arrays[f"head.{head.facet}.salience.{part}"] = getattr(head.salience, part)
                extras[f"head.{head.facet}.salience.context"] = head.salience.context
            if head.competition is not None:
                for part in ("weights", "bias"):
                    arrays[f"head.{head.facet}.competition.{part}"] = getattr(head.competition, part)
        if self.gazetteer:
            extras["gazetteer"] = self.gazetteer.to_dict()
        card = dict(self.card, heads=[{"facet": h.facet, "labels": h.labels, "exclusive": h.exclusive,
                                       "nonempty": h.nonempty,
                                       "salience": _STAGE_INPUTS if h.salience else None,
                                       "competition": COMPETITION_INPUTS if h.competition else None}
                                      for h in self.heads],
                    blocks=self.features.blocks)
        return artifact.write_model(path, card, arrays, extras)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Tagger":
        """Load a model file (default: $NEWSTAGGER_MODEL, else ./models/newstagger.npz)."""
        path = Path(path) if path else default_model_path()
        card, arrays, extras = artifact.read_model(path)
        try:
            blocks = card["blocks"]
            features = FittedFeatures(
                blocks, [extras[f"vocabulary.{i}"] for i in range(len(blocks))],
                [arrays.get(f"idf.{i}") for i in range(len(blocks))])
            heads = [Head(h["facet"], h["labels"], *(arrays[f"head.{h['facet']}.{p}"] for p in
                                                     ("coef", "intercept", "calibration", "thresholds")),
                          exclusive=h["exclusive"], nonempty=h.get("nonempty", False),
                          salience=_stored_salience(path, h, arrays, extras),
                          competition=_stored_competition(path, h, arrays)) for h in card["heads"]]
            gazetteer = Gazetteer.from_dict(extras["gazetteer"]) if "gazetteer" in extras else None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: the model is incomplete or inconsistent ({type(exc).__name__}: {exc})") from None
        _check_shapes(path, features, heads)
        return cls(features, heads, card, gazetteer)


# What a region stage reads, as the card records it: a file whose stage reads otherwise is refused.
_STAGE_INPUTS = {"features": list(SALIENCE_FEATURES), "context_window": CONTEXT_WINDOW, "context_span": CONTEXT_SPAN}


def _stored_salience(path: Path, head: dict, arrays: dict[str, np.ndarray], extras: dict) -> SalienceStage | None:
    """Return a head's region stage from the file, or None if it has none (as files before it)."""
    prefix = _stage_prefix(path, head, "salience", "region", _STAGE_INPUTS)
    if prefix is None:
        return None
    return SalienceStage(arrays[f"{prefix}.weights"], arrays[f"{prefix}.bias"], extras[f"{prefix}.context"],
                         arrays[f"{prefix}.context_weights"])


def _stored_competition(path: Path, head: dict, arrays: dict[str, np.ndarray]) -> CompetitionStage | None:
    """Return a head's competition stage from the file, or None if it has none (as files before it)."""
    prefix = _stage_prefix(path, head, "competition", "competition", COMPETITION_INPUTS)
    return None if prefix is None else CompetitionStage(arrays[f"{prefix}.weights"], arrays[f"{prefix}.bias"])


def _stage_prefix(path: Path, head: dict, key: str, name: str, computed: dict) -> str | None:
    """Return where a head's stage `key` keeps its arrays, None if it has none; refuse a stage that
    reads other inputs than this newstagger computes."""
    if not head.get(key):
        return None
    if head[key] != computed:
        raise ModelError(f"{path}: the {name} stage of facet {head['facet']!r} reads {head[key]}, "
                         f"this newstagger computes {computed}; retrain the model")
    return f"head.{head['facet']}.{key}"


def _check_shapes(path: Path, features: FittedFeatures, heads: list[Head]) -> None:
    for h in heads:
        n = len(h.labels)
        if h.coef.shape != (n, features.n_features) or any(
                a.shape != s for a, s in ((h.intercept, (n,)), (h.calibration, (n, 2)), (h.thresholds, (n,)))) or (
                h.salience is not None and (h.salience.weights.shape != (3,) or h.salience.bias.shape != (n,)
                                            or h.salience.context_weights.shape != (len(h.salience.context),))) or (
                h.competition is not None and (h.competition.weights.shape != (n, 2 * n)
                                               or h.competition.bias.shape != (n,))):
            raise ModelError(f"{path}: the arrays of facet {h.facet!r} do not match its labels and features")



@contextmanager
def _collector_paused():
    """Pause Python's cycle collector while tagging, then restore it as it was.

    Tagging makes no reference cycles, but it allocates enough containers (results, cached
    tokens) to set off full collections, each scanning the whole heap: in a process that had
    imported scikit-learn they took up to a fifth of the time of tagging 2,654 headlines.
    Everything made here is freed by reference counting as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _rounded(values: np.ndarray) -> np.ndarray:
    """Return np.round(values, 4): the same three steps numpy takes (scale, rint, unscale),
    without its Python-level dispatch, which took half the time of one headline's rounding."""
    scaled = values * 1e4
    np.rint(scaled, out=scaled)
    scaled /= 1e4
    return scaled


def _rounded_floats(values: list[float]) -> list[float]:
    """_rounded() for a list of floats: round() rounds half to even as np.rint does."""
    return [round(v * 1e4) / 1e4 for v in values]


def _sigmoid(x: float) -> float:
    """scipy.special.expit for one float: where exp(-x) overflows, C gives inf and expit 0.0."""
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:
        return 0.0


def _checked_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"texts must be strings, got {type(text).__name__}")
    return text


class _Attribution:
    """One text's columns, each split over the readable terms it stands for, as flat arrays: a
    label's term totals are then one np.bincount, which adds in the same order as a loop would."""

    def __init__(self, shares: list[list[tuple[str, float]]]):
        names: dict[str, int] = {}
        columns, terms, fractions = [], [], []
        for column, column_shares in enumerate(shares):
            for name, share in column_shares:
                columns.append(column)
                terms.append(names.setdefault(name, len(names)))
                fractions.append(share)
        self.names = list(names)
        self.columns = np.array(columns, dtype=np.intp)
        self.terms = np.array(terms, dtype=np.intp)
        self.fractions = np.array(fractions, dtype=np.float64)

    def top_terms(self, contrib: np.ndarray, extra: list[tuple[str, float]]) -> list:
        """Return the EXPLAIN_TOP terms that pushed a label most, from its columns' contributions
        and a stage's own terms."""
        sums = np.bincount(self.terms, weights=contrib[self.columns] * self.fractions, minlength=len(self.names))
        totals = dict(zip(self.names, sums.tolist()))
        for name, weight in extra:
            totals[name] = totals.get(name, 0.0) + weight
        ranked = sorted(((t, w) for t, w in totals.items() if w > 0), key=lambda tw: -tw[1])
        return [[t, round(float(w), 4)] for t, w in ranked[:EXPLAIN_TOP]]


class _TermOwners:
    """The readable terms of one text that its features stand for: a character n-gram, the words
    it was cut from; a gazetteer token, the hits that made it.

    words: the text's words as the character block cut them (lowercased, accents stripped); they
    are shown without the punctuation at their edges ("nato," is "nato").
    """

    def __init__(self, words: list[str], hits):
        self.words = list(dict.fromkeys(words))
        self.hits = hits
        self._grams: dict[int, dict[str, set[str]]] = {}

    def shares(self, block: str, term: str) -> list[tuple[str, float]]:
        """Split one feature's contribution over the readable terms it stands for."""
        if block == "char":
            owners = self.words_containing(term)
            return [(w, 1 / len(owners)) for w in owners] if owners else [(term.strip(), 1.0)]
        if block == "gazetteer":
            owners = [h.describe() for h in self.hits if h.has_token(term)]
            return [(o, 1 / len(owners)) for o in owners] if owners else [(term, 1.0)]
        if block == "gazetteer-doc":  # "@most:europe" is owned by the hits that named europe
            region = term.partition(":")[2]
            owners = list(dict.fromkeys(h.describe() for h in self.hits if region in h.regions and not h.stray))
            return [(o, 1 / len(owners)) for o in owners] if owners else [(term, 1.0)]
        return [(term, 1.0)]

    def words_containing(self, gram: str) -> list[str]:
        """Return, sorted, the shown words whose padded form (" word ", as char_wb pads) contains the gram.

        Through one index per gram length of every padded word's substrings: testing each gram
        against each word took 0.7 s for a 600-word article, and grew with the square of its length.
        """
        index = self._grams.get(len(gram))
        if index is None:
            index = self._grams[len(gram)] = _substrings(self.words, len(gram))
        return sorted(index.get(gram, ()))


def _substrings(words: list[str], n: int) -> dict[str, set[str]]:
    """Return each n-character substring of the padded words -> the words that contain it, shown
    without their edge punctuation."""
    index: dict[str, set[str]] = defaultdict(set)
    for word in words:
        padded, shown = f" {word} ", word.strip(_EDGE_PUNCT) or word
        for start in range(len(padded) - n + 1):
            index[padded[start:start + n]].add(shown)
    return index
