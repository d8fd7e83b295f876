"""The product's data model: what users uploaded, what the models answered, what people said."""

from webapp.models.audit import AuditEvent
from webapp.models.base import utcnow
from webapp.models.classification import (
    Classification,
    Feedback,
    HoldoutItem,
    Task,
    TrainingExample,
)
from webapp.models.image import Image
from webapp.models.job import Job
from webapp.models.registry import Deployment, ModelVersion
from webapp.models.schedule import Schedule
from webapp.models.style import Rating, Stylization
from webapp.models.user import User

__all__ = [
    "AuditEvent",
    "Classification",
    "Deployment",
    "Feedback",
    "HoldoutItem",
    "Image",
    "Job",
    "ModelVersion",
    "Rating",
    "Schedule",
    "Stylization",
    "Task",
    "TrainingExample",
    "User",
    "utcnow",
]
