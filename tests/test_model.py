"""The Tagger: results, explanations, the safe artifact (round trip, damaged and unsafe files), determinism."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from newstagger import ModelError, Tagger
from newstagger.artifact import ModelVersionWarning
from newstagger.documents import read_documents
from newstagger.evaluation import label_matrix
from newstagger.features import CHAR_SPEC, WORD_SPEC, model_inputs
from newstagger.model import _TermOwners
from newstagger.train import (THRESHOLD_BOOTSTRAPS, best_f1_threshold, build_pipeline, hyperparameters,
                              resampled_best_f1_thresholds, train_from_paths, tune_threshold)

# The off-topic one with its lede: the tiny corpus is too small for a headline alone ("in" is its
# titles' most common word, a conflict word in four of its ten conflict titles).
TEXTS = ["France sells Rafale jets to India in a $5bn deal", "Artillery shelling in Donbas kills three",
         "Stock markets rally in Tokyo\nThe Nikkei rose two percent on strong earnings."]


def test_tag_returns_labels_and_calibrated_scores(tiny_tagger):
    results = tiny_tagger.tag(TEXTS)
    assert len(results) == 3
    for r in results:
        assert set(r) == {"labels", "scores"}
        assert set(r["labels"]) == {"region", "theme"}
        for facet, scores in r["scores"].items():
            assert all(0.0 <= p <= 1.0 for p in scores.values())
            ranked = [scores[lab] for lab in r["labels"][facet]]
            assert ranked == sorted(ranked, reverse=True)


def test_tag_learns_the_tiny_corpus(tiny_tagger):
    deal, war, markets = tiny_tagger.tag(TEXTS)
    assert "deals" in deal["labels"]["theme"]
    assert "conflict" in war["labels"]["theme"]
    assert markets["labels"]["theme"] == []  # an empty set is a legitimate answer


def test_single_string_and_non_string_input(tiny_tagger):
    assert len(tiny_tagger.tag("Fighting in Donbas")) == 1
    with pytest.raises(TypeError, match="texts must be strings"):
        tiny_tagger.tag([None])


@pytest.mark.parametrize("enabled", [True, False])
def test_tagging_leaves_the_cycle_collector_as_it_found_it(tiny_tagger, enabled, monkeypatch):
    """Tagging pauses the collector; it must come back as it was, after an error in tagging too."""
    import gc

    gc.enable() if enabled else gc.disable()
    try:
        tiny_tagger.tag(TEXTS)
        assert gc.isenabled() is enabled
        monkeypatch.setattr(tiny_tagger, "_tag_chunk", lambda *_: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            tiny_tagger.tag(TEXTS)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_tagging_does_not_import_scikit_learn(tiny_model_path):
    """Loading and tagging stay light: scikit-learn's import alone took seconds of every start."""
    import subprocess
    import sys

    code = ("import sys; from newstagger import Tagger; "
            f"Tagger.load({str(tiny_model_path)!r}).tag(['Fighting in Donbas'], explain=True); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'pandas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_explanation_names_terms_of_this_text(tiny_tagger):
    [r] = tiny_tagger.tag(["India signs a deal to buy Rafale jets"], explain=True)
    for facet, labels in r["labels"].items():
        assert set(r["explanation"][facet]) == set(labels)
    terms = [t for t, _ in r["explanation"]["theme"]["deals"]]
    assert terms and all(w > 0 for _, w in r["explanation"]["theme"]["deals"])
    assert any(t in "india signs a deal to buy rafale jets" for t in terms)


@pytest.mark.parametrize("gram", [" in", "ind", "ndia ", "a ", " a ", "jet", "ets. ", "-35", "zzz", "dia",
                                  "ana", "nana", "ato)", "n, "])
def test_character_grams_are_credited_to_the_words_they_were_cut_from(gram):
    words = ["india", "indian,", "a", "jets.", "f-35", "media", "india", "banana", "(nato)"]
    # char_wb pads each word with one space; the words are shown without their edge punctuation
    naive = sorted({w.strip("\"'.,;:!?()[]{}") or w for w in words if gram in f" {w} "})
    assert _TermOwners(words, []).words_containing(gram) == naive


def test_explanations_name_whole_words_not_fragments(tiny_tagger):
    text = "Shelling in Ladakh. Troops exchange fire on Sunday. Talks: none (officials say)."
    [r] = tiny_tagger.tag([text], explain=True)
    words = {w.strip(".,:()") for w in text.lower().split()}
    terms = [t for labels in r["explanation"].values() for pairs in labels.values() for t, _ in pairs]
    assert terms and all(set(t.split()) <= words for t in terms)


def test_save_load_round_trip(tiny_tagger, tmp_path):
    copy = Tagger.load(tiny_tagger.save(tmp_path / "copy.npz"))
    assert copy.tag(TEXTS, explain=True) == tiny_tagger.tag(TEXTS, explain=True)
    assert copy.card == tiny_tagger.card


def test_runtime_matches_the_scikit_learn_pipeline(tiny_data, tiny_tagger):
    """The arrays-only runtime must compute what the fitted stock pipeline computes."""
    docs = read_documents([tiny_data], tiny_tagger.taxonomy)
    inputs = model_inputs([d.text for d in docs], None)
    params = hyperparameters(False)
    params["head"]["random_state"] = 0
    X_runtime = tiny_tagger.features.transform(inputs)
    for head in tiny_tagger.heads:
        gold = label_matrix([d.labels[head.facet] for d in docs], head.labels)
        pipe = build_pipeline(params, head.facet).fit(inputs, gold.astype(int))
        np.testing.assert_allclose(head.decision(X_runtime), pipe.decision_function(inputs), atol=1e-4)


TRICKY_TEXTS = ["Défense: l'État signe — naïve café ŝ", "a b c  x\ty\u3000z\n\nA-B --c d- -e f--g x_y _ __a",
                "Rafale Rafale RAFALE rafale jets jets", "", "zzzz qqqq", "Ó I-Ó co-operation 9/11 F-35A's ’s",
                "India signs a deal to buy Rafale jets", "India signs a deal to buy Rafale jets",
                "a\x1cb c\u00a0d e\u200bf g\u2009h-\u2028i"]  # odd whitespace and a zero-width space


@pytest.mark.parametrize("texts", [TRICKY_TEXTS, TRICKY_TEXTS[:1], TRICKY_TEXTS[2:3], TRICKY_TEXTS[3:4], []],
                         ids=["batch", "one", "repeats", "empty-text", "no-texts"])
def test_runtime_features_match_the_column_transformer(tiny_data, tiny_tagger, texts):
    """Own counting (per-word cache, word n-grams, one-row path) = TfidfVectorizer's, to float32 precision."""
    docs = read_documents([tiny_data], tiny_tagger.taxonomy)
    params = hyperparameters(False)
    pipe = build_pipeline(params).fit(model_inputs([d.text for d in docs], None),
                                      label_matrix([d.labels["theme"] for d in docs],
                                                   tiny_tagger.heads[1].labels).astype(int))
    inputs = model_inputs(texts, None)
    for _ in range(2):  # the second pass reads the word cache the first one filled
        ours = tiny_tagger.features.transform(inputs).toarray()
        if texts:
            np.testing.assert_allclose(ours, pipe.named_steps["features"].transform(inputs).toarray(), atol=1e-6)
        assert ours.shape == (len(texts), tiny_tagger.features.n_features)


@pytest.mark.parametrize("spec", [
    {"analyzer": "word", "ngram_range": [1, 3], "sublinear_tf": True},
    {"analyzer": "word", "ngram_range": [2, 2], "lowercase": False, "sublinear_tf": False},
    {"analyzer": "char_wb", "ngram_range": [2, 4], "strip_accents": "unicode"},
    {"analyzer": "word", "strip_accents": "ascii", "token_pattern": r"\S+"},
    {"analyzer": "char_wb", "ngram_range": [4, 6]},  # one-letter words are shorter than a gram
    {"analyzer": "word", "token_pattern": r"\S+", "lowercase": False},
    {"analyzer": "word", "token_pattern": r"(?<!\S)[^@\s]\S*", "lowercase": False},  # gazetteer hits
    {"analyzer": "word", "token_pattern": r"@\S+", "lowercase": False},  # gazetteer document tokens
    {"analyzer": "word", "token_pattern": r"(?u)\b\w+'?\w*\b"},  # not cached per word
    {"analyzer": "char", "ngram_range": [1, 3]},  # no fast path: the vectorizer's own analyzer
], ids=["word-1-3", "word-2-2-raw-tf", "char_wb-2-4", "ascii-accents", "char_wb-4-6", "split-tokens", "gazetteer-hits", "gazetteer-doc", "other-pattern", "char-1-3"])
def test_runtime_counting_matches_other_vectorizer_specs(spec):
    from newstagger.features import FittedFeatures, make_vectorizer

    train = TRICKY_TEXTS + TEXTS + ["the jets the jets the jets", "Navy drills near the Spratly Islands",
                                    "c:PK r:south-asia @first:south-asia @most:east-asia a@b @first:south-asia"]
    vectorizer = make_vectorizer(spec).fit(train)
    features = FittedFeatures.from_vectorizers([{"name": "only", "column": 0, "weight": 1.0, "spec": spec}], [vectorizer])
    for texts in (train, train[:1], ["unseen words only: qqq zzz"]):
        ours = features.transform([(t, "") for t in texts]).toarray()
        np.testing.assert_allclose(ours, vectorizer.transform(texts).toarray(), atol=1e-6)


@pytest.mark.parametrize("word_spec, char_spec, shared", [
    (WORD_SPEC, CHAR_SPEC, True),  # the default model's pair
    ({"analyzer": "word", "ngram_range": [2, 3]}, {"analyzer": "char_wb", "ngram_range": [2, 4]}, True),
    ({"analyzer": "word", "ngram_range": [1, 1], "token_pattern": r"\S+"}, {"analyzer": "char_wb"}, True),
    ({"analyzer": "word", "strip_accents": "ascii"}, {"analyzer": "char_wb", "strip_accents": "unicode"}, False),
    ({"analyzer": "word", "token_pattern": r"(?u)\b\w+'?\w*\b"}, {"analyzer": "char_wb"}, False),
], ids=["default", "word-2-3", "unigrams-only", "other-accents", "not-per-word"])
def test_word_and_char_blocks_sharing_a_word_cache_match_the_vectorizers(word_spec, char_spec, shared):
    """Blocks of one column and preprocessing share one per-word cache; each block's weights must not change."""
    from scipy import sparse

    from newstagger.features import FittedFeatures, make_vectorizer

    train = TRICKY_TEXTS + TEXTS + ["the jets the jets the jets", "Navy drills near the Spratly Islands"]
    vectorizers = [make_vectorizer(spec).fit(train) for spec in (word_spec, char_spec)]
    blocks = [{"name": n, "column": 0, "weight": 1.0, "spec": spec}
              for n, spec in (("word", word_spec), ("char", char_spec))]
    features = FittedFeatures.from_vectorizers(blocks, vectorizers)
    assert any(type(c).__name__ == "_SharedWordCache" for c in features._counters) == shared
    for texts in (train, train[:1], ["unseen words only: qqq zzz", "jets qqq"]):
        for _ in range(2):  # the second pass reads the cache
            ours = features.transform([(t, "") for t in texts]).toarray()
            theirs = sparse.hstack([v.transform(texts) for v in vectorizers]).toarray()
            np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_gazetteer_column_counted_once_per_string_matches_the_vectorizer():
    """Blocks reading the gazetteer column cache whole strings; the counts must not change."""
    from newstagger.features import GAZETTEER_COLUMN, GAZETTEER_DOC_SPEC, GAZETTEER_SPEC, FittedFeatures, make_vectorizer

    strings = ["c:PK r:south-asia country:south-asia t:south-asia @first:south-asia",
               "c:CN r:east-asia city:east-asia c:CN r:east-asia @first:east-asia @most:east-asia",
               "", "c:ZZ r:nowhere @first:nowhere", "c:PK r:south-asia country:south-asia t:south-asia @first:south-asia"]
    from scipy import sparse

    bigrams = dict(GAZETTEER_SPEC, ngram_range=[1, 2])  # not countable word by word
    for specs, per_word in (([GAZETTEER_SPEC], True), ([GAZETTEER_DOC_SPEC], True),
                            ([GAZETTEER_SPEC, GAZETTEER_DOC_SPEC], True), ([bigrams, GAZETTEER_DOC_SPEC], False)):
        vectorizers = [make_vectorizer(spec).fit(strings[:2]) for spec in specs]
        blocks = [{"name": f"g{i}", "column": GAZETTEER_COLUMN, "weight": 1.0, "spec": spec}
                  for i, spec in enumerate(specs)]
        features = FittedFeatures.from_vectorizers(blocks, vectorizers)
        assert [c.per_word for c in features._counters] == [per_word]
        for _ in range(2):  # the second pass reads the cache
            ours = features.transform([("ignored text", g) for g in strings]).toarray()
            theirs = sparse.hstack([v.transform(strings) for v in vectorizers]).toarray()
            np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_word_token_pattern_finds_the_classic_tokens():
    """The faster token pattern finds exactly the tokens of the usual hyphen-aware one."""
    import re

    from newstagger.features import WORD_TOKENS

    classic = re.compile(r"(?u)\b\w[\w\-]*\w\b|\b\w\b")
    ours = re.compile(WORD_TOKENS)
    for text in TRICKY_TEXTS + ["-a- --b-- c-d-e- ab- a-- - -- a", "ﬁnal ﬁ ｆｕｌｌ 一带一路 وزارة الدفاع", "x-\ny -z"]:
        assert ours.findall(text) == classic.findall(text), text


def test_card_describes_the_model(tiny_tagger):
    card = tiny_tagger.card
    assert card["format_version"] == 4
    assert len(card["training_data"]["sha256"]) == 64 and card["training_data"]["documents"] == 30
    assert set(card["versions"]) >= {"scikit-learn", "numpy", "scipy"}
    assert all(v[0].isdigit() for v in card["versions"].values())  # pyahocorasick was once "unknown"
    assert set(card["thresholds"]) == {"region", "theme"}
    assert card["metrics"]["cross_validation"]["theme"]["calibration"]["brier"] >= 0
    assert card["hyperparameters"]["head"]["C"] > 0
    assert card["hyperparameters"]["threshold_bootstraps"] == THRESHOLD_BOOTSTRAPS


def test_a_threshold_separates_separable_scores():
    scores, gold = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]), np.array([0, 0, 0, 1, 1, 1], dtype=bool)
    for threshold in (best_f1_threshold(scores, gold), tune_threshold(scores, gold)):
        assert 0.3 < threshold <= 0.7
        np.testing.assert_array_equal(scores >= threshold, gold)


