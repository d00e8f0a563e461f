"""newstagger: tag geopolitics and defence news by region and theme."""
from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .errors import DataError, ModelError, NewstaggerError  # noqa: E402

if TYPE_CHECKING:
    from .model import Tagger

__all__ = ["Tagger", "DataError", "ModelError", "NewstaggerError", "__version__"]


def __getattr__(name: str):
    # Tagger is imported on first use: the CLI's --help and its service and batch commands
    # then start without loading numpy and scipy first.
    if name == "Tagger":
        from .model import Tagger

        return Tagger
    raise AttributeError(f"module 'newstagger' has no attribute {name!r}")
