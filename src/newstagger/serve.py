"""Run the service under gunicorn; on SIGHUP, swap in a new model only if it loads and tags."""
from __future__ import annotations

import functools
import gc
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import gunicorn.util
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from .artifact import model_not_found
from .errors import ModelError, NewstaggerError
from .model import Tagger

log = logging.getLogger("newstagger.serve")
# prometheus_client reads this when first imported: serve.py must not import it before setting it.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ModelSnapshots:
    """Private copies of the model file that passed a test load; workers load the newest.

    Workers never read the user's path directly, so a file replaced half-way through a
    reload, or replaced by a broken one, cannot reach them.
    """

    def __init__(self, source: str | Path, folder: Path):
        self.source = Path(source)
        self.folder = folder
        self.current: Path | None = None
        self.tagger: Tagger | None = None  # the current snapshot, loaded and test-run
        self.version = ""
        self._count = 0

    def refresh(self) -> str:
        """Copy and test-load the model file; make it current; return its version or raise ModelError."""
        self._count += 1
        candidate = self.folder / f"model-{self._count}.npz"
        try:
            shutil.copyfile(self.source, candidate)
            tagger = Tagger.load(candidate)
            tagger.tag(["Defence ministers meet in Brussels"])
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with the file, keep serving the old one
            candidate.unlink(missing_ok=True)
            message = str(exc).replace(str(candidate), str(self.source))
            if isinstance(exc, FileNotFoundError):
                message = str(model_not_found(self.source))
            elif isinstance(exc, OSError):
                message = f"{self.source}: cannot read the model file ({exc.strerror or exc})"
            raise ModelError(message if isinstance(exc, (ModelError, OSError))
                             else f"{self.source}: the model failed a test run ({type(exc).__name__}: {message})") from None
        previous, self.current, self.version = self.current, candidate, tagger.version
        self.tagger = tagger
        for old in self.folder.glob("model-*.npz"):
            if old not in (self.current, previous):
                old.unlink(missing_ok=True)
        return self.version


class ReloadingArbiter(Arbiter):
    """Gunicorn's master, but SIGHUP first validates the new model and refuses a broken one."""

    def handle_hup(self) -> None:
        snapshots: ModelSnapshots = self.app.snapshots
        try:
            version = snapshots.refresh()
        except ModelError as exc:
            self.log.error("reload refused, still serving model %s: %s", snapshots.version, exc)
            return
        self.log.info("model %s passed its test load; reloading workers gracefully", version)
        super().handle_hup()


class ServiceApplication(BaseApplication):
    """The newstagger app under gunicorn sync workers, forked from a master that holds the model.

    The app is built in the master (gunicorn's preload) around the model the snapshot test
    already loaded, so workers start at once and share one copy of the model's arrays (one-headline
    /classify went from 779 to about 1,050 requests/s in training/bench_service.py). A reload
    rebuilds the app in the master, then forks fresh workers from it.
    """

    def __init__(self, settings: dict[str, Any], workdir: Path):
        self.settings = settings
        self.snapshots = ModelSnapshots(settings["model"], workdir)
        super().__init__()

    def load_config(self) -> None:
        options = {"bind": f"{self.settings['host']}:{self.settings['port']}",
                   "workers": self.settings["workers"], "worker_class": "sync",
                   "accesslog": None, "errorlog": "-", "loglevel": self.settings["log_level"],
                   "timeout": 60, "graceful_timeout": 30, "proc_name": "newstagger",
                   "child_exit": _child_exit, "control_socket_disable": True, "preload_app": True,
                   "when_ready": self.announce}
        if self.settings["pin_workers"] and hasattr(os, "sched_setaffinity"):  # Linux; macOS has no affinity call
            options["post_fork"] = pin_worker
        for key, value in options.items():
            self.cfg.set(key, value)

    def announce(self, arbiter: Arbiter) -> None:
        """Say where the service listens, once gunicorn has bound the address (its when_ready hook),
        so the line is true when printed and a script may wait for it."""
        s = self.settings
        print(f"newstagger: serving model {self.snapshots.version} from {s['model']} on "
              f"http://{s['host']}:{s['port']} with {s['workers']} workers "
              f"(pid {arbiter.pid}; kill -HUP {arbiter.pid} reloads the model)", file=sys.stderr, flush=True)

    def load(self):
        _configure_logging(self.settings["log_level"])
        limit_close_linger(self.settings["close_linger"])
        from .service import create_app

        app = create_app({**self.settings, "model": str(self.snapshots.current)}, tagger=self.snapshots.tagger)
        # What is made now lives as long as the workers: frozen out of the cycle collector, its
        # scans in the workers neither cost time nor copy the shared pages.
        gc.freeze()
        return app

    def reload(self) -> None:
        self.callable = None  # gunicorn keeps a preloaded app; build a new one around the new model
        # Unfrozen and collected, the previous app's and model's reference cycles are freed
        # rather than frozen again with the new app.
        gc.unfreeze()
        gc.collect()
        super().reload()

    def run(self) -> None:
        ReloadingArbiter(self).run()


