"""Every setting in one place: name, default, help. CLI flags and NEWSTAGGER_* variables read these."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL_FILE = Path("models") / "newstagger.npz"
ENV_PREFIX = "NEWSTAGGER_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    type: type = str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def boolean(raw: str) -> bool:
    """Read a yes/no setting from its environment variable: 1/0, true/false, yes/no, on/off."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _default_workers() -> int:
    # Sync workers: one per core keeps both cores busy without oversubscribing the BLAS-free hot path.
    return max(1, os.cpu_count() or 1)


SETTINGS: dict[str, Setting] = {s.name: s for s in [
    Setting("model", None, "model file (default: $NEWSTAGGER_MODEL, else ./models/newstagger.npz)"),
    Setting("host", "127.0.0.1", "address the service listens on"),
    Setting("port", 8000, "port the service listens on", int),
    Setting("workers", _default_workers(), "gunicorn worker processes (default: one per core)", int),
    Setting("pin_workers", True, "pin each gunicorn worker to one CPU, in turn, so that it keeps its caches "
            "warm", boolean),
    Setting("close_linger", 0.1, "seconds a worker waits, after answering, for the client to close the "
            "connection; a client that does not close holds the worker that long", float),
    Setting("max_text_chars", 100_000, "longest text accepted by /classify, in characters", int),
    Setting("max_batch", 1_000, "most documents accepted in one /classify batch", int),
    Setting("max_body_bytes", 16_000_000, "largest /classify request body, in bytes (413 above)", int),
    Setting("log_level", "info", "log level of the service (debug, info, warning, error)"),
    Setting("batch_workers", _default_workers(), "worker processes of `newstagger tag` (default: one per core)", int),
    Setting("batch_chunk", 200, "files handed to a batch worker at a time", int),
    Setting("batch_dask_chunk", 1000, "files in one Dask task (more than batch_chunk: every task costs a "
            "round trip through the scheduler)", int),
    Setting("batch_max_bytes", 10_000_000, "largest input file `newstagger tag` reads, in bytes", int),
]}


def default_model_path() -> Path:
    """Return $NEWSTAGGER_MODEL if set, else models/newstagger.npz under the current directory."""
    return Path(os.environ.get(SETTINGS["model"].env) or Path.cwd() / DEFAULT_MODEL_FILE)


def resolve(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return all settings: defaults, then NEWSTAGGER_* variables, then non-None overrides."""
    values: dict[str, Any] = {}
    for name, s in SETTINGS.items():
        raw = os.environ.get(s.env)
        values[name] = s.default if raw in (None, "") else _convert(s, raw)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if not values["model"]:
        values["model"] = str(default_model_path())
    return values


def _convert(setting: Setting, raw: str) -> Any:
    try:
        return setting.type(raw)
    except ValueError:
        raise ValueError(f"{setting.env}={raw!r} is not a valid {setting.type.__name__}") from None
