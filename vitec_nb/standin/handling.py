"""How the stand-in handles one request: status order, faults, the answer, the logs.

`RequestHandling` is the part of `StandIn` that runs on the server's threads: 404 for an
unknown path, then 401, 400 and 403, then the route's answer (routes.py), with the fault
plan applied and the request logged before the answer is sent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from vitec_nb.standin import routes
from vitec_nb.standin.errors import Answer, error
from vitec_nb.standin.faults import FaultInjector, FaultPlan
from vitec_nb.standin.params import InvalidParameters, first_values
from vitec_nb.standin.wire import Handler, Transfer, basic_credentials, send

if TYPE_CHECKING:
    from vitec_nb.standin.data import Dataset
    from vitec_nb.standin.dialect import Dialect

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "Demo-Passw0rd!"  # fixed, so demo answers stay cached between sessions
_DENIED = "Authorization has been denied for this request."


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


class RequestHandling:
    """Request handling of `StandIn` (which sets the attributes below)."""

    dataset: Dataset
    _dialect: Dialect
    _faults: FaultInjector
    _accounts: dict[str, dict[str, str]]
    _log: list[RequestRecord]
    _transfers: list[Transfer]
    _log_lock: threading.Lock
    _state_lock: threading.RLock
    _stopping: threading.Event
    _in_flight: int
    _max_in_flight: int

    def _handle(self, h: Handler, allowed: bool = True) -> None:
        with self._log_lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            answer, body, record, plan = self._prepare_answer(h, allowed)
        finally:
            # before the answer is sent: a client cannot have read it (and sent its next
            # request on the freed connection) before this, so the count is never high
            with self._log_lock:
                self._in_flight -= 1
        with self._log_lock:
            self._log.append(record)
        slow = plan.slow_body if answer.status == 200 else 0.0
        send(h, answer, body, self._stopping, slow=slow, throughput=plan.throughput,
             record=self._record_transfer, path=record.path)  # fmt: skip

    def _record_transfer(self, transfer: Transfer) -> None:
        with self._log_lock:
            self._transfers.append(transfer)

    def _prepare_answer(
        self, h: Handler, allowed: bool
    ) -> tuple[Answer, bytes, RequestRecord, FaultPlan]:
        received = time.time()
        split = urlsplit(h.path)
        path = unquote(split.path)
        params = first_values(parse_qsl(split.query, keep_blank_values=True))
        accept = h.headers.get("Accept")
        username, password = basic_credentials(h.headers.get("Authorization"))
        segments = [s for s in path.split("/") if s]
        dialect = self._dialect
        route = routes.route_of(segments, dialect)
        plan = FaultPlan()
        if route and allowed:
            plan = self._faults.plan(route in routes.DATA_ROUTES)
        if plan.delay:
            self._stopping.wait(plan.delay)
        if not allowed:
            message = f"The requested resource does not support http method '{h.command}'."
            answer = error(405, message, dialect.error_shape)
        elif plan.status is not None:
            answer = _fault_answer(plan, dialect)
        else:
            answer = self._answer(route, segments, params, accept, (username, password), path)
        body = answer.body
        if answer.status == 200 and plan.body == "truncate" and len(body) > 1:
            body = body[: max(1, min(len(body) - 1, int(len(body) * plan.cut)))]
        elif answer.status == 200 and plan.body == "malformed":
            body = _malformed(plan.malformed_kind, answer.content_type)
        record = RequestRecord(h.command, path, params, answer.status, received, username, accept)
        return answer, body, record, plan

    def _answer(
        self,
        route: str | None,
        segments: list[str],
        params: dict[str, str],
        accept: str | None,
        credentials: tuple[str | None, str | None],
        path: str,
    ) -> Answer:
        """404, 401, 400, 403 in that order, else the route's answer."""
        dialect = self._dialect
        shape = dialect.error_shape
        if route is None:
            return error(
                404, f"No HTTP resource was found that matches the request URI '{path}'.", shape
            )
        ds = self.dataset
        cid = routes.customer_id_of(route, segments, params)
        username, password = credentials
        with self._state_lock:
            account = self._accounts.get(username or "")
        if account is None or password is None or password not in account.values():
            challenge = (("WWW-Authenticate", 'Basic realm="Vitec Connect"'),)
            return error(401, _DENIED, shape, headers=challenge)
        if cid is None:
            name = routes.customer_id_param(route)
            return routes.invalid({name: [f"The {name} field is required."]}, dialect)
        try:
            values = routes.validate(route, segments, params)
        except InvalidParameters as exc:
            return routes.invalid(exc.errors, dialect)
        office = _office_index(ds, cid)
        if office is None or account.get(ds.customer_ids[office]) != password:
            return error(403, f"Access to customer '{cid}' is denied for this user.", shape)
        parsed = routes.Parsed(route, ds.customer_ids[office], values)
        return routes.respond(ds, office, parsed, accept, dialect)


def _office_index(ds: Dataset, cid: str) -> int | None:
    """Index of the office with customer id `cid` (case-insensitive), None if unknown."""
    wanted = cid.strip().casefold()
    for k, known in enumerate(ds.customer_ids):
        if known.casefold() == wanted:
            return k
    return None


def _fault_answer(plan: FaultPlan, dialect: Dialect) -> Answer:
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
    return error(status, messages.get(status, "Error."), dialect.error_shape, headers=headers)


def _seconds(value: float) -> str:
    """Retry-After is whole seconds in HTTP; round up so a client never retries early."""
    whole = int(value)
    return str(whole if whole == value else whole + 1)


def _malformed(kind: int, content_type: str) -> bytes:
    if "xml" in content_type:
        return [b"<CrmContactList><Persons><CrmContactRef", b"not xml at all", b"<Other/>"][kind]
    return [
        b'{"persons": [{"id": "ADR0", "changedAt": ',  # invalid JSON
        b"<html><body>Service Unavailable</body></html>",  # not JSON at all
        b'{"items": [], "total": 0}',  # valid JSON, wrong shape
    ][kind]
