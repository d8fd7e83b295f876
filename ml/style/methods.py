"""The registry of style methods, what a user picks: each says what it needs, its parameters, its
own default strength, how it runs and which model kind (``ml/kinds.py``) its folders are.

A method is not a model kind: ``nst`` runs no model folder, and every fixed style is one method
(``cyclegan``) over many folders. A style model kind (``ml.kinds``) names the method that paints
with its folders, and predicts as that method renders.

``ml.stylize.run``, its CLI and the web app look a method up here (``get``, ``for_model``) and then
only ask the entry; nothing compares method names. Adding a method is a module that defines its
``StyleMethod`` (and its ``render``) plus one line in ``METHODS`` below; ``register`` adds one at
run time and returns what undoes it (the tests' way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.style import strength as strength_rule

MAX_SIZE = 2048
MIN_SIZE = 32
DEFAULT_CACHE = Path.home() / ".cache" / "celebvision"  # pretrained folders, converted once


@dataclass
class StyleResult:
    """A stylized uint8 HxWx3 image and how it was made (steps, seconds, losses...)."""

    image: np.ndarray
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StyleCall:
    """One stylization's inputs as ``ml.stylize.run`` received them (``method``: the name asked)."""

    method: str
    content: np.ndarray
    style: np.ndarray | None
    strength: float
    size: int
    model_dir: object = None
    progress: Callable[[float, str], None] | None = None
    should_stop: Callable[[], bool] | None = None
    weights: object = "hed"
    preset: int | None = None
    init: str = "content"
    init_model_dir: object = None
    max_evals: int | None = None  # an optimising method's cap on evaluations (None: its own)


@dataclass(frozen=True)
class StyleMethod:
    """One style method.

    ``render(call, model) -> StyleResult`` paints ``call.content``; ``model`` is the loaded folder
    of ``model_kind`` (None for a method without one). ``one_pass`` methods are timed and report
    progress through ``ml.stylize.run``; the others (``nst``) report their own.
    """

    name: str  # how a request names it; a fixed style is asked for by its own name
    description: str  # what GET /api/styles says; "{name}" becomes the style's name
    render: Callable[[StyleCall, object], StyleResult]
    needs_style: bool = False  # a style picture
    presets: Callable[[], tuple[dict, ...]] | None = None  # its fixed styles: it takes a preset id
    model_kind: str | None = None  # the meta.json kind of the folder it runs (ml/kinds.py)
    pretrained: bool = False  # without a folder: the pretrained one, converted from the wheel
    strength: float = 1.0  # its own default strength, until ratings teach a better one
    one_pass: bool = True
    starts_from: str | None = None  # the pretrained method whose folder its start is painted by
    prepare: Callable[[object], None] | None = None  # builds what a render needs, given `weights`

    @property
    def takes_preset(self) -> bool:
        return self.presets is not None

    @property
    def needs_model_folder(self) -> bool:
        """True for a method served from a trained folder (one per deployed model, not built in)."""
        return self.model_kind is not None and not self.pretrained

    def describe(self, name: str | None = None) -> str:
        return self.description.format(name=name or self.name)

    def params(self) -> dict[str, tuple]:
        """Its parameters and their ranges (inclusive)."""
        out = {"strength": (0.0, 1.0), "size": (MIN_SIZE, MAX_SIZE)}
        if self.takes_preset:
            ids = [p["id"] for p in self.presets()]
            out["preset"] = (min(ids), max(ids))
        return out

    def default_strength(self, preset: int | None = None) -> float:
        """Its own strength; a preset's own (chosen so the subject stays recognisable) when named."""
        if self.takes_preset and preset is not None:
            found = [p for p in self.presets() if str(p["id"]) == str(preset)]
            return float(found[0]["default_strength"]) if found else self.strength
        return self.strength

    def preset_name(self, preset) -> str | None:
        """The human name of preset ``preset``; None for another value or a method without presets."""
        if not self.takes_preset:
            return None
        return next((p["name"] for p in self.presets() if str(p["id"]) == str(preset)), None)

    def check(self, call: StyleCall) -> None:
        """ValueError with a clear message on arguments this method cannot run with."""
        if call.content is None or np.asarray(call.content).ndim not in (2, 3):
            raise ValueError(
                "`content` must be an HxWx3 image array. Received: content=None or wrong shape"
            )
        strength_rule.check(call.strength)
        if not MIN_SIZE <= int(call.size) <= MAX_SIZE:
            raise ValueError(
                f"`size` must be between {MIN_SIZE} and {MAX_SIZE} pixels. Received: size={call.size}"
            )
        if self.needs_style and call.style is None:
            raise ValueError(f"Method {call.method!r} needs a style image. Received: style=None")
        preset = call.preset
        if self.takes_preset and (
            preset is None or isinstance(preset, bool) or not isinstance(preset, (int, np.integer))
        ):
            raise ValueError(
                f"Method {call.method!r} needs a preset id (an integer). Received: preset={preset!r}"
            )
        if self.needs_model_folder and call.model_dir is None:
            raise ValueError(
                f"Method {call.method!r} needs a trained model folder. Received: model_dir=None"
            )


