"""The stylize job's handler: a stylization rendered by the job worker. Inputs come from storage,
ml does the work."""

from __future__ import annotations

import io
import time
import uuid

import numpy as np
from flask import current_app
from PIL import Image as PILImage

from ml.style import methods as ml_methods
from ml.style.methods import StyleMethod
from webapp.extensions import db
from webapp.jobs.background import MODELS_LOCK
from webapp.jobs.runner import JobCancelled, JobContext
from webapp.registry import versions as registry
from webapp.storage.store import load_pixels, saving, storage
from webapp.style import builtin as style_builtin
from webapp.style.offers import method_serving
from webapp.tables import Job, ModelVersion, Stylization, utcnow


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def run_stylization(job: Job, ctx: JobContext) -> dict:
    """Render a stylization and store the PNG before the row's result key and timings (object
    before row). Its status, progress and error are its job's: the runner writes them."""
    from ml import stylize as ml_stylize

    row = db.session.scalar(db.select(Stylization).where(Stylization.job_id == job.id))
    row.started, row.finished = utcnow(), None
    db.session.commit()
    started = time.perf_counter()
    try:
        with MODELS_LOCK:  # never while the warm-up or the other lane builds a model
            mv = _model_version(row)
            method = method_serving(row.method, mv)
            model_dir = str(registry.local_dir(mv)) if mv else None
            kwargs = _method_kwargs(row, method)
            _load_models(mv, method, kwargs)
        style = load_pixels(row.style_image.storage_key) if row.style_image else None
        result = ml_stylize.run(
            load_pixels(row.content_image.storage_key),
            style,
            method=method.name,
            strength=row.params["strength"],
            size=row.params["size"],
            model_dir=model_dir,
            progress=ctx.progress,
            should_stop=ctx.should_stop,
            weights=current_app.config["STYLE_WEIGHTS"],
            max_evals=current_app.config["NST_MAX_EVALS"],
            **kwargs,
        )
    except ml_stylize.Cancelled:
        raise JobCancelled() from None
    except (
        Exception
    ) as exc:  # the runner logs the traceback and ends the job failed with this reason
        raise StylizationFailed(f"Stylization failed: {exc or type(exc).__name__}") from exc
    seconds = round(time.perf_counter() - started, 2)
    key = f"results/{row.id}-{uuid.uuid4().hex[:12]}.png"
    with saving() as new_keys:
        storage().put(key, _png(result.image), content_type="image/png")
        new_keys.append(key)
        row.result_key, row.seconds, row.stats, row.finished = (
            key,
            seconds,
            _jsonable(result.stats),
            utcnow(),
        )
    return {"stylization_id": row.id, "seconds": seconds, "stats": row.stats}


def _load_models(mv: ModelVersion | None, method: StyleMethod, kwargs: dict) -> None:
    """Load (once per process, through the registry's one cache) the networks a render uses, and
    build what the method needs, so the render itself builds none."""
    if mv is not None:
        registry.load(mv)
    if kwargs.get("init_model_dir"):
        style_builtin.serving(ml_methods.get(method.starts_from))
    if method.prepare is not None:
        method.prepare(current_app.config["STYLE_WEIGHTS"])


class StylizationFailed(Exception):
    """A render failed; its message is what the user is told."""


def _model_version(row: Stylization) -> ModelVersion | None:
    """The model a stylization runs with; a pretrained network is registered and loaded on first
    use (normally the worker's warm-up has done both already)."""
    method = ml_methods.find(row.method)
    if method is not None and method.pretrained:
        deployed, _ = style_builtin.serving(method)
        if row.model_version_id is None:
            row.model_version_id = deployed.id
            db.session.commit()
    return db.session.get(ModelVersion, row.model_version_id) if row.model_version_id else None


def _method_kwargs(row: Stylization, method: StyleMethod) -> dict:
    """The preset id for a method with presets; for a method that starts from a pretrained
    network's picture (`nst`), that deployed network (the one this worker already holds warm, not
    a second copy converted into another cache)."""
    if method.takes_preset:
        return {"preset": int(row.params["preset"])}
    if method.starts_from:
        try:
            start = style_builtin.ensure(ml_methods.get(method.starts_from))
            return {"init_model_dir": str(registry.local_dir(start))}
        except (ValueError, OSError) as exc:  # it then starts from the photo and says so
            current_app.logger.warning("%s without its start: %s", method.name, exc)
    return {}


def _jsonable(stats: dict) -> dict:
    return {
        k: (float(v) if isinstance(v, (np.floating, np.integer)) else v)
        for k, v in (stats or {}).items()
    }
