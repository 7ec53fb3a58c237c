"""The stand-in's HTTP server: routing, Basic auth, JSON/XML answers, faults, request log.

A `ThreadingHTTPServer` on loopback (HTTP/1.1, keep-alive) that answers like Vitec
Connect: `CRM/Contact/{customerId}` and three lookups. `StandIn` wraps it with the dataset,
the accounts, the fault switches and the request log, and is a context manager.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
import orjson
import pandas as pd

from vitec_nb.standin.data import Dataset, build_dataset
from vitec_nb.standin.faults import FaultInjector, FaultPlan, Faults
from vitec_nb.standin.filtering import select
from vitec_nb.standin.params import (
    InvalidParameters,
    first_values,
    lookup,
    parse_contact_filters,
)
from vitec_nb.standin.render import json_body, xml_body

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "Demo-Passw0rd!"  # fixed, so demo answers stay cached between sessions
_JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the stand-in saw it (failed ones included).

    `path` is decoded and has no query string; `params` maps each parameter name as sent
    to its first value; `username` is the Basic user name sent (None without one; never
    the password); `accept` is the Accept header.
    """

    method: str
    path: str
    params: dict[str, str]
    status: int
    time: float
    username: str | None
    accept: str | None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = _JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, message: str, **extra: Any) -> _Answer:
    body = {"message": message, **extra}
    return _Answer(status, orjson.dumps(body))


def _wants_xml(accept: str | None) -> str | None:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections from 8 concurrent clients
    # (they retry a second later): a real server accepts far more.
    request_queue_size = 256
    standin: StandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections reset by the client or by `down` are expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VitecConnectStandIn/1.0"
    server: _Server

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


