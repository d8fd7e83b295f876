"""The product's data model: what users uploaded, what the models answered, what people said."""
from .base import utcnow
from .classification import Classification, Feedback, HoldoutItem, Task, TrainingExample
from .image import Image
from .job import Job
from .registry import Deployment, ModelVersion
from .schedule import Schedule
from .style import Rating, Stylization
from .user import User

__all__ = [
    "Classification", "Deployment", "Feedback", "HoldoutItem", "Image", "Job", "ModelVersion", "Rating", "Schedule",
    "Stylization", "Task", "TrainingExample", "User", "utcnow",
]