def test_thresholds_are_the_median_over_bootstrap_resamples():
    rng = np.random.default_rng(7)
    gold = rng.random(300) < 0.3
    scores = np.clip(np.where(gold, rng.normal(0.6, 0.2, 300), rng.normal(0.35, 0.2, 300)), 0, 1)
    assert tune_threshold(scores, gold, bootstraps=0) == best_f1_threshold(scores, gold)
    bagged = tune_threshold(scores, gold)
    assert bagged == tune_threshold(scores, gold)  # a fixed seed: the same scores, the same threshold
    # The median of the best thresholds of resamples drawn from a generator seeded 0.
    resamples = np.random.default_rng(0)
    picks = [best_f1_threshold(scores[s], gold[s])
             for s in (resamples.integers(0, 300, 300) for _ in range(THRESHOLD_BOOTSTRAPS))]
    assert bagged == float(np.median(picks))


@pytest.mark.parametrize("seed", range(40))
def test_resampled_thresholds_equal_resampling_and_tuning(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 300))
    gold = rng.random(n) < rng.uniform(0.05, 0.6)
    scores = np.clip(np.where(gold, rng.normal(0.6, 0.25, n), rng.normal(0.35, 0.25, n)), 0, 1)
    decimals = {1: 2, 2: 1}.get(seed % 3)
    if decimals:  # tied scores too
        scores = np.round(scores, decimals)
    samples = [s for s in (rng.integers(0, n, n) for _ in range(10)) if gold[s].any()]
    assert resampled_best_f1_thresholds(scores, gold, samples) == [best_f1_threshold(scores[s], gold[s]) for s in samples]


