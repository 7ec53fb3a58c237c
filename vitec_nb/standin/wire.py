"""The stand-in on the wire: the HTTP server and handler, Basic auth, Accept, sending.

Sending applies the transfer model: with a throughput (bytes per second) the body goes
out in chunks of `CHUNK` bytes, chunk i no earlier than `start + bytes so far /
throughput`, so a big answer costs its latency plus its size over the throughput. Each
paced send is recorded as a `Transfer` (the schedule planned and when each chunk went).
"""

from __future__ import annotations

import base64
import binascii
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import numpy as np

from vitec_nb.standin.errors import Answer

if TYPE_CHECKING:
    import threading

    from vitec_nb.standin.server import StandIn

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Transfer:
    """One paced answer: `due[i]` and `sent[i]` are seconds after `started` (monotonic
    clock) at which chunk i, ending at byte `ends[i]` of the body, was due and was handed
    to the socket. Recorded before the last chunk goes out."""

    path: str
    size: int
    throughput: float
    started: float
    ends: tuple[int, ...]
    due: tuple[float, ...]
    sent: tuple[float, ...]


def wants_xml(accept: str | None) -> str | None:
    """The XML media type to answer with, when Accept prefers XML over JSON."""
    if not accept:
        return None
    best: tuple[float, int, str] | None = None
    for pos, part in enumerate(accept.split(",")):
        media, *opts = (p.strip() for p in part.split(";"))
        q = 1.0
        for opt in opts:
            if opt.startswith("q="):
                try:
                    q = float(opt[2:])
                except ValueError:
                    q = 0.0
        media = media.lower()
        known = media in ("application/xml", "text/xml", "application/json", "text/json", "*/*")
        if known and q > 0 and (best is None or q > best[0]):
            best = (q, pos, media)
    if best and best[2].endswith("/xml"):
        return best[2]
    return None


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(username, password) from a Basic Authorization header; (None, None) if unusable."""
    if not header:
        return None, None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("latin-1")
        except binascii.Error:
            return None, None
    user, sep, password = decoded.partition(":")
    if not sep:
        return user or None, None
    return user, password


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections from 8 concurrent clients
    # (they retry a second later): a real server accepts far more.
    request_queue_size = 256
    standin: StandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections reset by the client or by `down` are expected: stay quiet."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VitecConnectStandIn/1.0"
    server: Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.standin._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.standin._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `StandIn.requests`."""

    def do_GET(self) -> None:
        self.server.standin._handle(self)

    def _not_allowed(self) -> None:
        self.close_connection = True  # any request body stays unread: do not reuse the socket
        self.server.standin._handle(self, allowed=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _not_allowed


def _head(h: Handler, answer: Answer, size: int) -> bytes:
    status = answer.status
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Server: {h.server_version}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {answer.content_type}",
        f"Content-Length: {size}",
        *(f"{k}: {v}" for k, v in answer.headers),
    ]
    if h.close_connection:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send(
    h: Handler,
    answer: Answer,
    body: bytes,
    stopping: threading.Event,
    *,
    slow: float = 0.0,
    throughput: float | None = None,
    record: Callable[[Transfer], None] | None = None,
    path: str = "",
) -> None:
    """Write the answer: at once, dribbled over `slow` seconds, or paced at `throughput`."""
    head = _head(h, answer, len(body))
    try:
        if slow > 0 and body:
            h.wfile.write(head)
            pieces = np.array_split(np.frombuffer(body, np.uint8), min(5, len(body)))
            for piece in pieces:
                if stopping.wait(slow / len(pieces)):
                    h.close_connection = True
                    return
                h.wfile.write(piece.tobytes())
        elif throughput and body:
            _paced(h, head, body, stopping, throughput, record, path)
        else:
            h.wfile.write(head + body)
    except OSError:
        h.close_connection = True


def _paced(
    h: Handler,
    head: bytes,
    body: bytes,
    stopping: threading.Event,
    throughput: float,
    record: Callable[[Transfer], None] | None,
    path: str,
) -> None:
    """Chunk i goes out no earlier than `bytes up to its end / throughput` after the start."""
    ends = (*range(CHUNK, len(body), CHUNK), len(body))
    due = tuple(end / throughput for end in ends)
    started = time.monotonic()
    sent: list[float] = []
    h.wfile.write(head)
    begin = 0
    for end, at in zip(ends, due, strict=True):
        wait = started + at - time.monotonic()
        if wait > 0 and stopping.wait(wait):
            h.close_connection = True
            return
        sent.append(time.monotonic() - started)
        if end == len(body) and record is not None:  # logged before the client can finish
            record(Transfer(path, len(body), throughput, started, ends, due, tuple(sent)))
        h.wfile.write(body[begin:end])
        begin = end
