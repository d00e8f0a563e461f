"""Fit a Tagger: cross-validated scores, Platt calibration, per-label F1-optimal thresholds, final fit.

With a gazetteer, the facet whose labels are its regions also gets the region stage (salience.py),
fitted on the same cross-validated scores; its thresholds are tuned on that stage's output. The
other multi-label facets (of up to 20 labels) get the competition stage (competition.py) in the
same way, where it raises their cross-validated micro-F1.

Thresholds are tuned here rather than with TunedThresholdClassifierCV because that wrapper is
ignored inside OneVsRestClassifier (scikit-learn#30036).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
import json
import warnings
from typing import Callable

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from .config import HEAD_C_BY_FACET, HEAD_PARAMS
from .documents import Document
from .errors import DataError
from .competition import (COMPETITION_C, COMPETITION_INPUTS, MAX_COMPETING_LABELS, CompetitionStage,
                          fit_competition)
from .evaluation import calibration_report, facet_report, label_matrix, micro_f1
from .features import FittedFeatures, build_column_transformer, default_blocks, facet_columns, model_inputs, reads
from .heads import Head, platt
from .nb_weighting import NBOneVsRest
from .salience import (CONTEXT_SPAN, CONTEXT_WINDOW, MIN_CONTEXT_PAIRS, SALIENCE_C, SALIENCE_FEATURES,
                       fit_salience, pair_inputs)
from .taxonomy import Taxonomy

THRESHOLD_RANGE = (0.01, 0.95)
MIN_POSITIVES_TO_TUNE = 1
# A label's threshold is the median of the F1-best thresholds of this many bootstrap resamples of
# its cross-validated scores, not the best point of the one F1 curve, which a few documents move.
# Chosen for stability: retrained after a change to the data, or with another seed, the model
# changed 20-32% fewer of the dev split's label sets, and its micro-F1 there was level or a little
# higher (docs/benchmark-history.md, session 14).
THRESHOLD_BOOTSTRAPS = 50
Progress = Callable[[str], None]


def hyperparameters(with_gazetteer: bool, nb_alpha: float | None = None,
                    head_c: dict[str, float] | None = None, facets: list[str] | None = None) -> dict:
    """Return every hyper-parameter of the model (recorded in the model card).

    nb_alpha: None for the default heads; a smoothing value for NB-LR heads (see nb_weighting.py).
    head_c: the heads' C of some facets, over HEAD_C_BY_FACET's.
    facets: the data's facets, which decide the blocks read by some facets only and the facets that
    HEAD_C_BY_FACET applies to (None: all of them).
    """
    head_c = {f: c for f, c in HEAD_C_BY_FACET.items() if facets is None or f in facets} | (head_c or {})
    return {"blocks": default_blocks(with_gazetteer, facets), "head": dict(HEAD_PARAMS),
            "head_c_by_facet": head_c, "nb_alpha": nb_alpha,
            "threshold_range": list(THRESHOLD_RANGE), "threshold_bootstraps": THRESHOLD_BOOTSTRAPS,
            "calibration": "platt, on cross-validated scores",
            "region_stage": ({"features": list(SALIENCE_FEATURES), "context_window": CONTEXT_WINDOW,
                              "context_span": CONTEXT_SPAN, "min_context_pairs": MIN_CONTEXT_PAIRS, "C": SALIENCE_C,
                              "fitted_on": "cross-validated Platt logits; thresholds on its out-of-fold output"}
                             if with_gazetteer else None),
            "competition_stage": {**COMPETITION_INPUTS, "C": COMPETITION_C,
                                  "facets": f"multi-label facets of up to {MAX_COMPETING_LABELS} labels without "
                                            "the region stage, where it raises the cross-validated micro-F1",
                                  "fitted_on": "cross-validated Platt logits; thresholds on its out-of-fold output"}}


def build_pipeline(params: dict, facet: str | None = None) -> Pipeline:
    """Return the stock scikit-learn pipeline for one facet: the feature blocks it reads, then
    one-vs-rest logistic regression. Without a facet: every block, and the default C.

    Training fits the blocks once for all facets (fit_pipelines); each facet's classifier then reads
    its blocks' columns of that matrix, which is what this pipeline computes.
    """
    c = params.get("head_c_by_facet", {}).get(facet, params["head"]["C"])
    head = LogisticRegression(**{**params["head"], "C": c})
    classifier = (OneVsRestClassifier(head) if params.get("nb_alpha") is None
                  else NBOneVsRest(head, alpha=params["nb_alpha"]))
    blocks = [b for b in params["blocks"] if reads(b, facet)]
    return Pipeline([("features", build_column_transformer(blocks)), ("classifier", classifier)])


def data_fingerprint(docs: list[Document]) -> str:
    """Return a SHA-256 of the training documents (ids, texts, labels) in order."""
    h = hashlib.sha256()
    for d in docs:
        h.update(json.dumps([d.id, d.text, d.labels], sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def fit(docs: list[Document], taxonomy: Taxonomy, *, matcher=None, folds: int = 5, seed: int = 0,
        n_jobs: int = -1, nb_alpha: float | None = None, head_c: dict[str, float] | None = None,
        progress: Progress | None = None) -> tuple[FittedFeatures, list[Head], dict]:
    """Fit features and heads on all documents; return them with the cross-validated report.

    head_c: the heads' C of some facets, over HEAD_C_BY_FACET's for the facets the taxonomy has.
    """
    say = progress or (lambda _msg: None)
    if len(docs) < folds:
        raise DataError(f"{len(docs)} documents are too few for {folds}-fold cross-validation")
    unknown = sorted(set(head_c or {}) - set(taxonomy.facet_names))
    if unknown:
        raise DataError(f"--head-c names facets the data does not have: {', '.join(unknown)} "
                        f"(its facets: {', '.join(taxonomy.facet_names)})")
    params = hyperparameters(matcher is not None, nb_alpha, head_c, taxonomy.facet_names)
    params["head"]["random_state"] = seed
    inputs = model_inputs((d.text for d in docs), matcher)
    targets = {f.name: label_matrix([d.labels.get(f.name, []) for d in docs], list(f.labels))
               for f in taxonomy.facets}
    say(f"cross-validating on {len(docs)} documents ({folds} folds) and fitting the final model")
    scores, pipes = cross_validate_and_fit(inputs, targets, params, folds, seed, n_jobs)
    say("calibrating scores and tuning thresholds")
    features = FittedFeatures.from_column_transformer(pipes["features"], params["blocks"])
    staged = region_facet(taxonomy, matcher)
    params["region_stage"] = dict(params["region_stage"], facet=staged) if staged else None
    heads, report = [], {}
    for facet in taxonomy.facets:
        salience = None
        if facet.name == staged:
            say(f"fitting the region stage of facet {facet.name!r}")
            pairs = [pair_inputs(matcher.read(d.text)[1], d.text, list(facet.labels)) for d in docs]
            salience = (pairs, folds, seed)
        head, facet_metrics = make_head(facet.name, list(facet.labels), pipes[facet.name],
                                        scores[facet.name], targets[facet.name], features.n_features, salience,
                                        competing=(folds, seed) if salience is None else None,
                                        columns=pipes["columns"][facet.name])
        heads.append(head)
        report[facet.name] = facet_metrics
    return features, heads, {"hyperparameters": params, "cross_validation": report, "folds": folds,
                             "seed": seed}


def region_facet(taxonomy: Taxonomy, matcher) -> str | None:
    """Return the facet that gets the region stage: the first whose labels are all gazetteer regions."""
    if matcher is None:
        return None
    regions = {r for rs in matcher.gazetteer.regions.values() for r in rs}
    return next((f.name for f in taxonomy.facets if f.labels and set(f.labels) <= regions), None)


def fit_pipelines(inputs: np.ndarray, targets: dict[str, np.ndarray], params: dict) -> dict:
    """Fit the shared features once and one classifier per facet on the columns of the blocks it
    reads (out["columns"][facet], None for all): the per-facet pipelines share step one."""
    features = build_pipeline(params).named_steps["features"]
    X = features.fit_transform(inputs)
    sizes = [len(features.named_transformers_[b["name"]].vocabulary_) for b in params["blocks"]]
    out = {"features": features, "columns": {f: facet_columns(params["blocks"], sizes, f) for f in targets}}
    for facet, Y in targets.items():
        out[facet] = _fit_classifier(_read_by(X, out["columns"][facet]), Y, params, facet)
    return out


def _read_by(X, columns: np.ndarray | None):
    return X if columns is None else X[:, columns]


def _fit_classifier(X, Y: np.ndarray, params: dict, facet: str) -> OneVsRestClassifier:
    clf = build_pipeline(params, facet).named_steps["classifier"]
    with warnings.catch_warnings():
        # A label absent from (or present in every document of) a training fold gets a constant
        # predictor; that is expected with small corpora and rare labels.
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
        warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
        return clf.fit(X, Y.astype(int))


def _fold_scores(inputs, targets, train_idx, test_idx, params) -> dict[str, np.ndarray]:
    pipes = fit_pipelines(inputs[train_idx], {f: Y[train_idx] for f, Y in targets.items()}, params)
    X_test = pipes["features"].transform(inputs[test_idx])
    return {f: _decision(pipes[f], _read_by(X_test, pipes["columns"][f]), Y.shape[1]) for f, Y in targets.items()}


def _decision(clf: OneVsRestClassifier, X, n_labels: int) -> np.ndarray:
    scores = clf.decision_function(X)
    return scores.reshape(-1, n_labels)


def cross_validate_and_fit(inputs, targets, params, folds, seed, n_jobs) -> tuple[dict, dict]:
    """Return out-of-fold decision scores for every document and label, and the final fit.

    The final fit runs as one more task beside the folds, so both cores stay busy throughout.
    """
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(inputs))
    tasks = [delayed(_fold_scores)(inputs, targets, tr, te, params) for tr, te in splits]
    tasks.append(delayed(fit_pipelines)(inputs, targets, params))
    *per_fold, final = Parallel(n_jobs=n_jobs)(tasks)
    out = {f: np.zeros(Y.shape, dtype=float) for f, Y in targets.items()}
    for (_, test_idx), scores in zip(splits, per_fold):
        for f in out:
            out[f][test_idx] = scores[f]
    return out, final


def make_head(facet: str, labels: list[str], clf: OneVsRestClassifier, cv_scores: np.ndarray,
              gold: np.ndarray, n_features: int,
              salience: tuple[list, int, int] | None = None,
              competing: tuple[int, int] | None = None,
              columns: np.ndarray | None = None) -> tuple[Head, dict]:
    """Build a facet's head from its final classifier and its cross-validated scores.

    columns: the features the classifier read (None: all n_features); its weights on the others are 0.

    salience: (per document, its labels' salience.PairInput; folds; seed) to fit a region stage on
    the Platt logits. competing: (folds, seed) to fit a competition stage on them instead, kept if
    the facet is multi-label, has at most MAX_COMPETING_LABELS labels and the stage raises its
    cross-validated micro-F1.
    """
    coef, intercept = _weights(clf, len(labels), n_features, columns)
    calibration = np.array([fit_platt(cv_scores[:, i], gold[:, i]) for i in range(len(labels))])
    stage = competition = None
    exclusive = bool(len(gold) and (gold.sum(1) == 1).all())
    cv_logits = cv_scores * calibration[:, 0] + calibration[:, 1]
    if salience is not None:
        pairs, folds, seed = salience
        stage, cv_probs = fit_salience(cv_logits, pairs, gold, folds, seed)
    else:
        cv_probs = platt(cv_scores, calibration)
        if competing is not None and not exclusive and 1 < len(labels) <= MAX_COMPETING_LABELS:
            competition, cv_probs = _competition_if_better(cv_logits, cv_probs, gold, *competing)
    # A facet every training document carries (e.g. topic codes on a newswire) gets its top label
    # when no label passes its threshold; a facet that may be empty keeps "none" as an answer.
    nonempty = bool(len(gold) and (gold.sum(1) >= 1).all())
    thresholds = tune_thresholds(cv_probs, gold)
    head = Head(facet, labels, coef, intercept, calibration, thresholds, exclusive, nonempty, stage, competition)
    pred = label_matrix([[labels[i] for i in row] for row in head.assign(cv_probs)], labels)
    metrics = facet_report(gold, pred, labels)
    for i, lab in enumerate(labels):
        metrics["labels"][lab]["threshold"] = round(float(thresholds[i]), 4)
    metrics["calibration"] = calibration_report(gold, cv_probs)
    metrics["exclusive"] = exclusive
    metrics["nonempty"] = nonempty
    metrics["stage"] = "region" if stage is not None else "competition" if competition is not None else None
    return head, metrics


def _competition_if_better(logits: np.ndarray, probs: np.ndarray, gold: np.ndarray, folds: int,
                           seed: int) -> tuple[CompetitionStage | None, np.ndarray]:
    """Fit the competition stage; keep it only if its out-of-fold micro-F1 beats the Platt scores'.

    Both are scored with thresholds tuned on the scores themselves (the stage's come from folds of
    its own, so it has no advantage there). On a few dozen documents the stage's folds are too
    small to learn from; on the corpus it gains (see competition.py).
    """
    stage, stage_probs = fit_competition(logits, gold, folds, seed)
    if _tuned_micro_f1(stage_probs, gold) > _tuned_micro_f1(probs, gold):
        return stage, stage_probs
    return None, probs


def _tuned_micro_f1(probs: np.ndarray, gold: np.ndarray) -> float:
    """Micro-F1 of the scores at each label's F1-best threshold on them: which scores separate the
    labels better. The bootstrap median is for the kept model's steadiness, not for this contest."""
    return micro_f1(gold.astype(bool), probs >= tune_thresholds(probs, gold, bootstraps=0))


def _weights(clf: OneVsRestClassifier, n_labels: int, n_features: int,
             columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    coef = np.zeros((n_labels, n_features), dtype=np.float32)
    intercept = np.zeros(n_labels, dtype=np.float64)
    read = slice(None) if columns is None else columns
    for i, est in enumerate(clf.estimators_):
        if hasattr(est, "coef_"):
            coef[i, read] = est.coef_.ravel()
            intercept[i] = est.intercept_[0]
        else:  # constant predictor: the label was always (or never) present
            intercept[i] = 10.0 if est.y_ else -10.0
    return coef, intercept


def fit_platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit the sigmoid slope and offset that map a label's decision scores to probabilities."""
    if y.all() or not y.any():
        return 0.0, (10.0 if y.all() else -10.0)
    lr = LogisticRegression(C=1e4, solver="lbfgs").fit(scores.reshape(-1, 1), y.astype(int))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def tune_thresholds(probs: np.ndarray, gold: np.ndarray, bootstraps: int = THRESHOLD_BOOTSTRAPS) -> np.ndarray:
    """Return each label's tune_threshold over (documents x labels) probabilities and gold labels."""
    return np.array([tune_threshold(probs[:, i], gold[:, i], bootstraps) for i in range(gold.shape[1])])


def tune_threshold(probs: np.ndarray, y: np.ndarray, bootstraps: int = THRESHOLD_BOOTSTRAPS) -> float:
    """Return a label's threshold on its cross-validated scores: the median, over bootstrap
    resamples of the documents, of the threshold that maximises F1 (best_f1_threshold); with
    bootstraps=0, that of the scores as they are. The resamples come from a fixed seed, so the same
    scores always give the same threshold."""
    if bootstraps <= 0 or y.sum() < MIN_POSITIVES_TO_TUNE:
        return best_f1_threshold(probs, y)
    rng = np.random.default_rng(0)
    samples = [rng.integers(0, len(y), len(y)) for _ in range(bootstraps)]
    picks = resampled_best_f1_thresholds(probs, y, [s for s in samples if y[s].sum() >= MIN_POSITIVES_TO_TUNE])
    return float(np.median(picks)) if picks else best_f1_threshold(probs, y)


def resampled_best_f1_thresholds(probs: np.ndarray, y: np.ndarray, samples: list[np.ndarray]) -> list[float]:
    """Return best_f1_threshold(probs[s], y[s]) for each index array s (each with a positive), the
    same numbers from one sort of the scores: a resample is the documents counted as often as
    drawn. Eight times faster than resampling and calling precision_recall_curve; tests pin it."""
    order = np.argsort(-probs, kind="stable")
    sorted_probs, sorted_y = probs[order], y[order].astype(bool)
    # Where each run of equal scores ends (descending): a threshold's counts include its whole run.
    run_end = np.flatnonzero(np.append(sorted_probs[1:] != sorted_probs[:-1], True))
    picks = []
    for sample in samples:
        counts = np.bincount(sample, minlength=len(probs))[order].astype(np.float64)
        drawn = np.cumsum(counts)[run_end]
        present = np.diff(drawn, prepend=0.0) > 0          # scores the resample holds
        tps = np.cumsum(counts * sorted_y)[run_end][present]
        fps = drawn[present] - tps
        scores = sorted_probs[run_end][present]
        f1 = _f1(tps / (tps + fps), tps / tps[-1])
        best = len(f1) - 1 - int(np.argmax(f1[::-1]))    # the lowest of tied thresholds, as argmax finds it ascending
        picks.append(_between(scores[best], scores[best + 1] if best + 1 < len(scores) else 0.0))
    return picks


def best_f1_threshold(probs: np.ndarray, y: np.ndarray) -> float:
    """Return the probability threshold that maximises the label's F1 on these scores."""
    if y.sum() < MIN_POSITIVES_TO_TUNE:
        return 0.5
    precision, recall, cuts = precision_recall_curve(y.astype(int), probs)
    best = int(np.argmax(_f1(precision, recall)[:-1]))
    return _between(cuts[best], probs[probs < cuts[best]].max(initial=0.0))


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    return np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)


def _between(cut: float, lower: float) -> float:
    """The threshold for an F1-best cut: halfway to the next lower score, so that a slightly weaker
    positive still passes, within THRESHOLD_RANGE."""
    return float(np.clip((cut + lower) / 2, *THRESHOLD_RANGE))


def build_card(docs: list[Document], taxonomy: Taxonomy, report: dict, heads: list[Head],
               gazetteer=None, sources: list[str] | None = None) -> dict:
    """Describe a trained model: data, taxonomy, thresholds, hyper-parameters, versions, metrics."""
    import datetime
    import platform
    from importlib.metadata import version

    import scipy
    import sklearn

    from . import __version__

    return {
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "newstagger": __version__,
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__,
                     "scipy": scipy.__version__, "python": platform.python_version(),
                     "pyahocorasick": version("pyahocorasick")},  # the module has no __version__
        "training_data": {"sha256": data_fingerprint(docs), "documents": len(docs),
                          "sources": sources or []},
        "taxonomy": taxonomy.to_dict(),
        "thresholds": {h.facet: {lab: round(float(t), 4) for lab, t in zip(h.labels, h.thresholds)}
                       for h in heads},
        "hyperparameters": report["hyperparameters"],
        "metrics": {"cross_validation": report["cross_validation"], "folds": report["folds"],
                    "seed": report["seed"]},
        "gazetteer": ({"sources": gazetteer.sources, "names": len(gazetteer.names)} if gazetteer else None),
    }


