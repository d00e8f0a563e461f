"""The OpenAPI 3 document of the service, built with apispec from the app's own limits and routes."""
from __future__ import annotations

from apispec import APISpec

from . import __version__
from .service_requests import BLANK_CHARS

_ERR = {"$ref": "#/components/responses/Error"}
_EXPLANATION = {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {
    "type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                               "items": {"oneOf": [{"type": "string"}, {"type": "number"}]}}}}}


def _text(max_chars: int, *, non_blank: bool) -> dict:
    schema: dict = {"type": "string", "maxLength": max_chars}
    if non_blank:
        schema.update(minLength=1, pattern=f"[^{BLANK_CHARS}]")
    return schema


def _schemas(max_text_chars: int, max_batch: int) -> dict[str, dict]:
    text = _text(max_text_chars, non_blank=True)
    explain = {"type": "boolean", "default": False, "description": "add the terms that drove each label"}
    doc_text = {"type": "object", "required": ["text"], "additionalProperties": False,
                "properties": {"text": text}}
    doc_title = {"type": "object", "required": ["title"], "additionalProperties": False,
                 "properties": {"title": text, "body": _text(max_text_chars, non_blank=False)},
                 "description": "the text is the title, a newline, then the body"}
    doc_id = {"oneOf": [{"type": "string"}, {"type": "integer"}],
              "description": "echoed in the result (default: the position in the list)"}
    result = {"type": "object", "required": ["labels", "scores"], "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "scores": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}}},
        "explanation": _EXPLANATION}}
    return {
        "SingleRequest": {"oneOf": [_with(doc_text, explain=explain), _with(doc_title, explain=explain)]},
        "BatchRequest": {"type": "object", "required": ["documents"], "additionalProperties": False,
                         "properties": {"explain": explain, "documents": {
                             "type": "array", "maxItems": max_batch,
                             "items": {"oneOf": [_with(doc_text, id=doc_id), _with(doc_title, id=doc_id)]}}}},
        "Result": result,
        "SingleResponse": {"allOf": [{"$ref": "#/components/schemas/Result"}, {
            "type": "object", "required": ["model_version"], "properties": {"model_version": {"type": "string"}}}]},
        "BatchResponse": {"type": "object", "required": ["results", "model_version"], "properties": {
            "model_version": {"type": "string"},
            "results": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Result"}, {
                "type": "object", "required": ["id"], "properties": {"id": doc_id}}]}}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "request_id"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "request_id": {"type": "string"}}}}},
    }


def _with(schema: dict, **extra: dict) -> dict:
    return dict(schema, properties={**schema["properties"], **extra})


def _json(ref_or_schema: dict | str, description: str) -> dict:
    schema = {"$ref": f"#/components/schemas/{ref_or_schema}"} if isinstance(ref_or_schema, str) else ref_or_schema
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get(summary: str, ok: dict, media: str = "application/json", **more: dict) -> dict:
    return {"get": {"summary": summary, "responses": {
        "200": {"description": "OK", "content": {media: {"schema": ok}}}, **more}}}


def build_spec(*, max_text_chars: int, max_batch: int) -> dict:
    """Return the OpenAPI 3 document for an app with these limits."""
    spec = APISpec(title="newstagger", version=__version__, openapi_version="3.0.3",
                   info={"description": "Tag geopolitics and defence news by region and theme."})
    for name, schema in _schemas(max_text_chars, max_batch).items():
        spec.components.schema(name, schema)
    spec.components.response("Error", _json("Error", "an error, in the one error shape"))
    any_object = {"type": "object"}
    spec.path("/classify", operations={"post": {
        "summary": "Tag one text, or a batch of documents in the same order",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/SingleRequest"}, {"$ref": "#/components/schemas/BatchRequest"}]}}}},
        "responses": {"200": _json({"oneOf": [{"$ref": "#/components/schemas/SingleResponse"},
                                              {"$ref": "#/components/schemas/BatchResponse"}]}, "the tags"),
                      "400": _ERR, "413": _ERR, "415": _ERR, "422": _ERR, "500": _ERR, "503": _ERR}}})
    spec.path("/labels", operations=_get("The taxonomy: facets, labels and descriptions", any_object))
    spec.path("/model", operations=_get("The model card", any_object))
    spec.path("/health", operations=_get("Alive", any_object))
    spec.path("/ready", operations=_get("Model loaded (503 if not)", any_object, **{"503": _ERR}))
    spec.path("/openapi.json", operations=_get("This document", any_object))
    spec.path("/metrics", operations=_get("Prometheus metrics", {"type": "string"}, "text/plain"))
    spec.path("/", operations=_get("The try-it page", {"type": "string"}, "text/html"))
    return spec.to_dict()
