"""Per-address rate limits, the same-origin guard and the headers every response carries."""

from __future__ import annotations

import ipaddress
import sqlite3
import threading
import time
from functools import wraps
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import make_private_dir
from webapp.web.errors import ApiError
from webapp.web.identity import CLIENT_COOKIE, client_address, network_of, set_client_cookie

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


PRIVATE_PREFIXES = ("/admin", "/api/admin", "/login", "/logout")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _parse(limit: str) -> tuple[int, int]:
    count, _, period = limit.partition("/")
    seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[period.strip() or "minute"]
    return int(count), seconds


class RateLimiter:
    """Sliding-window counters per (client, bucket), shared by every worker process.

    Each window of the limit's length keeps a count; a request is weighed against the current
    window's count plus the previous window's, scaled by how much of the previous window the last
    `seconds` still cover. A fixed window would let a client spend its limit at the end of one
    window and again at the start of the next (twice the limit in a moment); this does not.

    In Redis when configured (all machines share it); otherwise in a small SQLite file in the
    instance folder, which every gunicorn worker on this machine shares. An outage of either lets
    requests through: a rate limiter must not take the product down.
    """

    def __init__(self, redis_url: str | None = None, path: str | None = None, clock=time.time):
        self._redis = self._path = None
        self._clock = clock
        self._local = threading.local()
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)
        else:
            self._path = path

    def hit(self, client: str, bucket: str, limit: str) -> bool:
        """Count one request; False when the client is over `limit` (e.g. '60/minute')."""
        count, seconds = _parse(limit)
        now = self._clock()
        current, previous = self._counts(client, bucket, seconds, now, add=True)
        return _estimate(current, previous, seconds, now) <= count

    def peek(self, client: str, bucket: str, limit: str) -> float:
        """How many hits `client` has had in `bucket` over the last window, without counting one."""
        _, seconds = _parse(limit)
        now = self._clock()
        current, previous = self._counts(client, bucket, seconds, now, add=False)
        return _estimate(current, previous, seconds, now)

    def retry_after(self, client: str, bucket: str, limit: str) -> int:
        """Seconds until one more request of `client` in `bucket` fits under `limit`."""
        count, seconds = _parse(limit)
        now = self._clock()
        current, previous = self._counts(client, bucket, seconds, now, add=False)
        return _seconds_until_room(count, current, previous, seconds, now)

    def _counts(self, client: str, bucket: str, seconds: int, now: float, add: bool):
        window = int(now // seconds)
        key, before = (f"rl:{bucket}:{client}:{w}" for w in (window, window - 1))
        keep_until = (window + 2) * seconds  # a window still weighs on the next one
        try:
            if self._redis is not None:
                return self._counts_redis(key, before, keep_until, add)
            return self._counts_sqlite(key, before, keep_until, add)
        except Exception:  # an outage lets requests through: see the class docstring
            return 0, 0

    def _db(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            from webapp.config import touch_private

            touch_private(self._path)
            conn = sqlite3.connect(self._path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # Windows of different lengths (minute, hour) share the table: each row says until
            # when it is needed (the end of the window after its own).
            conn.execute(
                "CREATE TABLE IF NOT EXISTS window_hits (key TEXT PRIMARY KEY, n INTEGER, ends INTEGER)"
            )
            self._local.conn = conn
        return conn

    def _counts_sqlite(self, key: str, before: str, keep_until: int, add: bool):
        conn = self._db()
        if add:
            n = conn.execute(
                "INSERT INTO window_hits VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE SET n = n + 1 "
                "RETURNING n",
                (key, keep_until),
            ).fetchone()[0]
            if n == 1:  # first hit of a window: forget the windows nothing weighs any more
                conn.execute("DELETE FROM window_hits WHERE ends < ?", (int(self._clock()),))
        else:
            row = conn.execute("SELECT n FROM window_hits WHERE key = ?", (key,)).fetchone()
            n = row[0] if row else 0
        row = conn.execute("SELECT n FROM window_hits WHERE key = ?", (before,)).fetchone()
        return n, row[0] if row else 0

    def _counts_redis(self, key: str, before: str, keep_until: int, add: bool):
        pipe = self._redis.pipeline()
        if add:
            pipe.incr(key)
            pipe.expireat(key, keep_until)
        else:
            pipe.get(key)
        pipe.get(before)
        results = pipe.execute()
        return int(results[0] or 0), int(results[-1] or 0)


def _estimate(current: int, previous: int, seconds: int, now: float) -> float:
    """Hits over the last `seconds`: the current window's, plus the previous window's share of
    the stretch the last `seconds` still cover."""
    return current + previous * (1 - (now % seconds) / seconds)


def _seconds_until_room(count: int, current: int, previous: int, seconds: int, now: float) -> int:
    """When `_estimate` + 1 first fits under `count` again, in whole seconds (at least 1)."""
    into = now % seconds
    room = count - 1 - current  # what the previous window's share must fall to, in this window
    if room >= 0 and previous > 0:
        wait = max(0.0, (1 - room / previous) * seconds - into)
    elif room >= 0:
        wait = 0.0
    else:  # only the next window has room: there this window's count is the carried share
        share = max(0.0, 1 - (count - 1) / current)
        wait = (seconds - into) + share * seconds
    return max(1, int(wait) + 1)


def too_many(message: str, retry_after: int) -> ApiError:
    """A 429 whose response carries `Retry-After: retry_after`."""
    g.retry_after = int(retry_after)
    return ApiError(
        f"{message} Try again in {int(retry_after)} s.", 429, retry_after=int(retry_after)
    )


def limiter() -> RateLimiter:
    """The app's rate limiter."""
    return current_app.extensions["rate_limiter"]


def rate_limited(bucket: str, config_key: str):
    """Decorator: answer 429 when this client address exceeds the configured limit for `bucket`.

    Counted per address (not per user agent or cookie, which a client can change at will); an
    IPv6 client is its whole /64, as for votes and the job cap.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            limit = current_app.config[config_key]
            if not limiter().hit(network_of(client_address()), bucket, limit):
                raise too_many(
                    "Too many requests from your address.",
                    limiter().retry_after(network_of(client_address()), bucket, limit),
                )
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _same_origin(value: str) -> bool:
    # The host decides: behind a TLS proxy without PROXY_COUNT the scheme seen here is http.
    return urlsplit(value).netloc.lower() == request.host.lower()


def check_same_origin() -> None:
    """Refuse a state-changing request that a browser sends from another site.

    Browsers say where a request comes from (Sec-Fetch-Site, Origin, Referer). A cross-site
    `Sec-Fetch-Site` or `Origin` is refused whether or not it carries our cookies: such a page
    could otherwise spend its visitors' upload and job quotas. The Referer alone is judged only
    when our cookies come with it. Scripts (curl, requests) send none of these and are let
    through: they hold their own cookies, so nobody can act for them.
    """
    if request.method in SAFE_METHODS:
        return
    cookies = request.cookies
    has_cookies = CLIENT_COOKIE in cookies or current_app.config["SESSION_COOKIE_NAME"] in cookies
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    referer = request.headers.get("Referer")
    if site is not None:
        ok = site in ("same-origin", "none")
    elif origin is not None:
        ok = origin != "null" and _same_origin(origin)
    elif has_cookies:
        ok = referer is None or _same_origin(referer)
    else:
        ok = True
    if not ok:
        raise ApiError(
            "Cross-site request refused: use CelebVision's own pages (or a script that sends no "
            "Origin header) to do this.",
            403,
        )


class TrustedProxies:
    """WSGI middleware: `X-Forwarded-*` headers count only when the direct peer is one of the
    configured proxies (FORWARDED_ALLOW_IPS, as gunicorn's `forwarded_allow_ips`); from anyone
    else they are dropped, so a client that reaches the server directly cannot pick its own
    address (rate limits, votes, the job cap) or host (the same-origin check)."""

    def __init__(self, app, proxy_count: int, allow: str):
        self.direct = app
        n = proxy_count
        self.proxied = ProxyFix(app, x_for=n, x_proto=n, x_host=n, x_port=n)
        self.allow_all = allow.strip() == "*"
        self.networks = [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in allow.split(",")
            if part.strip() and part.strip() != "*"
        ]

    def trusted(self, peer: str) -> bool:
        if self.allow_all:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, wsgi_env, start_response):
        if self.trusted(wsgi_env.get("REMOTE_ADDR", "")):
            return self.proxied(wsgi_env, start_response)
        for key in [k for k in wsgi_env if k.startswith("HTTP_X_FORWARDED_")]:
            del wsgi_env[key]
        return self.direct(wsgi_env, start_response)


def _private(path: str) -> bool:
    return path.startswith(PRIVATE_PREFIXES) or bool(g.get("private"))


def register_security(app: Flask) -> None:
    """Install the rate limiter and the headers every response carries."""
    make_private_dir(Path(app.config["INSTANCE_DIR"]))
    app.extensions["rate_limiter"] = RateLimiter(
        app.config.get("REDIS_URL"), str(Path(app.config["INSTANCE_DIR"]) / "ratelimit.db")
    )

    if app.config.get("PROXY_COUNT"):
        app.wsgi_app = TrustedProxies(
            app.wsgi_app, int(app.config["PROXY_COUNT"]), app.config["FORWARDED_ALLOW_IPS"]
        )
    app.before_request(check_same_origin)

    @app.after_request
    def _headers(response):
        if response.status_code == 429:
            response.headers.setdefault("Retry-After", str(g.get("retry_after", 60)))
        if _private(request.path):
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("HSTS_SECONDS") and request.is_secure:
            hsts = int(app.config["HSTS_SECONDS"])
            response.headers["Strict-Transport-Security"] = f"max-age={hsts}; includeSubDomains"
        set_client_cookie(response)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
