"""The model file: NumPy arrays in one .npz, read with allow_pickle=False, plus JSON for the card.

Nothing in the file is code. Loading parses a zip of plain arrays and JSON text, checks the format
version and shapes, and only then builds the feature blocks from the stored vocabularies.
"""
from __future__ import annotations

import json
import warnings
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np

from .errors import ModelError
from .files import write_atomically

FORMAT_NAME = "newstagger-model"
# 2: a head may carry a region stage (salience.py); 3: or a competition stage; 4: a feature block may
# read the title column (features.TITLE_COLUMN), which newstagger before it does not make.
FORMAT_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)  # each version's files are the next one's without what it added


def _json_array(obj) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _json_from(array: np.ndarray):
    return json.loads(array.tobytes().decode("utf-8"))


def write_model(path: str | Path, card: dict, arrays: dict[str, np.ndarray], extras: dict[str, object]) -> Path:
    """Write card, arrays and JSON extras to `path` atomically (temp file in the same folder + rename)."""
    payload = {"card.json": _json_array({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **card})}
    payload.update({f"{k}.json": _json_array(v) for k, v in extras.items()})
    payload.update(arrays)
    return write_atomically(path, lambda fh: np.savez(fh, **payload))


def model_not_found(path: str | Path) -> ModelError:
    """The error for a model file that is not there, wherever it is found missing."""
    return ModelError(f"{path}: model file not found (train one with `newstagger train`)")


def read_model(path: str | Path) -> tuple[dict, dict[str, np.ndarray], dict[str, object]]:
    """Read a model file without running code from it; raise ModelError if it is not a sound model."""
    path = Path(path)
    if not path.is_file():
        raise model_not_found(path)
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":  # an .npz is a zip; anything else is not ours
            raise ModelError(f"{path}: not a newstagger model (not an .npz archive of arrays)")
        fh.seek(0)
        contents = _read_arrays(path, fh)
    card = _card(path, contents)
    extras = {name[:-5]: _json_from(a) for name, a in contents.items() if name.endswith(".json")}
    arrays = {name: a for name, a in contents.items() if not name.endswith(".json")}
    for name, array in arrays.items():
        if array.dtype.kind not in "fiub":
            raise ModelError(f"{path}: array {name!r} has unexpected type {array.dtype}; refused")
    return card, arrays, extras


def _read_arrays(path: Path, fh) -> dict[str, np.ndarray]:
    try:
        with np.load(fh, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ModelError(f"{path}: not a newstagger model, or a truncated one ({exc})") from None
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise ModelError(f"{path}: contains data that would need pickle to load; refused ({exc})") from None


def _card(path: Path, contents: dict[str, np.ndarray]) -> dict:
    if "card.json" not in contents:
        raise ModelError(f"{path}: not a newstagger model (no model card inside)")
    try:
        card = _json_from(contents["card.json"])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: the model card is damaged ({exc})") from None
    if card.get("format") != FORMAT_NAME:
        raise ModelError(f"{path}: not a newstagger model (format {card.get('format')!r})")
    if card.get("format_version") not in READABLE_VERSIONS:
        raise ModelError(f"{path}: model format version {card.get('format_version')} is not supported "
                         f"by this newstagger (it reads versions {', '.join(map(str, READABLE_VERSIONS))}); "
                         "retrain the model")
    _warn_on_version_drift(path, card)
    return card


def _warn_on_version_drift(path: Path, card: dict) -> None:
    # The installed version from the package metadata: importing scikit-learn itself takes seconds.
    installed = version("scikit-learn")
    trained_with = card.get("versions", {}).get("scikit-learn")
    if trained_with and trained_with != installed:
        warnings.warn(f"{path}: model was trained with scikit-learn {trained_with}, this is scikit-learn "
                      f"{installed}; results may differ slightly: retrain to be sure",
                      ModelVersionWarning, stacklevel=3)


class ModelVersionWarning(UserWarning):
    """The model was written by another scikit-learn version."""
