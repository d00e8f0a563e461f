"""Validate a /classify body into texts; errors name the field, never echo its value."""
from __future__ import annotations

import re

import json
from dataclasses import dataclass

from .documents import compose_text
from .service_errors import ApiError

# Blank means only these characters: the whitespace of JSON Schema's (ECMA-262) regular
# expressions, spelled out so that the spec's pattern and this check agree exactly.
BLANK_CHARS = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_BLANK = re.compile(f"[{BLANK_CHARS}]*")

_SINGLE_KEYS = {"text", "title", "body", "explain"}
_DOC_KEYS = {"id", "text", "title", "body"}


@dataclass(frozen=True)
class ClassifyRequest:
    texts: list[str]
    ids: list[object] | None  # None for a single text
    explain: bool


def parse_classify(raw: bytes, *, max_text_chars: int, max_batch: int) -> ClassifyRequest:
    """Parse and check a /classify body; raise ApiError (400, 413 or 422) when it is unusable."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    explain = body.get("explain", False)
    if not isinstance(explain, bool):
        raise _invalid("'explain' must be true or false")
    if "documents" in body:
        return _parse_batch(body, explain, max_text_chars, max_batch)
    _check_keys(body, _SINGLE_KEYS, "the body")
    return ClassifyRequest([_text_of(body, "the body", max_text_chars)], None, explain)


def _parse_batch(body: dict, explain: bool, max_text_chars: int, max_batch: int) -> ClassifyRequest:
    _check_keys(body, {"documents", "explain"}, "a batch body")
    docs = body["documents"]
    if not isinstance(docs, list):
        raise _invalid("'documents' must be an array")
    if len(docs) > max_batch:
        raise ApiError(413, "batch_too_large", f"at most {max_batch} documents per request, got {len(docs)}")
    texts, ids = [], []
    for i, doc in enumerate(docs):
        where = f"documents[{i}]"
        if not isinstance(doc, dict):
            raise _invalid(f"{where} must be an object")
        _check_keys(doc, _DOC_KEYS, where)
        doc_id = doc.get("id", i)
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise _invalid(f"{where}.id must be a string or an integer")
        ids.append(doc_id)
        texts.append(_text_of(doc, where, max_text_chars))
    return ClassifyRequest(texts, ids, explain)


def _text_of(obj: dict, where: str, max_text_chars: int) -> str:
    """Return the text of one document: 'text', or 'title' plus an optional 'body'."""
    if "text" in obj:
        if "title" in obj or "body" in obj:
            raise _invalid(f"{where}: give either 'text' or 'title'/'body', not both")
        text = _string(obj, "text", where)
    elif "title" in obj:
        body = _string(obj, "body", where) if "body" in obj else ""
        title = _string(obj, "title", where)
        if _BLANK.fullmatch(title):  # the spec asks for a title with a visible character
            raise ApiError(422, "empty_text", f"{where}: the title is empty")
        text = compose_text(title, body)
    else:
        raise _invalid(f"{where}: needs 'text' or 'title'")
    if len(text) > max_text_chars:
        raise ApiError(413, "text_too_long", f"{where}: the text has {len(text)} characters; the limit is {max_text_chars}")
    if _BLANK.fullmatch(text):
        raise ApiError(422, "empty_text", f"{where}: the text is empty")
    return text


def _string(obj: dict, key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise _invalid(f"{where}.{key} must be a string, got {_json_type(value)}")
    return value


def _check_keys(obj: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        # Key names are input too: count them rather than echo them.
        raise _invalid(f"{where}: {len(unknown)} unknown field(s); allowed: {', '.join(sorted(allowed))}")


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def _json_type(value: object) -> str:
    names = {type(None): "null", bool: "boolean", int: "number", float: "number",
             str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)
