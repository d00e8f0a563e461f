"""One JSON error shape for every failure of the HTTP service, made in one place."""
from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("newstagger.service")

# Standard HTTP errors get a stable snake_case code; views raise ApiError for their own codes.
_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
          415: "unsupported_media_type", 422: "invalid_request", 500: "internal_error", 503: "not_ready"}
_MESSAGES = {404: "no such endpoint; see /openapi.json",
             405: "method not allowed on this endpoint",
             413: "the request body is too large",
             415: "send the body as application/json"}
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class ApiError(HTTPException):
    """An expected client error with its own code; the message must not contain the input."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(description=message)
        self.code = status
        self.error_code = code


def error_body(status: int, code: str, message: str) -> Response:
    """Return the one error response shape: {"error": {"code", "message", "request_id"}}."""
    response = jsonify({"error": {"code": code, "message": message, "request_id": request_id()}})
    response.status_code = status
    return response


def request_id() -> str:
    """Return this request's id: a sane X-Request-ID from the client, else a fresh one."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error and every unexpected exception as the one JSON shape."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        code = getattr(exc, "error_code", None) or _CODES.get(status, "http_error")
        # Werkzeug's own descriptions are generic text (never the input), but ours read better.
        message = exc.description if isinstance(exc, ApiError) else _MESSAGES.get(status, exc.description)
        response = error_body(status, code, message or "")
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unexpected error (request_id=%s)", request_id())
        return error_body(500, "internal_error", "unexpected server error; quote the request_id when reporting it")
