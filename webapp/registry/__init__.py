"""The model registry: versions, deployments, targets, the promotion gate, schedules."""
