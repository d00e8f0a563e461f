"""The batch tagger on Dask: an in-process LocalCluster, and real `dask scheduler` + `dask worker` processes."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from newstagger.batch import tag_directory  # noqa: E402

DOCS = [("India buys Rafale jets", "New Delhi signed a deal."), ("Shelling in Donbas", "Artillery duels."),
        ("Japan orders missiles", "Tokyo approved it."), ("Floods hit Bavaria", "Rain forced evacuations.")]


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    for i in range(40):
        title, body = DOCS[i % len(DOCS)]
        (root / f"n{i:02d}.txt").write_text(f"{title} {i}\n{body}", encoding="utf-8")
    (root / "many.jsonl").write_text("".join(json.dumps({"id": f"j{i}", "title": t, "body": b}) + "\n"
                                             for i, (t, b) in enumerate(DOCS)), encoding="utf-8")
    (root / "empty.md").write_text("", encoding="utf-8")
    return root


def _records(path: Path) -> list[tuple]:
    return sorted((r["path"], r["id"], json.dumps(r["labels"], sort_keys=True))
                  for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()))


def test_local_cluster_matches_local_workers(folder, tmp_path, tiny_model_path):
    local = tag_directory(folder, out=tmp_path / "local.jsonl", model_path=tiny_model_path, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        summary = tag_directory(folder, out=tmp_path / "dask.jsonl", model_path=tiny_model_path, scheduler=client,
                                chunk_files=7)
    assert summary.documents == local.documents == 44 and dict(summary.errors) == {"empty": 1}
    assert _records(tmp_path / "dask.jsonl") == _records(tmp_path / "local.jsonl")
    assert [json.loads(x)["kind"] for x in (tmp_path / "dask.jsonl.errors.jsonl").read_text().splitlines()] == ["empty"]


def test_connecting_has_every_worker_load_the_model(tiny_model_path):
    """Workers start loading the model when the run connects, before the folder is listed."""
    from newstagger.batch_dask import DaskRun

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        run = DaskRun(client, str(tiny_model_path))
        distributed.wait(run._warm, timeout=60)
        loaded = client.run(lambda: sorted(__import__("newstagger.batch").batch._TAGGERS))
        run.close()
    assert len(loaded) == 2 and all(models == [str(tiny_model_path)] for models in loaded.values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the dask scheduler exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


@pytest.mark.slow
def test_real_scheduler_and_worker_processes(folder, tmp_path, runner, tiny_model_path):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0", "--no-show"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_for_port(port, procs[0], 30)
        procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                       "--no-dashboard", "--host", "127.0.0.1"], start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=30)
        from newstagger.cli import main

        out = tmp_path / "o.jsonl"
        result = runner.invoke(main, ["tag", str(folder), "-o", str(out), "--model", str(tiny_model_path),
                                      "--scheduler", address])
        assert result.exit_code == 1, result.output   # the empty file
        assert "tagged 44 documents" in result.stderr, result.output
        assert len(_records(out)) == 44
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
