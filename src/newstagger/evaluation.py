"""Multi-label metrics: per-label precision/recall/F1, micro and macro averages, exact match,
Hamming loss, the commonest confusions, and calibration (Brier score, reliability table)."""
from __future__ import annotations

from collections import Counter

import numpy as np


def label_matrix(label_sets: list[list[str]], labels: list[str]) -> np.ndarray:
    """Turn label lists into a 0/1 matrix with one column per label."""
    index = {lab: i for i, lab in enumerate(labels)}
    out = np.zeros((len(label_sets), len(labels)), dtype=bool)
    for row, labs in enumerate(label_sets):
        for lab in labs:
            if lab in index:
                out[row, index[lab]] = True
    return out


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def micro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """Return the micro-averaged F1 of boolean (documents x labels) matrices."""
    return _prf((gold & pred).sum(), (~gold & pred).sum(), (gold & ~pred).sum())[2]


def facet_report(gold: np.ndarray, pred: np.ndarray, labels: list[str], top_confusions: int = 10) -> dict:
    """Score one facet: per-label table, micro/macro averages, exact match, Hamming loss, confusions."""
    tp = (gold & pred).sum(0)
    fp = (~gold & pred).sum(0)
    fn = (gold & ~pred).sum(0)
    per_label = {}
    for i, lab in enumerate(labels):
        p, r, f = _prf(tp[i], fp[i], fn[i])
        per_label[lab] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                          "support": int(gold[:, i].sum()), "predicted": int(pred[:, i].sum())}
    present = [lab for i, lab in enumerate(labels) if gold[:, i].any() or pred[:, i].any()]
    micro = _prf(tp.sum(), fp.sum(), fn.sum())
    macro = [np.mean([per_label[lab][k] for lab in present]) if present else 0.0
             for k in ("precision", "recall", "f1")]
    return {
        "labels": per_label,
        "micro": dict(zip(("precision", "recall", "f1"), (round(float(x), 4) for x in micro))),
        "macro": dict(zip(("precision", "recall", "f1"), (round(float(x), 4) for x in macro))),
        "macro_over": len(present),
        "exact_match": round(float((gold == pred).all(1).mean()), 4) if len(gold) else 0.0,
        "hamming_loss": round(float((gold != pred).mean()), 4) if gold.size else 0.0,
        "documents": int(len(gold)),
        "confusions": confusions(gold, pred, labels, top_confusions),
    }


def confusions(gold: np.ndarray, pred: np.ndarray, labels: list[str], top: int) -> list[dict]:
    """Count (predicted, expected) pairs where one label was given instead of another in a document."""
    counts: Counter = Counter()
    for g, p in zip(gold, pred):
        extra, missed = np.flatnonzero(p & ~g), np.flatnonzero(g & ~p)
        for a in extra:
            for b in missed:
                counts[(labels[a], labels[b])] += 1
        if len(extra) and not g.any():
            for a in extra:
                counts[(labels[a], "(none)")] += 1
        if len(missed) and not p.any():
            for b in missed:
                counts[("(none)", labels[b])] += 1
    return [{"predicted": a, "expected": b, "count": c} for (a, b), c in counts.most_common(top)]


def calibration_report(gold: np.ndarray, probs: np.ndarray, bins: int = 10) -> dict:
    """Return the Brier score and a reliability table (mean predicted vs observed per bin)."""
    flat_p, flat_y = probs.ravel(), gold.ravel().astype(float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(flat_p, edges) - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        sel = which == b
        if sel.any():
            table.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "count": int(sel.sum()),
                          "mean_predicted": round(float(flat_p[sel].mean()), 4),
                          "observed": round(float(flat_y[sel].mean()), 4)})
    return {"brier": round(float(np.mean((flat_p - flat_y) ** 2)), 5) if flat_p.size else 0.0,
            "reliability": table}


def evaluate_tagger(tagger, docs, top_confusions: int = 10) -> dict:
    """Tag the documents and score the predictions facet by facet."""
    return score_results(tagger.taxonomy, docs, tagger.tag([d.text for d in docs]), top_confusions)


def score_results(taxonomy, docs, results: list[dict], top_confusions: int = 10) -> dict:
    """Score tagging results (one per document, in order) against the documents' labels, facet by
    facet; a facet no document is labelled with is left out."""
    report = {"documents": len(docs), "facets": {}}
    for facet in _labelled_facets(taxonomy, docs):
        labels = list(facet.labels)
        gold = label_matrix([d.labels.get(facet.name, []) for d in docs], labels)
        pred = label_matrix([r["labels"][facet.name] for r in results], labels)
        report["facets"][facet.name] = facet_report(gold, pred, labels, top_confusions)
    return report


def mistakes(taxonomy, docs, results: list[dict]) -> list[dict]:
    """Return one record per document whose labels differ from the prediction in any facet: where it
    is, its id and title, and per facet the labels expected, predicted, missed and given in excess,
    with the model's score for each of them (what an analyst reads to see why)."""
    facets = _labelled_facets(taxonomy, docs)
    out = []
    for doc, result in zip(docs, results):
        wrong = {}
        for facet in facets:
            expected, predicted = doc.labels.get(facet.name, []), result["labels"][facet.name]
            if set(expected) == set(predicted):
                continue
            scores = result["scores"][facet.name]
            wrong[facet.name] = {
                "expected": expected, "predicted": predicted,
                "missed": [lab for lab in expected if lab not in predicted],
                "extra": [lab for lab in predicted if lab not in expected],
                "scores": {lab: scores[lab] for lab in dict.fromkeys([*expected, *predicted]) if lab in scores}}
        if wrong:
            out.append({"where": doc.where, "id": doc.id, "title": doc.title, **wrong})
    return out


def _labelled_facets(taxonomy, docs) -> list:
    return [f for f in taxonomy.facets if any(f.name in d.labels for d in docs)]
