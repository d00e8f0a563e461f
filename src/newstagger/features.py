"""Turn texts into the sparse feature matrix the linear heads read.

Up to five blocks (the gazetteer's two only with a gazetteer), each a stock TfidfVectorizer:
  word      word 1-2 grams of the text
  char      character 3-5 grams inside word boundaries (robust to spelling and inflection)
  title     word 1-2 grams of the text's first line, its headline, read by the theme facet only
  gazetteer tokens naming the countries and regions the gazetteer found in the text, one set per hit
  gazetteer-doc  where each region stands in the whole text (first named, most or least named,
            named only as the teller of the news),
            l2-normed apart from the per-hit tokens so a long story naming many places does
            not drown them (same input column; the "@" prefix tells the two apart)

Training builds them into a ColumnTransformer. Tagging (FittedFeatures) rebuilds each block from
its spec, vocabulary and idf array and counts terms with its own analysers, which tests pin to
TfidfVectorizer's: the same maths, without unpickling anything or importing scikit-learn.
"""
from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_right
from functools import partial
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence

import ahocorasick
import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer

    from .gazetteer import Matcher

TEXT_COLUMN, GAZETTEER_COLUMN, TITLE_COLUMN = 0, 1, 2
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
# The headline's words again, apart: news states its subject there, and the body's l2 norm no longer
# dilutes them. Read by theme alone: on the corpus's dev split (three seeds) theme micro-F1 rose
# 0.8311 -> 0.8367 (cross-validated 0.8393 -> 0.8422, Brier 0.0372 -> 0.0359) while region, whose
# stage already reads where the text first names each region, was level (0.9449 -> 0.9446).
TITLE_FACETS = ["theme"]


def default_blocks(with_gazetteer: bool, facets: Sequence[str] | None = None) -> list[dict]:
    """Return the feature blocks of the default model: name, input column, weight, vectorizer spec,
    and for a block that only some facets read, "facets". facets: the data's (None: any); a block
    that none of them reads is left out."""
    blocks = [{"name": "word", "column": TEXT_COLUMN, "weight": 1.0, "spec": WORD_SPEC},
              {"name": "char", "column": TEXT_COLUMN, "weight": 1.0, "spec": CHAR_SPEC}]
    readers = [f for f in TITLE_FACETS if facets is None or f in facets]
    if readers:
        blocks.append({"name": "title", "column": TITLE_COLUMN, "weight": 1.0, "spec": WORD_SPEC,
                       "facets": readers})
    if with_gazetteer:
        blocks.append({"name": "gazetteer", "column": GAZETTEER_COLUMN, "weight": 1.0,
                       "spec": GAZETTEER_SPEC})
        blocks.append({"name": "gazetteer-doc", "column": GAZETTEER_COLUMN, "weight": 1.0,
                       "spec": GAZETTEER_DOC_SPEC})
    return blocks


def make_vectorizer(spec: dict, vocabulary: Sequence[str] | None = None) -> "TfidfVectorizer":
    """Build a stock TfidfVectorizer from a JSON spec (and, for a saved model, its vocabulary)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = {k: tuple(v) if k == "ngram_range" else v for k, v in spec.items()}
    if vocabulary is not None:
        params = {k: v for k, v in params.items() if k not in ("min_df", "max_df", "max_features")}
        params["vocabulary"] = {term: i for i, term in enumerate(vocabulary)}
    return TfidfVectorizer(dtype=np.float32, **params)


def build_column_transformer(blocks: list[dict]) -> "ColumnTransformer":
    """Assemble the blocks into the ColumnTransformer used in training."""
    from sklearn.compose import ColumnTransformer

    return ColumnTransformer(
        [(b["name"], make_vectorizer(b["spec"]), b["column"]) for b in blocks],
        transformer_weights={b["name"]: b["weight"] for b in blocks},
        sparse_threshold=1.0)


def input_rows(texts: Iterable[str], matcher: "Matcher | None") -> list[tuple[str, str, str]]:
    """Return one input_row per text, its gazetteer tokens from the matcher (none without one)."""
    if matcher is None:
        return [input_row(text) for text in texts]
    return [input_row(text, matcher.feature_string(text)) for text in texts]


def input_row(text: str, gazetteer_tokens: str = "") -> tuple[str, str, str]:
    """Return (text, gazetteer tokens, title): TEXT_, GAZETTEER_ and TITLE_COLUMN. The title is the
    text's first line, its headline (documents.compose_text puts the title there)."""
    return text, gazetteer_tokens, text.partition("\n")[0]


