"""Classification: tasks, serving, datasets from feedback, retraining."""
