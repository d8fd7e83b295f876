"""Serving that slow clients cannot starve: a request body must arrive within a deadline.

gunicorn's threaded workers (gunicorn.conf.py) keep idle connections in a poller, not in a
thread; but a thread that reads a request's body waits as long as the client keeps trickling
bytes. `BodyDeadline` reads the whole body first, and stops reading from the socket at the
request's deadline (`REQUEST_BODY_SECONDS` plus one second per 100 kB declared), and answers
408 when it is not there in time, so a client sending one byte every few seconds holds a
thread for seconds, not minutes. Bodies are spooled to disk past 1 MB.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time

BYTES_PER_EXTRA_SECOND = 100_000
SPOOL_BYTES = 1 << 20
CHUNK = 64 * 1024


class BodyTooSlow(Exception):
    """The client did not send its declared body within the deadline."""


def _stop_reading(sock: socket.socket) -> None:
    """Read nothing more from this client: the 408 goes out and the connection closes, instead
    of the server draining the rest of the slow body afterwards."""
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass


class BodyDeadline:
    """WSGI middleware (installed by gunicorn.conf.py): read each request body under a deadline."""

    def __init__(self, app, base_seconds: float, max_bytes: int):
        self.app, self.base_seconds, self.max_bytes = app, base_seconds, max_bytes

    def __call__(self, wsgi_env, start_response):
        sock = wsgi_env.get("gunicorn.socket")
        length = wsgi_env.get("CONTENT_LENGTH")
        chunked = "chunked" in wsgi_env.get("HTTP_TRANSFER_ENCODING", "").lower()
        if sock is None or not (length or chunked):
            return self.app(wsgi_env, start_response)
        try:
            declared = int(length) if length else 0
        except ValueError:
            return self.app(wsgi_env, start_response)  # Werkzeug answers a malformed length
        if declared > self.max_bytes:
            return self.app(wsgi_env, start_response)  # refused with 413 before it is read
        deadline = time.monotonic() + self.base_seconds + declared / BYTES_PER_EXTRA_SECOND
        try:
            wsgi_env["wsgi.input"], read = self._read(wsgi_env["wsgi.input"], sock, deadline)
        except BodyTooSlow:
            return self._too_slow(start_response)
        if chunked:
            wsgi_env["CONTENT_LENGTH"] = str(read)
        return self.app(wsgi_env, start_response)

    def _read(self, stream, sock: socket.socket, deadline: float):
        """The body, spooled; a timer stops reading from the socket at the deadline (a blocked
        read then returns, however slowly the client trickles bytes)."""
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        late = threading.Event()

        def cut_off() -> None:
            late.set()
            _stop_reading(sock)

        timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut_off)
        timer.daemon = True
        timer.start()
        total = 0
        try:
            while total <= self.max_bytes:  # past it Flask answers 413 from what it reads
                try:
                    chunk = stream.read(CHUNK)
                except Exception:
                    if late.is_set():
                        raise BodyTooSlow() from None
                    raise
                if not chunk:
                    break
                total += len(chunk)
                body.write(chunk)
        finally:
            timer.cancel()
        if late.is_set():
            raise BodyTooSlow()
        body.seek(0)
        return body, total

    @staticmethod
    def _too_slow(start_response):
        payload = json.dumps(
            {"error": "Your request's body arrived too slowly; send it again at a normal speed."}
        ).encode()
        start_response(
            "408 Request Timeout",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
            ],
        )
        return [payload]


def poll_first_worker():
    """gunicorn's threaded worker, except that a new connection waits in the poller, not in a
    thread, until its first bytes arrive (gunicorn 27 gives it a thread for up to 5 s first,
    so 50 idle sockets held every thread of two workers for seconds). An idle connection is
    closed after `keepalive` seconds, as gunicorn closes a deferred one."""
    import errno
    import selectors
    from functools import partial

    from gunicorn.workers.gthread import TConn, ThreadWorker

    class PollFirstWorker(ThreadWorker):
        def accept(self, listener):
            try:
                client_sock, client_addr = listener.accept()
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            self.nr_conns += 1
            conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
            conn.timeout = time.monotonic() + self.cfg.keepalive
            self.pending_conns.append(conn)
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
            )

    return PollFirstWorker