def reads(block: dict, facet: str | None) -> bool:
    """Whether a facet's heads read a block (a block without "facets" is read by all; None: any facet)."""
    return facet is None or facet in block.get("facets", [facet])


def facet_columns(blocks: list[dict], sizes: Sequence[int], facet: str) -> np.ndarray | None:
    """Return the columns of the feature matrix that a facet's heads read (None: all of them)."""
    if all(reads(b, facet) for b in blocks):
        return None
    offsets = np.cumsum([0, *sizes])
    return np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i, b in enumerate(blocks)
                           if reads(b, facet)]).astype(np.int64)


def model_inputs(texts: Iterable[str], matcher: "Matcher | None") -> np.ndarray:
    """Return the rows as the three-column object array scikit-learn's ColumnTransformer selects from."""
    rows = input_rows(texts, matcher)
    table = np.empty((len(rows), 3), dtype=object)
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
    """The fitted blocks of a saved model, applied exactly as the ColumnTransformer applied them.

    Built from each block's spec, vocabulary and idf array alone: tagging imports no scikit-learn,
    whose import chain (scipy.stats included) took 2.5 s of every command's and worker's start.
    """

    def __init__(self, blocks: list[dict], vocabularies: list[list[str]], idfs: list[np.ndarray | None]):
        self.blocks = blocks
        self.names = [b["name"] for b in blocks]
        self.vocabularies = [list(v) for v in vocabularies]
        settings = [_block_settings(b["spec"]) for b in blocks]
        char_blocks = [st for st in settings if st["analyzer"] == "char_wb"]
        self._char_preprocess = _preprocessor(char_blocks[0]) if char_blocks else str.lower
        for block, setting in zip(blocks, settings):
            if setting["norm"] != "l2" or setting.get("binary"):
                raise ValueError(f"feature block {block['name']!r} must use the l2 norm of tf-idf counts")
        sizes = [len(v) for v in self.vocabularies]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._offsets = self.offsets.tolist()
        self.idfs = [idf if setting["use_idf"] else None for idf, setting in zip(idfs, settings)]
        self._counters = _shared_caches([_block_counter(i, self, setting, int(o))
                                         for i, (setting, o) in enumerate(zip(settings, self.offsets))])
        self._idf = np.concatenate([np.ones(n) if idf is None else idf for idf, n in zip(self.idfs, sizes)])
        self._sublinear = np.concatenate([np.full(n, st["sublinear_tf"]) for st, n in zip(settings, sizes)])
        self._block_weight = np.concatenate([np.full(n, b["weight"]) for b, n in zip(blocks, sizes)])
        self._block_of = np.repeat(np.arange(len(blocks)), sizes)
        self._all_sublinear = bool(self._sublinear.all())
        self._unweighted = all(b["weight"] == 1.0 for b in blocks)

    @classmethod
    def from_vectorizers(cls, blocks: list[dict], vectorizers: list["TfidfVectorizer"]) -> "FittedFeatures":
        """Take the vocabularies and idf arrays of fitted TfidfVectorizers (one per block)."""
        vocabularies = [sorted(v.vocabulary_, key=v.vocabulary_.__getitem__) for v in vectorizers]
        return cls(blocks, vocabularies, [v.idf_ if v.use_idf else None for v in vectorizers])

    @classmethod
    def from_column_transformer(cls, ct: "ColumnTransformer", blocks: list[dict]) -> "FittedFeatures":
        return cls.from_vectorizers(blocks, [ct.named_transformers_[b["name"]] for b in blocks])

    def vectorizer(self, block: int) -> "TfidfVectorizer":
        """Return a stock TfidfVectorizer equal to one block (for baselines, and specs without a fast path)."""
        vec = make_vectorizer(self.blocks[block]["spec"], self.vocabularies[block])
        # Fitting on one empty text only fixes the given vocabulary; the stored idf replaces
        # the placeholder the fit computed.
        vec.fit([""])
        if self.idfs[block] is not None:
            vec.idf_ = self.idfs[block]
        return vec

    def clear_caches(self) -> None:
        """Forget the per-word results the blocks have cached (for benchmarks)."""
        for counter in self._counters:
            if hasattr(counter, "clear"):
                counter.clear()

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

        Each block's analyzer and vocabulary find the terms (the word and character blocks
        through one per-word cache, see _SharedWordCache); the weighting is TfidfVectorizer's (sublinear tf,
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
        # One sort key per (row, column); 32-bit when it fits, which sorts twice as fast.
        key_type = np.int32 if len(inputs) * self.n_features < 2**31 else np.int64
        row_of = np.repeat(np.arange(len(inputs), dtype=key_type), np.diff(ends))
        keys, counts = _distinct_counts(np.sort((row_of * key_type(self.n_features) + columns)[columns >= 0]))
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
        weights /= norms[segment]
        return weights if self._unweighted else weights * self._block_weight[columns]

    def char_words(self, text: str) -> list[str]:
        """Return the words a char_wb block cuts its n-grams from: the text preprocessed as that block
        does, split on whitespace (lowercased without a character block)."""
        return self._char_preprocess(text).split()

    def feature_name(self, index: int) -> tuple[str, str]:
        """Return (block name, term) for a column of the matrix."""
        block = bisect_right(self._offsets, index) - 1  # numpy's searchsorted: 2 us a call, too slow for explanations
        return self.names[block], self.terms(block)[index - self._offsets[block]]

    def terms(self, block: int) -> list[str]:
        """Return the terms of one block in column order."""
        return self.vocabularies[block]


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


