"""The interface every model kind implements, and what its trainer hands the gate.

Registered in `webapp.registry.targets.KINDS`; run by `webapp.registry.gate`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from webapp.jobs.runner import JobContext
    from webapp.tables import Job, ModelVersion


@dataclass
class Candidate:
    """What a kind's trainer hands the gate: a trained model folder and the evidence to decide on it."""

    model_dir: Path
    metrics: dict  # stored on the new version
    compared: (
        dict  # the same measures for the deployed version (or the baseline a first model must beat)
    )
    passed: bool  # the kind's verdict: promote it?
    reason: str  # one sentence an admin can act on
    data_counts: dict
    summary: dict | None = None  # what the job result shows as metrics (default: `metrics`)
    compared_summary: dict | None = None  # likewise for `compared`
    extra: dict = field(default_factory=dict)  # kind-specific fields for the job result
    model_kind: str | None = (
        None  # how the registry loads it, when not the kind's name (a task's face model)
    )


class TargetKind(Protocol):
    """A kind of registry target: which targets it owns and how the gate retrains them.

    Not to be confused with a model folder's kind (`ModelVersion.kind`, `meta.json`'s "kind",
    `ml.kinds`), a job's kind (`webapp.jobs.kinds`) or a style method (`ml.style.methods`).
    """

    name: str  # the model kind (ml.kinds) of the versions its retrains register
    label: str  # how requests name it: "task" or "style"

    def owns(self, target: str) -> bool:
        """Is `target` a model of this kind?"""

    def check_request(self, target: str) -> None:
        """Refuse (Invalid/NotFound) a retrain request this kind can never run; checked before queueing."""

    def deployed(self, target: str) -> ModelVersion | None:
        """The version a retrain starts from and is compared with."""

    def new_feedback_since(self, target: str, since: dt.datetime | None) -> int:
        """How much new feedback (labels, ratings) arrived after `since`: a schedule skips when none."""

    def train(
        self, target: str, job: Job, ctx: JobContext, workdir: Path, current: ModelVersion | None
    ) -> Candidate:
        """Train a candidate under `workdir` and judge it against `current`."""
