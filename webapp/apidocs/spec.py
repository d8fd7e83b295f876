"""The OpenAPI 3 description, generated from the app's URL rules and its views' docstrings.

apispec's FlaskPlugin reads the YAML after `---` in each view's docstring (its operations:
responses, request bodies, query parameters). `Conventions` then adds what every route shares,
so the docstrings state only what is particular to a route: path parameters typed from the URL
converters, the error responses each kind of route can give, tags, and the admin security.
"""

from __future__ import annotations

import re

from apispec import APISpec, BasePlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter, Rule

from webapp.apidocs import examples, schemas

_YAML_START = re.compile(r"^\s*---\s*$", re.MULTILINE)
METHODS = ("get", "put", "post", "delete", "patch")
TAGS = [{"name": name, "description": text} for name, text in examples.GROUPS.items()]
DESCRIPTION = (
    'CelebVision\'s HTTP API. Every error answers JSON `{"error": "<message>"}` with a message a '
    "person can act on. Images are sent as multipart form files (JPEG, PNG or WebP). Admin routes "
    "take HTTP Basic credentials of an admin account or an admin's logged-in session. Feedback on "
    "a classification and rating a stylization need the `cv_client` cookie the upload's answer "
    "set (curl: `-c jar.txt` on the upload, `-b jar.txt` after). Each group below starts with a "
    "curl session (the examples use jq to read JSON)."
)


def documented(view) -> bool:
    """Whether a view's docstring carries an OpenAPI block."""
    return bool(_YAML_START.search(view.__doc__ or ""))


def _tag(path: str) -> str:
    if path.startswith("/api/admin"):
        return "admin"
    if path.startswith(("/api/styl", "/api/styles")):
        return "style"
    if path.startswith(("/api/classify", "/api/tasks")):
        return "classification"
    return "operations"


def _converter_schema(converter) -> dict:
    if isinstance(converter, AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    if isinstance(converter, IntegerConverter):
        return {
            "type": "integer",
            "minimum": converter.min or 0,
            **({"maximum": converter.max} if converter.max is not None else {}),
        }
    if isinstance(converter, PathConverter):
        return {"type": "string", "minLength": 1}
    return {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def path_parameters(rule: Rule) -> list[dict]:
    """The rule's URL variables as OpenAPI path parameters, typed from their converters."""
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _converter_schema(converter),
            "description": schemas.PATH_PARAMETERS.get(
                name, name.replace("_", " ").capitalize() + "."
            ),
        }
        for name, converter in rule._converters.items()
    ]


class Conventions(BasePlugin):
    """Adds what every route shares to the operations FlaskPlugin read from a docstring."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = FlaskPlugin._rule_for_view(kwargs["view"], app=kwargs.get("app"))
        params = path_parameters(rule)
        admin = rule.rule.startswith("/api/admin")
        for method in [m for m in METHODS if m in operations]:
            op = operations[method]
            op.setdefault("tags", [_tag(rule.rule)])
            op.setdefault("operationId", f"{rule.endpoint}.{method}")
            if described := examples.describe(rule.endpoint, op.get("description", "")):
                op["description"] = described
            if params:
                op["parameters"] = params + op.get("parameters", [])
            responses = op.setdefault("responses", {})
            common = {"429": "TooManyRequests", "503": "Unavailable"}
            if params:
                common["404"] = "NotFound"
            if op.get("parameters") or "requestBody" in op:
                common["400"] = "BadRequest"
            if "requestBody" in op:
                common["413"] = "TooLarge"
            if admin:
                common["401"] = "Unauthorized"
                op.setdefault("security", [{"basicAuth": []}, {"cookieAuth": []}])
            for status, name in common.items():
                responses.setdefault(status, name)
            responses.setdefault(
                "default",
                {
                    "description": "Any other error.",
                    "content": {"application/json": {"schema": "Error"}},
                },
            )
            op["responses"] = dict(
                sorted(responses.items(), key=lambda kv: (kv[0] == "default", str(kv[0])))
            )


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3 document of every documented route of `app`."""
    spec = APISpec(
        title="CelebVision API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), Conventions()],
        info={"description": DESCRIPTION},
        tags=TAGS,
    )
    for name, schema in schemas.SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, response in schemas.RESPONSES.items():
        spec.components.response(name, response)
    for name, scheme in schemas.SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            view = app.view_functions[rule.endpoint]
            if documented(view) and app.url_map._rules_by_endpoint[rule.endpoint][0] is rule:
                spec.path(view=view, app=app)
    return spec.to_dict()


def undocumented_routes(app: Flask) -> list[str]:
    """API and operations routes whose view has no OpenAPI block (a test keeps this empty)."""
    public = ("/api/", "/healthz", "/metrics")
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(public) and not documented(app.view_functions[rule.endpoint])
    )
