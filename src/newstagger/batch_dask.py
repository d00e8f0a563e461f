"""Run the batch tagger's chunks on a Dask distributed cluster (`pip install newstagger[dask]`).

Workers must see the folder and the model at the same paths as the client (shared storage) and
have newstagger installed; each worker process loads the model once and keeps it.
"""
from __future__ import annotations

from typing import Iterator

from .errors import NewstaggerError


class DaskRun:
    """A connection to the cluster whose workers start loading the model as soon as it is made.

    Made before the folder is listed, so workers import newstagger and load the model (seconds
    on a fresh worker) while the client lists files, instead of after.
    """

    def __init__(self, scheduler, model_path: str):
        try:
            from distributed import Client
        except ImportError:
            raise NewstaggerError("--scheduler needs dask.distributed: pip install 'newstagger[dask]'") from None
        self.model_path = model_path
        self.own = not isinstance(scheduler, Client)
        try:
            self.client = Client(scheduler, timeout="20s") if self.own else scheduler
        except OSError as exc:
            raise NewstaggerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        from .batch import load_worker_model

        self._warm = [self.client.submit(load_worker_model, model_path, workers=[address], pure=False)
                      for address in self.client.scheduler_info()["workers"]]

    def results(self, tasks: list[tuple]) -> Iterator[tuple[list, list, int]]:
        """Yield each chunk's result as it completes."""
        from distributed import as_completed

        from .batch import tag_chunk

        futures = [self.client.submit(tag_chunk, self.model_path, *task, pure=False) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
            future.release()

    def __enter__(self) -> "DaskRun":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for future in self._warm:
            future.release()
        if self.own:
            self.client.close()