# TfidfVectorizer's defaults for the parameters tagging reads; a spec with any other parameter
# (stop words, the plain "char" analyzer...) is analysed by a stock TfidfVectorizer instead.
_DEFAULTS = {"analyzer": "word", "lowercase": True, "strip_accents": None, "token_pattern": r"(?u)\b\w\w+\b",
             "ngram_range": (1, 1), "sublinear_tf": False, "use_idf": True, "norm": "l2"}
_FIT_ONLY = {"min_df", "max_df", "max_features", "smooth_idf", "dtype"}


def _block_settings(spec: dict) -> dict:
    """Return a block's spec with TfidfVectorizer's defaults filled in; "fast" says if our analysers cover it."""
    settings = {**_DEFAULTS, **spec}
    settings["ngram_range"] = tuple(settings["ngram_range"])
    settings["fast"] = (set(spec) <= set(_DEFAULTS) | _FIT_ONLY and settings["analyzer"] in ("word", "char_wb")
                        and settings["strip_accents"] in (None, "unicode", "ascii"))
    return settings


def _block_counter(block: int, features: "FittedFeatures", settings: dict, offset: int):
    """Return a function that appends a row's global term columns (-1 if unknown) for one block."""
    column = features.blocks[block]["column"]
    vocabulary = {term: i + offset for i, term in enumerate(features.vocabularies[block])}
    if settings["fast"] and settings["analyzer"] == "char_wb":
        return _CharWordCounter(column, settings, vocabulary)
    if settings["fast"]:
        return _WordCounter(column, settings, vocabulary)
    analyze, get, unknown = features.vectorizer(block).build_analyzer(), vocabulary.get, repeat(-1)

    def count_into(row, found: array) -> None:
        found.extend(map(get, analyze(row[column]), unknown))
    return count_into


def _preprocessor(settings: dict):
    """Return TfidfVectorizer's preprocessing for these settings: lowercase, then strip accents."""
    strip = {None: None, "unicode": _strip_accents_unicode, "ascii": _strip_accents_ascii}[settings["strip_accents"]]
    return partial(_preprocess, lower=settings["lowercase"], strip=strip)


def _preprocess(text: str, *, lower: bool, strip) -> str:
    if lower:
        text = text.lower()
    return strip(text) if strip else text


def _strip_accents_unicode(text: str) -> str:
    """Decompose accented characters and drop the combining marks (scikit-learn's strip_accents_unicode)."""
    if text.isascii():
        return text
    combining = unicodedata.combining
    return "".join([c for c in unicodedata.normalize("NFKD", text) if not combining(c)])  # a list joins faster


def _strip_accents_ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ASCII", "ignore").decode("ASCII")


def _tokenizer(settings: dict):
    pattern = re.compile(settings["token_pattern"])
    if pattern.groups > 1:
        raise ValueError("a token pattern may capture at most one group")
    return pattern.findall


_SECOND = itemgetter(1)

# Token patterns that never match whitespace: with these, a text's tokens are its whitespace-separated
# words' tokens in order, so they can be found once per distinct word and cached.
_PER_WORD_PATTERNS = {WORD_TOKENS, r"\S+", r"(?u)\b\w\w+\b", GAZETTEER_SPEC["token_pattern"],
                      GAZETTEER_DOC_SPEC["token_pattern"]}


