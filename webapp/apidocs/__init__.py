"""The published API description: /api/openapi.json (OpenAPI 3) and the /api/docs page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from webapp.apidocs import examples
from webapp.apidocs.spec import build_spec

bp = Blueprint("apidocs", __name__)


def openapi_document() -> dict:
    """This app's OpenAPI document, built once from its routes."""
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = build_spec(current_app)
    return current_app.extensions["openapi"]


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
def openapi_json():
    """This OpenAPI 3 description of the HTTP API.
    ---
    get:
      summary: The OpenAPI 3 description of this API
      responses:
        200:
          description: The OpenAPI document.
          content: {application/json: {schema: {type: object, required: [openapi, paths]}}}
    """
    return jsonify(served_document())


@bp.get("/api/docs")
def docs():
    """The API reference, rendered on the server from the OpenAPI description.
    ---
    get:
      summary: The API reference as a web page
      responses:
        200:
          description: An HTML page listing every route, its parameters and answers.
          content: {text/html: {schema: {type: string}}}
    """
    from webapp.apidocs.reference import reference

    return render_template("apidocs/docs.html", api=reference(served_document()))
