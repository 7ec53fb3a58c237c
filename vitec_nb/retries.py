"""Retries below the cache: a bounded urllib3 policy, a shared 429 gate and HTTP slots."""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from vitec_nb.settings import Settings

__all__ = [
    "HTTP_SLOTS",
    "RETRY_STATUSES",
    "CappedRetry",
    "GatedAdapter",
    "RateLimitGate",
    "make_retry",
]

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class RateLimitGate:
    """Shared by every request of one client: after a 429, nothing is sent until its wait is over.

    A 429 limits the client, not one call: while one thread honours `Retry-After`, the
    planner's other threads must not keep sending (each would only earn its own 429).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0  # time.monotonic()

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (a longer hold already in force stays)."""
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def wait(self) -> None:
        """Return once no hold is in force."""
        while True:
            with self._lock:
                delay = self._not_before - time.monotonic()
            if delay <= 0:
                return
            time.sleep(delay)


# Slots for HTTP exchanges, set by whoever runs several calls at once (the planner): a
# request holds a slot from sending until its whole body is in, not while its answer is
# parsed and stored, so the next request can go out meanwhile (benchmark 5).
HTTP_SLOTS: ContextVar[threading.Semaphore | None] = ContextVar("vitec_nb_http_slots", default=None)


class GatedAdapter(HTTPAdapter):
    """The HTTP adapter that waits for the client's `RateLimitGate` before each request.

    Inside a planner run it also takes one of the run's `HTTP_SLOTS` for the exchange
    (retries included) and reads the body before giving the slot back.
    """

    def __init__(self, *args: Any, gate: RateLimitGate, **kwargs: Any) -> None:
        self.gate = gate
        super().__init__(*args, **kwargs)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.gate.wait()
        slots = HTTP_SLOTS.get()
        if slots is None:
            return super().send(request, *args, **kwargs)
        with slots:
            response = super().send(request, *args, **kwargs)
            if not kwargs.get("stream"):
                response.content  # noqa: B018 - the body is read while the slot is held
            return response


class CappedRetry(Retry):
    """urllib3 `Retry` that honours Retry-After but never waits longer than `max_retry_after`.

    A read timeout is never retried (the caller asked for an answer within the timeout);
    other read errors (a connection dropped before the status line) are. A 429's wait is
    also put on the shared `gate`, so no other request goes out before it is over.
    """

    def __init__(
        self,
        *args: Any,
        max_retry_after: float = 30.0,
        gate: RateLimitGate | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after
        self.gate = gate

    def new(self, **kw: Any) -> CappedRetry:
        kw.setdefault("max_retry_after", self.max_retry_after)
        kw.setdefault("gate", self.gate)
        return super().new(**kw)

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.max_retry_after)

    def sleep(self, response: Any = None) -> None:
        super().sleep(response)
        if self.gate is not None:
            self.gate.wait()  # another thread's 429 may have asked for a longer wait

    def increment(
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ):  # type: ignore[no-untyped-def]
        if self.gate is not None and response is not None and response.status == 429:
            wait = self.get_retry_after(response)
            if wait:
                self.gate.hold(wait)
        if isinstance(error, ReadTimeoutError):
            no_read_retry = self.new(read=False)  # urllib3 then re-raises the timeout as is
            return Retry.increment(no_read_retry, method, url, response, error, _pool, _stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def make_retry(settings: Settings, gate: RateLimitGate | None = None) -> CappedRetry:
    """The retry policy: bounded in count and in every single wait; GET only."""
    return CappedRetry(
        total=settings.max_retries,
        connect=settings.max_retries,
        read=settings.max_retries,
        status=settings.max_retries,
        other=0,
        redirect=3,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff_factor,
        backoff_max=settings.backoff_max,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer's body carries the server's message
        max_retry_after=settings.max_retry_after,
        gate=gate,
    )