class _WordCounter:
    """Word n-grams as TfidfVectorizer's word analyzer makes them, without its per-gram Python loop.

    With a per-word token pattern (the default model's), each distinct word's tokens and its
    unigram columns are cached, as the character block caches its n-grams.
    """

    def __init__(self, column: int, settings: dict, vocabulary: dict[str, int]):
        self.column = column
        self.preprocessing = (settings["lowercase"], settings["strip_accents"])
        self.preprocess = _preprocessor(settings)
        self.tokenize = _tokenizer(settings)
        self.min_n, self.max_n = settings["ngram_range"]
        self.get = vocabulary.get
        self.token_pattern = settings["token_pattern"]
        self.per_word = self.token_pattern in _PER_WORD_PATTERNS
        self.words = _Memo(self.word_entry)

    def word_entry(self, word: str) -> tuple[tuple[str, ...], bytes]:
        """Return a word's tokens and its unigrams' known columns as packed int32 bytes."""
        tokens = tuple(self.tokenize(word))
        return tokens, (_packed(map(self.get, tokens)) if self.min_n == 1 else b"")

    def __call__(self, row, found: array) -> None:
        self.count_text(row[self.column], found)

    def count_text(self, text: str, found: array) -> None:
        """Append the columns of one text's n-grams (-1 for those not in the vocabulary)."""
        text = self.preprocess(text)
        if self.per_word:
            self.count_words(list(map(self.words.__getitem__, text.split())), found)
        else:
            self.count_ngrams(self.tokenize(text), found, lowest=1)

    def count_words(self, entries: list[tuple], found: array, columns_at: int = 1) -> None:
        """Append the columns of a text given as its words' cached entries: (tokens, packed columns),
        or with more packed columns, of which this block's are at `columns_at`."""
        found.frombytes(b"".join([entry[columns_at] for entry in entries]))
        if self.max_n > 1:
            self.count_ngrams([token for entry in entries for token in entry[0]], found, lowest=2)

    def count_ngrams(self, tokens: list[str], found: array, lowest: int) -> None:
        """Append the columns of the n-grams of `tokens`, from max(lowest, min_n) to max_n words long."""
        get = self.get
        for n in range(max(lowest, self.min_n), self.max_n + 1):
            if n == 1:
                found.extend(map(get, tokens, repeat(-1)))
            elif n == 2:  # the common case, spelled out: zip(*[...]) costs more than the lookups
                found.extend(map(get, map(" ".join, zip(tokens, tokens[1:])), repeat(-1)))
            else:
                found.extend(map(get, map(" ".join, zip(*[tokens[i:] for i in range(n)])), repeat(-1)))

    def clear(self) -> None:
        self.words.clear()


class _CharWordCounter:
    """Character n-grams inside word boundaries, looked up once per distinct word.

    char_wb n-grams never cross a word, so a text's grams are the sum of its words' grams. News
    repeats its words (Zipf), so each word's columns are cached. A new word's known grams are found
    by an Aho-Corasick automaton over the vocabulary, in C: the same multiset as slicing out every
    n-gram and looking each up (a padded word's substrings of n_min..n_max characters; a padded
    word shorter than n_min is one gram itself, and only matches itself), five times faster.
    """

    def __init__(self, column: int, settings: dict, vocabulary: dict[str, int]):
        self.column = column
        self.preprocessing = (settings["lowercase"], settings["strip_accents"])
        self.preprocess = _preprocessor(settings)
        self.grams = ahocorasick.Automaton()
        for term, index in vocabulary.items():
            self.grams.add_word(term, index)
        if vocabulary:
            self.grams.make_automaton()
        self.words = _Memo(self.word_columns)

    def word_columns(self, word: str) -> bytes:
        """Return the known columns of a word's character n-grams as packed int32 bytes."""
        if not len(self.grams):
            return b""
        return array("i", map(_SECOND, self.grams.iter(f" {word} "))).tobytes()  # (end, column) pairs

    def __call__(self, row, found: array) -> None:
        # The words' columns are stored as packed int32 bytes, so one C-level join gathers them all.
        found.frombytes(b"".join(map(self.words.__getitem__, self.preprocess(row[self.column]).split())))

    def clear(self) -> None:
        self.words.clear()


