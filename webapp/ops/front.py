"""The web worker's front: a request is read whole in the worker's poller before a thread serves it.

gunicorn's threaded worker gives a connection a thread as soon as bytes arrive, and the thread
then waits on the socket for the rest of the request: 34 reconnecting slow bodies held all 32
threads of `make run` and /healthz took 15 s. Here the main loop of each worker
reads every request's head and body itself, without blocking, and hands it to a thread only
once it is all there, so slow and idle clients cost a socket and a buffer, never a thread.
Around it:

- a client address (an IPv6 /64) may hold `CONNECTIONS_PER_ADDRESS` open connections on this
  server (split between the web workers); more are answered 429 and closed. Trusted proxies
  (PROXY_COUNT > 0) are exempt: the proxy limits its own clients.
- a request's head must arrive within `REQUEST_BODY_SECONDS`, and its body at no less than
  `REQUEST_BODY_MIN_RATE` bytes/s over every `REQUEST_BODY_SECONDS` stretch: a minimum rate,
  not a deadline that grows with the length a client declares. Slower gets 408.
- a connection closes without blocking the loop (gunicorn's own graceful close lingers up to
  2 s in the main loop for a client that does not read).

TLS and HTTP/2 connections go to gunicorn's own path (`make run` serves neither; a deployment
terminates them in nginx).
"""

from __future__ import annotations

import errno
import ipaddress
import selectors
import socket
import time
from collections import defaultdict
from functools import partial

from webapp.ops.incoming import TOO_MANY, TOO_SLOW, FrontSettings, Incoming

READ_SIZE = 256 * 1024
LINGER_SECONDS = 2.0


def client_network(peer) -> str:
    """The unit one client is counted as: an IPv4 address or an IPv6 /64 (webapp.web.identity)."""
    from webapp.web.identity import network_of

    host = peer[0] if isinstance(peer, tuple) else str(peer)
    return network_of(host)