def test_training_is_deterministic(tiny_data, tiny_tagger):
    again = train_from_paths([tiny_data], folds=2, seed=0, n_jobs=1)
    assert again.card["metrics"] == tiny_tagger.card["metrics"]
    for a, b in zip(again.heads, tiny_tagger.heads):
        np.testing.assert_array_equal(a.coef, b.coef)


def _rewrite_card(src, dst, **changes):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "card.json.npy":
                card = json.loads(np.lib.format.read_array(__import__("io").BytesIO(data)).tobytes())
                card.update(changes)
                buf = __import__("io").BytesIO()
                np.lib.format.write_array(buf, np.frombuffer(json.dumps(card).encode(), dtype=np.uint8))
                data = buf.getvalue()
            zout.writestr(item, data)
    return dst


def test_not_a_model(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("hello, I am not a model")
    with pytest.raises(ModelError, match="not a newstagger model"):
        Tagger.load(bad)


def test_missing_model_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelError, match="newstagger train"):
        Tagger.load(tmp_path / "absent.npz")


def test_truncated_model(tiny_model_path, tmp_path):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(tiny_model_path.read_bytes()[: tiny_model_path.stat().st_size // 2])
    with pytest.raises(ModelError, match="truncated"):
        Tagger.load(cut)


def test_pickled_content_is_refused_and_never_run(tmp_path):
    evil = tmp_path / "evil.npz"
    np.savez(evil, **{"card.json": np.array([{"format": "newstagger-model"}], dtype=object)})
    with pytest.raises(ModelError, match="pickle"):
        Tagger.load(evil)


def test_other_format_version_is_refused(tiny_model_path, tmp_path):
    other = _rewrite_card(tiny_model_path, tmp_path / "v99.npz", format_version=99)
    with pytest.raises(ModelError, match="format version 99 is not supported"):
        Tagger.load(other)


def test_other_scikit_learn_version_warns_naming_both(tiny_model_path, tmp_path):
    import sklearn

    card = json.loads(Tagger.load(tiny_model_path).card["versions"].__repr__().replace("'", '"'))
    other = _rewrite_card(tiny_model_path, tmp_path / "old.npz", versions={**card, "scikit-learn": "0.24.2"})
    with pytest.warns(ModelVersionWarning, match=f"0.24.2.*{sklearn.__version__}"):
        Tagger.load(other)


def test_save_is_atomic_and_leaves_no_temp_files(tiny_tagger, tmp_path, monkeypatch):
    target = tmp_path / "m.npz"
    target.write_bytes(b"previous model")
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        tiny_tagger.save(target)
    assert target.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_saved_model_has_ordinary_file_permissions(tiny_tagger, tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        path = tiny_tagger.save(tmp_path / "perm.npz")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_nonempty_facet_falls_back_to_its_top_label():
    from newstagger.heads import Head

    probs = np.array([[0.2, 0.1, 0.3], [0.9, 0.1, 0.6]])
    kw = dict(coef=np.zeros((3, 1), np.float32), intercept=np.zeros(3), calibration=np.zeros((3, 2)),
              thresholds=np.full(3, 0.5))
    assert Head("f", ["a", "b", "c"], **kw).assign(probs) == [[], [0, 2]]
    assert Head("f", ["a", "b", "c"], **kw, nonempty=True).assign(probs) == [[2], [0, 2]]


def test_block_weights_scale_each_block_as_the_column_transformer_does():
    """A block's weight multiplies its l2-normed tf-idf (ColumnTransformer's transformer_weights)."""
    from newstagger.features import FittedFeatures, build_column_transformer

    blocks = [{"name": "word", "column": 0, "weight": 0.5, "spec": WORD_SPEC},
              {"name": "char", "column": 0, "weight": 2.0, "spec": CHAR_SPEC}]
    train = TRICKY_TEXTS + TEXTS
    ct = build_column_transformer(blocks).fit(model_inputs(train, None))
    features = FittedFeatures.from_column_transformer(ct, blocks)
    for texts in (train, train[:1]):
        inputs = model_inputs(texts, None)
        np.testing.assert_allclose(features.transform(inputs).toarray(), ct.transform(inputs).toarray(), atol=1e-6)


def test_rounded_scores_equal_numpys_round():
    """Scores are rounded without np.round's dispatch; the values must be np.round's, halves included."""
    from newstagger.model import _rounded, _rounded_floats

    values = np.concatenate([np.random.default_rng(0).random(100_000) ** 3,
                             np.arange(0, 10_001) / 1e4 + 0.00005, [0.0, 1.0, 0.12345, 0.99995]])
    np.testing.assert_array_equal(_rounded(values), np.round(values, 4))
    np.testing.assert_array_equal(_rounded_floats(values.tolist()), np.round(values, 4))


def test_a_text_gets_the_same_scores_alone_and_in_a_batch(tiny_tagger):
    """Linear scores, compared exactly: each text alone and in batches of several sizes."""
    from newstagger.features import input_rows

    texts = TRICKY_TEXTS + TEXTS
    whole = tiny_tagger._decision(tiny_tagger.features.weighted_terms(input_rows(texts, tiny_tagger.matcher)))
    for size in (1, 2, 5):
        for start in range(0, len(texts), size):
            part = tiny_tagger.features.weighted_terms(input_rows(texts[start:start + size], tiny_tagger.matcher))
            np.testing.assert_array_equal(tiny_tagger._decision(part), whole[start:start + size])


def test_one_text_gets_the_scores_and_labels_of_the_numpy_path(tiny_tagger):
    """One text is scored in plain Python (Tagger._scores_of_one); it must equal the numpy path's
    probabilities (platt(), and the competition stage of the heads that have one), rounding and the
    heads' choice on the same decision scores, bit for bit, overflowing sigmoids included."""
    from newstagger.model import _rounded

    assert tiny_tagger._competing, "the tiny model should exercise a competition stage"
    rng = np.random.default_rng(2)
    width = len(tiny_tagger._intercepts)
    rows = np.vstack([rng.normal(0, 3, (2_000, width)), rng.uniform(-900, 900, (200, width))])
    for row in rows:
        probabilities = tiny_tagger._probabilities(row[None, :], [])
        expected = (list(zip(*[head.choose_rows(probabilities[:, lo:hi]) for head, lo, hi in tiny_tagger._head_spans])),
                    _rounded(probabilities).tolist())
        assert tiny_tagger._scores_of_one(row.tolist(), []) == expected


@pytest.mark.parametrize("exclusive, nonempty", [(False, False), (False, True), (True, False)])
def test_assigning_a_matrix_of_rows_equals_choosing_row_by_row(exclusive, nonempty):
    """Head.assign decides most rows with whole-matrix numpy calls; each row must get what chosen() gives it."""
    from newstagger.heads import Head

    rng = np.random.default_rng(1)
    for trial in range(100):
        k, n = int(rng.integers(1, 12)), int(rng.integers(0, 40))
        probs = rng.random((n, k)) ** rng.uniform(0.3, 4)
        if trial % 3 == 0:
            probs = np.round(probs, 1)  # ties, and values equal to a threshold
        thresholds = np.round(rng.random(k), 1).astype(np.float32)
        head = Head("f", [f"l{i}" for i in range(k)], np.zeros((k, 1), np.float32), np.zeros(k),
                    np.zeros((k, 2)), thresholds, exclusive=exclusive, nonempty=nonempty)
        assert head.assign(probs) == [head.chosen(row) for row in probs.tolist()]
        assert head.choose_rows(probs) == [head.choose(row) for row in probs.tolist()]


def test_the_title_block_reads_the_first_line_for_theme_only(tiny_tagger):
    """Region's heads weigh nothing in the title block; theme's do, and it sees the headline alone."""
    from newstagger.features import input_rows

    names = [b["name"] for b in tiny_tagger.card["blocks"]]
    title = names.index("title")
    lo, hi = tiny_tagger.features.offsets[title], tiny_tagger.features.offsets[title + 1]
    coef = {h.facet: h.coef[:, lo:hi] for h in tiny_tagger.heads}
    assert not coef["region"].any() and coef["theme"].any()
    assert tiny_tagger.card["blocks"][title]["facets"] == ["theme"]

    def title_features(text):
        X = tiny_tagger.features.transform(np.array(input_rows([text], None), dtype=object)).toarray()
        return X[0, lo:hi]

    headline = "India signs deal for Rafale jets"
    assert title_features(headline).any()
    np.testing.assert_array_equal(title_features(headline + "\nFighting rages in Donbas border clash"),
                                  title_features(headline))


def test_data_without_a_theme_facet_gets_no_title_block():
    from newstagger.features import default_blocks

    assert "title" not in [b["name"] for b in default_blocks(False, ["topics"])]
    assert "title" in [b["name"] for b in default_blocks(True, ["region", "theme"])]


def test_the_title_block_counts_the_same_from_any_rows(tiny_data, tiny_tagger):
    """The title's words are usually read off the text's (shared cache); rows whose title column is not
    the text's first line are counted apart, and both agree with the stock ColumnTransformer."""
    docs = read_documents([tiny_data], tiny_tagger.taxonomy)
    pipe = build_pipeline(hyperparameters(False), "theme").fit(
        model_inputs([d.text for d in docs], None),
        label_matrix([d.labels["theme"] for d in docs], tiny_tagger.heads[1].labels).astype(int))
    rows = [("India signs deal for Rafale jets\nIndia signs deal in Donbas", "", "India signs deal for Rafale jets"),
            ("Fighting rages in Donbas", "", "India signs deal for Rafale jets"),  # not the text's line
            ("Ünïcödé Deal\u00a0for JETS\nbody", "", "Ünïcödé Deal\u00a0for JETS"),
            ("India signs deal", "", "India signs deal for Rafale jets")]  # longer than the text
    inputs = np.array(rows, dtype=object)
    for _ in range(2):  # the second pass reads the cache the first one filled
        np.testing.assert_allclose(tiny_tagger.features.transform(inputs).toarray(),
                                   pipe.named_steps["features"].transform(inputs).toarray(), atol=1e-6)
