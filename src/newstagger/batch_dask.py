"""Run the batch tagger's chunks on a Dask distributed cluster (`pip install newstagger[dask]`).

Workers must see the folder and the model at the same paths as the client (shared storage) and
have newstagger installed; each worker process loads the model once and keeps it.
"""
from __future__ import annotations

from typing import Iterator

from .errors import NewstaggerError


def run_dask(tasks: list[tuple], *, model_path: str, scheduler) -> Iterator[tuple[list, list, int]]:
    """Yield each chunk's result from the cluster at `scheduler` (an address or a Client) as it completes."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise NewstaggerError("--scheduler needs dask.distributed: pip install 'newstagger[dask]'") from None
    from .batch import tag_chunk

    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout="20s") if own else scheduler
    except OSError as exc:
        raise NewstaggerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        futures = [client.submit(tag_chunk, model_path, *task, pure=False) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
            future.release()
    finally:
        if own:
            client.close()