# ---------------------------------------------------------------- the built-in methods


def _with_style(call: StyleCall, model) -> StyleResult:
    """A network that paints in any style picture's style (arbitrary, AdaIN)."""
    return StyleResult(
        model.stylize(call.content, call.style, strength=call.strength, size=call.size)
    )


def _with_preset(call: StyleCall, model) -> StyleResult:
    """The preset network painting one of its fixed styles."""
    image = model.stylize(call.content, call.preset, strength=call.strength, size=call.size)
    preset = int(call.preset)
    return StyleResult(image, {"preset": {"id": preset, "name": model.presets[preset - 1]["name"]}})


def _fixed(call: StyleCall, model) -> StyleResult:
    """A network that paints one style only (a CycleGAN generator)."""
    return StyleResult(model.stylize(call.content, strength=call.strength, size=call.size))


def _presets() -> tuple[dict, ...]:
    from ml.style.fast_style import PRESETS  # lazy: the web app imports this module at start

    return PRESETS


def pretrained_or_none(method: str, progress=None):
    """The pretrained folder of ``method`` in DEFAULT_CACHE, or None when the wheel is missing."""
    from ml.style.fast_style import pretrained_model_dir  # lazy: as PRESETS above

    try:
        return pretrained_model_dir(get(method).model_kind, DEFAULT_CACHE, progress)
    except (ValueError, OSError):
        return None


def _nst(call: StyleCall, model) -> StyleResult:
    from ml.style import nst  # lazy: nst imports TensorFlow; the web app imports this module

    init_model_dir = call.init_model_dir
    if (
        call.init == NST.starts_from and init_model_dir is None
    ):  # its pretrained start, unless given one
        # a first conversion reports 0..1 of its own: keep it in the job's first 5 %
        progress = call.progress
        say = None if progress is None else (lambda f, message: progress(0.05 * f, message))
        init_model_dir = pretrained_or_none(NST.starts_from, say)
    image, stats = nst.stylize(
        call.content,
        call.style,
        strength=call.strength,
        size=call.size,
        progress=call.progress,
        should_stop=call.should_stop,
        weights=call.weights,
        init=call.init,
        init_model_dir=init_model_dir,
        max_evals=nst.MAX_EVALS if call.max_evals is None else call.max_evals,
    )
    return StyleResult(image, {"method": NST.name, **stats})


def _nst_prepare(weights) -> None:
    """Build nst's feature networks once per process, so a render builds none."""
    from ml.style import nst  # lazy: nst imports TensorFlow; the web app imports this module

    for layers in (nst.STYLE_LAYERS + nst.CONTENT_LAYERS, nst.STYLE_LAYERS):
        nst.feature_extractor(weights, layers)


