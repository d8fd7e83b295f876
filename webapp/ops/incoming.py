"""A request as the web workers' front reads it (webapp/ops/front.py): its bytes so far, when it
is whole, when it is too slow, and the answers the front gives by itself."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

HEAD_LIMIT = 64 * 1024  # gunicorn's own limits (8 kB lines, 100 fields) answer a long head


@dataclass
class FrontSettings:
    """Limits of the front, from the app's config (gunicorn.conf.py's post_worker_init)."""

    connections_per_address: int = 16  # per worker
    body_seconds: float = 10.0
    min_rate: int = 2000
    max_body: int = 10 * 1024 * 1024
    trusted: list = field(default_factory=list)  # networks whose connections are not counted


def response_bytes(status: str, message: str) -> bytes:
    payload = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\nServer: CelebVision\r\n"
    )
    if status.startswith("429"):
        head += "Retry-After: 5\r\n"
    return head.encode() + b"\r\n" + payload


TOO_MANY = response_bytes(
    "429 Too Many Requests",
    "Too many open connections from your address; close some and try again.",
)
TOO_SLOW = response_bytes(
    "408 Request Timeout",
    "Your request's body arrived too slowly; send it again at a normal speed.",
)
HEAD_TOO_LONG = response_bytes(
    "431 Request Header Fields Too Large", "Your request's headers are too long."
)


class Incoming:
    """A request the front is reading: its bytes so far and how many it needs."""

    def __init__(self, conn, now: float):
        self.conn, self.data = conn, bytearray()
        self.head_end: int | None = None
        self.needed: int | None = None  # head + body; None until the head is read
        self.chunked = False
        self.started = self.window_start = now
        self.window_bytes = 0

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        self.window_bytes += len(chunk)

    def state(self, front: FrontSettings) -> tuple[str, bytes | None]:
        """('more', None), ('ready', None), ('continue', reply to send) or ('refuse', answer)."""
        if self.head_end is None:
            end = self.data.find(b"\r\n\r\n")
            if end < 0:
                return ("refuse", HEAD_TOO_LONG) if len(self.data) > HEAD_LIMIT else ("more", None)
            self.head_end = end + 4
            expects = self._read_head(front)
            if expects and not self.complete():
                return "continue", b"HTTP/1.1 100 Continue\r\n\r\n"
        return ("ready", None) if self.complete() else ("more", None)

    def complete(self) -> bool:
        if self.needed is None:
            return True  # gunicorn answers a head it cannot frame
        if self.chunked:
            return self.data.endswith(b"0\r\n\r\n") or len(self.data) >= self.needed
        return len(self.data) >= self.needed

    def _read_head(self, front: FrontSettings) -> bool:
        """Frame the body from the head; drop `Expect: 100-continue`, which the front answers."""
        lines = bytes(self.data[: self.head_end - 4]).split(b"\r\n")
        kept, expects, length = [lines[0]], False, 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"expect" and value == b"100-continue":
                expects = True
                continue
            if name == b"transfer-encoding":
                self.chunked = True
            elif name == b"content-length":
                if not value.isdigit():
                    return False  # gunicorn answers 400
                length = int(value)
            kept.append(line)
        head = b"\r\n".join(kept) + b"\r\n\r\n"
        self.data[: self.head_end] = head
        self.head_end = len(head)
        # A body larger than allowed goes straight on: the app answers 413 without reading it.
        body = front.max_body + 1 if self.chunked else min(length, front.max_body + 1)
        self.needed = self.head_end + (0 if length > front.max_body else body)
        return expects

    def too_slow(self, now: float, front: FrontSettings, keepalive: float) -> str | None:
        """'idle' for a connection that never sent a byte, 'slow' under the minimum rate."""
        if not self.data:
            return "idle" if now - self.started > keepalive else None
        if self.head_end is None:
            return "slow" if now - self.started > front.body_seconds else None
        if now - self.window_start >= front.body_seconds:
            if self.window_bytes < front.min_rate * front.body_seconds:
                return "slow"
            self.window_start, self.window_bytes = now, 0
        return None
