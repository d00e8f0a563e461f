"""Turn texts into the sparse feature matrix the linear heads read.

Three blocks, each a stock TfidfVectorizer:
  word      word 1-2 grams of the text
  char      character 2-5 grams inside word boundaries (robust to spelling and inflection)
  gazetteer tokens naming the countries and regions the gazetteer found in the text

Training builds them into a ColumnTransformer; a saved model rebuilds each vectorizer from its
vocabulary and idf arrays, so the same maths runs without unpickling anything.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer

if TYPE_CHECKING:
    from .gazetteer import Matcher

TEXT_COLUMN, GAZETTEER_COLUMN = 0, 1
# JSON-friendly vectorizer specs; the one place feature hyper-parameters live.
WORD_SPEC = {"analyzer": "word", "ngram_range": [1, 2], "min_df": 2, "sublinear_tf": True,
             "strip_accents": "unicode", "token_pattern": r"(?u)\b\w[\w\-]*\w\b|\b\w\b"}
CHAR_SPEC = {"analyzer": "char_wb", "ngram_range": [3, 5], "min_df": 2, "sublinear_tf": True,
             "strip_accents": "unicode", "max_features": 250000}
GAZETTEER_SPEC = {"analyzer": "word", "token_pattern": r"\S+", "lowercase": False,
                  "sublinear_tf": True}


def default_blocks(with_gazetteer: bool) -> list[dict]:
    """Return the feature blocks of the default model: name, input column, weight, vectorizer spec."""
    blocks = [{"name": "word", "column": TEXT_COLUMN, "weight": 1.0, "spec": WORD_SPEC},
              {"name": "char", "column": TEXT_COLUMN, "weight": 1.0, "spec": CHAR_SPEC}]
    if with_gazetteer:
        blocks.append({"name": "gazetteer", "column": GAZETTEER_COLUMN, "weight": 1.0,
                       "spec": GAZETTEER_SPEC})
    return blocks


def make_vectorizer(spec: dict, vocabulary: Sequence[str] | None = None) -> TfidfVectorizer:
    """Build a stock TfidfVectorizer from a JSON spec (and, for a saved model, its vocabulary)."""
    params = {k: tuple(v) if k == "ngram_range" else v for k, v in spec.items()}
    if vocabulary is not None:
        params = {k: v for k, v in params.items() if k not in ("min_df", "max_df", "max_features")}
        params["vocabulary"] = {term: i for i, term in enumerate(vocabulary)}
    return TfidfVectorizer(dtype=np.float32, **params)


def build_column_transformer(blocks: list[dict]) -> ColumnTransformer:
    """Assemble the blocks into the ColumnTransformer used in training."""
    return ColumnTransformer(
        [(b["name"], make_vectorizer(b["spec"]), b["column"]) for b in blocks],
        transformer_weights={b["name"]: b["weight"] for b in blocks},
        sparse_threshold=1.0)


def model_inputs(texts: Iterable[str], matcher: "Matcher | None") -> np.ndarray:
    """Return the two-column object array the features read: the text and its gazetteer tokens."""
    texts = list(texts)
    rows = np.empty((len(texts), 2), dtype=object)
    rows[:, TEXT_COLUMN] = texts
    rows[:, GAZETTEER_COLUMN] = [matcher.feature_string(t) if matcher else "" for t in texts]
    return rows


class FittedFeatures:
    """The fitted blocks of a saved model, applied exactly as the ColumnTransformer applied them."""

    def __init__(self, blocks: list[dict], vectorizers: list[TfidfVectorizer]):
        self.blocks = blocks
        self.vectorizers = vectorizers
        self.names = [b["name"] for b in blocks]
        sizes = [len(v.vocabulary_) for v in vectorizers]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._terms: dict[int, list[str]] = {}
        for vec in vectorizers:
            if vec.norm != "l2":
                raise ValueError(f"feature blocks must use the l2 norm, not {vec.norm!r}")
        self._plan = [(b["column"], v.build_analyzer(), v.vocabulary_, int(o))
                      for b, v, o in zip(blocks, vectorizers, self.offsets)]
        self._idf = np.concatenate([v.idf_ if v.use_idf else np.ones(n) for v, n in zip(vectorizers, sizes)])
        self._sublinear = np.concatenate([np.full(n, v.sublinear_tf) for v, n in zip(vectorizers, sizes)])
        self._block_weight = np.concatenate([np.full(n, b["weight"]) for b, n in zip(blocks, sizes)])

    @classmethod
    def from_column_transformer(cls, ct: ColumnTransformer, blocks: list[dict]) -> "FittedFeatures":
        return cls(blocks, [ct.named_transformers_[b["name"]] for b in blocks])

    @classmethod
    def from_arrays(cls, blocks: list[dict], vocabularies: list[list[str]],
                    idfs: list[np.ndarray | None]) -> "FittedFeatures":
        vectorizers = []
        for block, vocab, idf in zip(blocks, vocabularies, idfs):
            vec = make_vectorizer(block["spec"], vocab)
            # Fitting on one empty text only fixes the given vocabulary; the stored idf replaces
            # the placeholder the fit computed.
            vec.fit([""])
            if idf is not None:
                vec.idf_ = idf
            vectorizers.append(vec)
        return cls(blocks, vectorizers)

    @property
    def n_features(self) -> int:
        return int(self.offsets[-1])

    def transform(self, inputs: np.ndarray) -> sparse.csr_matrix:
        """Vectorize two-column inputs into one weighted CSR matrix.

        Each block's own analyzer and vocabulary count the terms; the weighting is TfidfVectorizer's
        (sublinear tf, idf, l2 norm per block), applied to all blocks at once. Going through
        TfidfVectorizer.transform instead costs about 1.5 ms of input checks per block and call,
        which a one-headline request would pay three times. tests/test_model.py pins the result to
        the fitted scikit-learn pipeline's.
        """
        if len(inputs) == 0:
            return sparse.csr_matrix((0, self.n_features), dtype=np.float32)
        columns: list[int] = []
        counts: list[int] = []
        lengths: list[int] = []    # entries per (document, block): the unit of the l2 norm
        for row in inputs:
            for column, analyze, vocabulary, _ in self._plan:
                found = Counter(map(vocabulary.get, analyze(row[column])))
                found.pop(None, None)  # terms outside the vocabulary
                columns.extend(found)
                counts.extend(found.values())
                lengths.append(len(found))
        n_docs, n_segments = len(inputs), len(lengths)
        segment = np.repeat(np.arange(n_segments), lengths)
        offsets = np.tile([offset for *_, offset in self._plan], n_docs)
        cols = np.asarray(columns, dtype=np.int64) + np.repeat(offsets, lengths)
        tf = np.asarray(counts, dtype=np.float64)
        tf = np.where(self._sublinear[cols], 1.0 + np.log(tf), tf)
        weights = tf * self._idf[cols]
        norms = np.sqrt(np.bincount(segment, weights=weights * weights, minlength=n_segments))
        weights = weights / norms[segment] * self._block_weight[cols]
        indptr = np.concatenate([[0], np.cumsum(np.reshape(lengths, (n_docs, -1)).sum(axis=1))])
        X = sparse.csr_matrix((weights.astype(np.float32), cols, indptr), shape=(n_docs, self.n_features))
        X.sort_indices()
        return X

    def feature_name(self, index: int) -> tuple[str, str]:
        """Return (block name, term) for a column of the matrix."""
        block = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return self.names[block], self.terms(block)[index - self.offsets[block]]

    def terms(self, block: int) -> list[str]:
        """Return the terms of one block in column order (computed once, on first use)."""
        if block not in self._terms:
            self._terms[block] = list(self.vectorizers[block].get_feature_names_out())
        return self._terms[block]
