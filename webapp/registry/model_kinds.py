"""Model kinds, the serving half: one `ModelKindPlugin` per model kind, and the retrain-target
interface the gate runs.

A model kind is one plugin, as an MLflow flavor is. Its ML half (`ml.kinds.ModelKind`: load a
folder, predict, train or fine-tune, evaluate) lives in `ml/`, which never imports the web app;
its serving half is a `ModelKindPlugin` that holds that ML half and says what the web app does with
the kind: which registry targets it retrains and how the gate judges a candidate (`retrain`, a
`RetrainTarget`), which worker queue warms it and with what (`warm_queue`, `warm`), and whether a
pretrained version 1 is shipped (`ships_v1`). Each domain defines its kinds' plugins beside the
code they run (`webapp.classification.retrain`, `webapp.style.retrain`); the composition module
(`webapp.wiring`) registers each with one line, `register(plugin)`, which also registers the ML
half in `ml.kinds`. Registered plugins are what `webapp.registry.targets` resolves retrain
requests with, and what the worker warms.

Names: a *model kind* is a `meta.json` "kind" (`ModelVersion.kind`); a *retrain target* is a name
the registry keeps versions under (a task, `arbitrary`, a fixed style); a *job type* is a
`Job.kind` (`webapp.jobs.job_types`); a *style method* is what a user picks
(`ml.style.methods`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ml import kinds as ml_kinds

if TYPE_CHECKING:
    from webapp.jobs.runner import JobContext
    from webapp.tables import Job, ModelVersion


@dataclass
class Candidate:
    """What a retrain target's trainer hands the gate: a trained model folder and the evidence to decide on it."""

    model_dir: Path
    metrics: dict  # stored on the new version
    compared: (
        dict  # the same measures for the deployed version (or the baseline a first model must beat)
    )
    passed: bool  # the judge's verdict: promote it?
    reason: str  # one sentence an admin can act on
    data_counts: dict
    summary: dict | None = None  # what the job result shows as metrics (default: `metrics`)
    compared_summary: dict | None = None  # likewise for `compared`
    extra: dict = field(default_factory=dict)  # target-specific fields for the job result
    model_kind: str | None = (
        None  # how the registry loads it, when not the target's `name` (a task's face model)
    )


class RetrainTarget(Protocol):
    """A family of registry targets and how the gate retrains them: train a candidate from the
    deployed version and judge it against that version (the candidate carries the verdict)."""

    name: str  # the model kind of the versions its retrains register
    label: str  # how requests name it: "task" or "style"

    def owns(self, target: str) -> bool:
        """Is `target` one of this family's?"""

    def check_request(self, target: str) -> None:
        """Refuse (Invalid/NotFound) a retrain request it can never run; checked before queueing."""

    def deployed(self, target: str) -> ModelVersion | None:
        """The version a retrain starts from and is compared with."""

    def new_feedback_since(self, target: str, since: dt.datetime | None) -> int:
        """How much new feedback (labels, ratings) arrived after `since`: a schedule skips when none."""

    def train(
        self, target: str, job: Job, ctx: JobContext, workdir: Path, current: ModelVersion | None
    ) -> Candidate:
        """Train a candidate under `workdir` and judge it against `current`."""


@dataclass(frozen=True)
class ModelKindPlugin:
    """One model kind: its ML half and what the web app does with it (module docstring)."""

    model: ml_kinds.ModelKind  # load, predict, train / fine-tune, evaluate
    retrain: RetrainTarget | None = None  # the targets it retrains and judges; None: never here
    warm_queue: str | None = None  # the worker queue whose worker warms it at start
    warm: Callable[[], None] | None = None  # that warm-up (in the app's context)
    ships_v1: bool = False  # a pretrained version 1 is registered on first use

    @property
    def name(self) -> str:
        return self.model.name


_PLUGINS: dict[str, ModelKindPlugin] = {}


def register(plugin: ModelKindPlugin) -> Callable[[], None]:
    """Register `plugin` and its ML half (the same plugin again is a no-op: a second app start);
    returns the function that removes both."""
    if _PLUGINS.get(plugin.name, plugin) != plugin:
        raise ValueError(f"A model kind {plugin.name!r} is registered already. Received: {plugin}")
    undo_ml = ml_kinds.register(plugin.model)
    _PLUGINS[plugin.name] = plugin

    def undo() -> None:
        _PLUGINS.pop(plugin.name, None)
        if plugin.model not in (p.model for p in _PLUGINS.values()):
            undo_ml()

    return undo


def every() -> list[ModelKindPlugin]:
    """The registered plugins, in registration order."""
    return list(_PLUGINS.values())


def find(name: str) -> ModelKindPlugin | None:
    return _PLUGINS.get(name)


def retrain_targets() -> list[RetrainTarget]:
    """Every retrain target of a registered plugin, once each, in registration order (the order
    `webapp.registry.targets.resolve` asks them in: the first that owns a target wins)."""
    out: list[RetrainTarget] = []
    for plugin in _PLUGINS.values():
        if plugin.retrain is not None and all(plugin.retrain is not t for t in out):
            out.append(plugin.retrain)
    return out


def warm_ups(queue: str) -> list[Callable[[], None]]:
    """The warm-ups of the plugins a worker of `queue` warms, in registration order."""
    return [p.warm for p in _PLUGINS.values() if p.warm_queue == queue and p.warm is not None]
