"""gunicorn settings read from the repository root (`make run`, deployments started here).

Threaded workers (`gthread`): an idle connection waits in the worker's poller and a slow one
holds one of `threads` threads, never a whole worker process, so a few idle sockets or slow uploads
cannot freeze the site (the `sync` class gave each one a whole worker until `timeout`). Request
bodies must arrive within a deadline (webapp/ops/serving.py); header lines and fields are
bounded by gunicorn's limits below. Measured in docs/reliability.md (bench/abuse.py).
"""

import gunicorn.http.wsgi

from webapp.ops.serving import poll_first_worker

worker_class = poll_first_worker()  # gthread, with new connections waiting in its poller
threads = 16  # per web worker; scripts/serve passes WEB_THREADS
worker_connections = 1000
keepalive = 5
timeout = 120  # a worker whose main loop stops answering this long is replaced
graceful_timeout = 20  # TensorFlow takes seconds to unload on a busy machine
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Do not advertise the server and its version in every response.
gunicorn.http.wsgi.SERVER = "CelebVision"


def post_worker_init(worker):
    """Each web worker imports TensorFlow in its main thread, then loads the deployed models in
    the background. Importing it first means the warm-up thread and request threads never import
    it at the same time (a concurrent import can deadlock or register TensorFlow's ops twice)."""
    from webapp.classification import warmup
    from webapp.jobs.background import import_ml
    from webapp.ops.serving import BodyDeadline

    app = worker.wsgi
    import_ml()
    worker.wsgi = BodyDeadline(
        app, app.config["REQUEST_BODY_SECONDS"], app.config["MAX_CONTENT_LENGTH"]
    )
    warmup.start(app)
