"""How the dev split's F1 grows with the training documents: is more corpus worth writing?

    python training/learning_curve.py [--fractions 0.25 0.5 0.75 1] [--repeats 2] [--data seeds]

Trains, for each fraction, on that share of the documents outside the dev split (a different
random sample per repeat; the full set once), exactly as `newstagger train` does, and prints the
dev split's micro- and macro-F1 per facet, averaged over the repeats. A facet whose curve is still
rising at 1.0 gains from more documents; one that has flattened needs better features instead.
Needs nothing outside the project.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

from newstagger.documents import read_documents
from newstagger.evaluation import evaluate_tagger
from newstagger.gazetteer import load_gazetteer
from newstagger.model import Tagger
from newstagger.taxonomy import load_taxonomy
from newstagger.train import build_card, fit

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "seeds", help="corpus folder with taxonomy.json and gazetteer/")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--repeats", type=int, default=2, help="random samples per fraction below 1")
    parser.add_argument("--split", default="dev", help="the documents scored (never trained on)")
    args = parser.parse_args()
    if any(not 0 < f <= 1 for f in args.fractions):
        sys.exit("fractions must lie in (0, 1]")
    taxonomy = load_taxonomy(args.data / "taxonomy.json")
    docs = read_documents([args.data], taxonomy)
    gazetteer = load_gazetteer(args.data / "gazetteer")
    pool = [d for d in docs if d.split != args.split]
    scored = [d for d in docs if d.split == args.split]
    if not scored:
        sys.exit(f"no documents with split {args.split!r} in {args.data}")
    print(f"{len(pool)} documents to sample from, {len(scored)} scored ({args.split} split)")
    facets = [f.name for f in taxonomy.facets]
    print(f"{'fraction':>8} {'docs':>6} " + " ".join(f"{name + ' micro/macro':>22}" for name in facets))
    for fraction in sorted(args.fractions):
        figures = []
        for repeat in range(1 if fraction == 1 else args.repeats):
            # The whole pool in file order, as `newstagger train --holdout` reads it (the order sets the folds).
            sample = pool if fraction == 1 else random.Random(repeat).sample(pool, round(len(pool) * fraction))
            features, heads, report = fit(sample, taxonomy, matcher=gazetteer.matcher())
            tagger = Tagger(features, heads, build_card(sample, taxonomy, report, heads, gazetteer, []), gazetteer)
            result = evaluate_tagger(tagger, scored)["facets"]
            figures.append([result[name][avg]["f1"] for name in facets for avg in ("micro", "macro")])
        mean = np.mean(figures, axis=0)
        cells = " ".join(f"{mean[2 * i]:>14.4f} / {mean[2 * i + 1]:.4f}" for i in range(len(facets)))
        print(f"{fraction:>8.2f} {len(sample):>6} {cells}", flush=True)


if __name__ == "__main__":
    main()
