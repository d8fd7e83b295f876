"""The published API description: /api/openapi.json (OpenAPI 3) and the /api/docs page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from webapp.apidocs.spec import build_spec

bp = Blueprint("apidocs", __name__)


def openapi_document() -> dict:
    """This app's OpenAPI document, built once from its routes."""
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = build_spec(current_app)
    return current_app.extensions["openapi"]


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
    return jsonify(openapi_document())


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

    return render_template("apidocs/docs.html", api=reference(openapi_document()))
