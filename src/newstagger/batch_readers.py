"""Turn one saved file (.txt, .md, .html, .htm, .json, .jsonl) into documents, or into reported problems."""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .documents import BODY_FIELDS, TITLE_FIELDS, first_field

SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl")
BINARY_SNIFF = 8192          # bytes looked at for NUL when deciding a file is binary
NOTE_KINDS = {"undecodable"}  # reported, but the document was still tagged
# Detection among the encodings saved pages actually use: on short texts an open search picks DOS code pages.
WEB_ENCODINGS = ["cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "koi8_r",
                 "gb18030", "big5", "shift_jis", "euc_jp", "euc_kr", "iso8859_2", "iso8859_15"]
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6}\s*|=+\s*$|-+\s*$)")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?"
# A line that only dates a saved page ("Wednesday, April 21, 2021", "Updated: 3 May 2024 10:15 IST",
# "2024-05-03"): not its title.
_DATE_LINE = re.compile(
    rf"(?:(?:published|updated|posted)\s*:?\s*)?(?:{_WEEKDAY}\s+)?"
    rf"(?:\d{{1,2}}\s+{_MONTH}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?),?\s+\d{{4}}"
    rf"(?:[\s,|]+\d{{1,2}}:\d{{2}}(?:\s*[ap]\.?m\.?)?(?:\s+[a-z]{{2,5}})?)?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}(?:[ t]\d{{2}}:\d{{2}}(?::\d{{2}})?)?", re.I)
# A line that opens the list of other stories a saved page carries after its article ("Other News at
# EurAsian Times", "Related stories", "More from Reuters", "Most read:"). Tagged with the article,
# those teasers lend it their own places and themes, so the text from that line on is left out.
_TEASER_SECTION = re.compile(
    r"(?!.*[.!?]$)"  # a heading, not a sentence
    r"(?:(?:other|more|related|featured|recommended|latest|top|trending|popular|similar)\s+"
    r"(?:news|stories|articles|posts|reads|headlines|coverage)(?:\s+(?:at|from|on|in)\s+.{1,60})?"
    r"|also\s+read|read\s+(?:also|more|next)|see\s+also|you\s+(?:may|might)\s+also\s+like"
    r"|more\s+from\s+.{1,60}|most\s+(?:read|popular|viewed|shared))\s*:?", re.I)
# One teaser inside the article ("ALSO READ: India signs ...", "Read more | ..."): that line alone is left out.
_TEASER_LINE = re.compile(r"(?:also\s+read|read\s+(?:also|more|next)|related|see\s+also)\s*[:|–—-]\s*\S.*", re.I)


@dataclass
class Item:
    """One document read from a file: its id (unique within the file), title and body."""
    id: str
    title: str
    body: str = ""


@dataclass
class Problem:
    """Something wrong with a file or one of its lines; `line` is 0 for the whole file."""
    kind: str
    message: str
    line: int = 0


@dataclass
class FileResult:
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


def read_file(path: Path, rel: str, *, max_bytes: int) -> FileResult:
    """Read one file into documents; every failure becomes a Problem, never an exception."""
    result = FileResult()
    try:
        raw = _read_bytes(path, max_bytes)
    except _Bad as bad:
        result.problems.append(bad.problem)
        return result
    if not raw.strip():
        result.problems.append(Problem("empty", "the file is empty"))
        return result
    if b"\0" in raw[:BINARY_SNIFF] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        result.problems.append(Problem("binary", "binary content (NUL bytes), not text"))
        return result
    suffix = path.suffix.lower()
    text = _decode(raw, suffix, result.problems)
    READERS[suffix](text, rel, result)
    if not result.items and not result.problems:
        result.problems.append(Problem("empty", "no text to tag in the file"))
    return result


class _Bad(Exception):
    def __init__(self, kind: str, message: str):
        self.problem = Problem(kind, message)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise _Bad("unreadable", "not a regular file (a FIFO, socket or device)")
        if st.st_size > max_bytes:
            raise _Bad("oversize", f"{st.st_size:,} bytes, over the limit of {max_bytes:,}")
        with open(path, "rb") as fh:
            return fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise _Bad("unreadable", "no such file (a broken symbolic link, or deleted meanwhile)") from None
    except OSError as exc:
        raise _Bad("unreadable", exc.strerror or str(exc)) from None


