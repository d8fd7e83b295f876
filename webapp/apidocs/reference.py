"""The OpenAPI document flattened into what the /api/docs page lists (no script needed to read it)."""

from __future__ import annotations

import re

from webapp.apidocs.spec import METHODS

_FENCE = re.compile(r"```\n(.*?)\n```", re.DOTALL)


def prose(text: str) -> list[dict]:
    """Markdown-lite for the page: paragraphs of text and `inline code` pieces, and ``` blocks."""
    out: list[dict] = []
    for n, part in enumerate(_FENCE.split(text or "")):
        if n % 2:
            out.append({"code": part})
            continue
        for para in (p.strip() for p in part.split("\n\n")):
            if para:
                pieces = re.split(r"`([^`]*)`", " ".join(para.split()))
                out.append({"pieces": [(piece, i % 2 == 1) for i, piece in enumerate(pieces)]})
    return out


def _bound(value) -> str:
    """A bound as people write it: 1 rather than 1.0; '' when there is none."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def type_of(schema: dict | None) -> str:
    """A short human reading of a JSON schema: `string`, `array of Task`, `integer 1..5 | null`."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema or "allOf" in schema:  # a named shape that may be null, or one of several
        parts = schema.get("anyOf") or schema["allOf"]
        named = [type_of(p) for p in parts if not (p.get("nullable") and "$ref" not in p)]
        nullable = schema.get("nullable") or any(p.get("nullable") for p in parts)
        return " | ".join(named) + (" | null" if nullable else "")
    kind = schema.get("type", "object")
    if kind == "array":
        text = f"array of {type_of(schema.get('items'))}"
    elif "enum" in schema:
        text = " | ".join(repr(v) for v in schema["enum"])
    else:
        text = f"{kind} ({schema['format']})" if "format" in schema else kind
        low, high = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
        if low or high:
            text += f" {low}..{high}"
    return text + (" | null" if schema.get("nullable") else "")


def fields(schema: dict, components: dict) -> list[dict]:
    """The properties of an object schema (following a $ref) as rows of name, type, required, description."""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_of(prop),
            "required": name in required,
            "description": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _content(content: dict) -> list[dict]:
    return [
        {"media": media, "type": type_of(body.get("schema"))}
        for media, body in (content or {}).items()
    ]


def _operation(path: str, method: str, op: dict, doc: dict) -> dict:
    components = doc["components"]
    responses = []
    for status, response in op.get("responses", {}).items():
        if "$ref" in response:
            response = components["responses"][response["$ref"].rsplit("/", 1)[-1]]
        responses.append(
            {
                "status": status,
                "description": response.get("description", ""),
                "content": _content(response.get("content")),
            }
        )
    body = op.get("requestBody", {}).get("content", {})
    return {
        "id": op.get("operationId", f"{method}-{path}").replace(".", "-"),
        "method": method.upper(),
        "path": path,
        "summary": op.get("summary", ""),
        "description": prose(op.get("description", "")),
        "admin": "security" in op,
        "parameters": [
            {
                "name": p["name"],
                "in": p["in"],
                "type": type_of(p.get("schema")),
                "required": p.get("required", False),
                "description": p.get("description", ""),
            }
            for p in op.get("parameters", [])
        ],
        "body": [
            {"media": media, "fields": fields(b.get("schema", {}), components["schemas"])}
            for media, b in body.items()
        ],
        "responses": responses,
    }


def reference(doc: dict) -> dict:
    """Operations grouped by tag, and the named schemas, ready for the template."""
    groups = {
        tag["name"]: {
            "name": tag["name"],
            "description": prose(tag.get("description", "")),
            "operations": [],
        }
        for tag in doc.get("tags", [])
    }
    for path, item in doc["paths"].items():
        for method in [m for m in METHODS if m in item]:
            op = item[method]
            tag = (op.get("tags") or ["operations"])[0]
            groups.setdefault(tag, {"name": tag, "description": "", "operations": []})
            groups[tag]["operations"].append(_operation(path, method, op, doc))
    schemas = [
        {
            "name": name,
            "description": schema.get("description", ""),
            "fields": fields(schema, doc["components"]["schemas"]),
        }
        for name, schema in doc["components"]["schemas"].items()
    ]
    return {
        "title": doc["info"]["title"],
        "version": doc["info"]["version"],
        "description": prose(doc["info"].get("description", "")),
        "groups": [g for g in groups.values() if g["operations"]],
        "schemas": schemas,
    }
