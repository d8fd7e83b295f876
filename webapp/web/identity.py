"""Who is asking: the client address (one voter), and the uploader's signed cookie (ownership).

Two different questions with two different answers:
- A *voter* is a client address (behind PROXY_COUNT trusted proxies, the address they report).
  User agents and cookies are free to change, so votes, ratings and rate limits count per address.
- An *owner* is whoever holds the random token in the signed, HttpOnly `cv_client` cookie set
  with their upload: only they (or an admin) may act on what they uploaded.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

CLIENT_COOKIE = "cv_client"
COOKIE_MAX_AGE = 365 * 24 * 3600


def client_address() -> str:
    """The client's network address (ProxyFix has already applied PROXY_COUNT)."""
    return request.remote_addr or "unknown"


def network_of(address: str) -> str:
    """The unit that counts as one client: an IPv4 address, or an IPv6 client's whole /64 (one
    subscriber is given a /64 and may pick any address in it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(kind: str, value: str) -> str:
    raw = f"{current_app.secret_key}|{kind}|{value}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def voter_id() -> str:
    """A salted hash of the client address (IPv6: its /64): one per voter, not reversible."""
    return _digest("voter", network_of(client_address()))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="cv-client-token")


def _cookie_token() -> str | None:
    raw = request.cookies.get(CLIENT_COOKIE)
    if not raw:
        return None
    try:
        token = _serializer().loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) and len(token) >= 16 else None


def owner_id(create: bool = False) -> str | None:
    """The hash stored as an upload's owner for this browser or script; a new token when `create`."""
    token = g.get("new_client_token") or _cookie_token()
    if token is None and create:
        token = g.new_client_token = secrets.token_urlsafe(24)
    return _digest("owner", token) if token else None


def set_client_cookie(response) -> None:
    """Send the cookie holding a token created during this request (after_request)."""
    token = g.get("new_client_token")
    if token is None:
        return
    response.set_cookie(
        CLIENT_COOKIE,
        _serializer().dumps(token),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        path="/",
    )


def is_owner(row) -> bool:
    """True when this request comes from the uploader of `row` (a Classification or Stylization)."""
    mine = owner_id()
    return bool(mine and row.owner and secrets.compare_digest(mine.encode(), row.owner.encode()))
