"""The style model kinds' serving half: retraining style models from what users uploaded and how
they rated the results, and each style kind's plugin (`ModelKindPlugin`, registered by
`webapp.wiring`). `webapp.classification.retrain` plays the same role for the task models.

`arbitrary` (the pretrained fast network, v1 from the wheel): its transformer is fine-tuned
from the deployed version on the (content, style) pairs users stylized, drawn in proportion to
how they rated them (well-rated more often, 1-2 stars never). The gate is the VGG16 judge
(`ml/style/judge.py`; the fine-tune's own losses use the same layers, so the gate's independence is
the fixed pairs, which training never sees) on a fixed set of pairs made from photos
scikit-image ships, which no upload changes.

`adain`: the decoder is fine-tuned from the deployed one on the users' content photos and style
images, with well-rated styles repeated (weighted up) and badly rated ones left out. Its gate is
the judge network's fidelity on the earliest images users gave, which no later upload changes.

Both end the same way: the candidate is registered as the next version and deployed only when it
is not worse than the deployed one on its fixed pairs, with the reason in the job's result.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml
from flask import current_app

from ml import kinds as ml_kinds
from ml.style import methods as ml_methods
from webapp.config import REPO_ROOT
from webapp.exceptions import Invalid
from webapp.extensions import db
from webapp.jobs.runner import JobCancelled, JobContext
from webapp.registry import versions as registry
from webapp.registry.model_kinds import Candidate, ModelKindPlugin
from webapp.storage.store import load_pixels, storage
from webapp.style import builtin
from webapp.style.builtin import ensure
from webapp.tables import Image, Job, ModelVersion, Rating, Stylization

MIN_CONTENT, MIN_STYLES, JUDGE_PAIRS, JUDGE_SIZE = 4, 2, 4, 128


def style_weights() -> dict[int, int]:
    """Copies of each style image in the training set, by `rating_weight` of its ratings."""
    stars: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(
        db.select(Stylization.style_image_id, Rating.stars)
        .join(Rating, Rating.stylization_id == Stylization.id, isouter=True)
        .where(Stylization.style_image_id.is_not(None))
    )
    for image_id, rating in rows:
        stars[image_id] += [rating] if rating else []
    return {image_id: int(rating_weight(given)) for image_id, given in stars.items()}


def rating_weight(stars: list[int]) -> float:
    """The one rule from ratings to training weight (AdaIN's style copies, arbitrary's pair
    draws): 3 for a mean of 4+ stars, 1 unrated or middling, 0 for 1-2 stars (never drawn)."""
    if not stars:
        return 1.0
    mean = sum(stars) / len(stars)
    return 3.0 if mean >= 4 else 1.0 if mean >= 2.5 else 0.0


def content_images() -> list[int]:
    """Every distinct content photo users stylized."""
    return list(
        db.session.scalars(
            db.select(Stylization.content_image_id)
            .distinct()
            .order_by(Stylization.content_image_id)
        )
    )


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
    """Mean judge distances of a decoder's results to the styles and to the contents (lower is
    closer), by the one judging recipe (ml.style.judge.judge_pairs), and the unchanged photos'
    own style distance at the same size (what a first decoder must beat)."""
    from ml.style import judge
    from ml.style.adain import AdaINStylizer

    stylizer = AdaINStylizer.load(model_dir)
    found = judge.judge_pairs(
        lambda content, style: stylizer.stylize(content, style, strength=1.0, size=JUDGE_SIZE),
        pairs,
        JUDGE_SIZE,
    )
    return {
        "style_distance": found["style_distance"],
        "content_distance": found["content_distance"],
        "fidelity": found["style_distance"] + found["content_distance"],
        "pairs": found["n"],
        "photo_style_distance": found["photo_style_distance"],
    }


def _baseline(candidate: dict) -> dict:
    """What leaving the photo untouched scores (judged at the candidate's size, on its pairs):
    the bar a first decoder must clear on style."""
    return {
        "style_distance": candidate["photo_style_distance"],
        "content_distance": 0.0,
        "baseline": "unchanged photo",
    }


def _decide(candidate: dict, current, compared: dict) -> tuple[bool, str]:
    if current is None:
        ok = candidate["style_distance"] < compared["style_distance"]
        return ok, (
            f"first decoder: style distance {candidate['style_distance']:.3f} "
            f"{'beats' if ok else 'does not beat'} the unchanged photo's {compared['style_distance']:.3f}"
        )
    ok = candidate["fidelity"] <= compared["fidelity"] + 1e-9
    return ok, (
        f"fidelity {candidate['fidelity']:.3f} is {'not worse than' if ok else 'worse than'} "
        f"deployed {current.version}'s {compared['fidelity']:.3f}"
        + ("" if ok else f"; {current.version} stays")
    )


def _config(current, tmp: Path) -> dict:
    config = yaml.safe_load((REPO_ROOT / "ml" / "configs" / "adain.yaml").read_text())
    config.update(
        {
            "steps": current_app.config["STYLE_FINETUNE_STEPS"],
            "image_size": 128,
            "batch_size": 4,
            "learning_rate": 5e-5,
        }
    )
    if current is not None:
        config["init_decoder"] = str(registry.local_dir(current))
    return config


def _train_adain(job: Job, ctx: JobContext, tmp: Path, current: ModelVersion | None) -> Candidate:
    """Fine-tune the AdaIN decoder from user images and ratings and judge it on the fixed pairs."""
    from ml import train as ml_train

    weights, contents = style_weights(), content_images()
    styles = sorted(i for i, w in weights.items() if w > 0)
    if len(contents) < MIN_CONTENT or len(styles) < MIN_STYLES:
        raise ValueError(
            f"Not enough user images to retrain adain: need {MIN_CONTENT} content photos and "
            f"{MIN_STYLES} liked style images, have {len(contents)} and {len(styles)}."
        )
    _write(contents, tmp / "data" / "content")
    _write(styles, tmp / "data" / "style", weights)
    ctx.progress(
        0.05, f"fine-tuning on {len(contents)} photos and {len(styles)} styles (weighted by rating)"
    )
    try:
        ml_train.train(
            _config(current, tmp),
            tmp / "data",
            tmp / "model",
            seed=0,
            should_stop=ctx.should_stop,
            progress=lambda f, m: ctx.progress(0.05 + 0.8 * f, m),
        )
    except ml_train.Cancelled:
        raise JobCancelled() from None
    ctx.progress(0.88, "judging the candidate and the deployed decoder on the fixed pairs")
    pairs = judge_set(contents, sorted(weights))
    candidate = fidelity(tmp / "model", pairs)
    compared = fidelity(registry.local_dir(current), pairs) if current else _baseline(candidate)
    passed, reason = _decide(candidate, current, compared)
    counts = {
        "content": len(contents),
        "styles": len(styles),
        "style_copies": sum(weights[s] for s in styles),
    }
    return Candidate(
        model_dir=tmp / "model",
        metrics=candidate,
        compared=compared,
        passed=passed,
        reason=reason,
        data_counts=counts,
    )


# ---------------------------------------------------------------- arbitrary (the pretrained fast network)

ARBITRARY_MIN_PAIRS = 2
ARBITRARY_RECENT_PAIRS = 500
# Fixed judging pairs from pictures scikit-image ships: the same for every install and every retrain.
JUDGE_PHOTOS = (
    ("astronaut", "immunohistochemistry"),
    ("chelsea", "coffee"),
    ("rocket", "hubble_deep_field"),
)


def pair_weights() -> dict[tuple[int, int], float]:
    """Every (content image, style image) pair users stylized successfully (the most recent
    ARBITRARY_RECENT_PAIRS), with its weight. Ratings of any method count: they say whether
    people liked that photo in that style."""
    stars: dict[tuple[int, int], list[int]] = {}
    rows = db.session.execute(
        db.select(Stylization.content_image_id, Stylization.style_image_id, Rating.stars)
        .join(Rating, Rating.stylization_id == Stylization.id, isouter=True)
        .where(Stylization.style_image_id.is_not(None), Stylization.status == "done")
        .order_by(Stylization.id.desc())
    )
    for content_id, style_id, given in rows:
        pair = (content_id, style_id)
        if pair not in stars and len(stars) >= ARBITRARY_RECENT_PAIRS:
            continue
        stars.setdefault(pair, []).extend([given] if given else [])
    return {pair: rating_weight(given) for pair, given in stars.items()}


def _shrunk(image_id: int, side: int) -> np.ndarray:
    """A user's picture, its longest side at most `side` (the trainer crops and scales anyway)."""
    from PIL import Image as PILImage

    pixels = _pixels(image_id)
    if max(pixels.shape[:2]) <= side:
        return pixels
    picture = PILImage.fromarray(pixels)
    picture.thumbnail((side, side), PILImage.LANCZOS)
    return np.asarray(picture)


def judge_pairs_fixed(size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The fixed judging pairs, scaled so their longest side is `size`."""
    from PIL import Image as PILImage
    from skimage import data

    def load(name: str) -> np.ndarray:
        picture = PILImage.fromarray(getattr(data, name)()).convert("RGB")
        picture.thumbnail((size, size), PILImage.LANCZOS)
        return np.asarray(picture)

    return [(load(content), load(style)) for content, style in JUDGE_PHOTOS]


def judged(model_dir: Path, pairs, size: int) -> dict:
    """The judge's distances for a network on the fixed pairs, and the score the gate compares:
    style ratio (result vs the photo's own style distance) plus content distance, lower is better."""
    from ml.style.fast_style_train import judge_arbitrary

    found = judge_arbitrary(model_dir, pairs, size=size)
    out = {k: v.item() if isinstance(v, np.generic) else v for k, v in found.items()}
    out["score"] = float(out["style_ratio"]) + float(out["content"])
    return out


def decide_arbitrary(candidate: dict, current, compared: dict) -> tuple[bool, str]:
    """Promote only when the candidate's score is not worse than the deployed version's."""
    ok = candidate["score"] <= compared["score"] + 1e-9
    detail = (
        f"style ratio {candidate['style_ratio']:.4f} vs {compared['style_ratio']:.4f}, "
        f"content {candidate['content']:.4f} vs {compared['content']:.4f}"
    )
    return ok, (
        f"judge score {candidate['score']:.4f} is {'not worse than' if ok else 'worse than'} deployed "
        f"{current.version}'s {compared['score']:.4f} on the {compared.get('n', len(JUDGE_PHOTOS))} fixed "
        f"pairs ({detail})" + ("" if ok else f"; {current.version} stays")
    )


def _train_arbitrary(job: Job, ctx: JobContext, tmp: Path, current: ModelVersion) -> Candidate:
    """Fine-tune the deployed arbitrary network on rated user pairs and judge it on the fixed pairs."""
    from ml.common.stoppable import Cancelled

    weights = pair_weights()
    drawn = {pair: w for pair, w in weights.items() if w > 0}
    if len(drawn) < ARBITRARY_MIN_PAIRS:
        raise ValueError(
            f"Not enough rated pictures to retrain arbitrary: need {ARBITRARY_MIN_PAIRS} (photo, style "
            f"picture) pairs that users did not rate 1-2 stars, have {len(drawn)} "
            f"({len(weights) - len(drawn)} left out for low ratings)."
        )
    size = current_app.config["STYLE_FINETUNE_SIZE"]
    judge_size = current_app.config["STYLE_JUDGE_SIZE"]
    steps = current_app.config["STYLE_FINETUNE_STEPS"]
    ctx.progress(
        0.02,
        f"reading {len(drawn)} rated pairs ({len(weights) - len(drawn)} left out for 1-2 stars)",
    )
    shrunk = functools.lru_cache(maxsize=None)(
        lambda image: _shrunk(image, 2 * size)
    )  # read each picture once
    pairs = [(shrunk(c), shrunk(s), w) for (c, s), w in drawn.items()]
    ctx.progress(
        0.05,
        f"fine-tuning {current.version} for {steps} steps on {len(pairs)} pairs (drawn by rating)",
    )
    try:
        stats = ml_kinds.ARBITRARY.finetune()(
            registry.local_dir(current),
            pairs,
            tmp / "model",
            steps=steps,
            size=size,
            progress=lambda f, m: ctx.progress(0.05 + 0.8 * f, m),
            should_stop=ctx.should_stop,
        )
    except Cancelled:
        raise JobCancelled() from None
    ctx.progress(0.88, f"judging the candidate and deployed {current.version} on the fixed pairs")
    fixed = judge_pairs_fixed(judge_size)
    candidate = judged(tmp / "model", fixed, judge_size)
    compared = judged(registry.local_dir(current), fixed, judge_size)
    passed, reason = decide_arbitrary(candidate, current, compared)
    ctx.log(reason)
    counts = {
        "pairs": len(pairs),
        "left_out_low_rating": len(weights) - len(drawn),
        "draw_weights": {
            str(w): sum(1 for x in drawn.values() if x == w) for w in sorted(set(drawn.values()))
        },
        "steps": steps,
        "size": size,
    }
    training = {
        k: (v.item() if isinstance(v, np.generic) else v)
        for k, v in (stats or {}).items()
        if isinstance(v, (int, float, str, np.generic))
    }
    return Candidate(
        model_dir=tmp / "model",
        metrics=candidate,
        compared=compared,
        passed=passed,
        reason=reason,
        data_counts=counts,
        extra={"training": training},
    )


# ---------------------------------------------------------------- the style retrain targets


def _ratings_since(target: str, since: dt.datetime | None) -> int:
    query = (
        db.select(db.func.count(Rating.id))
        .join(Stylization, Stylization.id == Rating.stylization_id)
        .where(Stylization.method == target)
    )
    return db.session.scalar(query.where(Rating.created > since) if since else query)


class _StyleRetrain:
    label = "style"

    def check_request(self, target: str) -> None:
        return None

    def deployed(self, target: str) -> ModelVersion | None:
        return registry.deployed(target)

    def new_feedback_since(self, target: str, since: dt.datetime | None) -> int:
        return _ratings_since(target, since)


class TrainedStyle(_StyleRetrain):
    """A style model that learns from ratings: its target has its name, `trainer` builds the candidate.

    `deployed` finds the version a retrain starts from (`ensure` for a built-in network, which
    registers the pretrained weights as v1 on first use).
    """

    def __init__(self, name: str, trainer, deployed=registry.deployed):
        self.name, self._trainer, self._deployed = name, trainer, deployed

    def owns(self, target: str) -> bool:
        return target == self.name

    def deployed(self, target: str) -> ModelVersion | None:
        return self._deployed(target)

    def train(
        self, target: str, job: Job, ctx: JobContext, workdir: Path, current: ModelVersion | None
    ) -> Candidate:
        return self._trainer(job, ctx, workdir, current)


class FixedStyles(_StyleRetrain):
    """Style models that learn nothing from ratings: a pretrained network no trainer retrains (the
    26-style preset network) and the fixed styles registered from the command line. Its `name` is
    the model kind (ml/kinds.py) such a registered fixed style has."""

    name = ml_kinds.CYCLEGAN.name

    def owns(self, target: str) -> bool:
        method = ml_methods.find(target)
        return (method is not None and method.pretrained) or registry.has_versions(target)

    def check_request(self, target: str) -> None:
        method = ml_methods.find(target)
        if method is not None and method.takes_preset:
            raise Invalid(
                f"The {target} network's {len(method.presets())} styles are fixed; retrain "
                f"{ml_methods.ARBITRARY.name!r} to learn from ratings."
            )

    def train(
        self, target: str, job: Job, ctx: JobContext, workdir: Path, current: ModelVersion | None
    ) -> Candidate:
        raise Invalid(
            f"{target!r} is a fixed style: retrain it with `python -m ml.train ml/configs/cyclegan.yaml` "
            "and add it with `flask models register`."
        )


# Which retrain owns which style target.
# The pretrained arbitrary-style network: fine-tuned on rated user pairs, judged on fixed package pairs.
RETRAIN_ARBITRARY = TrainedStyle(ml_kinds.ARBITRARY.name, _train_arbitrary, deployed=ensure)
# The AdaIN decoder: fine-tuned on users' photos and liked styles, judged on the earliest images.
RETRAIN_ADAIN = TrainedStyle(ml_kinds.ADAIN.name, _train_adain)
FIXED_STYLES = FixedStyles()


# ---------------------------------------------------------------- the style model kinds' plugins


def _warm(method: ml_methods.StyleMethod):
    return lambda: builtin.warm(method)


ARBITRARY = ModelKindPlugin(
    ml_kinds.ARBITRARY,
    retrain=RETRAIN_ARBITRARY,
    warm_queue="style",
    warm=_warm(ml_methods.ARBITRARY),
    ships_v1=True,
)
ADAIN = ModelKindPlugin(ml_kinds.ADAIN, retrain=RETRAIN_ADAIN)
CYCLEGAN = ModelKindPlugin(ml_kinds.CYCLEGAN, retrain=FIXED_STYLES)
PRESET = ModelKindPlugin(
    ml_kinds.PRESET,
    retrain=FIXED_STYLES,
    warm_queue="style",
    warm=_warm(ml_methods.PRESET),
    ships_v1=True,
)
