"""gunicorn settings read from the repository root (`make run`, deployments started here)."""


def post_worker_init(worker):
    """Each web worker loads the deployed models in the background as soon as it starts."""
    from webapp.classification import warmup

    warmup.start(worker.wsgi)
