"""Turn texts into the sparse feature matrix the linear heads read.

Four blocks (the last two only with a gazetteer), each a stock TfidfVectorizer:
  word      word 1-2 grams of the text
  char      character 3-5 grams inside word boundaries (robust to spelling and inflection)
  gazetteer tokens naming the countries and regions the gazetteer found in the text, one set per hit
  gazetteer-doc  where each region stands in the whole text (first named, most or least named),
            l2-normed apart from the per-hit tokens so a long story naming many places does
            not drown them (same input column; the "@" prefix tells the two apart)

Training builds them into a ColumnTransformer; a saved model rebuilds each vectorizer from its
vocabulary and idf arrays, so the same maths runs without unpickling anything.
"""
from __future__ import annotations

from array import array
from itertools import chain, repeat
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence

import ahocorasick
import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer

if TYPE_CHECKING:
    from .gazetteer import Matcher

TEXT_COLUMN, GAZETTEER_COLUMN = 0, 1
# JSON-friendly vectorizer specs; the one place feature hyper-parameters live.
# Word tokens: runs of word characters, hyphenated compounds kept whole ("mutual-defence", "F-35"),
# one-letter words kept. The same tokens as r"(?u)\b\w[\w\-]*\w\b|\b\w\b" (tests/test_model.py
# checks), found a third faster.
WORD_TOKENS = r"(?u)\w+(?:-+\w+)*"
WORD_SPEC = {"analyzer": "word", "ngram_range": [1, 2], "min_df": 2, "sublinear_tf": True,
             "strip_accents": "unicode", "token_pattern": WORD_TOKENS}
CHAR_SPEC = {"analyzer": "char_wb", "ngram_range": [3, 5], "min_df": 2, "sublinear_tf": True,
             "strip_accents": "unicode", "max_features": 250000}
GAZETTEER_SPEC = {"analyzer": "word", "token_pattern": r"(?<!\S)[^@\s]\S*", "lowercase": False,
                  "sublinear_tf": True}
GAZETTEER_DOC_SPEC = dict(GAZETTEER_SPEC, token_pattern=r"@\S+")


def default_blocks(with_gazetteer: bool) -> list[dict]:
    """Return the feature blocks of the default model: name, input column, weight, vectorizer spec."""
    blocks = [{"name": "word", "column": TEXT_COLUMN, "weight": 1.0, "spec": WORD_SPEC},
              {"name": "char", "column": TEXT_COLUMN, "weight": 1.0, "spec": CHAR_SPEC}]
    if with_gazetteer:
        blocks.append({"name": "gazetteer", "column": GAZETTEER_COLUMN, "weight": 1.0,
                       "spec": GAZETTEER_SPEC})
        blocks.append({"name": "gazetteer-doc", "column": GAZETTEER_COLUMN, "weight": 1.0,
                       "spec": GAZETTEER_DOC_SPEC})
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


def input_rows(texts: Iterable[str], matcher: "Matcher | None") -> list[tuple[str, str]]:
    """Return one (text, gazetteer tokens) row per text: TEXT_COLUMN and GAZETTEER_COLUMN."""
    if matcher is None:
        return [(text, "") for text in texts]
    return [(text, matcher.feature_string(text)) for text in texts]


def model_inputs(texts: Iterable[str], matcher: "Matcher | None") -> np.ndarray:
    """Return the rows as the two-column object array scikit-learn's ColumnTransformer selects from."""
    rows = input_rows(texts, matcher)
    table = np.empty((len(rows), 2), dtype=object)
    if rows:
        table[:] = rows
    return table


