"""The HTTP service through Flask's test client: every endpoint, and a table of bad requests."""
from __future__ import annotations

import json

import pytest

from newstagger.service import create_app

LIMITS = {"max_text_chars": 200, "max_batch": 3, "max_body_bytes": 5_000}
HEADLINE = "India signs deal for Rafale jets"


@pytest.fixture
def app(tiny_model_path, tiny_tagger):
    return create_app({"model": str(tiny_model_path), **LIMITS}, tagger=tiny_tagger)


@pytest.fixture
def client(app):
    return app.test_client()


def test_create_app_loads_the_model_from_the_settings(tiny_model_path, tiny_tagger):
    app = create_app({"model": str(tiny_model_path)})
    assert app.extensions["newstagger"].tagger.version == tiny_tagger.version


def test_create_app_fails_clearly_on_a_missing_model(tmp_path):
    from newstagger import ModelError

    with pytest.raises(ModelError, match="missing.npz"):
        create_app({"model": str(tmp_path / "missing.npz")})


def test_classify_one_text_matches_the_python_api(client, tiny_tagger):
    response = client.post("/classify", json={"text": HEADLINE})
    assert response.status_code == 200
    body = response.get_json()
    assert body == {**tiny_tagger.tag([HEADLINE])[0], "model_version": tiny_tagger.version}


def test_classify_title_and_body_joins_them_like_training(client, tiny_tagger):
    from newstagger.documents import compose_text

    body = client.post("/classify", json={"title": "Drone strike hits Kharkiv", "body": "Ukraine said."}).get_json()
    expected = tiny_tagger.tag([compose_text("Drone strike hits Kharkiv", "Ukraine said.")])[0]
    assert body["labels"] == expected["labels"] and body["scores"] == expected["scores"]
    assert client.post("/classify", json={"title": "Drone strike"}).status_code == 200  # body optional


def test_classify_explain_adds_the_driving_terms(client):
    body = client.post("/classify", json={"text": HEADLINE, "explain": True}).get_json()
    assert set(body["explanation"]) == set(body["labels"])
    assert "explanation" not in client.post("/classify", json={"text": HEADLINE}).get_json()


def test_batch_keeps_order_and_ids(client, tiny_tagger):
    docs = [{"id": "b", "text": "Fighting rages in Donbas"}, {"id": 7, "title": HEADLINE, "body": ""},
            {"text": "Floods hit Bavaria"}]
    body = client.post("/classify", json={"documents": docs}).get_json()
    assert [r["id"] for r in body["results"]] == ["b", 7, 2]
    expected = tiny_tagger.tag(["Fighting rages in Donbas", HEADLINE, "Floods hit Bavaria"])
    assert [r["labels"] for r in body["results"]] == [e["labels"] for e in expected]
    assert body["model_version"] == tiny_tagger.version


def test_labels_model_health_ready(client, tiny_tagger):
    assert client.get("/labels").get_json() == tiny_tagger.taxonomy.to_dict()
    assert client.get("/model").get_json()["version"] == tiny_tagger.version
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200


def test_ready_is_503_without_a_model(app):
    app.extensions["newstagger"].tagger = None
    response = app.test_client().get("/ready")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "not_ready"


