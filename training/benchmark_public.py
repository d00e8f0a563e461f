"""Train and score newstagger on public datasets, beside published anchors and a same-run baseline.

Each dataset's train split becomes a temporary JSONL file ({"id", "title", "body", <facet>: [labels]})
that goes through `newstagger.train.train_from_paths` exactly as `newstagger train --data FILE` would
(no taxonomy file, so labels come from the data; no gazetteer). The test split is scored with
`newstagger.evaluation.evaluate_tagger`. A default TF-IDF (sublinear tf) + LinearSVC is fitted on the
same texts and split in the same run, as the datasets README describes.

Datasets (gzip JSONL files under --datasets, default ../shared/datasets):
  reuters  Reuters-21578 ModApte, R90: the 90 topics with >= 1 train and >= 1 test document.
           Protocol: only documents with at least one R90 topic are kept, in train (7,770 here;
           "ApteMod" has 7,769) and in test (3,019); micro and macro F1 over the 90 topics.
  20ng     20 Newsgroups bydate, the whole raw post (headers, signatures, quotes kept); accuracy.
  bbc      BBC News, the dataset's own deterministic 80/20 split; accuracy.

Usage:  .venv/bin/python training/benchmark_public.py [--datasets PATH] [--only NAME] [--folds K] [--nb-alpha A]
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from newstagger.documents import read_documents
from newstagger.evaluation import evaluate_tagger
from newstagger.train import train_from_paths

DEFAULT_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@dataclass
class Dataset:
    """One public benchmark: where it lives, how to turn a record into a document, what to report."""

    name: str
    file: str
    facet: str
    converter: Callable[[list[dict]], Callable[[dict], dict | None]]  # all records -> record converter
    metrics: list[tuple[str, str, str, float]]   # (metric, published anchor, anchor source, goal)


def split_title(text: str) -> tuple[str, str]:
    """Return the first non-blank line as the title and everything after it as the body."""
    lines = text.strip().split("\n", 1)
    return lines[0].strip(), (lines[1] if len(lines) > 1 else "")


def reuters_record(rec: dict, r90: set[str]) -> dict | None:
    topics = [t for t in dict.fromkeys(rec["topics"]) if t in r90]
    if rec["split"] not in ("train", "test") or not topics:
        return None
    # UNPROC stories have no TITLE: their first line stands in for it.
    title, body = (rec["title"], rec["body"]) if rec["title"].strip() else split_title(rec["body"])
    return {"id": str(rec["id"]), "title": title, "body": body, "topics": topics}


def reuters_converter(records: list[dict]) -> Callable[[dict], dict | None]:
    r90 = r90_topics(records)
    return lambda rec: reuters_record(rec, r90)


def single_label_converter(facet: str) -> Callable[[list[dict]], Callable[[dict], dict]]:
    def convert(rec: dict) -> dict:
        title, body = split_title(rec["text"])
        return {"id": str(rec["id"]), "title": title, "body": body, facet: [rec["label"]]}
    return lambda _records: convert


def r90_topics(records: list[dict]) -> set[str]:
    """Return the topics with at least one ModApte train and one test document."""
    seen = {s: {t for r in records if r["split"] == s for t in r["topics"]} for s in ("train", "test")}
    return seen["train"] & seen["test"]


DATASETS = [
    Dataset("reuters", "reuters21578.jsonl.gz", "topics", reuters_converter,
            [("micro-F1", "0.860", "linear SVM (Yang & Liu 1999)", 0.89),
             ("macro-F1", "0.525", "linear SVM (Yang & Liu 1999)", 0.60)]),
    Dataset("20ng", "twenty_newsgroups.jsonl.gz", "newsgroup", single_label_converter("newsgroup"),
            [("accuracy", "0.832 / 0.853", "TF-IDF+LR / BERT (as cited in issue 2)", 0.88)]),
    Dataset("bbc", "bbc_news.jsonl.gz", "category", single_label_converter("category"),
            [("accuracy", "-", "none on this split", 0.99)]),
]


def read_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_split(records: list[dict], ds: Dataset, split: str, out: Path) -> list[dict]:
    """Write the split's converted documents as JSONL; return them."""
    convert = ds.converter(records)
    docs = [d for d in (convert(r) for r in records if r["split"] == split) if d]
    out.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return docs


def ours(train_file: Path, test_file: Path, facet: str, folds: int,
         nb_alpha: float | None) -> tuple[dict, float, float]:
    """Train through the `newstagger train` path, score the test file; return report and timings."""
    say = lambda msg: print(f"    {msg}", file=sys.stderr, flush=True)  # noqa: E731
    start = time.perf_counter()
    tagger = train_from_paths([train_file], use_gazetteer=False, folds=folds, seed=0, nb_alpha=nb_alpha,
                              progress=say)
    trained = time.perf_counter()
    docs = read_documents([test_file], tagger.taxonomy)
    report = evaluate_tagger(tagger, docs)["facets"][facet]
    return report, trained - start, time.perf_counter() - trained