# The arbitrary method's strength before ratings teach one: the highest of 0.05, 0.1, .., 0.6, 0.8,
# 1 up to which the subject check (ml.style.judge.subject_check) passes on the astronaut at 256 px
# in the style of each of coffee, immunohistochemistry and the astronaut (`python
# bench/style_calibrate.py --methods arbitrary --size 256`, docs/style.md); coffee's loses the
# face at 0.8 and 1.
ARBITRARY_DEFAULT_STRENGTH = 0.6

ARBITRARY = StyleMethod(
    "arbitrary",
    "Fast, any style picture: a pretrained network (Ghiasi et al. 2017) paints your photo in the "
    "style of the picture you give, in about a second.",
    _with_style,
    needs_style=True,
    model_kind="arbitrary",
    pretrained=True,
    strength=ARBITRARY_DEFAULT_STRENGTH,
)
PRESET = StyleMethod(
    "preset",
    "Fast, 26 ready-made styles (Dumoulin et al. 2017): no style picture needed, about a second.",
    _with_preset,
    presets=_presets,
    model_kind="preset",
    pretrained=True,
)
# The highest strength at which the subject check still keeps the face on the calibration styles
# (bench/style_calibrate.py --methods nst; figures and the time it costs in docs/style.md).
NST_DEFAULT_STRENGTH = 0.8
NST = StyleMethod(
    "nst",
    "Classic: about 90 s at 256 px on a CPU, about 5 minutes at 512 (results under 256 px are "
    "painted at 256). Neural style transfer (Gatys et al.) reworks your photo until its textures "
    "match the style picture's while its shapes stay yours: closer to the painting's texture than Fast, "
    "face kept. Choose Fast for a result in a second or a ready-made style; Classic when you want "
    "the painting's texture and can wait.",
    _nst,
    needs_style=True,
    strength=NST_DEFAULT_STRENGTH,
    one_pass=False,
    starts_from="arbitrary",
    prepare=_nst_prepare,
)
ADAIN = StyleMethod(
    "adain",
    "Fast arbitrary style transfer (AdaIN): any style image, in about a second.",
    _with_style,
    needs_style=True,
    model_kind="adain",
    strength=0.5,
)
FIXED_STYLE = StyleMethod(
    "cyclegan",
    "Fixed style '{name}' (CycleGAN): no style image needed.",
    _fixed,
    model_kind="cyclegan",
    strength=0.5,
)

# The registration: every style method, in the order GET /api/styles lists them.
METHODS: dict[str, StyleMethod] = {m.name: m for m in (ARBITRARY, PRESET, NST, ADAIN, FIXED_STYLE)}


def register(method: StyleMethod) -> Callable[[], None]:
    """Add ``method`` at run time; returns the function that removes it again."""
    if method.name in METHODS:
        raise ValueError(f"A style method {method.name!r} exists already. Received: {method}")
    METHODS[method.name] = method
    return lambda: METHODS.pop(method.name, None)


def get(name: str) -> StyleMethod:
    """The method called ``name``, or ValueError naming the known ones."""
    if name not in METHODS:
        raise ValueError(f"`method` must be one of {tuple(METHODS)}. Received: method={name!r}")
    return METHODS[name]


def find(name: str) -> StyleMethod | None:
    return METHODS.get(name)


def for_model(model_kind: str) -> StyleMethod | None:
    """The method that serves folders of ``model_kind`` (a meta.json kind), if any."""
    return next((m for m in METHODS.values() if m.model_kind == model_kind), None)


def built_in() -> list[StyleMethod]:
    """The methods every install offers from the first start (no trained folder needed)."""
    return [m for m in METHODS.values() if not m.needs_model_folder]


def pretrained() -> list[StyleMethod]:
    """The methods whose model is converted from an installed wheel (registered as v1)."""
    return [m for m in METHODS.values() if m.pretrained]


def served_from_folders() -> list[StyleMethod]:
    """The methods listed once per deployed model of their kind (AdaIN, the fixed styles)."""
    return [m for m in METHODS.values() if m.needs_model_folder]
