"""In-process tagging speed: Tagger.tag against TfidfVectorizer.transform alone, same texts, same run.

    python training/bench_speed.py [--model models/newstagger.npz] [--rounds 3]

Texts: the seed corpus's headlines, and its bodies cut into 400-word articles. Each round shuffles
the documents and splits them in two halves: the first half's headlines and bodies are tagged to
warm the model's per-word caches (a process that has tagged some other news), then the other
half's headlines, texts the process has not seen, are timed. The first-pass figure times the same
headlines with every cache empty (a fresh process). Articles: half warm, the other half timed.
Prints the best round (timeit's rule: slower rounds measured the machine's other work), for the
full Tagger and for the word+char vectorizers alone (the floor any TF-IDF model pays),
one-headline-a-call latency, the gazetteer matcher, model load time, and what explain=True costs
(one text a call, as the service and the try-it page ask for it). For a model with a region
stage (src/newstagger/salience.py), the headlines are timed once more with and without the stage,
the same model otherwise, to show what the stage costs.
Runs on one core (the caller's process); OMP/BLAS threads are set to 1.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from newstagger import Tagger  # noqa: E402
from newstagger.features import model_inputs  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "corpus"


def corpus() -> tuple[list[tuple[str, str]], list[str]]:
    """Return the corpus's (headline, body) pairs, one per distinct headline, and its bodies cut into
    400-word articles."""
    docs = [json.loads(line) for p in sorted(SEEDS.glob("*.jsonl")) for line in p.open(encoding="utf-8")]
    pairs = list({d["title"]: (d["title"], d["body"]) for d in docs}.values())
    bodies = " ".join(d["body"] for d in docs if d["body"]).split()
    articles = [" ".join(bodies[i:i + 400]) for i in range(0, len(bodies) - 400, 400)]
    return pairs, articles


def seconds(fn, items) -> float:
    start = time.perf_counter()
    fn(items)
    return time.perf_counter() - start


def measure(tagger: Tagger, pairs: list[tuple[str, str]], rounds: int, vectorize_only) -> dict[str, float]:
    """Texts/s on unseen texts: warm (caches filled by other documents), first pass (caches empty),
    one text a call (warm), the vectorizers alone, and the gazetteer matcher (warm); best round.

    `pairs` are (text to time, other text of the same document). Each round, half of the documents
    warm the caches with both their texts; the other half's first texts are timed.
    """
    best: dict[str, float] = {}
    for r in range(rounds):
        shuffled = random.Random(r).sample(pairs, len(pairs))
        warm = [t for pair in shuffled[: len(pairs) // 2] for t in pair if t]
        timed = [first for first, _ in shuffled[len(pairs) // 2:]]
        tagger.clear_caches()
        figures = {"first pass": len(timed) / seconds(tagger.tag, timed)}
        tagger.clear_caches()
        tagger.tag(warm)
        figures["warm"] = len(timed) / seconds(tagger.tag, timed)
        tagger.clear_caches()
        tagger.tag(warm)
        one_by_one = timed[:1000]
        figures["one a call"] = len(one_by_one) / seconds(lambda ts: [tagger.tag(t) for t in ts], one_by_one)
        figures["vectorizers alone"] = len(timed) / seconds(vectorize_only, timed)
        if tagger.matcher:
            tagger.clear_caches()
            model_inputs(warm, tagger.matcher)
            figures["matcher"] = len(timed) / seconds(lambda ts: model_inputs(ts, tagger.matcher), timed)
        best = {k: max(v, best.get(k, 0.0)) for k, v in figures.items()}
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model file (default: the default model)")
    ap.add_argument("--rounds", type=int, default=3, help="shuffled warm/timed splits; the best is shown")
    args = ap.parse_args()
    start = time.perf_counter()
    tagger = Tagger.load(args.model)
    load_s = time.perf_counter() - start
    pairs, articles = corpus()
    text_blocks = [tagger.features.vectorizer(i) for i, b in enumerate(tagger.features.blocks) if b["column"] == 0]

    def vectorize_only(texts):
        for vec in text_blocks:
            vec.transform(texts)

    print(f"model load: {load_s:.2f} s; {len(pairs)} headlines, {len(articles)} articles, "
          f"half of them timed per round, best of {args.rounds} rounds")
    for name, items in (("headlines", pairs), ("400-word articles", [(a, "") for a in articles])):
        f = measure(tagger, items, args.rounds, vectorize_only)
        print(f"{name:18} Tagger.tag {f['warm']:8.0f}/s   (first pass, empty caches: {f['first pass']:6.0f}/s; "
              f"one a call: {f['one a call']:6.0f}/s = {1e6 / f['one a call']:.0f} us)   "
              f"TfidfVectorizer.transform alone {f['vectorizers alone']:7.0f}/s   "
              f"ratio {f['warm'] / f['vectorizers alone']:.2f}")
        if name == "headlines" and "matcher" in f:
            print(f"{'gazetteer matcher':18} {f['matcher']:8.0f} headlines/s")
    print_explain_cost(tagger, [h for h, _ in pairs[:500]], articles[:100], args.rounds)
    if any(head.salience is not None for head in tagger.heads):
        print_stage_cost(tagger, pairs, args.rounds, vectorize_only)


def print_explain_cost(tagger: Tagger, headlines: list[str], articles: list[str], rounds: int) -> None:
    """Time one text a call with explain=True against without, the same warm texts, best of `rounds`."""
    tagger.tag(headlines + articles)
    for name, texts in (("headlines", headlines), ("400-word articles", articles)):
        best = {}
        for _ in range(rounds):
            for explain in (False, True):
                rate = len(texts) / seconds(lambda ts: [tagger.tag(t, explain=explain) for t in ts], texts)
                best[explain] = max(rate, best.get(explain, 0.0))
        print(f"{'explain=True':18} {name}, one a call: {best[True]:.0f}/s = {1e3 / best[True]:.2f} ms, "
              f"without {best[False]:.0f}/s (ratio {best[True] / best[False]:.2f})")


def print_stage_cost(tagger: Tagger, pairs, rounds: int, vectorize_only) -> None:
    """Time the headlines with and without the region stage, alternating, best of `rounds` each."""
    bare = Tagger(tagger.features, [dataclasses.replace(h, salience=None) for h in tagger.heads],
                  tagger.card, tagger.gazetteer)
    best: dict[str, dict[str, float]] = {"with": {}, "without": {}}
    for r in range(rounds):
        for name, model in (("with", tagger), ("without", bare)):
            f = measure(model, pairs, 1, vectorize_only)
            best[name] = {k: max(v, best[name].get(k, 0.0)) for k, v in f.items()}
    w, wo = best["with"], best["without"]
    print(f"{'region stage':18} headlines with / without it: {w['warm']:.0f} / {wo['warm']:.0f}/s "
          f"(ratio {w['warm'] / wo['warm']:.2f}); one a call {1e6 / w['one a call']:.0f} / "
          f"{1e6 / wo['one a call']:.0f} us")


if __name__ == "__main__":
    main()
