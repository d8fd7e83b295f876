"""The product's data model: what users uploaded, what the models answered, what people said."""

from webapp.tables.audit import AuditEvent
from webapp.tables.classification import (
    Classification,
    Feedback,
    HoldoutItem,
    Task,
    TrainingExample,
)
from webapp.tables.columns import utcnow
from webapp.tables.image import Image
from webapp.tables.job import Job
from webapp.tables.registry import Deployment, ModelVersion
from webapp.tables.schedule import Schedule
from webapp.tables.style import Rating, Stylization
from webapp.tables.user import User

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