class _SharedWordCache:
    """A per-word word block and the character blocks of the same column and preprocessing, one cache.

    All of them split the same preprocessed text on whitespace, so one lookup per word gives its
    tokens (for the word n-grams) and the columns of its unigrams and character n-grams. Separate
    caches cost three dictionary lookups a word; on this path, bound by memory latency, those
    lookups cost more than the work around them (a headline took a third longer).

    A title block with the same tokens (title: a word counter of TITLE_COLUMN) shares it too: the
    title is the text's first line, so its words are the text's first ones, and each word's entry
    also holds its title-vocabulary unigrams. Counted apart, it cost a headline about 8 us.
    """

    def __init__(self, word: _WordCounter, chars: list[_CharWordCounter], title: _WordCounter | None = None):
        self.column = word.column
        self.preprocess = word.preprocess
        self.word = word
        self.chars = chars
        self.title = title
        self.words = _Memo(self.word_entry)

    def word_entry(self, word: str) -> tuple[tuple[str, ...], bytes, bytes]:
        tokens, unigrams = self.word.word_entry(word)
        title_unigrams = self.title.word_entry(word)[1] if self.title else b""
        return tokens, unigrams + b"".join([char.word_columns(word) for char in self.chars]), title_unigrams

    def __call__(self, row, found: array) -> None:
        text = row[self.column]
        entries = list(map(self.words.__getitem__, self.preprocess(text).split()))
        self.word.count_words(entries, found)
        if self.title is None:
            return
        title = row[self.title.column]
        if text.startswith(title) and text[len(title):len(title) + 1] in ("", "\n"):
            # Lowercasing and stripping accents work character by character (a newline is no cased
            # letter, no combining mark): the title's words are the text's first ones.
            self.title.count_words(entries[:len(self.preprocess(title).split())], found, columns_at=2)
        else:  # rows made otherwise than by input_rows
            self.title(row, found)

    def clear(self) -> None:
        self.words.clear()
        if self.title:
            self.title.clear()


class _WholeTextCounter:
    """The word blocks of a column whose texts repeat whole, cached per text.

    The gazetteer column holds one string per combination of place names a text mentions, and
    headlines repeat those combinations ("Beijing ... Taiwan"): counting each string once, for all
    of its blocks, saves tokenising it again for every headline.
    """

    def __init__(self, column: int, counters: list[_WordCounter]):
        self.column = column
        self.cache = _Memo(self.count_text)
        self.counters = counters
        # Unigram blocks counted per word, with one preprocessing (the gazetteer's two): a new
        # string is then its words' cached columns, for all blocks at once, a quarter of the time.
        self.per_word = (all(c.per_word and c.max_n == 1 for c in counters)
                         and len({c.preprocessing for c in counters}) == 1)
        self.words = _Memo(lambda word: b"".join([c.word_entry(word)[1] for c in counters]))

    def count_text(self, text: str) -> bytes:
        if self.per_word:
            return b"".join(map(self.words.__getitem__, self.counters[0].preprocess(text).split()))
        return b"".join([_counted(counter, text) for counter in self.counters])

    def __call__(self, row, found: array) -> None:
        found.frombytes(self.cache[row[self.column]])

    def clear(self) -> None:
        self.cache.clear()
        self.words.clear()


def _counted(counter: _WordCounter, text: str) -> bytes:
    found = array("i")
    counter.count_text(text, found)
    return found.tobytes()


def _shared_caches(counters: list) -> list:
    """Merge the counters that can share one cache (see _SharedWordCache and _WholeTextCounter)."""
    whole = [c for c in counters if isinstance(c, _WordCounter) and c.column == GAZETTEER_COLUMN]
    merged = [c for c in counters if c not in whole] + ([_WholeTextCounter(GAZETTEER_COLUMN, whole)] if whole else [])
    groups: dict[tuple, list] = {}
    for c in merged:
        if isinstance(c, (_WordCounter, _CharWordCounter)):
            groups.setdefault((c.column, c.preprocessing), []).append(c)
    for group in groups.values():
        words = [c for c in group if isinstance(c, _WordCounter) and c.per_word]
        chars = [c for c in group if isinstance(c, _CharWordCounter)]
        if len(words) == 1 and chars:
            word = words[0]
            titles = [c for c in merged if isinstance(c, _WordCounter) and c.column == TITLE_COLUMN
                      and word.column == TEXT_COLUMN and c.per_word
                      and (c.preprocessing, c.token_pattern) == (word.preprocessing, word.token_pattern)]
            title = titles[0] if len(titles) == 1 else None
            merged = ([c for c in merged if c not in words and c not in chars and c is not title]
                      + [_SharedWordCache(word, chars, title)])
    return merged


class _Memo(dict):
    """A dict that computes a missing key's value once; it starts over when full (bounded memory)."""

    MAX_ITEMS = 200_000    # words (or whole gazetteer strings); about 100 bytes each

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