class WeightedTerms(NamedTuple):
    """Rows of the feature matrix as CSR's arrays: row i is columns/weights[indptr[i]:indptr[i+1]]."""

    indptr: np.ndarray
    columns: np.ndarray
    weights: np.ndarray

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.columns[self.indptr[i]:self.indptr[i + 1]], self.weights[self.indptr[i]:self.indptr[i + 1]]


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
        self._counters = [_block_counter(b["column"], v, int(o))
                          for b, v, o in zip(blocks, vectorizers, self.offsets)]
        self._idf = np.concatenate([v.idf_ if v.use_idf else np.ones(n) for v, n in zip(vectorizers, sizes)])
        self._sublinear = np.concatenate([np.full(n, v.sublinear_tf) for v, n in zip(vectorizers, sizes)])
        self._block_weight = np.concatenate([np.full(n, b["weight"]) for b, n in zip(blocks, sizes)])
        self._block_of = np.repeat(np.arange(len(blocks)), sizes)
        self._all_sublinear = bool(self._sublinear.all())

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

    def clear_caches(self) -> None:
        """Forget the per-word results the blocks have cached (for benchmarks)."""
        for counter in self._counters:
            for cache in vars(counter).values():
                if isinstance(cache, _Memo):
                    cache.clear()

    @property
    def n_features(self) -> int:
        return int(self.offsets[-1])

    def transform(self, inputs: np.ndarray) -> sparse.csr_matrix:
        """Vectorize two-column inputs into one weighted CSR matrix (see weighted_terms)."""
        terms = self.weighted_terms(inputs)
        return sparse.csr_matrix((terms.weights.astype(np.float32), terms.columns, terms.indptr),
                                 shape=(len(inputs), self.n_features))

    def weighted_terms(self, inputs: np.ndarray) -> "WeightedTerms":
        """Return each row's weighted terms: the rows of the feature matrix, in CSR's three arrays.

        Each block's analyzer and vocabulary find the terms (the character block through a
        per-word cache, see _CharWordCounter); the weighting is TfidfVectorizer's (sublinear tf,
        idf, l2 norm per block), applied to all blocks at once, in numpy only: going through
        TfidfVectorizer.transform costs about 1.5 ms of input checks per block and call, and each
        scipy.sparse constructor some 40 us, which a one-headline request would pay several times.
        tests/test_model.py pins the result to the fitted scikit-learn pipeline's.
        """
        found = array("i")            # global column of every term occurrence, -1 if unknown
        ends = [0]
        for row in inputs:
            for count_into in self._counters:
                count_into(row, found)
            ends.append(len(found))
        columns = np.frombuffer(found, dtype=np.int32) if found else np.empty(0, np.int32)
        if len(inputs) == 1:  # the service's usual request; a numpy call costs some 1-3 us here
            columns, counts = _distinct_counts(np.sort(columns))
            return WeightedTerms(np.array([0, len(columns)]), columns,
                                 self._weigh(self._block_of[columns], columns, counts))
        row_of = np.repeat(np.arange(len(inputs), dtype=np.int64), np.diff(ends))
        keys, counts = _distinct_counts(np.sort((row_of * self.n_features + columns)[columns >= 0]))
        row_of, columns = np.divmod(keys, self.n_features)
        indptr = np.searchsorted(row_of, np.arange(len(inputs) + 1))
        segment = row_of * len(self.blocks) + self._block_of[columns]
        return WeightedTerms(indptr, columns, self._weigh(segment, columns, counts))

    def _weigh(self, segment: np.ndarray, columns: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Return the tf-idf weight of each count, l2-normalised per segment (a row's block)."""
        tf = counts.astype(np.float64)
        tf = 1.0 + np.log(tf) if self._all_sublinear else np.where(self._sublinear[columns], 1.0 + np.log(tf), tf)
        weights = tf * self._idf[columns]
        norms = np.sqrt(np.bincount(segment, weights=weights * weights))
        return weights / norms[segment] * self._block_weight[columns]

    def feature_name(self, index: int) -> tuple[str, str]:
        """Return (block name, term) for a column of the matrix."""
        block = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return self.names[block], self.terms(block)[index - self.offsets[block]]

    def terms(self, block: int) -> list[str]:
        """Return the terms of one block in column order (computed once, on first use)."""
        if block not in self._terms:
            self._terms[block] = list(self.vectorizers[block].get_feature_names_out())
        return self._terms[block]


def _distinct_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct non-negative values of a sorted array and how often each occurs.

    np.unique does the same, but its bookkeeping costs some 30 us a call, more than weighting a
    whole headline.
    """
    n = len(values)
    change = np.empty(n + 1, dtype=bool)
    change[0] = change[n] = True
    np.not_equal(values[1:], values[:-1], out=change[1:n])
    edges = change.nonzero()[0]
    distinct, counts = values[edges[:-1]], edges[1:] - edges[:-1]
    if n and distinct[0] < 0:  # unknown terms (-1) sort first
        return distinct[1:], counts[1:]
    return distinct, counts


def _block_counter(column: int, vectorizer: TfidfVectorizer, offset: int):
    """Return a function that appends a row's global term columns (-1 if unknown) for one block."""
    vocabulary = {term: i + offset for term, i in vectorizer.vocabulary_.items()}
    if vectorizer.analyzer == "char_wb":
        return _CharWordCounter(column, vectorizer, vocabulary)
    if vectorizer.analyzer == "word" and vectorizer.stop_words is None and vectorizer.tokenizer is None:
        return _WordCounter(column, vectorizer, vocabulary)
    analyze, get, unknown = vectorizer.build_analyzer(), vocabulary.get, repeat(-1)

    def count_into(row, found: array) -> None:
        found.extend(map(get, analyze(row[column]), unknown))
    return count_into


# Token patterns that never match whitespace: with these, a text's tokens are its whitespace-separated
# words' tokens in order, so they can be found once per distinct word and cached.
_PER_WORD_PATTERNS = {WORD_TOKENS, r"\S+", r"(?u)\b\w\w+\b", GAZETTEER_SPEC["token_pattern"],
                      GAZETTEER_DOC_SPEC["token_pattern"]}


class _WordCounter:
    """Word n-grams as TfidfVectorizer's word analyzer makes them, without its per-gram Python loop.

    With a per-word token pattern (the default model's), each distinct word's tokens and its
    unigram columns are cached, as the character block caches its n-grams.
    """

    def __init__(self, column: int, vectorizer: TfidfVectorizer, vocabulary: dict[str, int]):
        self.column = column
        self.preprocess = vectorizer.build_preprocessor()
        self.tokenize = vectorizer.build_tokenizer()
        self.min_n, self.max_n = vectorizer.ngram_range
        self.get = vocabulary.get
        self.per_word = vectorizer.token_pattern in _PER_WORD_PATTERNS
        self.tokens_of = _Memo(lambda word: tuple(self.tokenize(word)))
        self.unigrams_of = _Memo(lambda word: _packed(map(self.get, self.tokens_of[word])))

    def __call__(self, row, found: array) -> None:
        text = self.preprocess(row[self.column])
        if self.per_word:
            words = text.split()
            # Unigrams come straight from the per-word columns; the token list is for n >= 2.
            tokens = list(chain.from_iterable(map(self.tokens_of.__getitem__, words))) if self.max_n > 1 else []
        else:
            tokens = self.tokenize(text)
        get = self.get
        for n in range(self.min_n, self.max_n + 1):
            if n == 1 and self.per_word:
                found.frombytes(b"".join(map(self.unigrams_of.__getitem__, words)))
            elif n == 1:
                found.extend(map(get, tokens, repeat(-1)))
            elif n == 2:  # the common case, spelled out: zip(*[...]) costs more than the lookups
                found.extend(map(get, map(" ".join, zip(tokens, tokens[1:])), repeat(-1)))
            else:
                found.extend(map(get, map(" ".join, zip(*[tokens[i:] for i in range(n)])), repeat(-1)))


class _CharWordCounter:
    """Character n-grams inside word boundaries, looked up once per distinct word.

    char_wb n-grams never cross a word, so a text's grams are the sum of its words' grams. News
    repeats its words (Zipf), so each word's columns are cached. A new word's known grams are found
    by an Aho-Corasick automaton over the vocabulary, in C: the same multiset as slicing out every
    n-gram and looking each up (a padded word's substrings of n_min..n_max characters; a padded
    word shorter than n_min is one gram itself, and only matches itself), five times faster.
    """

    def __init__(self, column: int, vectorizer: TfidfVectorizer, vocabulary: dict[str, int]):
        self.column = column
        self.preprocess = vectorizer.build_preprocessor()
        grams = ahocorasick.Automaton()
        for term, index in vocabulary.items():
            grams.add_word(term, index)
        if vocabulary:
            grams.make_automaton()
            self.cache = _Memo(lambda word: _packed(c for _, c in grams.iter(f" {word} ")))
        else:
            self.cache = _Memo(lambda word: b"")

    def __call__(self, row, found: array) -> None:
        # The words' columns are stored as packed int32 bytes, so one C-level join gathers them all.
        found.frombytes(b"".join(map(self.cache.__getitem__, self.preprocess(row[self.column]).split())))


class _Memo(dict):
    """A dict that computes a missing key's value once; it starts over when full (bounded memory)."""

    MAX_ITEMS = 200_000    # words; about 100 bytes each

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        if len(self) >= self.MAX_ITEMS:
            self.clear()
        value = self[key] = self.compute(key)
        return value


def _packed(columns: Iterable[int | None]) -> bytes:
    """Return the known columns (None = not in the vocabulary) as packed int32 bytes."""
    return array("i", [c for c in columns if c is not None]).tobytes()