def check_address(host: str, port: int) -> None:
    """Raise NewstaggerError, naming the address, if the service could not listen there.

    gunicorn would log the failure five times over five seconds and then exit; checked first,
    the user hears at once, and before a first run spends a minute training the default model.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise NewstaggerError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise NewstaggerError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                                  "(choose another with --host/--port or NEWSTAGGER_HOST/NEWSTAGGER_PORT)") from None


def run_server(settings: dict[str, Any]) -> None:
    """Validate the address and the model, then serve until stopped; raise NewstaggerError (ModelError
    for the model) if either is unusable."""
    check_address(settings["host"], settings["port"])
    workdir = Path(tempfile.mkdtemp(prefix="newstagger-serve-"))
    master = os.getpid()
    try:
        (workdir / "metrics").mkdir()
        # Set before any worker imports prometheus_client, so counters are summed over workers.
        os.environ[MULTIPROC_ENV] = str(workdir / "metrics")
        app = ServiceApplication(settings, workdir)
        app.snapshots.refresh()
        app.run()
    finally:
        # Workers leave through this frame too (gunicorn exits them with SystemExit): only the master cleans up.
        if os.getpid() == master:
            shutil.rmtree(workdir, ignore_errors=True)


def limit_close_linger(seconds: float) -> None:
    """Make gunicorn's workers wait at most `seconds` for a client to close after its response.

    Since gunicorn 26 a worker half-closes the connection and then reads until the client closes
    it, for up to 2 s, so that unread request bytes never turn the close into a reset. A sync
    worker serves nobody else meanwhile: two clients that kept their connections open stalled
    the next request of a two-worker server for 2 s. Clients that behave close within
    milliseconds, so a short wait keeps the protection. Set in the master before the workers
    fork, so every worker (and every reloaded one) inherits it; older gunicorns close at once.
    """
    graceful = getattr(gunicorn.util, "close_graceful", None)
    if graceful is None:
        return
    original = getattr(graceful, "func", graceful)  # a reload calls this again: wrap the original once
    gunicorn.util.close_graceful = functools.partial(original, timeout=seconds)


def pin_worker(server, worker) -> None:
    """Pin a freshly forked worker to one of the CPUs this server may use, taking them in turn.

    A worker that stays on one core finds the model's data and Python's own still in that core's
    caches; moved between cores, or sharing one with the load in turn, it refetches them, and
    tagging one headline is the part of a request that suffers most. Workers get consecutive ages,
    so those alive at once land on different CPUs.
    """
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[worker.age % len(cpus)]})


def _child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    path = os.environ.get(MULTIPROC_ENV)
    if path:
        multiprocess.mark_process_dead(worker.pid, path)


def _configure_logging(level: str) -> None:
    logger = logging.getLogger("newstagger")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
