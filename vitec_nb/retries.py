"""Below the cache: the bounded retry policy, the shared 429 gate, HTTP slots and deadlines."""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import io
import itertools
import math
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from vitec_nb.settings import Settings

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_RETRY_AFTER",
    "RETRY_STATUSES",
    "CappedRetry",
    "DeadlineExceeded",
    "GatedAdapter",
    "RateLimitGate",
    "make_retry",
    "retry_after_seconds",
]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_DEADLINE = 300.0  # seconds for one call: connect, retries, waits and the whole body
DEFAULT_RETRY_AFTER = 1.0  # seconds, when a Retry-After header is empty or unreadable
BODY_READ = 1 << 20  # bytes at most per read of a body from its socket

Clock = Callable[[], float]


def retry_after_seconds(
    text: str | None, *, default: float = DEFAULT_RETRY_AFTER, now: Clock = time.time
) -> float:
    """A Retry-After value in seconds: whole or fractional seconds, or an HTTP date.

    An empty or unreadable value (or a negative, NaN or infinite number) gives `default`;
    a date in the past gives 0.
    """
    value = (text or "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return default
        if when.tzinfo is None:  # an HTTP date is GMT
            return default
        return max(0.0, when.timestamp() - now())
    if not math.isfinite(seconds) or seconds < 0:
        return default
    return seconds


class DeadlineExceeded(requests.exceptions.Timeout):
    """One call took longer than its deadline (connect, retries, waits and the whole body)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        super().__init__(f"the whole call took longer than its deadline of {deadline:g} s")


class RateLimitGate:
    """Shared by every request of one client: after a 429, nothing is sent until its wait is over.

    A 429 limits the client, not one call: while one thread honours `Retry-After`, the
    planner's other threads must not keep sending (each would only earn its own 429).
    `clock` and `sleep` are for tests (a fake clock); they default to the real ones.
    """

    def __init__(
        self, *, clock: Clock = time.monotonic, sleep: Callable[[float], Any] = time.sleep
    ) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0  # by `clock`
        self.clock = clock
        self.sleep = sleep

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (a longer hold already in force stays)."""
        with self._lock:
            self._not_before = max(self._not_before, self.clock() + seconds)

    def remaining(self) -> float:
        """Seconds until requests may go out again (0: now)."""
        with self._lock:
            return max(0.0, self._not_before - self.clock())

    def wait(self) -> None:
        """Return once no hold is in force."""
        while (delay := self.remaining()) > 0:
            self.sleep(delay)


# The running call's deadline (time.monotonic), read by the retry policy between attempts.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("vitec_nb_deadline", default=None)


class _Watch:
    """One body read's deadline: fires `action` unless cancelled first."""

    def __init__(self, action: Callable[[], Any]) -> None:
        self.action = action
        self.fired = False
        self.cancelled = False
        self._lock = threading.Lock()

    def fire(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.fired = True
        with contextlib.suppress(Exception):  # the connection was already released or closed
            self.action()

    def cancel(self) -> bool:
        """Stop watching; True if the deadline had already fired."""
        with self._lock:
            self.cancelled = True
            return self.fired


class _Watchdog:
    """One daemon thread that fires each watch at its deadline (not a thread per request)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, end: float, action: Callable[[], Any]) -> _Watch:
        watch = _Watch(action)
        with self._cond:
            heapq.heappush(self._heap, (end, next(self._seq), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vitec-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is watch:  # the new earliest deadline: wake up for it
                self._cond.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                watch = heapq.heappop(self._heap)[2]
            watch.fire()


WATCHDOG = _Watchdog()


def _clipped(timeout: Any, limit: float) -> Any:
    """The (connect, read) timeout with neither part longer than `limit` seconds."""
    if isinstance(timeout, tuple):
        return tuple(limit if t is None else min(t, limit) for t in timeout)
    return limit if timeout is None else min(timeout, limit)


class GatedAdapter(HTTPAdapter):
    """The HTTP adapter: a slot first, then the client's `RateLimitGate`, then a bounded exchange.

    `slots` is the client's one limit of requests in flight (`connect(concurrency=n)`: a
    bounded semaphore of n, shared by every thread that uses the client: breakdowns,
    lookups, details). A request holds a slot from sending until its whole body is in,
    retries and their waits included, but not while its answer is parsed and stored, so
    another thread's request goes out meanwhile (benchmark 5). Then it waits for the gate:
    a request queued on the slots while another call's 429 arrived still waits out its
    Retry-After. Every exchange ends by `deadline` seconds after it started (connect,
    retries, waits and the whole body), raising `DeadlineExceeded`; a slow body is cut off
    at that moment.
    """

    def __init__(
        self,
        *args: Any,
        gate: RateLimitGate,
        slots: int,
        deadline: float = DEFAULT_DEADLINE,
        **kwargs: Any,
    ) -> None:
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ValueError(f"slots: {slots!r} is not allowed (allowed: a whole number >= 1)")
        self.gate = gate
        self.deadline = deadline
        self.slots = slots
        self._slots = threading.BoundedSemaphore(slots)
        super().__init__(*args, **kwargs)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with self._slots:
            return self._send(request, *args, **kwargs)

    def _send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.gate.wait()
        end = time.monotonic() + self.deadline
        kwargs["timeout"] = _clipped(kwargs.get("timeout"), self.deadline)
        token = _DEADLINE.set((end, self.deadline))
        try:
            response = super().send(request, *args, **kwargs)
        finally:
            _DEADLINE.reset(token)
        if response.status_code == 429:  # the last answer: no retry of ours will hold the gate
            self.gate.hold(retry_after_seconds(response.headers.get("Retry-After")))
        if kwargs.get("stream"):
            return response
        watch = WATCHDOG.watch(end, response.raw.shutdown)
        try:
            read_whole_body(response)  # within the deadline
        except requests.RequestException:
            if watch.cancel():
                raise DeadlineExceeded(self.deadline) from None
            raise
        if watch.cancel():  # cut off at the deadline without a read error
            response.close()
            raise DeadlineExceeded(self.deadline)
        return response


def read_whole_body(response: requests.Response) -> bytes:
    """Read a response's whole body in reads of up to `BODY_READ` bytes; `response.content`
    then serves it from memory.

    requests reads `content` in 10 KiB pieces, each a socket read that gives the GIL up and
    then waits to get it back: while other threads parse and store answers, a 6 MB body
    costs ~600 such waits (benchmark 5). Here each read takes whatever has arrived, up to
    1 MiB, through requests' own `iter_content` (its errors, its content decoding), and the
    response gets the decoded body as an in-memory urllib3 response, so what requests and
    requests-cache read from it afterwards is exactly what they would have read.

    One copy of the body at a time: the reads are written into one buffer (not a list of
    pieces joined at the end), and `content` is that buffer's bytes themselves (`_InMemory`).
    """
    raw = response.raw
    if not isinstance(raw, HTTPResponse):  # nothing to read from a socket
        return response.content
    reader = requests.Response()
    reader.raw = raw
    buffer = io.BytesIO()
    for piece in reader.iter_content(BODY_READ):
        buffer.write(piece)
    body = buffer.getvalue()  # the buffer's own bytes, not a copy
    del buffer
    headers = HTTPHeaderDict(raw.headers)
    headers.discard("Content-Encoding")  # the body is decoded now
    headers["Content-Length"] = str(len(body))
    response.raw = _InMemory(
        body=io.BytesIO(body),
        headers=headers,
        status=raw.status,
        version=raw.version,
        version_string=raw.version_string,
        reason=raw.reason,
        preload_content=False,
        request_method=request_method(response),
        request_url=raw.url,
    )
    return response.content


class _InMemory(HTTPResponse):
    """A urllib3 response over a body already read: streamed in one piece, so requests'
    `content` (a join of the pieces) is the body itself, not a second copy of 10 KiB reads."""

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Any:
        data = self.read(decode_content=decode_content)
        if data:
            yield data


def request_method(response: requests.Response) -> str | None:
    return response.request.method if response.request is not None else None


def _check_deadline(wait: float = 0.0) -> None:
    """Raise DeadlineExceeded if the running call would be past its deadline after `wait` s."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() + wait > current[0]:
        raise DeadlineExceeded(current[1])


class CappedRetry(Retry):
    """urllib3 `Retry` that honours Retry-After but never waits longer than `max_retry_after`.

    Retry-After is read as whole or fractional seconds or an HTTP date; empty or garbage
    gives `DEFAULT_RETRY_AFTER`. A read timeout is never retried (the caller asked for an
    answer within the timeout); other read errors (a connection dropped before the status
    line) are. A 429's wait is also put on the shared `gate`, so no other request goes out
    before it is over. No wait may cross the running call's deadline.
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
        return min(retry_after_seconds(retry_after), self.max_retry_after)

    def sleep(self, response: Any = None) -> None:
        wait = (self.get_retry_after(response) if response is not None else None) or 0.0
        if self.gate is not None and response is not None and response.status == 429:
            self.gate.hold(wait or DEFAULT_RETRY_AFTER)
        _check_deadline(max(wait, self.get_backoff_time()))
        super().sleep(response)
        if self.gate is not None:
            self.gate.wait()  # another thread's 429 may have asked for a longer wait

    def increment(self, *args: Any, **kwargs: Any) -> CappedRetry:
        _check_deadline()
        if isinstance(kwargs.get("error"), ReadTimeoutError):
            no_read_retry = self.new(read=False)  # urllib3 then re-raises the timeout as is
            return Retry.increment(no_read_retry, *args, **kwargs)  # type: ignore[return-value]
        return super().increment(*args, **kwargs)  # type: ignore[return-value]


def make_retry(settings: Settings, gate: RateLimitGate | None = None) -> CappedRetry:
    """The retry policy: bounded in count and in every single wait; GET only; no redirects."""
    return CappedRetry(
        total=settings.max_retries,
        connect=settings.max_retries,
        read=settings.max_retries,
        status=settings.max_retries,
        other=0,
        redirect=False,  # a 3xx is the client's error to report, never followed
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff_factor,
        backoff_max=settings.backoff_max,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer's body carries the server's message
        max_retry_after=settings.max_retry_after,
        gate=gate,
    )
