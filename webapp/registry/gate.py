"""The one retrain pipeline every model kind goes through: train, judge, register, decide, promote.

The target's retrain family (`webapp.registry.targets.resolve`) trains a candidate and judges it
against the deployed version; the gate registers the candidate as the next immutable version whatever the verdict (so
an admin can inspect or promote it by hand), deploys it only when it passed, and returns the job
result an admin reads: version, verdict, reason, metrics of both, data counts.
"""

from __future__ import annotations

from webapp.exceptions import DomainError
from webapp.extensions import db
from webapp.jobs.runner import JobContext, workdir
from webapp.registry import targets, versions
from webapp.storage.store import saving
from webapp.tables import Job


def run_retrain(job: Job, ctx: JobContext) -> dict:
    """Run a retrain job: the handler of the job type `retrain`."""
    family = targets.resolve(job.target)
    current = family.deployed(job.target)
    with workdir(job.id) as tmp:
        candidate = family.train(job.target, job, ctx, tmp, current)
        ctx.progress(0.95, "registering the candidate")
        with saving() as new_keys:
            mv = versions.register_version(
                job.target,
                candidate.model_kind or family.name,
                candidate.model_dir,
                new_keys,
                metrics=candidate.metrics,
                data_counts=candidate.data_counts,
                parent_id=current.id if current else None,
                created_by=job.created_by,
                job_id=job.id,
            )
        ctx.log(f"registered {mv.version}: {candidate.reason}")
    promoted, reason = candidate.passed, candidate.reason
    if promoted:
        try:
            versions.promote(
                job.target,
                mv.version,
                actor=job.created_by or "retrain",
                action="auto",
                reason=reason,
            )
            db.session.commit()
        except DomainError as exc:  # it does not load: registered, not deployed
            db.session.rollback()
            promoted, reason = False, exc.message
    compared = (
        candidate.compared_summary if candidate.compared_summary is not None else candidate.compared
    )
    result = {
        "model_version": mv.version,
        "promoted": promoted,
        "reason": reason,
        "metrics": candidate.summary if candidate.summary is not None else candidate.metrics,
        "compared_with": {
            "model_version": current.version if current else None,
            "metrics": compared,
        },
        "data_counts": candidate.data_counts,
        **candidate.extra,
    }
    if hasattr(family, "plain_words"):  # what happened and what to do next, before the statistics
        result["plain"] = family.plain_words(result)
    return result
