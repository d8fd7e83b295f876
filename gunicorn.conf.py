"""gunicorn settings read from the repository root (`make run`, deployments started here).

Threaded workers (`gthread`) behind a front in each worker's poller (webapp/ops/front.py): a
request is read whole, without a thread, before one of `threads` threads serves it, so idle
sockets and slow uploads cost a socket each, never a thread; each client address may hold
CONNECTIONS_PER_ADDRESS connections, and bodies must keep REQUEST_BODY_MIN_RATE. Header lines
and fields are bounded by gunicorn's limits below. Measured in docs/reliability.md
(bench/abuse.py).
"""

import os

import gunicorn.http.wsgi

from webapp.ops.front import front_worker

# WEB_FRONT=0 serves with gunicorn's stock gthread worker (bench/abuse.py measures both).
FRONT = os.environ.get("WEB_FRONT", "1") != "0"
worker_class = front_worker() if FRONT else "gthread"  # requests read whole in its poller first
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
    from webapp.ops.front import settings_from
    from webapp.ops.serving import BodyDeadline

    app = worker.wsgi
    import_ml()
    config = app.config
    if FRONT:
        worker.front = settings_from(config, worker.cfg.workers)
    worker.wsgi = BodyDeadline(
        app,
        config["REQUEST_BODY_SECONDS"],
        config["REQUEST_BODY_MIN_RATE"],
        config["MAX_CONTENT_LENGTH"],
    )
    warmup.start(app)


def worker_exit(server, worker):
    """A web worker that stops (Ctrl-C, SIGTERM after its grace, an error) leaves at once, with the
    status it was leaving with: webapp/ops/process.py says why."""
    import sys

    from webapp.ops.process import exit_code, exit_now

    exit_now(exit_code(sys.exc_info()[1]))
