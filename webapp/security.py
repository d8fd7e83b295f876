"""Client fingerprints, per-client rate limits and security headers."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from functools import wraps
from pathlib import Path

from flask import Flask, current_app, request

from .errors import ApiError

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def client_fingerprint() -> str:
    """A salted hash of the client's address and user agent: stable per client, not reversible."""
    raw = f"{current_app.secret_key}|{request.remote_addr}|{request.user_agent.string}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _parse(limit: str) -> tuple[int, int]:
    count, _, period = limit.partition("/")
    seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[period.strip() or "minute"]
    return int(count), seconds


class RateLimiter:
    """Fixed-window counters per (client, bucket), shared by every worker process.

    In Redis when configured (all machines share it); otherwise in a small SQLite file in the
    instance folder, which every gunicorn worker on this machine shares.
    """

    def __init__(self, redis_url: str | None = None, path: str | None = None):
        self._redis = self._path = None
        self._local = threading.local()
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)
        else:
            self._path = path

    def hit(self, client: str, bucket: str, limit: str) -> bool:
        """Count one request; False when the client is over `limit` (e.g. '60/minute')."""
        count, seconds = _parse(limit)
        window = int(time.time() // seconds)
        key = f"rl:{bucket}:{client}:{window}"
        if self._redis is not None:
            return self._hit_redis(key, count, seconds)
        return self._hit_sqlite(key, window * seconds, seconds) <= count

    def _db(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT PRIMARY KEY, n INTEGER, start INTEGER)")
            self._local.conn = conn
        return conn

    def _hit_sqlite(self, key: str, start: int, seconds: int) -> int:
        try:
            conn = self._db()
            n = conn.execute("INSERT INTO hits VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE SET n = n + 1 "
                             "RETURNING n", (key, start)).fetchone()[0]
            if n == 1:  # first hit of a window: forget windows long gone
                conn.execute("DELETE FROM hits WHERE start < ?", (start - 2 * seconds,))
            return n
        except sqlite3.Error:  # a rate limiter outage must not take the product down
            return 0

    def _hit_redis(self, key: str, count: int, seconds: int) -> bool:
        try:
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, seconds * 2)
            return pipe.execute()[0] <= count
        except Exception:  # a rate limiter outage must not take the product down
            return True


def rate_limited(bucket: str, config_key: str):
    """Decorator: answer 429 when this client exceeds the configured limit for `bucket`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            limiter: RateLimiter = current_app.extensions["rate_limiter"]
            if not limiter.hit(client_fingerprint(), bucket, current_app.config[config_key]):
                raise ApiError("Too many requests from you; wait a minute and try again.", 429)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def register_security(app: Flask) -> None:
    """Install the rate limiter and the headers every response carries."""
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    app.extensions["rate_limiter"] = RateLimiter(app.config.get("REDIS_URL"),
                                                 str(Path(app.config["INSTANCE_DIR"]) / "ratelimit.db"))

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
