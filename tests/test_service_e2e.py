"""The real `newstagger serve` process on a loopback port, talked to with requests."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow
HEADLINE = {"text": "India signs deal for Rafale jets"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _newstagger() -> str:
    return str(Path(sys.executable).with_name("newstagger")) if Path(sys.executable).with_name(
        "newstagger").exists() else shutil.which("newstagger")


def _wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _version(base: str) -> str:
    return requests.get(f"{base}/model", timeout=5).json()["version"]


@pytest.fixture
def server(tmp_path, tiny_model_path):
    """Start `newstagger serve` with a copy of the tiny model; yield (base url, process, model, log)."""
    model = tmp_path / "model.npz"
    shutil.copyfile(tiny_model_path, model)
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([_newstagger(), "serve", "--model", str(model), "--port", str(port),
                                 "--workers", "2"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: proc.poll() is None and requests.get(f"{base}/ready", timeout=2).ok, 30, "the server")
        yield base, proc, model, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _new_version_of(model: Path, tiny_model_path: Path) -> str:
    """Write a model with another version to `model`, atomically; return that version."""
    from newstagger import Tagger

    tagger = Tagger.load(tiny_model_path)
    tagger.card = dict(tagger.card, created_at="2000-01-01T00:00:00+00:00")
    staged = tagger.save(model.with_name("staged.npz"))
    os.replace(staged, model)
    return tagger.version


def test_serves_the_api_over_real_http(server, tiny_tagger):
    base, _, _, log = server
    response = requests.post(f"{base}/classify", json=HEADLINE, headers={"X-Request-ID": "e2e-1"}, timeout=5)
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "e2e-1"
    assert response.json()["labels"] == tiny_tagger.tag([HEADLINE["text"]])[0]["labels"]
    assert requests.get(f"{base}/nowhere", timeout=5).json()["error"]["code"] == "not_found"
    assert requests.post(f"{base}/classify", data="x", timeout=5).status_code == 415
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    assert 'route="/classify",status="200"' in metrics
    _wait_until(lambda: '"request_id": "e2e-1"' in log.read_text(errors="replace"), 5, "the request log line")


def test_clients_that_keep_their_connections_open_do_not_stall_the_workers(server):
    """Each of two workers answers a raw client that then keeps its connection open; the next
    request must not wait out gunicorn's own 2 s linger (NEWSTAGGER_CLOSE_LINGER is 0.1 s)."""
    base, *_ = server
    port = int(base.rsplit(":", 1)[1])
    lingering = []
    try:
        for _ in range(2):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            client.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200")  # answered; the socket stays open
            lingering.append(client)
        started = time.monotonic()
        assert requests.get(f"{base}/health", timeout=10).ok
        assert time.monotonic() - started < 1.0
    finally:
        for client in lingering:
            client.close()


def _workers(master: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is a Linux call")
def test_workers_are_pinned_to_cpus_in_turn(server):
    _, proc, _, _ = server
    _wait_until(lambda: len(_workers(proc.pid)) == 2, 10, "two workers")
    # A worker is a child of the master a moment before gunicorn's post_fork hook pins it: under load
    # that moment is long enough for a read in between.
    _wait_until(lambda: all(len(os.sched_getaffinity(pid)) == 1 for pid in _workers(proc.pid)), 10,
                "both workers pinned to one CPU")
    pinned = [os.sched_getaffinity(pid) for pid in _workers(proc.pid)]
    assert len(pinned) == 2 and all(len(cpus) == 1 for cpus in pinned)
    if len(os.sched_getaffinity(0)) >= 2:
        assert pinned[0] != pinned[1]


def test_hot_reload_under_continuous_requests_drops_nothing(server, tiny_model_path):
    base, proc, model, _ = server
    old = _version(base)
    failures: list[str] = []
    versions: set[str] = set()
    sent = [0]
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                r = requests.post(f"{base}/classify", json=HEADLINE, timeout=30)
                if r.status_code != 200:
                    failures.append(f"status {r.status_code}")
                else:
                    versions.add(r.json()["model_version"])
            except requests.RequestException as exc:
                failures.append(repr(exc))
            sent[0] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        new = _new_version_of(model, tiny_model_path)
        assert new != old
        proc.send_signal(signal.SIGHUP)
        _wait_until(lambda: _version(base) == new and new in versions, 30, "the new model")
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == [] and sent[0] > 50
    assert {old, new} <= versions


def test_reload_with_a_broken_model_keeps_the_old_one(server):
    base, proc, model, log = server
    old = _version(base)
    model.write_bytes(b"not a model at all")
    proc.send_signal(signal.SIGHUP)
    _wait_until(lambda: "reload refused" in log.read_text(errors="replace"), 10, "the refusal in the log")
    time.sleep(0.5)
    assert proc.poll() is None
    assert _version(base) == old
    assert requests.post(f"{base}/classify", json=HEADLINE, timeout=5).status_code == 200


def test_serve_announces_its_address_once_it_listens(tmp_path, tiny_model_path):
    """The "serving ... on http://..." line is printed after the bind: a script may connect as soon as it reads it."""
    port = _free_port()
    proc = subprocess.Popen([_newstagger(), "serve", "--model", str(tiny_model_path), "--port", str(port),
                             "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while "serving model" not in line:
            line = proc.stderr.readline()
            assert line, "serve exited without announcing its address"
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # refused if the line had come before the bind
        assert f"http://127.0.0.1:{port}" in line and f"kill -HUP {proc.pid} " in line
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_serve_fails_cleanly_on_a_bad_model(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    done = subprocess.run([_newstagger(), "serve", "--model", str(bad), "--port", str(_free_port())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Error:" in done.stderr and "bad.npz" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "no-such-host.invalid"])
def test_serve_fails_at_once_where_it_cannot_listen(tmp_path, host):
    """A port in use or an unknown host: one line naming the address, before training or loading anything."""
    from .conftest import write_tiny_corpus

    write_tiny_corpus(tmp_path / "seeds")  # with no model here, a first run would train one first
    env = {k: v for k, v in os.environ.items() if k != "NEWSTAGGER_MODEL"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run([_newstagger(), "serve", "--host", host, "--port", str(port)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on {host}:{port}" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 4  # gunicorn alone retries for 5 s
    assert not (tmp_path / "models").exists()


def test_first_run_trains_then_serves_and_stops_cleanly(tmp_path):
    """The quick start for real: no model yet, so serve trains one, serves it, and exits without tracebacks."""
    from .conftest import write_tiny_corpus

    write_tiny_corpus(tmp_path / "seeds")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "NEWSTAGGER_MODEL"}
    proc = subprocess.Popen([_newstagger(), "serve", "--port", str(port), "--workers", "2"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until(lambda: proc.poll() is None and requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).ok,
                    120, "the server to train and start")
        assert requests.post(f"http://127.0.0.1:{port}/classify", json=HEADLINE, timeout=10).ok
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert (tmp_path / "models" / "newstagger.npz").exists()
    assert "training the default model" in err and "Traceback" not in err
    assert out == ""  # the training report goes to stderr too
