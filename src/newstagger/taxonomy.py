"""The label taxonomy: facets, their labels and one-line descriptions (seeds/taxonomy.json)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError


@dataclass(frozen=True)
class Facet:
    name: str
    labels: tuple[str, ...]
    descriptions: dict[str, str] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Taxonomy:
    facets: tuple[Facet, ...]

    @property
    def facet_names(self) -> list[str]:
        return [f.name for f in self.facets]

    def facet(self, name: str) -> Facet:
        for f in self.facets:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict:
        """Return the JSON form that taxonomy.json, the model card and /labels share."""
        return {"facets": {f.name: {"description": f.description,
                                    "labels": {lab: f.descriptions.get(lab, "") for lab in f.labels}}
                           for f in self.facets}}

    @classmethod
    def from_dict(cls, data: dict, source: str = "taxonomy") -> "Taxonomy":
        facets = data.get("facets") if isinstance(data, dict) else None
        if not isinstance(facets, dict) or not facets:
            raise DataError(f"{source}: needs a non-empty 'facets' object")
        out = []
        for name, spec in facets.items():
            labels = spec.get("labels") if isinstance(spec, dict) else None
            if not isinstance(labels, dict) or not labels:
                raise DataError(f"{source}: facet {name!r} needs a non-empty 'labels' object")
            out.append(Facet(name, tuple(labels), {k: str(v) for k, v in labels.items()},
                             str(spec.get("description", ""))))
        return cls(tuple(out))

    @classmethod
    def from_labels(cls, labels_by_facet: dict[str, set[str]]) -> "Taxonomy":
        """Build a taxonomy from the labels seen in data (when no taxonomy file is given)."""
        return cls(tuple(Facet(name, tuple(sorted(labels))) for name, labels in labels_by_facet.items()))


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read a taxonomy file; raise DataError naming the file if it is unusable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: taxonomy file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    return Taxonomy.from_dict(data, source=str(path))
