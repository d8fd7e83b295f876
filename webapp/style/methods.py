"""The fast methods in GET /api/styles and POST /api/stylize: entries, defaults, the preset field."""

from __future__ import annotations

from webapp.exceptions import Invalid
from webapp.registry import versions as registry
from webapp.style import builtin as style_builtin
from webapp.style.prefs import learned_strength
from webapp.style.timing import expected_waits

PRESET_COUNT = 26  # the preset network's styles, valid ids before its names are registered


def builtin_methods() -> list[dict]:
    """`arbitrary` (the default) and `preset`: listed from the first start, registered or not yet."""
    out = []
    for target in style_builtin.BUILTIN:
        mv = registry.deployed(target)
        entry = {
            "method": target,
            "needs_style_image": target == "arbitrary",
            "model_version": mv.version if mv else None,
            "kind": target,
            "description": style_builtin.DESCRIPTIONS[target],
        }
        if target == "preset":
            entry["presets"] = style_builtin.presets(mv)
        out.append(entry)
    return out


def add_defaults_and_waits(methods: list[dict]) -> list[dict]:
    """Each entry's default strength (learned from ratings, else the method's own) and the waits
    past jobs of it had here, per output size."""
    waits = expected_waits()
    for entry in methods:
        entry["default_strength"] = learned_strength(
            entry["method"], style_builtin.default_strength(entry["method"])
        )["strength"]
        entry["expected_seconds"] = waits.get(entry["method"], {})
    return methods


def method_params(method: dict, form) -> dict:
    """Parameters only some methods take: `preset` (required with method preset, refused otherwise)."""
    value = form.get("preset")
    if method["method"] != "preset":
        if value not in (None, ""):
            raise Invalid(
                f"'preset' goes with method 'preset' only; method {method['method']!r} does not take it."
            )
        return {}
    known = {p["id"]: p["name"] for p in method.get("presets") or []}
    ids = sorted(known) or list(range(1, PRESET_COUNT + 1))
    if value in (None, ""):
        raise Invalid(
            f"Method 'preset' needs 'preset': the id of one of the ready-made styles, {ids[0]} to {ids[-1]} "
            "(GET /api/styles lists them)."
        )
    try:
        preset = int(value)
    except (TypeError, ValueError):
        raise Invalid(
            f"'preset' must be a style id from {ids[0]} to {ids[-1]}. Received: {value!r}"
        ) from None
    if preset not in ids or str(preset) != str(value).strip():
        raise Invalid(
            f"There is no preset style {value!r}; choose an id from {ids[0]} to {ids[-1]} "
            "(GET /api/styles lists them)."
        )
    return {"preset": preset}
