"""Style transfer: methods, serving, rendering jobs, preferences, retraining."""
