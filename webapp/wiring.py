"""The composition module: the one place that joins the layers below it.

It sits above the domains (`webapp.classification`, `webapp.style`) and below the views, and
registers what lower layers run without importing it: the model-kind plugins (each with its
retrain target, warm-up and shipped v1), the job types with their handlers, the console's version
details, and what each queue's worker does besides running jobs (warm-ups, due schedules).
`create_app` calls `install()`; the `flask worker` command asks `worker_duties(queue)`.

Adding a model kind is its module (ML half in `ml/`, serving half in its domain) and one line in
`PLUGINS` below; adding a job type is its handler and one line in `JOB_TYPES`.
"""

from __future__ import annotations

from webapp.classification import evidence, importing
from webapp.classification import retrain as task_models
from webapp.jobs import job_types
from webapp.jobs.job_types import JobType
from webapp.jobs.worker import Duties
from webapp.registry import catalog, gate, model_kinds, schedules, targets
from webapp.style import offers, render, service
from webapp.style import retrain as style_models

# The registration of every model kind, in the order their retrain targets are asked which
# target they own (the first that owns one wins; fixed styles own every other target with
# versions, so they come last).
PLUGINS = (
    task_models.CLASSIFIER,
    task_models.FACE,
    style_models.ARBITRARY,
    style_models.ADAIN,
    style_models.CYCLEGAN,
    style_models.PRESET,
)

# The registration of every job type (`Job.kind`): its queue, handler and time limits.
JOB_TYPES = (
    JobType(
        service.STYLIZE_JOB,
        "style",
        render.run_stylization,
        "STYLE_JOB_SECONDS",
        slow=offers.runs_slow,
        slow_limit="NST_JOB_SECONDS",
    ),
    JobType(targets.RETRAIN_JOB, "train", gate.run_retrain, "TRAIN_JOB_SECONDS"),
    # a shipped model's metrics and plots on its bundled evaluation set (its model page's evidence)
    JobType(evidence.KIND, "train", evidence.run_evidence, "TRAIN_JOB_SECONDS"),
    JobType(importing.IMPORT_JOB, "train", importing.run_import, "IMPORT_JOB_SECONDS"),
)


def install() -> None:
    """Register everything above (idempotent: every app start of a process calls it)."""
    for plugin in PLUGINS:
        model_kinds.register(plugin)
    for job_type in JOB_TYPES:
        job_types.register(job_type)
    catalog.add_version_details(_live_agreement, evidence.file_path)


def _live_agreement(mv) -> dict:
    return {"live_agreement": evidence.live_agreement(mv)}


def worker_duties(queue: str, warm: bool = True) -> Duties:
    """What a worker of `queue` does besides running jobs: warm the model kinds it serves (unless
    `warm` is off), and on the train queue start the retrains whose schedule is due."""
    periodic = (schedules.run_due_schedules,) if queue == targets_queue() else ()
    return Duties(warm=tuple(model_kinds.warm_ups(queue)) if warm else (), periodic=periodic)


def targets_queue() -> str:
    """The queue retrains run in: its worker starts the scheduled ones."""
    return job_types.queue_for(targets.RETRAIN_JOB)
