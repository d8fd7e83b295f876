"""Retraining the AdaIN decoder from what users uploaded and how they rated the results.

The decoder is fine-tuned from the deployed one on the users' content photos and style
images, with well-rated styles repeated (weighted up) and badly rated ones left out. The gate
is the judge network's fidelity on a fixed set of (content, style) pairs: the earliest images
users gave, which no later upload changes.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml
from flask import current_app

from . import registry
from .config import REPO_ROOT
from .errors import ApiError
from .extensions import db
from .jobs.runner import JobCancelled, JobContext, workdir
from .models import Image, Job, Rating, Stylization
from .services import load_pixels, saving, storage

MIN_CONTENT, MIN_STYLES, JUDGE_PAIRS, JUDGE_SIZE = 4, 2, 4, 128


def style_weights() -> dict[int, int]:
    """Copies of each style image in the training set: 3 if rated well, 1 unrated or middling, 0 if disliked."""
    stars: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(db.select(Stylization.style_image_id, Rating.stars)
                              .join(Rating, Rating.stylization_id == Stylization.id, isouter=True)
                              .where(Stylization.style_image_id.is_not(None)))
    for image_id, rating in rows:
        stars[image_id] += [rating] if rating else []
    weights = {}
    for image_id, given in stars.items():
        mean = sum(given) / len(given) if given else 3.0
        weights[image_id] = 3 if mean >= 4 else 1 if mean >= 2.5 else 0
    return weights


def content_images() -> list[int]:
    """Every distinct content photo users stylized."""
    return list(db.session.scalars(db.select(Stylization.content_image_id).distinct()
                                   .order_by(Stylization.content_image_id)))


def _write(image_ids: list[int], folder: Path, copies: dict[int, int] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for image_id in image_ids:
        image = db.session.get(Image, image_id)
        data = storage().get(image.storage_key)
        for copy in range((copies or {}).get(image_id, 1)):
            (folder / f"{image_id}-{copy}.{image.format}").write_bytes(data)


def _pixels(image_id: int) -> np.ndarray:
    return load_pixels(db.session.get(Image, image_id).storage_key)


def judge_set(contents: list[int], styles: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The fixed judging pairs: the earliest content photos with the earliest style images."""
    pairs = [(c, styles[i % len(styles)]) for i, c in enumerate(contents[:JUDGE_PAIRS])]
    return [(_pixels(c), _pixels(s)) for c, s in pairs]


def fidelity(model_dir: Path, pairs) -> dict:
    """Mean judge distances of a decoder's results to the styles and to the contents (lower is closer)."""
    from ml import judge
    from ml.adain import AdaINStylizer

    stylizer = AdaINStylizer.load(model_dir)
    style_d, content_d = [], []
    for content, style in pairs:
        result = stylizer.stylize(content, style, strength=1.0, size=JUDGE_SIZE)
        style_d.append(judge.style_distance(result, style))
        content_d.append(judge.content_distance(result, content))
    style_mean, content_mean = float(np.mean(style_d)), float(np.mean(content_d))
    return {"style_distance": style_mean, "content_distance": content_mean, "fidelity": style_mean + content_mean,
            "pairs": len(pairs)}


def _baseline(pairs) -> dict:
    """What leaving the photo untouched scores: the bar a first decoder must clear on style."""
    from ml import judge

    style_d = [judge.style_distance(c, s) for c, s in pairs]
    return {"style_distance": float(np.mean(style_d)), "content_distance": 0.0, "baseline": "unchanged photo"}


def _decide(candidate: dict, current, compared: dict) -> tuple[bool, str]:
    if current is None:
        ok = candidate["style_distance"] < compared["style_distance"]
        return ok, (f"first decoder: style distance {candidate['style_distance']:.3f} "
                    f"{'beats' if ok else 'does not beat'} the unchanged photo's {compared['style_distance']:.3f}")
    ok = candidate["fidelity"] <= compared["fidelity"] + 1e-9
    return ok, (f"fidelity {candidate['fidelity']:.3f} is {'not worse than' if ok else 'worse than'} "
                f"deployed {current.version}'s {compared['fidelity']:.3f}" + ("" if ok else f"; {current.version} stays"))


def _config(current, tmp: Path) -> dict:
    config = yaml.safe_load((REPO_ROOT / "ml" / "configs" / "adain.yaml").read_text())
    config.update({"steps": int(current_app.config.get("STYLE_FINETUNE_STEPS", 200)), "image_size": 128,
                   "batch_size": 4, "learning_rate": 5e-5})
    if current is not None:
        config["init_decoder"] = str(registry.local_dir(current))
    return config


def retrain_style(target: str, job: Job, ctx: JobContext) -> dict:
    """Fine-tune the AdaIN decoder from user images and ratings; promote only if fidelity holds."""
    from ml import train as ml_train

    if target != "adain":
        raise ValueError(f"{target!r} is a fixed style: retrain it with `python -m ml.train ml/configs/cyclegan.yaml` "
                         "and add it with `flask models register`.")
    weights, contents = style_weights(), content_images()
    styles = sorted(i for i, w in weights.items() if w > 0)
    if len(contents) < MIN_CONTENT or len(styles) < MIN_STYLES:
        raise ValueError(f"Not enough user images to retrain adain: need {MIN_CONTENT} content photos and "
                         f"{MIN_STYLES} liked style images, have {len(contents)} and {len(styles)}.")
    current = registry.deployed("adain")
    with workdir(job.id) as tmp:
        _write(contents, tmp / "data" / "content")
        _write(styles, tmp / "data" / "style", weights)
        ctx.progress(0.05, f"fine-tuning on {len(contents)} photos and {len(styles)} styles (weighted by rating)")
        try:
            ml_train.train(_config(current, tmp), tmp / "data", tmp / "model", seed=0, should_stop=ctx.should_stop,
                           progress=lambda f, m: ctx.progress(0.05 + 0.8 * f, m))
        except ml_train.Cancelled:
            raise JobCancelled() from None
        ctx.progress(0.88, "judging the candidate and the deployed decoder on the fixed pairs")
        pairs = judge_set(contents, sorted(weights))
        candidate = fidelity(tmp / "model", pairs)
        compared = fidelity(registry.local_dir(current), pairs) if current else _baseline(pairs)
        promoted, reason = _decide(candidate, current, compared)
        counts = {"content": len(contents), "styles": len(styles), "style_copies": sum(weights[s] for s in styles)}
        with saving() as new_keys:
            mv = registry.register_version("adain", "adain", tmp / "model", new_keys, metrics=candidate,
                                           data_counts=counts, parent_id=current.id if current else None,
                                           created_by=job.created_by, job_id=job.id)
    if promoted:
        try:
            registry.promote("adain", mv.version, actor=job.created_by or "retrain", action="auto", reason=reason)
            db.session.commit()
        except ApiError as exc:
            promoted, reason = False, exc.message
    return {"model_version": mv.version, "metrics": candidate, "promoted": promoted, "reason": reason,
            "compared_with": {"model_version": current.version if current else None, "metrics": compared},
            "data_counts": counts}