def front_worker():
    """gunicorn's threaded worker with the front above."""
    from gunicorn import http
    from gunicorn.workers.gthread import TConn, ThreadWorker

    class FrontConn(TConn):
        """A connection whose graceful close lingers in the poller, not in the main loop."""

        def __init__(self, worker, *args):
            super().__init__(*args)
            self.worker = worker

        def close(self, graceful=False):
            if graceful:
                self.worker.linger(self.sock)
            else:
                super().close()

    class FrontWorker(ThreadWorker):
        front = FrontSettings()

        def init_process(self):
            self.incoming: dict = {}
            self.lingering: dict = {}
            self.open_by_address: dict = defaultdict(set)
            self.last_prune = time.monotonic()
            super().init_process()

        def accept(self, listener):
            try:
                client_sock, client_addr = listener.accept()
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            client_sock.setblocking(False)
            if not self.admit(client_addr):
                self.refuse(client_sock, TOO_MANY)
                return
            self.nr_conns += 1
            conn = FrontConn(self, self.cfg, client_sock, client_addr, listener.getsockname())
            self.open_by_address[client_network(client_addr)].add(conn)
            if self.cfg.is_ssl:
                self.enqueue_req(conn)  # TLS: gunicorn's own path
            else:
                self.read_request(conn)

        def admit(self, peer) -> bool:
            """Whether this address may open one more connection."""
            network = client_network(peer)
            if self.trusted(network):
                return True
            conns = self.open_by_address.get(network)
            if not conns:
                return True
            conns -= {c for c in conns if c.sock.fileno() < 0}
            return len(conns) < self.front.connections_per_address

        def trusted(self, network: str) -> bool:
            try:
                address = ipaddress.ip_network(network, strict=False)
            except ValueError:
                return False
            return any(
                address.subnet_of(n) for n in self.front.trusted if n.version == address.version
            )

        def read_request(self, conn):
            incoming = Incoming(conn, time.monotonic())
            self.incoming[conn] = incoming
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, incoming)
            )

        def on_client_socket_readable(self, conn, client):
            """A kept-alive connection's next request goes through the front too."""
            self.poller.unregister(client)
            self.keepalived_conns.remove(conn)
            self.read_request(conn)

        def on_request_bytes(self, incoming, sock):
            try:
                chunk = sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.drop(incoming, None)
                return
            incoming.add(chunk)
            verdict, reply = incoming.state(self.front)
            if verdict == "refuse":
                self.drop(incoming, reply)
            elif verdict == "continue":
                self.send_quietly(sock, reply)
            elif verdict == "ready":
                self.hand_over(incoming)

        def hand_over(self, incoming):
            """The whole request is here: a thread serves it from the buffer. Bytes past it (a
            pipelined next request) wait for the front again, so a thread never waits on them."""
            conn = incoming.conn
            self.poller.unregister(conn.sock)
            del self.incoming[conn]
            data = bytes(incoming.data)
            if incoming.needed is not None and not incoming.chunked:
                data, conn.leftover = data[: incoming.needed], data[incoming.needed :]
            if conn.parser is None:
                conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.parser.unreader.unread(data)
            conn.data_ready = True
            self.enqueue_req(conn)

        def finish_request(self, conn, fs):
            leftover = getattr(conn, "leftover", b"")
            conn.leftover = b""
            kept = self.alive and not fs.cancelled() and fs.exception() is None and fs.result()
            if not (leftover and kept is True):
                super().finish_request(conn, fs)
                return
            conn.sock.setblocking(False)  # the next request began with the last one
            self.read_request(conn)
            incoming = self.incoming[conn]
            incoming.add(leftover)
            verdict, reply = incoming.state(self.front)
            if verdict == "ready":
                self.hand_over(incoming)
            elif verdict == "refuse":
                self.drop(incoming, reply)
            elif verdict == "continue":
                self.send_quietly(conn.sock, reply)

        def drop(self, incoming, reply: bytes | None):
            conn = incoming.conn
            self.poller.unregister(conn.sock)
            del self.incoming[conn]
            self.nr_conns -= 1
            if reply is None:
                conn.sock.close()
            else:
                self.refuse(conn.sock, reply)

        @staticmethod
        def send_quietly(sock, data: bytes) -> bool:
            try:
                sock.send(data)
                return True
            except OSError:
                return False

        def refuse(self, sock, reply: bytes):
            """Answer and close, without resetting the answer away (unread bytes cause an RST)."""
            if self.send_quietly(sock, reply):
                self.linger(sock)
            else:
                sock.close()

        def linger(self, sock):
            """Half-close, then drain what the client still sends for a moment, in the poller."""
            try:
                sock.setblocking(False)
                sock.shutdown(socket.SHUT_WR)
                self.poller.register(sock, selectors.EVENT_READ, self.on_lingering_bytes)
            except (OSError, ValueError, KeyError):
                sock.close()
                return
            self.lingering[sock] = time.monotonic() + LINGER_SECONDS

        def on_lingering_bytes(self, sock):
            try:
                if sock.recv(READ_SIZE):
                    return
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                pass
            self.end_linger(sock)

        def end_linger(self, sock):
            self.lingering.pop(sock, None)
            try:
                self.poller.unregister(sock)
            except (KeyError, ValueError, OSError):
                pass
            sock.close()

        def murder_pending(self):
            """Each turn of the loop: requests too slow, lingering closes done, counts pruned."""
            super().murder_pending()
            now = time.monotonic()
            for incoming in list(self.incoming.values()):
                why = incoming.too_slow(now, self.front, self.cfg.keepalive)
                if why is not None or not self.alive:
                    self.drop(incoming, TOO_SLOW if why == "slow" else None)
            for sock, until in list(self.lingering.items()):
                if now >= until or not self.alive:
                    self.end_linger(sock)
            if now - self.last_prune > 10:
                self.last_prune = now
                for network in list(self.open_by_address):
                    conns = self.open_by_address[network]
                    conns -= {c for c in conns if c.sock.fileno() < 0}
                    if not conns:
                        del self.open_by_address[network]

    return FrontWorker


def settings_from(config: dict, workers: int) -> FrontSettings:
    """The front's limits from the app's config; the per-address limit shared among `workers`."""
    networks = []
    if config["PROXY_COUNT"]:
        for part in (config["FORWARDED_ALLOW_IPS"] or "").split(","):
            if part.strip() == "*":
                networks += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
            elif part.strip():
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
    per_worker = -(-int(config["CONNECTIONS_PER_ADDRESS"]) // max(1, workers))
    return FrontSettings(
        connections_per_address=max(1, per_worker),
        body_seconds=float(config["REQUEST_BODY_SECONDS"]),
        min_rate=int(config["REQUEST_BODY_MIN_RATE"]),
        max_body=int(config["MAX_CONTENT_LENGTH"]),
        trusted=networks,
    )
