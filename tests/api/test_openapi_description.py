"""/api/openapi.json describes every route of the HTTP API; /api/docs shows it."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import image_bytes
from tests.openapi_shape import facts
from webapp.apidocs.spec import undocumented_routes

# /api/openapi.json as published before its declarations moved to one schema source.
BEFORE = Path(__file__).resolve().parents[1] / "data" / "openapi_before.json"


@pytest.fixture
def doc(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def schema_of(doc, name):
    return doc["components"]["schemas"][name]


def json_schema(op, status):
    return op["responses"][status]["content"]["application/json"]["schema"]


def test_every_api_route_is_documented(app):
    assert undocumented_routes(app) == [], (
        "declare these routes on a webapp.apidocs.spec.Blueprint (docs/api.md)"
    )


def test_description_loads_as_openapi_3_with_every_contract_route(doc):
    import schemathesis

    assert doc["openapi"].startswith("3.") and doc["info"]["title"]
    expected = {
        "/api/tasks": "get",
        "/api/classify": "post",
        "/api/classify/{classification_id}/feedback": "post",
        "/api/styles": "get",
        "/api/stylize": "post",
        "/api/stylize/{stylization_id}": "get",
        "/api/stylize/{stylization_id}#delete": "delete",
        "/api/classify/{classification_id}#delete": "delete",
        "/api/stylize/{stylization_id}/result": "get",
        "/api/stylize/{stylization_id}/rating": "post",
        "/api/admin/tasks": "post",
        "/api/admin/retrain": "post",
        "/api/admin/jobs/{job_id}": "get",
        "/api/admin/models/{target}": "get",
        "/api/admin/models/{target}/{version}/promote": "post",
        "/api/admin/models/{target}/rollback": "post",
        "/healthz": "get",
        "/metrics": "get",
    }
    for key, method in expected.items():
        path = key.partition("#")[0]
        assert method in doc["paths"].get(path, {}), f"{method.upper()} {path} is not described"
    loaded = list(schemathesis.openapi.from_dict(doc).get_all_operations())
    assert loaded and all(
        result.ok() for result in loaded
    )  # every $ref resolves, every operation is usable


def test_contract_shapes(doc):
    classification = schema_of(doc, "Classification")
    assert classification["properties"]["id"]["type"] == "string"  # opaque ids
    assert set(classification["required"]) >= {
        "id",
        "task",
        "label",
        "probability",
        "probabilities",
        "model_version",
        "face_box",
    }
    assert schema_of(doc, "Stylization")["properties"]["status"]["enum"] == [
        "queued",
        "running",
        "done",
        "failed",
    ]
    assert schema_of(doc, "StylizeAccepted")["properties"]["id"]["type"] == "string"
    presets = schema_of(doc, "StyleMethod")["properties"]["presets"]
    assert presets["items"] == {"$ref": "#/components/schemas/Preset"}
    assert schema_of(doc, "Preset")["properties"]["id"]["type"] == "integer"
    upload = schema_of(doc, "StylizeUpload")
    assert {"content", "style", "method", "preset", "strength", "size"} <= set(upload["properties"])
    assert upload["properties"]["content"]["format"] == "binary"
    error = schema_of(doc, "Error")
    assert error["required"] == ["error"] and error["properties"]["error"]["type"] == "string"
    assert schema_of(doc, "RatingRequest")["properties"]["stars"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 5,
    }


def test_uploads_are_multipart_and_may_be_refused(doc):
    for path in ("/api/classify", "/api/stylize"):
        op = doc["paths"][path]["post"]
        assert list(op["requestBody"]["content"]) == ["multipart/form-data"]
        for status in ("400", "413", "429", "503"):
            assert status in op["responses"], f"{path} does not document {status}"
    too_many = doc["components"]["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]
    assert too_many["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_every_error_is_the_error_schema(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")) or status == "default":
                    if "$ref" in response:
                        response = doc["components"]["responses"][
                            response["$ref"].rsplit("/", 1)[-1]
                        ]
                    schema = response["content"]["application/json"]["schema"]
                    if "$ref" in schema:
                        schema = schema_of(doc, schema["$ref"].rsplit("/", 1)[-1])
                    assert "error" in schema.get("required", []) or path == "/healthz", (
                        method,
                        path,
                        status,
                    )


def test_admin_routes_need_admin_auth(doc):
    schemes = doc["components"]["securitySchemes"]
    assert (schemes["basicAuth"]["type"], schemes["basicAuth"]["scheme"]) == ("http", "basic")
    assert schemes["cookieAuth"]["in"] == "cookie"
    admin = [
        (p, m, op)
        for p, item in doc["paths"].items()
        if p.startswith("/api/admin")
        for m, op in item.items()
    ]
    assert len(admin) >= 18
    for path, method, op in admin:
        assert op["security"] == [{"basicAuth": []}, {"cookieAuth": []}], (method, path)
        assert "401" in op["responses"]
    public = doc["paths"]["/api/classify"]["post"]
    assert "security" not in public and "401" not in public["responses"]


def test_path_parameters_typed_from_the_url_rules(doc):
    review = doc["paths"]["/api/admin/feedback/{feedback_id}/review"]["post"]["parameters"][0]
    assert review["in"] == "path" and review["schema"]["type"] == "integer"
    assert review["schema"]["maximum"] == 2**31 - 1  # larger ids are a 404, not an overflow
    which = doc["paths"]["/api/stylize/{stylization_id}/{which}"]["get"]["parameters"][1]
    assert which["schema"]["enum"] == ["content", "style"]
    listed = doc["paths"]["/api/admin/feedback"]["get"]["parameters"]
    types = {p["name"]: p["schema"]["type"] for p in listed}
    assert types == {"review": "string", "order": "string", "limit": "integer", "task": "string"}


def test_docs_page_lists_every_operation_without_inline_code(client, doc):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for path, item in doc["paths"].items():
        for method in item:
            assert re.search(rf">{method.upper()}</span> <code>{re.escape(path)}</code>", html), (
                method,
                path,
            )
    assert "/api/openapi.json" in html and "Schemas" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline scripts
    assert " style=" not in html and "<style" not in html  # no inline styles
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "https://" not in html.split("<main", 1)[1]  # served offline: nothing from another host


# Facts of the earlier description that were wrong: the feedback route's own descriptions of its
# 400 and 404 were overwritten by the generic ones (an integer and a string key for one status).
CORRECTED = {
    "POST /api/classify/{classification_id}/feedback -> 400: The request is malformed: a bad "
    "parameter, a body that is not a JSON object, nested deeper than 16 levels, or an image that "
    "is not a valid JPEG, PNG or WebP.",
    "POST /api/classify/{classification_id}/feedback -> 404: No such resource.",
}


def test_the_published_description_loses_nothing(doc):
    before = json.loads(BEFORE.read_text())
    lost = sorted(facts(before) - facts(doc) - CORRECTED)
    assert lost == [], f"{len(lost)} facts of the earlier description are gone: {lost[:40]}"


def test_equivalent_descriptions_compare_equal_and_a_loss_shows():
    before = json.loads(BEFORE.read_text())
    # the same description with a component renamed, its uses pointing at the new name, and
    # every object's keys in reverse order
    text = json.dumps(before).replace('"#/components/schemas/Task"', '"#/components/schemas/T2"')
    renamed = json.loads(text)
    renamed["components"]["schemas"]["T2"] = renamed["components"]["schemas"].pop("Task")
    reordered = json.loads(
        json.dumps(renamed), object_pairs_hook=lambda pairs: dict(reversed(pairs))
    )
    assert facts(reordered) == facts(before)

    for lose in (
        lambda d: d["paths"].pop("/api/tasks"),
        lambda d: d["paths"]["/api/classify/{classification_id}"].pop("delete"),
        lambda d: d["paths"]["/api/admin/feedback"]["get"]["parameters"].pop(),
        lambda d: d["components"]["schemas"]["StylizeUpload"]["properties"].pop("size"),
        lambda d: d["paths"]["/api/stylize"]["post"]["responses"].pop("202"),
        lambda d: d["components"]["schemas"]["Stylization"]["properties"].pop("seconds"),
        lambda d: d["components"]["schemas"]["RatingRequest"]["properties"]["stars"].pop("maximum"),
    ):
        damaged = copy.deepcopy(before)
        lose(damaged)
        assert facts(before) - facts(damaged), lose


def test_a_route_keeps_its_own_words_for_its_errors(doc):
    responses = doc["paths"]["/api/classify/{classification_id}/feedback"]["post"]["responses"]
    assert responses["400"]["description"] == "A label the task does not have."
    assert responses["404"]["description"] == "Unknown id or face."


def test_upload_fields_are_refused_exactly_outside_their_described_bounds(client, doc):
    size = schema_of(doc, "StylizeUpload")["properties"]["size"]
    low, high = size["minimum"], size["maximum"]
    for value, refused in ((low - 1, True), (low, False), (high, False), (high + 1, True)):
        response = client.post(
            "/api/stylize",
            data={"content": (io.BytesIO(image_bytes()), "c.jpg"), "size": str(value)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400  # no style picture: refused all the same
        assert ("'size'" in response.json["error"]) is refused, (value, response.json)
