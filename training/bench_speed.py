"""In-process tagging speed: Tagger.tag against TfidfVectorizer.transform alone, same texts, same run.

    python training/bench_speed.py [--model models/newstagger.npz] [--n 20000]

Prints headlines/s and 400-word articles/s for the full Tagger and for the word+char vectorizers
alone (the floor any TF-IDF model pays), the gazetteer matcher's headlines/s, and model load time.
Runs on one core (the caller's process); set OMP/BLAS threads to 1 for a clean single-core figure.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from newstagger import Tagger  # noqa: E402
from newstagger.features import model_inputs  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "corpus"


def texts_from_seeds(n: int) -> tuple[list[str], list[str]]:
    docs = [json.loads(line) for p in sorted(SEEDS.glob("*.jsonl")) for line in p.open(encoding="utf-8")]
    headlines = [d["title"] for d in docs]
    bodies = " ".join(d["body"] for d in docs if d["body"]).split()
    articles = [" ".join(bodies[i:i + 400]) for i in range(0, len(bodies) - 400, 400)]
    return (headlines * (n // len(headlines) + 1))[:n], (articles * (n // 10 // len(articles) + 1))[: n // 10]


def rate(fn, items, warm_up: bool = True, repeat: int = 3) -> float:
    """Items per second of fn(items): the best of `repeat` runs (timeit's rule: the others measured
    the machine's other work, not ours)."""
    if warm_up:
        fn(items[:200])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(items)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()
    start = time.perf_counter()
    tagger = Tagger.load(args.model)
    load_s = time.perf_counter() - start
    headlines, articles = texts_from_seeds(args.n)
    text_blocks = [v for b, v in zip(tagger.features.blocks, tagger.features.vectorizers) if b["column"] == 0]

    def vectorize_only(texts):
        for vec in text_blocks:
            vec.transform(texts)

    print(f"model load: {load_s:.2f} s")
    # The first pass meets every word for the first time (the character block's per-word cache
    # is empty), as a fresh process does; later passes see what a long-running one sees.
    for name, items in (("headlines", headlines), ("400-word articles", articles)):
        tagger.features.clear_caches()
        cold = rate(tagger.tag, items, warm_up=False, repeat=1)
        ours, floor = rate(tagger.tag, items), rate(vectorize_only, items)
        print(f"{name:18} Tagger.tag {ours:9.0f}/s (first pass, empty word cache: {cold:7.0f}/s)   "
              f"TfidfVectorizer.transform alone {floor:9.0f}/s   ratio {ours / floor:.2f}")
    single = rate(lambda texts: [tagger.tag(t) for t in texts], headlines[:2000])
    print(f"{'one headline a call':18} Tagger.tag {single:9.0f}/s ({1e6 / single:.0f} us a call)")
    if tagger.matcher:
        print(f"{'gazetteer matcher':18} {rate(lambda t: model_inputs(t, tagger.matcher), headlines):9.0f} headlines/s")


if __name__ == "__main__":
    main()
