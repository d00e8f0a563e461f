"""Load figures of the HTTP service: the real `newstagger serve` driven by wrk on loopback.

Measures, in one run: requests/s and p50/p99 latency for (a) GET /health, (b) POST /classify with
one headline, (c) POST /classify with 100 headlines; and in-process Tagger.tag headlines/s as the
baseline for (c). Prints the ratios the service issue's goals ask for, and the CPU time each request
cost the server's processes and wrk (from /proc and getrusage): on two shared cores, that is what
sets the requests/s.

    .venv/bin/python training/bench_service.py --model /tmp/full.npz [--duration 10] [--connections 16]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from newstagger import Tagger
from newstagger.documents import read_documents

ROOT = Path(__file__).resolve().parents[1]


def headlines(n: int = 100) -> list[str]:
    """Return n real headlines from the seed corpus."""
    docs = read_documents([ROOT / "seeds"])
    return [d.title for d in docs if d.title.strip()][:n]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_script(bodies: list[str] | None) -> str:
    """A wrk script: GET when bodies is None, else POST each JSON body in turn.

    Both kinds build every request in a Lua request() function. wrk shares the two cores with the
    server, and a plain GET without a script is far cheaper for wrk than a scripted POST: the
    (b)/(a) ratio would then measure the load generator's extra work, not the model's.
    """
    if bodies is None:
        return "request = function()\n  return wrk.format(nil, nil, nil, nil)\nend\n"
    quoted = ",\n".join("[==[" + b + "]==]" for b in bodies)
    return ('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"local bodies = {{\n{quoted}\n}}\nlocal i = 0\n"
            "request = function()\n  i = i % #bodies + 1\n"
            "  return wrk.format(nil, nil, nil, bodies[i])\nend\n")


def run_wrk(url: str, bodies: list[str] | None, *, duration: int, connections: int, threads: int,
            server_pid: int | None = None) -> dict:
    """Run wrk once; return requests/s, p50/p99 in ms, error counts and CPU µs per request."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua_script(bodies))
    server_before = process_tree_cpu(server_pid) if server_pid else 0.0
    wrk_before = children_cpu()
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency",
                          "-s", fh.name, url], capture_output=True, text=True, check=True).stdout
    wrk_cpu = children_cpu() - wrk_before
    server_cpu = process_tree_cpu(server_pid) - server_before if server_pid else 0.0
    Path(fh.name).unlink()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests_done = max(rps * duration, 1.0)
    return {"rps": rps, "server_us": server_cpu / requests_done * 1e6, "wrk_us": wrk_cpu / requests_done * 1e6,
            "p50_ms": _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),
            "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else "none"}


def children_cpu() -> float:
    """CPU seconds of this process's finished children (wrk, once it has been waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants (the gunicorn master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a process that ended between the two reads
    return total


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def in_process_rate(model: str, texts: list[str], seconds: float) -> float:
    """Return Tagger.tag headlines/s in this process, in batches of len(texts)."""
    tagger = Tagger.load(model)
    tagger.tag(texts)  # warm up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        tagger.tag(texts)
        done += len(texts)
    return done / (time.perf_counter() - started)


def start_server(model: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("newstagger")
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe if exe.exists() else "newstagger"), "serve", "--model", model,
                                 "--port", str(port), "--workers", str(workers)], stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ready", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the server did not become ready; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/newstagger.npz")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk on PATH (apt-get install wrk)")
    texts = headlines(100)
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="bench-service-")) / "serve.log"
    proc = start_server(args.model, port, args.workers, log)
    base = f"http://127.0.0.1:{port}"
    opts = {"duration": args.duration, "connections": args.connections, "threads": args.threads,
            "server_pid": proc.pid}
    single = [json.dumps({"text": t}) for t in texts]
    try:
        # Warm up first: fresh workers touch the model for the first time (page faults, caches),
        # which would otherwise be charged to whichever case runs first.
        for url, bodies in ((f"{base}/health", None), (f"{base}/classify", single)):
            run_wrk(url, bodies, **dict(opts, duration=2))
        results = {
            "a GET /health": run_wrk(f"{base}/health", None, **opts),
            "b POST /classify 1 headline": run_wrk(f"{base}/classify", single, **opts),
            "c POST /classify 100 headlines": run_wrk(f"{base}/classify", [json.dumps(
                {"documents": [{"id": i, "text": t} for i, t in enumerate(texts)]})], **opts),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    baseline = in_process_rate(args.model, texts, seconds=min(args.duration, 5))
    report(results, baseline, args, len(texts))


def report(results: dict, baseline: float, args, batch: int) -> None:
    print(f"model {args.model}; {args.workers} gunicorn sync workers; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s on loopback")
    print(f"{'case':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'server CPU':>11} {'wrk CPU':>8}"
          "  socket errors")
    for name, r in results.items():
        print(f"{name:32} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8d} "
              f"{r['server_us']:8.0f} us {r['wrk_us']:5.0f} us  {r['socket_errors']}")
    a, b, c = (results[k] for k in results)
    served = c["rps"] * batch
    print(f"in-process Tagger.tag: {baseline:.0f} headlines/s (batches of {batch}, one process)")
    print(f"(b)/(a) requests/s ratio        {b['rps'] / a['rps']:.2f}   (goal >= 0.7)")
    print(f"(b) p99 at {args.connections} connections       {b['p99_ms']:.2f} ms (goal <= 15 ms)")
    print(f"(c) served headlines/s          {served:.0f} = {served / baseline:.2f} x in-process (goal >= 0.5)")


if __name__ == "__main__":
    main()