def discover(data_paths: list[Path], name: str) -> Path | None:
    """Find a companion file (taxonomy.json, gazetteer/) beside the data: in the first data folder."""
    for p in data_paths:
        folder = p if p.is_dir() else p.parent
        if (folder / name).exists():
            return folder / name
    return None


def train_from_paths(data_paths: list[str | Path], *, taxonomy_path: str | Path | None = None,
                     gazetteer_dir: str | Path | None = None, use_gazetteer: bool = True,
                     folds: int = 5, seed: int = 0, holdout: str | None = None, n_jobs: int = -1,
                     nb_alpha: float | None = None, head_c: dict[str, float] | None = None,
                     progress: Progress | None = None):
    """Read data, fit, and return a Tagger ready to save (the `newstagger train` workflow)."""
    from .documents import infer_taxonomy, read_documents
    from .gazetteer import load_gazetteer
    from .model import Tagger
    from .taxonomy import load_taxonomy

    say = progress or (lambda _m: None)
    paths = [Path(p) for p in data_paths]
    taxonomy_path = taxonomy_path or discover(paths, "taxonomy.json")
    taxonomy = load_taxonomy(taxonomy_path) if taxonomy_path else None
    docs = read_documents(paths, taxonomy)
    taxonomy = taxonomy or infer_taxonomy(docs)
    if holdout:
        docs = [d for d in docs if d.split != holdout]
    gazetteer_dir = gazetteer_dir or (discover(paths, "gazetteer") if use_gazetteer else None)
    gazetteer = load_gazetteer(gazetteer_dir) if use_gazetteer and gazetteer_dir else None
    say(f"read {len(docs)} documents; facets: {', '.join(taxonomy.facet_names)}; "
        f"gazetteer: {f'{len(gazetteer.names)} names' if gazetteer else 'none'}")
    matcher = gazetteer.matcher() if gazetteer else None
    features, heads, report = fit(docs, taxonomy, matcher=matcher, folds=folds, seed=seed,
                                  n_jobs=n_jobs, nb_alpha=nb_alpha, head_c=head_c, progress=say)
    card = build_card(docs, taxonomy, report, heads, gazetteer, [str(p) for p in paths])
    card["training_data"]["holdout"] = holdout
    return Tagger(features, heads, card, gazetteer)
