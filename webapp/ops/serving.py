"""Serving that slow clients cannot starve: a request body must arrive at a minimum rate.

The web workers' front (webapp/ops/front.py) reads every request whole before a thread serves
it. What it hands on unread (a chunked body past the upload limit) is read here, in the thread:
`BodyDeadline` reads the whole body first and stops reading from the socket when a stretch of
`REQUEST_BODY_SECONDS` brought less than `REQUEST_BODY_MIN_RATE` bytes a second, answering 408,
so a client sending one byte every few seconds holds a thread for seconds, not minutes. Bodies
are spooled to disk past 1 MB.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading

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

    def __init__(self, app, window_seconds: float, min_rate: int, max_bytes: int):
        self.app, self.window, self.max_bytes = app, window_seconds, max_bytes
        self.min_bytes = min_rate * window_seconds  # per window

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
        try:
            wsgi_env["wsgi.input"], read = self._read(wsgi_env["wsgi.input"], sock)
        except BodyTooSlow:
            return self._too_slow(start_response)
        if chunked:
            wsgi_env["CONTENT_LENGTH"] = str(read)
        return self.app(wsgi_env, start_response)

    def _read(self, stream, sock: socket.socket):
        """The body, spooled; a watchdog stops reading from the socket after a window that
        brought too few bytes (a blocked read then returns, however slowly bytes trickle)."""
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        late = threading.Event()
        progress = {"total": 0, "seen": 0}

        def watch() -> None:
            if progress.get("done"):
                return
            if progress["total"] - progress["seen"] < self.min_bytes:
                late.set()
                _stop_reading(sock)
                return
            progress["seen"] = progress["total"]
            arm()

        def arm() -> None:
            progress["timer"] = threading.Timer(self.window, watch)
            progress["timer"].daemon = True
            progress["timer"].start()

        arm()
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
                progress["total"] = total
                body.write(chunk)
        finally:
            progress["done"] = True
            progress["timer"].cancel()
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
