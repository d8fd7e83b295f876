"""What a client sends, checked before a view uses it: JSON bodies, forms, query parameters, URL ids.

Views declare what they take as marshmallow schemas (webapp/apidocs/schemas.py) in their
`arguments(...)` declarations (docs/api.md); `parser` reads the request against them. Every
check answers 400 (or 413) with a message naming the parameter and what it must be, so no input
can reach the code below as a Python error and leave as a 500.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

import marshmallow as ma
from flask import Flask, request
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from werkzeug.routing import IntegerConverter

from webapp.web.errors import ApiError

JSON_MAX_BYTES = (
    1024 * 1024
)  # far above any real body (the largest is a 2000-character rating comment)
JSON_MAX_DEPTH = 16
ID_MAX = 2**31 - 1  # row ids are 32-bit integers on PostgreSQL
_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _nesting(text: str) -> int:
    """How deeply arrays and objects nest in `text` (JSON), without recursing."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    deepest = 0
    for depth in accumulate(1 if c in "[{" else -1 for c in brackets):
        if depth > deepest:
            deepest = depth
            if deepest > JSON_MAX_DEPTH:
                break  # deep enough to refuse; no need to read on
    return deepest


def json_body() -> dict[str, Any]:
    """The request's JSON object; 413 when larger than JSON_MAX_BYTES, 400 when not an object."""
    limit = JSON_MAX_BYTES
    too_large = ApiError(
        f"The JSON body is larger than {limit // 1024} KB; send a smaller one.", 413
    )
    if (request.content_length or 0) > limit:
        raise too_large
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise too_large
    expected = "Send a JSON object in the request body (Content-Type: application/json)."
    if not request.is_json:
        raise ApiError(expected)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("The JSON body is not valid UTF-8.") from None
    if _nesting(text) > JSON_MAX_DEPTH:
        raise ApiError(
            f"The JSON body nests deeper than {JSON_MAX_DEPTH} levels; send a flatter one."
        )
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise ApiError(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise ApiError(expected)
    return body


def _first_problem(messages, data) -> tuple[str | None, str, object]:
    """The first field a marshmallow error names, its message, and the value it was sent."""
    for name, problem in messages.items():
        value = data.get(name, ma.missing) if hasattr(data, "get") and name != "_schema" else None
        while isinstance(problem, dict):  # a list's or an object's inner error: the first one
            key, problem = next(iter(problem.items()))
            if isinstance(value, list) and isinstance(key, int) and key < len(value):
                value = value[key]
            else:
                value = value.get(key, ma.missing) if isinstance(value, dict) else ma.missing
        text = problem[0] if isinstance(problem, list) else str(problem)
        return (None if name == "_schema" else name), text, value
    return None, "The request could not be understood.", ma.missing


def problem_message(messages, data) -> str:
    """One sentence for a marshmallow error: the field, what it must be, and what was received.

    Field messages are written as the rest of a sentence about the field ("must be a whole number
    from 1 to 5."); a message that is a sentence of its own ("Missing image: ...", or one that
    names its field in quotes) is left whole."""
    name, text, value = _first_problem(messages, data)
    if name is None or text[:1].isupper() or text.startswith("'"):
        return text  # a whole sentence of its own
    message = f"'{name}' {text}"
    shown = repr(value)
    if value is not ma.missing and len(shown) <= 80:
        message += f" Received: {shown}"
    return message


class Parser(FlaskParser):
    """webargs' Flask parser speaking this API's language: 400 with `{"error": message}`, JSON read
    by `json_body` (its size, depth and object checks), and `files` meaning the whole multipart
    form (its file and text fields, declared in one schema)."""

    DEFAULT_VALIDATION_STATUS = 400
    # A field a schema does not declare is passed on untouched, as the views always took it.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "json": ma.INCLUDE}

    def load_json(self, req, schema):
        return json_body()

    def load_querystring(self, req, schema):
        """The query string; a parameter sent empty (`?limit=`) counts as not sent."""
        args = MultiDict((k, v) for k, v in req.args.items(multi=True) if v != "")
        return self._makeproxy(args, schema)

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        ((location, messages),) = error.messages.items()
        data = error.data if isinstance(error.data, dict) else {}
        if location == "files":
            data = CombinedMultiDict([req.files, req.form])
        elif location == "query":
            data = req.args
        message = problem_message(messages, data)
        if location == "query" and message.startswith("'"):
            message = f"Query parameter {message}"
        raise ApiError(message, error_status_code or 400)


parser = Parser()


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs, bounded to what an id column holds: larger numbers are a 404, not a 500."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=ID_MAX, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_validation(app: Flask) -> None:
    """Make every `<int:...>` URL part bounded (before any blueprint adds its rules)."""
    app.url_map.converters["int"] = IdConverter