def test_openapi_document_carries_the_configured_limits(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["schemas"]["BatchRequest"]["properties"]["documents"]["maxItems"] == 3
    assert set(spec["paths"]) == {"/classify", "/labels", "/model", "/health", "/ready", "/openapi.json",
                                  "/metrics", "/"}


def test_metrics_count_requests_documents_and_labels(client):
    client.post("/classify", json={"documents": [{"text": HEADLINE}, {"text": "Floods hit Bavaria"}]})
    client.get("/nowhere")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'newstagger_http_requests_total{method="POST",route="/classify",status="200"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "newstagger_documents_classified_total 2.0" in text
    assert "newstagger_http_request_duration_seconds_bucket" in text
    assert "newstagger_labels_assigned_total{" in text


def test_metrics_are_per_app(tiny_model_path, tiny_tagger):
    first = create_app({"model": str(tiny_model_path)}, tagger=tiny_tagger).test_client()
    second = create_app({"model": str(tiny_model_path)}, tagger=tiny_tagger).test_client()
    first.get("/health")
    assert 'route="/health"' not in second.get("/metrics").get_data(as_text=True)


def test_try_it_page_is_served(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert b'id="go"' in response.data


def test_request_id_is_honoured_and_echoed(client, caplog):
    with caplog.at_level("INFO", logger="newstagger.service"):
        response = client.get("/nowhere", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert response.get_json()["error"]["request_id"] == "abc-123"
    line = json.loads(caplog.records[-1].getMessage())
    assert line == {"method": "GET", "path": "/nowhere", "status": 404, "duration_ms": line["duration_ms"],
                    "request_id": "abc-123"}


def test_unsafe_request_id_is_replaced(client):
    response = client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert len(response.headers["X-Request-ID"]) == 32


def test_unexpected_error_is_500_without_traceback(app, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions["newstagger"].tagger, "tag", boom)
    response = app.test_client().post("/classify", json={"text": HEADLINE},
                                      headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal_error", "request_id": "req-500",
                                             "message": response.get_json()["error"]["message"]}}
    assert b"secret" not in response.data and b"Traceback" not in response.data


LONG = "Z" * 201
BAD_REQUESTS = [
    # (id, method, path, body, content type, expected status, expected code)
    ("not-json", "POST", "/classify", "{not json", "application/json", 400, "invalid_json"),
    ("not-utf8", "POST", "/classify", b"\xff\xfe", "application/json", 400, "invalid_json"),
    ("array-body", "POST", "/classify", "[1]", "application/json", 422, "invalid_request"),
    ("missing-text", "POST", "/classify", {"explain": True}, None, 422, "invalid_request"),
    ("text-not-string", "POST", "/classify", {"text": 5}, None, 422, "invalid_request"),
    ("empty-text", "POST", "/classify", {"text": ""}, None, 422, "empty_text"),
    ("blank-text", "POST", "/classify", {"text": " \n\t"}, None, 422, "empty_text"),
    ("empty-title-and-body", "POST", "/classify", {"title": "", "body": ""}, None, 422, "empty_text"),
    ("empty-title-with-body", "POST", "/classify", {"title": " ", "body": "Some body"}, None, 422, "empty_text"),
    ("blank-in-unicode", "POST", "/classify", {"text": "\u00a0\u2003\ufeff"}, None, 422, "empty_text"),
    ("body-not-string", "POST", "/classify", {"title": "x", "body": None}, None, 422, "invalid_request"),
    ("text-and-title", "POST", "/classify", {"text": "a", "title": "b"}, None, 422, "invalid_request"),
    ("unknown-field", "POST", "/classify", {"text": "a", LONG: 1}, None, 422, "invalid_request"),
    ("explain-not-bool", "POST", "/classify", {"text": "a", "explain": "yes"}, None, 422, "invalid_request"),
    ("text-too-long", "POST", "/classify", {"text": LONG}, None, 413, "text_too_long"),
    ("title-body-too-long", "POST", "/classify", {"title": "Z" * 150, "body": "Z" * 60}, None, 413, "text_too_long"),
    ("documents-not-list", "POST", "/classify", {"documents": {"text": "a"}}, None, 422, "invalid_request"),
    ("document-not-object", "POST", "/classify", {"documents": ["a"]}, None, 422, "invalid_request"),
    ("document-bad-id", "POST", "/classify", {"documents": [{"id": [1], "text": "a"}]}, None, 422, "invalid_request"),
    ("document-too-long", "POST", "/classify", {"documents": [{"text": "a"}, {"text": LONG}]}, None, 413, "text_too_long"),
    ("batch-too-large", "POST", "/classify", {"documents": [{"text": "a"}] * 4}, None, 413, "batch_too_large"),
    ("body-too-large", "POST", "/classify", {"text": "Z" * 6_000}, None, 413, "body_too_large"),
    ("wrong-content-type", "POST", "/classify", LONG, "text/plain", 415, "unsupported_media_type"),
    ("no-content-type", "POST", "/classify", LONG, "", 415, "unsupported_media_type"),
    ("form-content-type", "POST", "/classify", "text=" + LONG, "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    ("unknown-route", "GET", "/" + LONG, None, None, 404, "not_found"),
    ("wrong-method", "GET", "/classify", None, None, 405, "method_not_allowed"),
    ("wrong-method-health", "POST", "/health", {"text": LONG}, None, 405, "method_not_allowed"),
]


@pytest.mark.parametrize("method,path,body,content_type,status,code",
                         [row[1:] for row in BAD_REQUESTS], ids=[row[0] for row in BAD_REQUESTS])
def test_bad_requests_get_one_error_shape(client, method, path, body, content_type, status, code):
    kwargs = {"json": body} if isinstance(body, (dict, list)) else {"data": body}
    if content_type is not None:
        kwargs["content_type"] = content_type
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert error["code"] == code and error["message"]
    assert "ZZZZZZZZ" not in response.get_data(as_text=True)  # the input is never echoed


def test_405_keeps_the_allow_header(client):
    assert "POST" in client.get("/classify").headers["Allow"]
