"""The published API description: /api/openapi.json (OpenAPI 3) and the /api/docs page."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request

from webapp.apidocs import examples
from webapp.apidocs.spec import Blueprint, build_spec

bp = Blueprint("apidocs", __name__)


def openapi_document() -> dict:
    """This app's OpenAPI document, built once from its routes' declarations."""
    return build_spec(current_app)


def served_document() -> dict:
    """The document as this request sees it: its curl sessions and `servers` at the address the
    page was served from (behind trusted proxies, the one they report), not a fixed port 8000."""
    return at_address(openapi_document(), request.host_url.rstrip("/"))


def at_address(document: dict, base: str) -> dict:
    """``document`` as served from ``base``: its examples at that address, and its `servers`."""
    return {**_at(document, base), "servers": [{"url": base}]}


def _at(value, base: str):
    """``value`` with the examples' placeholder address replaced by ``base``, at any depth."""
    if isinstance(value, str):
        return value.replace(examples.BASE, base)
    if isinstance(value, dict):
        return {k: _at(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_at(v, base) for v in value]
    return value


@bp.get("/api/openapi.json")
@bp.doc(summary="The OpenAPI 3 description of this API")
@bp.response(
    200, {"type": "object", "required": ["openapi", "paths"]}, description="The OpenAPI document."
)
def openapi_json():
    """This OpenAPI 3 description of the HTTP API."""
    return jsonify(served_document())


@bp.get("/api/docs")
@bp.doc(summary="The API reference as a web page")
@bp.response(
    200,
    {"type": "string"},
    content_type="text/html",
    description="An HTML page listing every route, its parameters and answers.",
)
def docs():
    """The API reference, rendered on the server from the OpenAPI description."""
    from webapp.apidocs.reference import reference

    return render_template("apidocs/docs.html", api=reference(served_document()))
