"""What a client sends, checked before a view uses it: JSON bodies, query parameters, URL ids.

Every check answers 400 (or 413) with a message naming the parameter and what it must be, so no
input can reach the code below as a Python error and leave as a 500.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from flask import Flask, request
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


def query_int(name: str, default: int, low: int, high: int) -> int:
    """Query parameter `name` as a whole number in low..high; 400 naming it otherwise."""
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if not re.fullmatch(r"[+-]?\d{1,12}", value.strip()):
        raise ApiError(
            f"Query parameter '{name}' must be a whole number from {low} to {high}. Received: {value!r}"
        )
    number = int(value)
    if not low <= number <= high:
        raise ApiError(
            f"Query parameter '{name}' must be from {low} to {high}. Received: {value!r}"
        )
    return number


def query_str(
    name: str,
    default: str | None = None,
    choices: tuple[str, ...] | None = None,
    max_length: int = 200,
) -> str | None:
    """Query parameter `name` as text (one of `choices` when given); 400 naming it otherwise."""
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if choices is not None and value not in choices:
        raise ApiError(
            f"Query parameter '{name}' must be one of {list(choices)}. Received: {value!r}"
        )
    if len(value) > max_length or "\x00" in value:
        raise ApiError(f"Query parameter '{name}' must be text of at most {max_length} characters.")
    return value


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs, bounded to what an id column holds: larger numbers are a 404, not a 500."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=ID_MAX, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_validation(app: Flask) -> None:
    """Make every `<int:...>` URL part bounded (before any blueprint adds its rules)."""
    app.url_map.converters["int"] = IdConverter
