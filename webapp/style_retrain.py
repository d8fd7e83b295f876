"""Retraining style models (AdaIN decoder, fixed styles) from the images and ratings users gave."""
from __future__ import annotations

from .jobs.runner import JobContext
from .models import Job


def retrain_style(target: str, job: Job, ctx: JobContext) -> dict:
    """Fine-tune the style model `target` from rated stylizations."""
    raise ValueError(f"No task named {target!r}, and retraining style model {target!r} from ratings "
                     "is not available in this version.")
