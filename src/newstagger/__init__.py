"""newstagger: tag geopolitics and defence news by region and theme."""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import DataError, ModelError, NewstaggerError  # noqa: E402
from .model import Tagger  # noqa: E402

__all__ = ["Tagger", "DataError", "ModelError", "NewstaggerError", "__version__"]