def _decode(raw: bytes, suffix: str, problems: list[Problem]) -> str:
    """Decode as UTF-8, else the declared charset (HTML), else the detected one, else with replacement."""
    try:
        return raw.decode("utf-8-sig") if not raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("utf-16")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(raw[:4096]) if suffix in (".html", ".htm") else None
    if declared:
        try:
            return raw.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=WEB_ENCODINGS).best()
    if best is not None:
        return str(best)
    problems.append(Problem("undecodable", "no encoding fits; decoded as UTF-8 with replacement characters"))
    return raw.decode("utf-8", errors="replace")


def _read_plain(text: str, rel: str, result: FileResult) -> None:
    """A saved article as text: its first line is the title (lines that only date the page, before
    it, are dropped), the rest the body, up to a list of other stories after the article."""
    lines = [line for line in text.splitlines() if not _TEASER_LINE.fullmatch(line.strip())]
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if not filled:
        return
    start = next((i for i in filled if not _DATE_LINE.fullmatch(lines[i].strip())), filled[0])
    # Only once the body has begun: a page that opens with such a heading keeps its text.
    end = next((i for i in filled
                if i > start + 1 and _TEASER_SECTION.fullmatch(_MD_HEADING.sub("", lines[i]).strip())), len(lines))
    title = _MD_HEADING.sub("", lines[start]).strip().strip("#").strip() or lines[start].strip()
    body = "\n".join(line for line in lines[start + 1:end] if not _MD_HEADING.fullmatch(line)).strip()
    result.items.append(Item(rel, title, body))
    result.ids.add(rel)


def _read_html(text: str, rel: str, result: FileResult) -> None:
    import trafilatura

    # favor_precision keeps navigation, footers and "related stories" out of the body.
    doc = trafilatura.bare_extraction(text, favor_precision=True, include_comments=False, with_metadata=True)
    title = (getattr(doc, "title", None) or "").strip()
    body = (getattr(doc, "text", None) or "").strip()
    if not title and not body:
        result.problems.append(Problem("no_text", "no article text found in the page"))
        return
    if not title:
        title, _, body = body.partition("\n")
    result.items.append(Item(rel, title.strip(), body.strip()))


def _read_json(text: str, rel: str, result: FileResult) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.problems.append(Problem("malformed_json", f"not valid JSON ({exc.msg} at line {exc.lineno} "
                                                         f"column {exc.colno})", exc.lineno))
        return
    if isinstance(data, dict):
        _add_record(data, rel, 0, result, default_id=rel)
        return
    if not isinstance(data, list):
        result.problems.append(Problem("malformed_json", f"expected an object or a list, got {type(data).__name__}"))
        return
    for index, rec in enumerate(data):
        _add_record(rec, rel, 0, result, default_id=f"{rel}:{index}", where=f"item {index}")


def _read_jsonl(text: str, rel: str, result: FileResult) -> None:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(Problem("malformed_jsonl", f"not valid JSON ({exc.msg} at column {exc.colno})", n))
            continue
        _add_record(rec, rel, n, result, default_id=f"{rel}:{n}")


def _add_record(rec: object, rel: str, line: int, result: FileResult, *, default_id: str, where: str = "") -> None:
    kind = "malformed_jsonl" if line else "malformed_json"
    prefix = f"{where}: " if where else ""
    if not isinstance(rec, dict):
        result.problems.append(Problem(kind, f"{prefix}expected a JSON object, got {type(rec).__name__}", line))
        return
    title, body = first_field(rec, TITLE_FIELDS), first_field(rec, BODY_FIELDS)
    if not isinstance(title, str) or not isinstance(body, str) or not (title.strip() or body.strip()):
        result.problems.append(Problem(kind, f"{prefix}no text: expected a string 'title'/'headline' or "
                                             f"'body'/'text'/'lede'/'description'", line))
        return
    doc_id = str(rec["id"]) if rec.get("id") not in (None, "") else default_id
    if doc_id in result.ids:
        doc_id = default_id  # ids must be unique within the file; a repeated one falls back to the position
    result.ids.add(doc_id)
    result.items.append(Item(doc_id, title.strip() or body.strip().partition("\n")[0], body.strip()))


READERS: dict[str, Callable[[str, str, FileResult], None]] = {
    ".txt": _read_plain, ".md": _read_plain, ".html": _read_html, ".htm": _read_html,
    ".json": _read_json, ".jsonl": _read_jsonl,
}
