"""Tag every saved article under a folder, in parallel worker processes or on a Dask cluster.

The parent lists the files, hands them to workers in chunks, and writes what comes back through a
`Sink` (OUT.partial, renamed to OUT at the end). Workers load the model once, from its path.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, TextIO

from .batch_discovery import chunks, discover
from .batch_output import Sink, csv_columns, errors_path, format_records, partial_path
from .batch_readers import NOTE_KINDS, read_file
from .documents import compose_text
from .errors import BatchUsageError

SINGLE_DOC = (".txt", ".md", ".html", ".htm")
_TAGGERS: dict[str, object] = {}   # model path -> Tagger, one per worker process


@dataclass
class Summary:
    documents: int = 0
    files: int = 0
    resumed: int = 0
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    output: str = "-"
    errors_file: str | None = None

    @property
    def failed(self) -> bool:
        """Return True when some file or line was not tagged (notes such as 'undecodable' do not count)."""
        return any(k not in NOTE_KINDS for k in self.errors)

    def as_dict(self) -> dict:
        return {"documents": self.documents, "files": self.files, "resumed": self.resumed,
                "errors": dict(self.errors), "seconds": round(self.seconds, 2),
                "documents_per_second": round(self.documents / self.seconds, 1) if self.seconds else 0.0,
                "output": self.output, "errors_file": self.errors_file}


def tag_chunk(model_path: str, root: str, rels: list[str], skip_ids: dict[str, list[str]], max_bytes: int,
              fmt: str, columns: list[str], explain: bool = False) -> tuple[list[tuple], list[dict], int]:
    """Read and tag a chunk of files (with explanations if asked); return (records, errors, files
    read). Runs in a worker.

    Each record comes back as (path, id, its output line): formatting here, in the workers,
    keeps the parent's single core free for writing.
    """
    tagger = _tagger(model_path)
    records, errors, texts = [], [], []
    for rel in rels:
        result = read_file(Path(root) / rel, rel, max_bytes=max_bytes)
        errors.extend(_error(rel, p.kind, p.message, p.line) for p in result.problems)
        done = set(skip_ids.get(rel, ()))
        for item in result.items:
            if item.id not in done:
                records.append({"path": rel, "id": item.id})
                texts.append(compose_text(item.title, item.body))
    for record, tags in zip(records, tagger.tag(texts, explain=explain) if texts else []):
        record.update(tags)
    lines = [(r["path"], r["id"], format_records([r], fmt, columns)) for r in records]
    return lines, errors, len(rels)


def init_worker(model_path: str, parent_pid: int) -> None:
    """Start a local worker: die with the parent (Linux), ignore Ctrl-C, load the model once."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:   # the parent died before prctl took effect
            os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _tagger(model_path)


def load_worker_model(model_path: str) -> None:
    """Load the model into this worker process now, so that its first chunk does not wait for it."""
    _tagger(model_path)


def _tagger(model_path: str):
    if model_path not in _TAGGERS:
        from .model import Tagger

        _TAGGERS[model_path] = Tagger.load(model_path)
    return _TAGGERS[model_path]


