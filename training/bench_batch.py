"""Benchmark `newstagger tag` against the goals of issue 6, on files it generates in a temporary folder.

    python training/bench_batch.py --model /tmp/full.npz [--files 100000] [--pages 2000]

Prints documents/s with 1 and 2 workers, folder tagging vs in-process Tagger.tag on the same texts,
HTML pages/s with the extraction cost alone, and Dask LocalCluster vs local workers wall time.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from newstagger import Tagger
from newstagger.batch import discover, tag_directory
from newstagger.batch_readers import read_file
from newstagger.documents import compose_text

NAV = "<nav><ul>" + "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(12)) + "</ul></nav>"
FOOTER = "<footer><p>About us · Contact · Privacy · Terms</p><p>© 2024 The Daily Defence</p></footer>"


def corpus(seeds: Path) -> list[tuple[str, str]]:
    docs = []
    for file in sorted(seeds.glob("corpus/*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            docs.append((rec["title"], rec.get("body") or rec.get("lede") or ""))
    return docs or [("India signs deal for Rafale jets", "New Delhi agreed to buy 26 fighters from France.")]


def write_txt(folder: Path, docs: list, n: int) -> list[str]:
    texts = []
    for i in range(n):
        title, body = docs[i % len(docs)]
        sub = folder / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True)
        (sub / f"n{i:06d}.txt").write_text(f"{title}\n{body}\n", encoding="utf-8")
        texts.append(compose_text(title, body))
    return texts


def write_html(folder: Path, docs: list, n: int, rnd: random.Random) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        title, body = docs[i % len(docs)]
        paras = "".join(f"<p>{s.strip()}.</p>" for s in body.split(". ") if s.strip())
        related = "".join(f"<li><a href='/r{j}'>{docs[(i + j) % len(docs)][0]}</a></li>" for j in range(1, 5))
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title} | The Daily Defence</title>"
                f"<meta property='og:title' content='{title}'><script>var ads = {rnd.random()};</script></head>"
                f"<body>{NAV}<div class='wrap'><h1>{title}</h1><div class='byline'>By Staff · {i % 28 + 1} May</div>"
                f"<div class='story'>{paras}</div><aside class='related'><h3>Related stories</h3><ul>{related}</ul>"
                f"</aside></div>{FOOTER}</body></html>")
        (folder / f"p{i:05d}.html").write_text(page, encoding="utf-8")


def timed_run(root: Path, out: Path, model: str, **kw) -> tuple[float, int]:
    started = time.perf_counter()
    summary = tag_directory(root, out=out, model_path=model, **kw)
    return time.perf_counter() - started, summary.documents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/newstagger.npz")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--pages", type=int, default=2_000)
    ap.add_argument("--seeds", default="seeds")
    args = ap.parse_args()
    docs = corpus(Path(args.seeds))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        texts = write_txt(tmp / "txt", docs, args.files)
        print(f"wrote {args.files:,} .txt files in {time.perf_counter() - t0:.1f}s")
        rows = {}
        for workers in (1, 2):
            secs, n = timed_run(tmp / "txt", tmp / f"w{workers}.jsonl", args.model, workers=workers)
            rows[workers] = n / secs
            print(f"folder, {workers} worker(s): {n:,} docs in {secs:.1f}s = {n / secs:,.0f} docs/s")
        tagger = Tagger.load(args.model)
        t0 = time.perf_counter()
        tagger.tag(texts)
        inproc = len(texts) / (time.perf_counter() - t0)
        print(f"in-process Tagger.tag on the same texts (1 core): {inproc:,.0f} docs/s")

        write_html(tmp / "html", docs, args.pages, random.Random(0))
        files, _ = discover(tmp / "html")
        t0 = time.perf_counter()
        for rel, _ in files:
            read_file(tmp / "html" / rel, rel, max_bytes=10_000_000)
        extract = (time.perf_counter() - t0) / len(files)
        secs, n = timed_run(tmp / "html", tmp / "html.jsonl", args.model, workers=2)
        print(f"html, 2 workers: {n:,} pages in {secs:.1f}s = {n / secs:,.0f} pages/s; "
              f"extraction alone {extract * 1000:.1f} ms/page on one core")

        from distributed import Client, LocalCluster

        local_secs, _ = timed_run(tmp / "txt", tmp / "local2.jsonl", args.model, workers=2)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            dask_secs, _ = timed_run(tmp / "txt", tmp / "dask.jsonl", args.model, scheduler=client)
        print(f"dask LocalCluster 2 workers: {dask_secs:.1f}s; local 2 workers: {local_secs:.1f}s")

        print("\nissue 6 goals (same run):")
        print(f"  docs/s 2 workers / 1 worker            = {rows[2] / rows[1]:.2f}  (goal >= 1.7)")
        print(f"  folder docs/s (2 workers) / in-process = {rows[2] / inproc:.2f}  (goal >= 0.5)")
        print(f"  folder docs/s (1 worker) / in-process  = {rows[1] / inproc:.2f}")
        print(f"  html pages/s (2 workers)               = {n / secs:,.0f}; extraction {extract * 1000:.1f} ms/page")
        print(f"  dask wall / local wall (2 workers)     = {dask_secs / local_secs:.2f}  (goal <= 1.3)")


if __name__ == "__main__":
    main()
