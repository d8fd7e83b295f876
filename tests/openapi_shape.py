"""An OpenAPI document reduced to the facts a client relies on, so that two descriptions written
differently (components named otherwise, `$ref` or inline, keys in another order) compare equal,
and a lost path, method, parameter, request field, response code or property shows as a missing
fact."""

from __future__ import annotations

import json

# Keywords of a JSON schema whose value is a fact about it (structure is walked separately).
_SCALARS = (
    "type",
    "format",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "nullable",
    "default",
    "minItems",
    "maxItems",
    "uniqueItems",
    "description",
    "example",
)


def _resolve(doc: dict, value):
    """`value` with every local `$ref` replaced by what it points at (cycles left as the name)."""

    def walk(node, seen: tuple):
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return {"recursive": True}
            target = doc
            for part in ref.lstrip("#/").split("/"):
                target = target[part]
            return walk({**target, **{k: v for k, v in node.items() if k != "$ref"}}, (*seen, ref))
        return {k: walk(v, seen) for k, v in node.items()}

    return walk(value, ())


def _number(value):
    """1.0 and 1 are the same JSON number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def _text(value) -> str:
    value = _number(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        value = sorted(value, key=repr)
    return json.dumps(value, sort_keys=True)


_NULL = {"type": "object", "nullable": True}


def _flat(schema: dict) -> dict:
    """The same schema without composition that only says it plainly: `allOf: [X]` is X (with
    the siblings), `anyOf: [X, {nullable object}]` is X, nullable; `additionalProperties: {}`
    is `true`."""
    schema = dict(schema)
    for part in schema.pop("allOf", []):
        schema = {**_flat(part), **schema}
    if "anyOf" in schema:
        parts = [p for p in schema["anyOf"] if p != _NULL]
        if len(parts) == 1 and len(schema["anyOf"]) == 2:
            del schema["anyOf"]
            schema = {**_flat(parts[0]), **schema, "nullable": True}
    if schema.get("additionalProperties") == {}:
        schema["additionalProperties"] = True
    return schema


def schema_facts(schema, where: str) -> set[str]:
    """Facts about a (resolved) JSON schema at `where`."""
    if not isinstance(schema, dict):
        return {f"{where} = {_text(schema)}"}
    schema = _flat(schema)
    facts = {f"{where} {key}={_text(schema[key])}" for key in _SCALARS if key in schema}
    if "required" in schema:
        facts |= {f"{where} required {name}" for name in schema["required"]}
    for name, prop in schema.get("properties", {}).items():
        facts.add(f"{where}.{name}")
        facts |= schema_facts(prop, f"{where}.{name}")
    if "items" in schema:
        facts |= schema_facts(schema["items"], f"{where}[]")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        facts |= schema_facts(extra, f"{where}{{*}}")
    elif extra is not None:
        facts.add(f"{where} additionalProperties={_text(extra)}")
    return facts


def _content_facts(content: dict, where: str) -> set[str]:
    facts = set()
    for media, body in (content or {}).items():
        facts.add(f"{where} {media}")
        facts |= schema_facts(body.get("schema", {}), f"{where} {media} $")
    return facts


def facts(doc: dict) -> set[str]:
    """Everything `doc` promises, as a set of comparable lines."""
    doc = _resolve(doc, doc)
    out = {f"openapi {doc['openapi']}"}
    out |= {f"info {key}={_text(value)}" for key, value in doc.get("info", {}).items()}
    out |= {f"tag {t['name']}: {t.get('description', '')}" for t in doc.get("tags", [])}
    for name, scheme in doc.get("components", {}).get("securitySchemes", {}).items():
        out.add(f"security scheme {name} {_text(scheme)}")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            out.add(where)
            for key in ("summary", "description", "operationId", "tags", "security"):
                if key in op:
                    out.add(f"{where} {key}={_text(op[key])}")
            for p in [*item.get("parameters", []), *op.get("parameters", [])]:
                at = f"{where} param {p['in']}:{p['name']}"
                out.add(at)
                out |= {f"{at} {k}={_text(p[k])}" for k in ("required", "description") if k in p}
                out |= schema_facts(p.get("schema", {}), f"{at} $")
            if "requestBody" in op:
                body = op["requestBody"]
                out.add(f"{where} body required={_text(body.get('required', False))}")
                out |= _content_facts(body.get("content"), f"{where} body")
            for status, response in op.get("responses", {}).items():
                at = f"{where} -> {status}"
                out.add(f"{at}: {response.get('description', '')}")
                for header, spec in response.get("headers", {}).items():
                    out.add(f"{at} header {header}: {spec.get('description', '')}")
                    out |= schema_facts(spec.get("schema", {}), f"{at} header {header} $")
                out |= _content_facts(response.get("content"), at)
    return out
