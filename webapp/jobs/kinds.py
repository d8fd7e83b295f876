"""Which queue runs which kind of job: `style` (stylization) and `train` (retraining)."""

QUEUES = ("style", "train")
KIND_QUEUE = {"stylize": "style", "retrain": "train"}


def queue_for_kind(kind: str) -> str:
    """Which queue runs jobs of `kind`."""
    return KIND_QUEUE[kind]
