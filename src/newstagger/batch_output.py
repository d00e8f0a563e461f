"""Where batch records go: OUT.partial while running, renamed to OUT at the end; resume from the partial.

Records and errors are appended one whole chunk per write and flushed, so a killed run leaves at most
one torn line at the end of each partial file; `--resume` cuts it off and skips what is already there.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import TextIO

from .errors import BatchUsageError

PARTIAL = ".partial"
ERRORS = ".errors.jsonl"


def partial_path(out: Path) -> Path:
    return out.with_name(out.name + PARTIAL)


def errors_path(out: Path) -> Path:
    return out.with_name(out.name + ERRORS)


def csv_columns(taxonomy: dict, explain: bool = False) -> list[str]:
    """Return the CSV header: path, id, one labels column per facet, one score column per label,
    and with explanations an "explanation" column (the record's explanation object as JSON)."""
    facets = taxonomy["facets"]
    return (["path", "id", *facets]
            + [f"score.{f}.{lab}" for f, spec in facets.items() for lab in spec["labels"]]
            + (["explanation"] if explain else []))


def format_records(records: list[dict], fmt: str, columns: list[str] | None = None) -> str:
    """Render records as JSONL lines or CSV rows (labels joined by |), newline-terminated."""
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for r in records:
        row = {"path": r["path"], "id": r["id"], **{f: "|".join(v) for f, v in r["labels"].items()},
               **{f"score.{f}.{lab}": p for f, s in r["scores"].items() for lab, p in s.items()}}
        if "explanation" in r:
            row["explanation"] = json.dumps(r["explanation"], ensure_ascii=False)
        writer.writerow([row.get(c, "") for c in columns or []])
    return buf.getvalue()


class Sink:
    """Append records and errors to the partial files (or a stream) and finish atomically."""

    def __init__(self, out: Path | None, fmt: str, columns: list[str], *, resume: bool, stream: TextIO | None = None):
        self.out, self.fmt, self.columns = out, fmt, columns
        self.done: dict[str, set[str]] = {}        # path -> ids already written
        self.error_keys: set[tuple] = set()
        self.resumed = 0
        if out is None:
            self.records, self.errors = stream, None
            if fmt == "csv":
                self._write(self.records, _header(columns))
            return
        part, err_part = partial_path(out), partial_path(errors_path(out))
        if resume and part.exists():
            self._load(part, err_part)
        else:
            for p in (part, err_part):
                p.unlink(missing_ok=True)
        self.records = open(part, "a", encoding="utf-8", newline="")
        self.errors = open(err_part, "a", encoding="utf-8")
        if self.records.tell() == 0 and fmt == "csv":
            self._write(self.records, _header(columns))

    def add(self, records: list[tuple[str, str, str]], errors: list[dict]) -> None:
        """Write one chunk's errors, then its records (so a crash in between only repeats work).

        A record is (path, id, its formatted line); one already written (a retried task) is dropped.
        """
        fresh = [e for e in errors if _key(e) not in self.error_keys]
        self.error_keys.update(_key(e) for e in fresh)
        if self.errors is not None and fresh:
            self._write(self.errors, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in fresh))
        new = [(path, doc_id, line) for path, doc_id, line in records if doc_id not in self.done.get(path, ())]
        for path, doc_id, _ in new:
            self.done.setdefault(path, set()).add(doc_id)
        if new:
            self._write(self.records, "".join(line for *_, line in new))

    def finish(self) -> None:
        """Flush to disk and rename: errors file first, then OUT, so OUT implies a complete run."""
        if self.out is None:
            self.records.flush()
            return
        for fh in (self.errors, self.records):
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        os.replace(partial_path(errors_path(self.out)), errors_path(self.out))
        os.replace(partial_path(self.out), self.out)

    def close(self) -> None:
        """Close the partial files without finishing (the run was interrupted)."""
        if self.out is not None:
            for fh in (self.errors, self.records):
                fh.close()

    @staticmethod
    def _write(fh: TextIO, text: str) -> None:
        fh.write(text)
        fh.flush()

    def _load(self, part: Path, err_part: Path) -> None:
        header, lines = _complete_lines(part, csv_header=self.fmt == "csv")
        self._check_resumable(part, header, lines)
        for line in lines:
            rec = line if isinstance(line, dict) else dict(zip(self.columns, line))
            self.done.setdefault(rec["path"], set()).add(rec["id"])
            self.resumed += 1
        for err in _complete_lines(err_part, csv_header=False)[1] if err_part.exists() else []:
            self.error_keys.add(_key(err))

    def _check_resumable(self, part: Path, header: list[str] | None, lines: list) -> None:
        """Refuse to append to a partial file whose records have other fields than this run's (another
        model's labels, or with explanations where this run has none, or the reverse)."""
        if self.fmt == "csv":
            mismatch = bool(header) and header != self.columns  # no header yet: killed before the first write
        else:
            mismatch = bool(lines) and ("explanation" in lines[0]) != ("explanation" in self.columns)
        if mismatch:
            raise BatchUsageError(f"{part} was written with other columns than this run's (another model, or "
                                  "--explain on one run and not the other): resume it as it was begun, "
                                  "or delete it to start again")


def _header(columns: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(columns)
    return buf.getvalue()


def _key(err: dict) -> tuple:
    return (err["path"], err.get("line", 0), err["kind"], err["message"])


def _complete_lines(path: Path, *, csv_header: bool) -> tuple[list[str] | None, list]:
    """Parse the whole lines of a partial file and cut off anything after the last good one.

    Return (the CSV header, None if not csv_header or not yet written whole; the parsed lines after it).
    """
    data = path.read_bytes()
    good, parsed, offset, header = 0, [], 0, None
    lines = data.split(b"\n")
    for i, raw in enumerate(lines[:-1]):      # the last piece has no newline: torn or empty
        offset += len(raw) + 1
        if csv_header and i == 0:
            header = next(csv.reader([raw.decode("utf-8", errors="replace")]), [])
            good = offset
            continue
        try:
            text = raw.decode("utf-8")
            parsed.append(next(csv.reader([text])) if csv_header else json.loads(text))
        except (UnicodeDecodeError, ValueError, StopIteration):
            break
        good = offset
    with open(path, "r+b") as fh:
        fh.truncate(good)
    return header, parsed
