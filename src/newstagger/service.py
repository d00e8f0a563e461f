"""The HTTP service: create_app() loads the model once and serves /classify and friends."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from . import config
from .model import Tagger
from .openapi import build_spec
from .service_errors import ApiError, register_error_handlers, request_id
from .service_metrics import Metrics
from .service_requests import parse_classify

log = logging.getLogger("newstagger.service")
# Flask's jsonify builds a new encoder and goes through its JSON provider on every call; for a
# one-headline answer that was a tenth of the request's own work. Same compact output.
_encode = json.JSONEncoder(separators=(",", ":")).encode
bp = Blueprint("newstagger", __name__)
_BODY_ROUTES = {"newstagger.classify"}


@dataclass
class ServiceState:
    """What one app holds: its settings, its model (None until loaded), its metrics, its spec."""
    settings: dict[str, Any]
    tagger: Tagger | None
    metrics: Metrics = field(default_factory=Metrics)
    spec: dict = field(default_factory=dict)
    page: bytes = b""


def create_app(overrides: dict[str, Any] | None = None, *, tagger: Tagger | None = None) -> Flask:
    """Build the app: settings from defaults, NEWSTAGGER_* and overrides; load the model once."""
    settings = config.resolve(overrides)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings["max_body_bytes"]
    app.json.sort_keys = False
    state = ServiceState(settings, tagger if tagger is not None else Tagger.load(settings["model"]))
    state.spec = build_spec(max_text_chars=settings["max_text_chars"], max_batch=settings["max_batch"])
    state.page = (Path(__file__).parent / "static" / "index.html").read_bytes()
    app.extensions["newstagger"] = state
    app.register_blueprint(bp)
    register_error_handlers(app)
    app.before_request(_before)
    app.after_request(_after)
    return app


def _state() -> ServiceState:
    return current_app.extensions["newstagger"]


def _before() -> None:
    g.started = time.perf_counter()
    request_id()
    if request.endpoint in _BODY_ROUTES:
        # Decided before reading the body: wrong type first, then declared size.
        if request.mimetype != "application/json":
            raise ApiError(415, "unsupported_media_type", "send the body as application/json")
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")


def _after(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    rid = request_id()
    response.headers["X-Request-ID"] = rid
    route = request.url_rule.rule if request.url_rule else "unmatched"
    _state().metrics.observe_request(route, request.method, response.status_code, seconds)
    log.info(json.dumps({"method": request.method, "path": request.path, "status": response.status_code,
                         "duration_ms": round(seconds * 1000, 3), "request_id": rid}))
    return response


def _tagger() -> Tagger:
    tagger = _state().tagger
    if tagger is None:
        raise ApiError(503, "not_ready", "no model is loaded yet")
    return tagger


@bp.post("/classify")
def classify():
    """Tag one text ({"text"} or {"title", "body"}) or a batch ({"documents": [...]})."""
    tagger = _tagger()
    settings = _state().settings
    parsed = parse_classify(request.get_data(cache=False), max_text_chars=settings["max_text_chars"],
                            max_batch=settings["max_batch"])
    results = tagger.tag(parsed.texts, explain=parsed.explain)
    _state().metrics.observe_results(results)
    if parsed.ids is None:
        return _json_response({**results[0], "model_version": tagger.version})
    return _json_response({"results": [{"id": i, **r} for i, r in zip(parsed.ids, results)],
                           "model_version": tagger.version})


def _json_response(body: dict) -> Response:
    return Response(_encode(body) + "\n", mimetype="application/json")


@bp.get("/labels")
def labels():
    """Return the taxonomy: facets, labels and their descriptions."""
    return jsonify(_tagger().taxonomy.to_dict())


@bp.get("/model")
def model():
    """Return the model card and version."""
    tagger = _tagger()
    return jsonify({"version": tagger.version, "card": tagger.card})


@bp.get("/health")
def health():
    """Say the process is alive."""
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready():
    """Say whether a model is loaded (200) or not (503)."""
    return jsonify({"status": "ready", "model_version": _tagger().version})


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI 3 document of this app."""
    return jsonify(_state().spec)


@bp.get("/metrics")
def metrics():
    """Return Prometheus metrics in the text format."""
    return Response(_state().metrics.exposition(), mimetype="text/plain; version=0.0.4")


@bp.get("/")
def index():
    """Serve the try-it page."""
    return Response(_state().page, mimetype="text/html")
