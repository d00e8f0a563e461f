"""Read labelled documents from JSONL, CSV or a folder of them, with errors that name file and line."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import DataError
from .taxonomy import Taxonomy

TITLE_FIELDS = ("title", "headline")
BODY_FIELDS = ("body", "lede", "description", "text")
# Fields that describe a document rather than label it; never taken for a facet.
META_FIELDS = {"id", "kind", "split", "url", "note", "source", "date", "path", *TITLE_FIELDS, *BODY_FIELDS}
DATA_SUFFIXES = (".jsonl", ".csv")


@dataclass
class Document:
    id: str
    title: str
    body: str = ""
    labels: dict[str, list[str]] = field(default_factory=dict)
    split: str = ""
    where: str = ""

    @property
    def text(self) -> str:
        """Return what the model reads: the title, a newline, the body."""
        return f"{self.title}\n{self.body}" if self.body else self.title


def compose_text(title: str, body: str = "") -> str:
    """Join a title and body the way training data is joined."""
    return Document("", title, body).text


def data_files(path: str | Path) -> list[Path]:
    """List the data files a path stands for: itself, or the JSONL/CSV files under a folder."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in DATA_SUFFIXES and p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise DataError(f"{path}: no .jsonl or .csv files in this folder")
        return files
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix not in DATA_SUFFIXES:
        raise DataError(f"{path}: unsupported file type {path.suffix!r} (use .jsonl or .csv)")
    return [path]


def read_documents(paths: Iterable[str | Path], taxonomy: Taxonomy | None = None) -> list[Document]:
    """Read every document under the paths; raise DataError at the first bad line."""
    docs: list[Document] = []
    for path in paths:
        for file in data_files(path):
            docs.extend(_read_file(file, taxonomy))
    _check_unique_ids(docs)
    return docs


def _read_file(file: Path, taxonomy: Taxonomy | None) -> list[Document]:
    try:
        raw = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    records = _csv_records(file, raw) if file.suffix == ".csv" else _jsonl_records(file, raw)
    docs = [_to_document(rec, f"{file}:{line}", taxonomy) for line, rec in records]
    if not docs:
        raise DataError(f"{file}: empty file, no documents")
    return docs


def _jsonl_records(file: Path, raw: str) -> list[tuple[int, dict]]:
    out = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}:{n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{file}:{n}: expected a JSON object, got {type(rec).__name__}")
        out.append((n, rec))
    return out


def _csv_records(file: Path, raw: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(raw.splitlines())
    out = []
    for rec in reader:
        if None in rec:
            raise DataError(f"{file}:{reader.line_num}: more cells than columns in the header")
        facets = {k: [x for x in (v or "").split("|") if x] for k, v in rec.items() if k not in META_FIELDS}
        out.append((reader.line_num, {**{k: v for k, v in rec.items() if k in META_FIELDS}, **facets}))
    return out


def first_field(rec: dict, names: tuple[str, ...]) -> object:
    """Return the first non-empty value among the given field names (aliases), else ""."""
    for name in names:
        if rec.get(name) not in (None, ""):
            return rec[name]
    return ""


def _to_document(rec: dict, where: str, taxonomy: Taxonomy | None) -> Document:
    title, body = first_field(rec, TITLE_FIELDS), first_field(rec, BODY_FIELDS)
    if not isinstance(title, str) or not title.strip():
        raise DataError(f"{where}: no title (expected a non-empty 'title' or 'headline')")
    if not isinstance(body, str):
        raise DataError(f"{where}: body must be a string, got {type(body).__name__}")
    facet_names = taxonomy.facet_names if taxonomy else [
        k for k, v in rec.items() if k not in META_FIELDS and isinstance(v, list)]
    labels = {name: _labels(rec, name, where, taxonomy) for name in facet_names}
    doc_id = rec.get("id")
    return Document(str(doc_id) if doc_id not in (None, "") else where, title.strip(), body.strip(),
                    labels, str(rec.get("split") or ""), where)


def _labels(rec: dict, facet: str, where: str, taxonomy: Taxonomy | None) -> list[str]:
    if facet not in rec:
        raise DataError(f"{where}: no {facet!r} labels (expected a list, possibly empty)")
    value = rec[facet]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise DataError(f"{where}: {facet!r} must be a list of label strings, got {json.dumps(value)[:60]}")
    if taxonomy:
        known = taxonomy.facet(facet).labels
        unknown = [x for x in value if x not in known]
        if unknown:
            raise DataError(f"{where}: unknown {facet} label(s) {', '.join(map(repr, unknown))}; "
                            f"known: {', '.join(known)}")
    return list(dict.fromkeys(value))


def _check_unique_ids(docs: list[Document]) -> None:
    seen: dict[str, str] = {}
    for doc in docs:
        if doc.id in seen:
            raise DataError(f"{doc.where}: duplicate id {doc.id!r} (first at {seen[doc.id]})")
        seen[doc.id] = doc.where


def infer_taxonomy(docs: list[Document]) -> Taxonomy:
    """Build a taxonomy from the labels the documents carry."""
    seen: dict[str, set[str]] = {}
    for doc in docs:
        for facet, labels in doc.labels.items():
            seen.setdefault(facet, set()).update(labels)
    if not seen:
        raise DataError("the data has no facets: no list-valued label fields such as 'region' or 'topics'")
    return Taxonomy.from_labels(seen)