class StandIn:
    """A local Vitec Connect over a seeded synthetic CRM, for tests, demos and benchmarks.

        with StandIn(seed=0, contacts=10_000) as s:
            requests.get(f"{s.url}/CRM/Contact/{s.customer_ids[0]}",
                         auth=(s.username, s.password), params={"LeadScore": 5})

    Args:
        seed: seeds the dataset (same seed and sizes, same data).
        contacts: total contacts over all offices (up to a million or so).
        offices: number of offices (M30011, M30012, ...) or a list of customer ids.
        latency: seconds added to each contact answer (a fault switch, see `set_faults`).
        port: port on 127.0.0.1; 0 picks a free one.
        agents: agents per office (default 5-40, drawn per office).
        end: last day of the data (default 2026-10-31).
        fault_seed: seeds the fault randomness (error_rate etc.) for stable tests.
        username, password: the demo account, allowed on every office.
        **faults: initial fault switches (see `set_faults`).
    """

    def __init__(
        self,
        seed: int = 0,
        contacts: int = 10_000,
        offices: int | list[str] | tuple[str, ...] | None = None,
        latency: float = 0.0,
        port: int = 0,
        *,
        agents: int | None = None,
        end: str | dt.date | None = None,
        fault_seed: int | None = 0,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        host: str = "127.0.0.1",
        **faults: Any,
    ) -> None:
        self.seed = seed
        self.dataset: Dataset = build_dataset(seed, contacts, offices, agents=agents, end=end)
        self.dataset.rows("json")  # pre-render every reference once: answers are slices of it
        self.username = username
        self.password = password
        self._host = host
        self._port = port
        self._accounts: dict[str, dict[str, str]] = {
            username: {cid: password for cid in self.dataset.customer_ids}
        }
        self._faults = FaultInjector(seed=fault_seed)
        self._faults.set(latency=latency, **faults)
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._in_flight = 0
        self._max_in_flight = 0
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started = False

    # --- public surface -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:54321" (no trailing slash)."""
        if not self._started:
            raise RuntimeError(
                "The stand-in is not started: use `with StandIn() as s:` or s.start()."
            )
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def customer_ids(self) -> list[str]:
        return list(self.dataset.customer_ids)

    @property
    def truth(self) -> pd.DataFrame:
        """Ground truth, one row per contact (see docs/standin.md). Do not modify it."""
        return self.dataset.truth

    @property
    def agents(self) -> pd.DataFrame:
        """The users lookup as a frame: user_id, name, title, archived, customer_id."""
        return self.dataset.agents_frame.copy()

    @property
    def newsletter_lists(self) -> pd.DataFrame:
        """Newsletter lists: id, name, customer_id."""
        return self.dataset.lists_frame.copy()

    @property
    def custom_field_defs(self) -> pd.DataFrame:
        """Custom field definitions: name, label, type, customer_id."""
        return self.dataset.fields_frame.copy()

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (a copy)."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log and restart `max_in_flight` from the requests open now."""
        with self._log_lock:
            self._log.clear()
            self._max_in_flight = self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests received and not yet answered at one time, since the last
        `clear_requests()` (the client's real concurrency, as the server saw it)."""
        with self._log_lock:
            return self._max_in_flight

    @property
    def faults(self) -> Faults:
        """The fault switches in force."""
        return self._faults.faults

    def add_account(self, username: str, passwords: dict[str, str]) -> None:
        """Add (or replace) an account with one password per customer id it may see."""
        if not username or ":" in username:
            raise ValueError("username: must be non-empty and contain no ':'")
        unknown = sorted(set(passwords) - set(self.dataset.customer_ids))
        if unknown:
            raise ValueError(
                f"passwords: unknown customer ids {unknown}; this stand-in has "
                f"{', '.join(self.dataset.customer_ids)}"
            )
        with self._state_lock:
            self._accounts[username] = dict(passwords)

    def set_faults(self, seed: int | None = None, **switches: Any) -> Faults:
        """Change fault switches while running; no switches clears them all.

        Switches: latency, jitter, error_rate, error_status, retry_after, rate_limit_burst,
        truncate_rate, malformed_rate, slow_body, down, lookups (see `faults.Faults`).
        `seed` restarts the fault randomness. `down=True` closes the listening socket and
        open connections; `down=False` listens again on the same port.
        """
        new = self._faults.set(seed=seed, **switches)
        if self._started:
            with self._state_lock:
                if new.down and self._server is not None:
                    self._go_down()
                elif not new.down and self._server is None:
                    self._go_up()
        return new

    def start(self) -> StandIn:
        """Listen and serve in a background thread; returns self."""
        with self._state_lock:
            if self._started:
                return self
            self._stopping.clear()
            self._started = True
            if not self._faults.faults.down:
                self._go_up()
            elif self._port == 0:  # down from the start: reserve a port to come up on
                with socket.socket() as probe:
                    probe.bind((self._host, 0))
                    self._port = probe.getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and wait for the server thread."""
        with self._state_lock:
            if not self._started:
                return
            self._stopping.set()
            self._go_down()
            self._started = False

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._started else "not started"
        return (
            f"StandIn(seed={self.seed}, contacts={self.dataset.size}, "
            f"offices={self.dataset.customer_ids}, {where})"
        )

    # --- lifecycle ----------------------------------------------------------------------

    def _go_up(self) -> None:
        server = _Server((self._host, self._port), _Handler)
        server.standin = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"standin-{self._port}",
        )  # fmt: skip
        self._thread.start()

    def _go_down(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # --- handling a request -------------------------------------------------------------

    def _handle(self, h: _Handler, allowed: bool = True) -> None:
        with self._log_lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            answer, body, record, slow = self._prepare_answer(h, allowed)
        finally:
            # before the answer is sent: a client cannot have read it (and sent its next
            # request on the freed connection) before this, so the count is never high
            with self._log_lock:
                self._in_flight -= 1
        with self._log_lock:
            self._log.append(record)
        self._send(h, answer, body, slow)

    def _prepare_answer(
        self, h: _Handler, allowed: bool
    ) -> tuple[_Answer, bytes, RequestRecord, float]:
        received = time.time()
        split = urlsplit(h.path)
        path = unquote(split.path)
        params = first_values(parse_qsl(split.query, keep_blank_values=True))
        accept = h.headers.get("Accept")
        username, password = _basic_credentials(h.headers.get("Authorization"))
        segments = [s for s in path.split("/") if s]
        route = _route(segments)
        plan = self._faults.plan(route == "contacts") if route and allowed else FaultPlan()
        if plan.delay:
            self._stopping.wait(plan.delay)
        if not allowed:
            answer = _error(
                405, f"The requested resource does not support http method '{h.command}'."
            )
        elif plan.status is not None:
            answer = _fault_answer(plan)
        else:
            answer = self._answer(route, segments, params, accept, username, password, path)
        body = answer.body
        if answer.status == 200 and plan.body == "truncate" and len(body) > 1:
            body = body[: max(1, min(len(body) - 1, int(len(body) * plan.cut)))]
        elif answer.status == 200 and plan.body == "malformed":
            body = _malformed(plan.malformed_kind, answer.content_type)
        record = RequestRecord(h.command, path, params, answer.status, received, username, accept)
        return answer, body, record, plan.slow_body if answer.status == 200 else 0.0

    def _answer(
        self,
        route: str | None,
        segments: list[str],
        params: dict[str, str],
        accept: str | None,
        username: str | None,
        password: str | None,
        path: str,
    ) -> _Answer:
        if route is None:
            return _error(404, f"No HTTP resource was found that matches the request URI '{path}'.")
        ds = self.dataset
        if route == "contacts":
            cid = segments[2]
        else:
            cid = lookup(params, "CustomerId") if route in ("users", "fields") else segments[2]
            if cid is None:
                return _error(
                    400,
                    "The request is invalid.",
                    errors={"CustomerId": ["The CustomerId field is required."]},
                )
        with self._state_lock:
            account = self._accounts.get(username or "")
        if account is None or password is None or password not in account.values():
            return _Answer(
                401,
                orjson.dumps({"message": "Authorization has been denied for this request."}),
                headers=(("WWW-Authenticate", 'Basic realm="Vitec Connect"'),),
            )
        filters = None
        if route == "contacts":
            try:
                filters = parse_contact_filters(params)
            except InvalidParameters as exc:
                return _error(400, "The request is invalid.", errors=exc.errors)
        office = _office_index(ds, cid)
        if office is None or account.get(ds.customer_ids[office]) != password:
            return _error(403, f"Access to customer '{cid}' is denied for this user.")
        if route == "users":
            return _Answer(200, orjson.dumps(ds.users_json(office)))
        if route == "lists":
            return _Answer(200, orjson.dumps(ds.lists_json(office)))
        if route == "fields":
            return _Answer(200, orjson.dumps(ds.fields_json(office)))
        parts = select(ds, office, filters)
        xml = _wants_xml(accept)
        if xml:
            return _Answer(200, xml_body(ds, parts), f"{xml}; charset=utf-8")
        return _Answer(200, json_body(ds, parts))

    def _send(self, h: _Handler, answer: _Answer, body: bytes, slow: float) -> None:
        reason = (
            HTTPStatus(answer.status).phrase
            if answer.status in HTTPStatus._value2member_map_
            else ""
        )
        lines = [
            f"HTTP/1.1 {answer.status} {reason}",
            f"Server: {h.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Type: {answer.content_type}",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in answer.headers),
        ]
        if h.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if slow > 0 and body:
                h.wfile.write(head)
                pieces = np.array_split(np.frombuffer(body, np.uint8), min(5, len(body)))
                for piece in pieces:
                    if self._stopping.wait(slow / len(pieces)):
                        h.close_connection = True
                        return
                    h.wfile.write(piece.tobytes())
            else:
                h.wfile.write(head + body)
        except OSError:
            h.close_connection = True


def _route(segments: list[str]) -> str | None:
    """Which endpoint a path is for (case-insensitive, like ASP.NET routing)."""
    low = [s.lower() for s in segments]
    if len(low) == 3 and low[:2] == ["crm", "contact"]:
        return "contacts"
    if low == ["user", "getuser"]:
        return "users"
    if len(low) == 4 and low[:2] == ["crm", "newsletter"] and low[3] == "newsletterlists":
        return "lists"
    if low == ["customfield", "get"]:
        return "fields"
    return None


def _office_index(ds: Dataset, cid: str) -> int | None:
    """Index of the office with customer id `cid` (case-insensitive), None if unknown."""
    wanted = cid.strip().casefold()
    for k, known in enumerate(ds.customer_ids):
        if known.casefold() == wanted:
            return k
    return None


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
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


def _fault_answer(plan: FaultPlan) -> _Answer:
    status = plan.status or 500
    headers: tuple[tuple[str, str], ...] = ()
    if plan.retry_after is not None:
        headers = (("Retry-After", _seconds(plan.retry_after)),)
    messages = {
        429: "Too many requests. Try again later.",
        500: "An error has occurred.",
        502: "Bad gateway.",
        503: "The service is temporarily unavailable.",
        504: "Gateway timeout.",
    }
    return _Answer(
        status, orjson.dumps({"message": messages.get(status, "Error.")}), headers=headers
    )


def _seconds(value: float) -> str:
    """Retry-After is whole seconds in HTTP; round up so a client never retries early."""
    whole = int(value)
    return str(whole if whole == value else whole + 1)


def _malformed(kind: int, content_type: str) -> bytes:
    if "xml" in content_type:
        return [b"<CrmContactList><Persons><CrmContactRef", b"not xml at all", b"<Other/>"][kind]
    return [
        b'{"persons": [{"id": "CRM0", "changedAt": ',  # invalid JSON
        b"<html><body>Service Unavailable</body></html>",  # not JSON at all
        b'{"items": [], "total": 0}',  # valid JSON, wrong shape
    ][kind]