def run_local(tasks: list[tuple], *, model_path: str, workers: int) -> Iterator[tuple[list, list, int]]:
    """Yield each chunk's result from a pool of worker processes as it completes."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker,
                               initargs=(model_path, os.getpid()))
    try:
        futures = [pool.submit(tag_chunk, model_path, *task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def tag_directory(root: str | Path, *, out: str | Path | None = None, fmt: str = "jsonl",
                  model_path: str | Path, workers: int = 1, resume: bool = False,
                  include: Iterable[str] = (), exclude: Iterable[str] = (), scheduler: str | object | None = None,
                  chunk_files: int | None = None, max_bytes: int = 10_000_000, stream: TextIO | None = None,
                  progress: bool = False, explain: bool = False) -> Summary:
    """Tag every supported file under root into OUT (or `stream`); return the run's summary.

    explain: give each record the terms that drove its labels (Tagger.tag's explanation).

    chunk_files: files per task; None takes the batch_chunk setting (batch_dask_chunk on Dask).
    """
    from .config import resolve
    from .model import Tagger

    if chunk_files is None:
        chunk_files = resolve({})["batch_dask_chunk" if scheduler is not None else "batch_chunk"]

    started = time.monotonic()
    root = Path(root).resolve()
    out = Path(out).resolve() if out is not None else None
    _check_start(root, out, fmt, resume)
    with _connect(scheduler, str(model_path)) as cluster:  # first: its workers load the model meanwhile
        # Load in the parent: a bad model fails early with one clear message, and local workers,
        # forked from here, inherit the loaded model instead of each loading it again.
        tagger = _TAGGERS[str(model_path)] = Tagger.load(model_path)
        sink = Sink(out, fmt, csv_columns(tagger.taxonomy.to_dict(), explain), resume=resume,
                    stream=stream or sys.stdout)
        summary = Summary(resumed=sink.resumed, output=str(out) if out else "-",
                          errors_file=str(errors_path(out)) if out else None)
        skip = [p for p in (out, out and partial_path(out), out and errors_path(out),
                            out and partial_path(errors_path(out))) if p]
        files, problems = discover(root, include, exclude, skip)
        _report(sink, summary, [], problems, stream_errors=out is None)
        tasks = [(*task, fmt, sink.columns, explain) for task in _tasks(str(root), files, sink, chunk_files, max_bytes)]
        bar = _bar(len(files), progress)
        bar.update(len(files) - sum(len(t[1]) for t in tasks))
        try:
            results = cluster.results(tasks) if cluster else run_local(tasks, model_path=str(model_path),
                                                                         workers=workers)
            for records, errors, nfiles in results:
                _report(sink, summary, records, errors, stream_errors=out is None)
                summary.files += nfiles
                bar.update(nfiles)
                bar.set_postfix(docs_per_s=f"{summary.documents / max(time.monotonic() - started, 1e-9):.0f}")
            sink.finish()
        finally:
            bar.close()
            sink.close()
    summary.seconds = time.monotonic() - started
    return summary


def _connect(scheduler, model_path: str):
    """Connect to the Dask cluster, if asked, and have its workers start loading the model.

    A context manager either way: the DaskRun, or None for local workers.
    """
    if scheduler is None:
        return nullcontext()
    from .batch_dask import DaskRun

    return DaskRun(scheduler, model_path)


def _check_start(root: Path, out: Path | None, fmt: str, resume: bool) -> None:
    if not root.is_dir():
        raise BatchUsageError(f"{root}: not a folder")
    if fmt not in ("jsonl", "csv"):
        raise BatchUsageError(f"unknown format {fmt!r} (use jsonl or csv)")
    if out is None:
        if resume:
            raise BatchUsageError("--resume needs an output file (-o OUT): standard output cannot be resumed")
        return
    if partial_path(out).exists() and not resume:
        raise BatchUsageError(f"{partial_path(out)} exists from an unfinished run: "
                              "add --resume to continue it, or delete it to start again")


def _tasks(root: str, files: list[tuple[str, int]], sink: Sink, chunk_files: int, max_bytes: int) -> list[tuple]:
    """Drop files a resumed run already finished; pass the ids to skip for the rest.

    Files that failed are read again (cheap); their errors are not written twice.
    """
    todo = [(rel, size) for rel, size in files if not (rel in sink.done and rel.lower().endswith(SINGLE_DOC))]
    tasks = []
    for batch in chunks(todo, chunk_files):
        skip_ids = {rel: sorted(sink.done[rel]) for rel in batch if rel in sink.done}
        tasks.append((root, batch, skip_ids, max_bytes))
    return tasks


def _report(sink: Sink, summary: Summary, records: list[tuple], errors: list[dict], *, stream_errors: bool) -> None:
    sink.add(records, errors)
    summary.documents += len(records)
    summary.errors.update(e["kind"] for e in errors)
    if stream_errors:
        for e in errors:
            print(f"error: {e['path']}{':' + str(e['line']) if e['line'] else ''}: {e['kind']}: {e['message']}",
                  file=sys.stderr)


def _bar(total: int, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not show, file=sys.stderr, smoothing=0.1)


def _error(path: str, kind: str, message: str, line: int = 0) -> dict:
    return {"path": path, "line": line, "kind": kind, "message": message}