def baseline(train: list[dict], test: list[dict], facet: str) -> tuple[dict, float]:
    """Fit TF-IDF (sublinear tf) + LinearSVC with scikit-learn defaults; return its scores and fit time."""
    text = lambda d: f"{d['title']}\n{d['body']}" if d["body"].strip() else d["title"]  # noqa: E731
    start = time.perf_counter()
    vec = TfidfVectorizer(sublinear_tf=True)
    X_train = vec.fit_transform([text(d) for d in train])
    binarizer = MultiLabelBinarizer().fit([d[facet] for d in train])
    Y_train = binarizer.transform([d[facet] for d in train])
    single = bool((Y_train.sum(1) == 1).all())
    clf = (LinearSVC() if single else OneVsRestClassifier(LinearSVC()))
    clf.fit(X_train, Y_train.argmax(1) if single else Y_train)
    seconds = time.perf_counter() - start
    X_test = vec.transform([text(d) for d in test])
    Y_test = binarizer.transform([d[facet] for d in test])
    if single:
        accuracy = float((clf.predict(X_test) == Y_test.argmax(1)).mean())
        return {"accuracy": accuracy}, seconds
    pred = clf.predict(X_test)
    return {"micro-F1": f1_score(Y_test, pred, average="micro", zero_division=0),
            "macro-F1": f1_score(Y_test, pred, average="macro", zero_division=0)}, seconds


def our_metric(report: dict, metric: str) -> float:
    return {"micro-F1": report["micro"]["f1"], "macro-F1": report["macro"]["f1"],
            "accuracy": report["exact_match"]}[metric]


def run(ds: Dataset, records: list[dict], folds: int, nb_alpha: float | None, workdir: Path) -> list[list[str]]:
    """Benchmark one dataset; return its table rows."""
    train = write_split(records, ds, "train", workdir / f"{ds.name}-train.jsonl")
    test = write_split(records, ds, "test", workdir / f"{ds.name}-test.jsonl")
    print(f"{ds.name}: {len(train)} train / {len(test)} test documents", file=sys.stderr, flush=True)
    report, train_s, eval_s = ours(workdir / f"{ds.name}-train.jsonl", workdir / f"{ds.name}-test.jsonl",
                                   ds.facet, folds, nb_alpha)
    base, base_s = baseline(train, test, ds.facet)
    if ds.name == "reuters":
        print(f"    macro-F1 averaged over {report['macro_over']} topics", file=sys.stderr)
    rows = []
    for metric, anchor, source, goal in ds.metrics:
        value = our_metric(report, metric)
        rows.append([ds.name, metric, f"{value:.3f}", "yes" if value >= goal else "NO", f"{goal:.2f}",
                     f"{base[metric]:.3f}", anchor, source, f"{train_s:.0f}s", f"{eval_s:.1f}s",
                     f"{base_s:.1f}s", f"{len(train)}/{len(test)}"])
    return rows


HEADER = ["dataset", "metric", "ours", "goal met", "goal", "LinearSVC (same run)", "published",
          "published source", "ours train", "ours eval", "SVC train", "train/test docs"]


def print_table(rows: list[list[str]]) -> None:
    """Print a Markdown table (readable as-is, pasteable into the README)."""
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(HEADER))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="folder of the .jsonl.gz files")
    parser.add_argument("--only", choices=["reuters", "20ng", "bbc"], help="run one dataset")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds for calibration/thresholds")
    parser.add_argument("--nb-alpha", type=float, default=None,
                        help="train NB-LR heads with this smoothing (newstagger train --nb-alpha); default: off")
    args = parser.parse_args(argv)
    rows, present = [], 0
    with tempfile.TemporaryDirectory(prefix="newstagger-bench-") as tmp:
        for ds in DATASETS:
            if args.only and ds.name != args.only:
                continue
            path = args.datasets / ds.file
            if not path.exists():
                print(f"{ds.name}: {path} is absent; skipping this dataset", file=sys.stderr)
                continue
            present += 1
            rows.extend(run(ds, read_gz(path), args.folds, args.nb_alpha, Path(tmp)))
    if not present:
        print(f"no benchmark dataset found under {args.datasets}; nothing was measured", file=sys.stderr)
        return 1
    print(f"\nnewstagger public benchmark (folds={args.folds}, seed=0, no gazetteer, "
          f"{'NB-LR heads, alpha=' + str(args.nb_alpha) if args.nb_alpha else 'default heads'}; "
          "'ours train' includes the cross-validation that fits calibration and thresholds)")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
