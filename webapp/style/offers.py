"""What a user can pick (offers): the style methods of `ml.style.methods` as GET /api/styles and
POST /api/stylize see them, with their defaults and the parameters only some take.

An offer is the API's dict for one pickable method: a built-in method (`arbitrary`, `preset`,
`nst`, ...) under its own name, or a deployed model of a method served from trained folders
(AdaIN, each fixed style) under its target's name. Its `kind` field names the ml method.
"""

from __future__ import annotations

from ml.style import methods as ml_methods
from ml.style import strength as strength_rule
from webapp.exceptions import Invalid
from webapp.extensions import db
from webapp.registry import versions as registry
from webapp.style import builtin as style_builtin
from webapp.style import prefs
from webapp.style.prefs import learned_strength
from webapp.style.timing import expected_waits
from webapp.tables import ModelVersion


def method_of(offer: dict) -> ml_methods.StyleMethod:
    """The ml method behind an offer."""
    return ml_methods.get(offer["kind"])


def method_serving(name: str, mv: ModelVersion | None) -> ml_methods.StyleMethod | None:
    """The ml method that paints `name` (a target) served by `mv` (its model version, if any)."""
    return ml_methods.for_model(mv.kind) if mv is not None else ml_methods.find(name)


def runs_slow(target: str) -> bool:
    """Whether a stylization by the method named `target` runs in the style queue's slow lane:
    a method that optimises (not one pass, `nst`), whose minutes must not hold up a fast picture."""
    method = ml_methods.find(target)
    return method is not None and not method.one_pass


def default_strength(name: str, mv: ModelVersion | None = None, preset=None) -> float:
    """The method's own default strength (a preset's own when named), before ratings teach one."""
    method = method_serving(name, mv if mv is not None else registry.deployed(name))
    return method.default_strength(preset) if method else ml_methods.FIXED_STYLE.strength


def rating_distribution() -> dict[str, dict]:
    """Per method: the stars it got and its learned default strength (webapp.style.prefs)."""
    return prefs.rating_distribution(default_strength)


def _offer(method: ml_methods.StyleMethod, name: str, mv: ModelVersion | None) -> dict:
    offer = {
        "method": name,
        "needs_style_image": method.needs_style,
        "model_version": mv.version if mv else None,
        "kind": method.name,
        "description": method.describe(name),
    }
    if method.takes_preset:
        offer["presets"] = style_builtin.presets(mv, method)
    return offer


def deployed_from_folders() -> list[tuple[str, ModelVersion]]:
    """Deployed models of the methods served from trained folders (AdaIN, fixed styles), by target."""
    model_kinds = [m.model_kind for m in ml_methods.served_from_folders()]
    targets = db.session.scalars(
        db.select(ModelVersion.target)
        .where(ModelVersion.kind.in_(model_kinds))
        .distinct()
        .order_by(ModelVersion.target)
    ).all()
    found = [(t, registry.deployed(t)) for t in targets]
    return [(t, mv) for t, mv in found if mv is not None]


def offers() -> list[dict]:
    """Every method a user can pick now: the built-in ones (listed from the first start, a
    pretrained one registered or not yet), then each deployed trained model."""
    out = [
        _offer(m, m.name, registry.deployed(m.name) if m.pretrained else None)
        for m in ml_methods.built_in()
    ]
    for target, mv in deployed_from_folders():
        method = ml_methods.for_model(mv.kind)
        if method is not None:
            out.append(_offer(method, target, mv))
    return out


def add_defaults_and_waits(offers: list[dict]) -> list[dict]:
    """Each offer's default strength (learned from ratings, else the method's own) and the waits
    past jobs of it had here, per output size."""
    waits = expected_waits()
    for offer in offers:
        own = method_of(offer).default_strength()
        offer["default_strength"] = learned_strength(offer["method"], own)["strength"]
        offer["expected_seconds"] = waits.get(offer["method"], {})
    return offers


def check_strength(value) -> float:
    """`strength` from a request, checked by the one rule (ml.style.strength.check), or Invalid."""
    try:
        return strength_rule.check(value)
    except ValueError:
        try:
            float(value)
        except (TypeError, ValueError):
            raise Invalid(
                f"'strength' must be a number from 0.0 to 1.0. Received: {value!r}"
            ) from None
        raise Invalid(f"'strength' must be from 0.0 to 1.0. Received: {value!r}") from None


def method_params(offer: dict, form) -> dict:
    """Parameters only some methods take: `preset` (required by a method with presets, refused
    by the others)."""
    value, name = form.get("preset"), offer["method"]
    if not method_of(offer).takes_preset:
        if value not in (None, ""):
            raise Invalid(
                f"'preset' goes with method 'preset' only; method {name!r} does not take it."
            )
        return {}
    known = {p["id"]: p["name"] for p in offer.get("presets") or []}
    low, high = method_of(offer).params()["preset"]
    ids = sorted(known) or list(range(low, high + 1))
    if value in (None, ""):
        raise Invalid(
            f"Method {name!r} needs 'preset': the id of one of the ready-made styles, {ids[0]} to {ids[-1]} "
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
