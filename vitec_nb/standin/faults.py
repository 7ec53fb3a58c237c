"""Fault switches of the stand-in, and the decision of what each request suffers.

`Faults` is the set of switches (a frozen value); `FaultInjector` holds the current
switches, a seeded random generator and the 429 burst counter, and turns them into a
`FaultPlan` per request. Deciding is kept apart from acting (the server acts on the plan),
so the same seed gives the same sequence of faults for the same sequence of requests.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any

ERROR_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Faults:
    """The fault switches; the defaults mean "no faults".

    Attributes:
        latency: seconds added before answering.
        throughput: bytes per second at which a body is sent, in chunks (None: at once).
        jitter: up to this many extra seconds, uniformly random, on top of `latency`.
        error_rate: share (0-1) of requests answered `error_status` with a JSON message.
        error_status: 500, 502, 503 or 504. 503 answers carry `Retry-After`.
        retry_after: seconds given in `Retry-After` on 429 and 503 answers.
        rate_limit_burst: the next N requests are answered 429 with `Retry-After`.
        truncate_rate: share of 200 answers cut short mid-body (Content-Length matches
            what is sent, so the client sees a complete but invalid body).
        malformed_rate: share of 200 answers with a body that is invalid JSON or the
            wrong shape.
        slow_body: seconds over which the body is dribbled out after the headers (five
            pieces, one every slow_body / 5 seconds).
        down: refuse connections (the listening socket is closed).
        lookups: apply the switches to the lookup endpoints too, not only to contacts.
    """

    latency: float = 0.0
    throughput: float | None = None
    jitter: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: float = 1.0
    rate_limit_burst: int = 0
    truncate_rate: float = 0.0
    malformed_rate: float = 0.0
    slow_body: float = 0.0
    down: bool = False
    lookups: bool = False

    def __post_init__(self) -> None:
        for name in ("latency", "jitter", "slow_body", "retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}: must be a number of seconds >= 0, got {value!r}")
        for name in ("error_rate", "truncate_rate", "malformed_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name}: must be a share between 0 and 1, got {value!r}")
        tp = self.throughput
        if tp is not None and (isinstance(tp, bool) or not isinstance(tp, int | float) or tp <= 0):
            raise ValueError(
                f"throughput: must be None or a number of bytes per second > 0, got {tp!r}"
            )
        if self.error_status not in ERROR_STATUSES:
            raise ValueError(
                f"error_status: must be one of {ERROR_STATUSES}, got {self.error_status!r}"
            )
        for name in ("down", "lookups"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be True or False, got {getattr(self, name)!r}")
        if not isinstance(self.rate_limit_burst, int) or self.rate_limit_burst < 0:
            raise ValueError(
                f"rate_limit_burst: must be a whole number >= 0, got {self.rate_limit_burst!r}"
            )


FAULT_NAMES = tuple(f.name for f in fields(Faults))


@dataclass(frozen=True)
class FaultPlan:
    """What one request suffers: a delay, then an error status or a damaged/slow body."""

    delay: float = 0.0
    status: int | None = None  # 429 / 5xx instead of the real answer
    retry_after: float | None = None
    body: str | None = None  # None, "truncate" or "malformed"
    cut: float = 0.5  # where to cut a truncated body (share of its length)
    malformed_kind: int = 0
    slow_body: float = 0.0
    throughput: float | None = None


@dataclass
class FaultInjector:
    """Current switches plus the seeded randomness and the remaining 429 burst."""

    seed: int | None = 0
    faults: Faults = field(default_factory=Faults)
    _burst: int = 0
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._burst = self.faults.rate_limit_burst

    def set(self, seed: int | None = None, **switches: Any) -> Faults:
        """Change the given switches (all cleared when none given); returns the new set.

        A new `rate_limit_burst` restarts the burst counter; `seed` restarts the random
        sequence.
        """
        unknown = sorted(set(switches) - set(FAULT_NAMES))
        if unknown:
            raise TypeError(
                f"set_faults: unknown switch {unknown}; known: {', '.join(FAULT_NAMES)}"
            )
        with self._lock:
            new = replace(self.faults, **switches) if switches else Faults()
            self.faults = new
            if "rate_limit_burst" in switches or not switches:
                self._burst = new.rate_limit_burst
            if seed is not None:
                self.seed = seed
                self._rng = random.Random(seed)
            return new

    @property
    def burst_left(self) -> int:
        return self._burst

    def plan(self, is_contacts: bool) -> FaultPlan:
        """Decide what the next request suffers (thread-safe)."""
        with self._lock:
            f = self.faults
            if not (is_contacts or f.lookups):
                return FaultPlan()
            rng = self._rng
            delay = f.latency + (rng.uniform(0.0, f.jitter) if f.jitter else 0.0)
            common = {"delay": delay, "throughput": f.throughput}
            if self._burst > 0:
                self._burst -= 1
                return FaultPlan(**common, status=429, retry_after=f.retry_after)
            if f.error_rate and rng.random() < f.error_rate:
                ra = f.retry_after if f.error_status == 503 else None
                return FaultPlan(**common, status=f.error_status, retry_after=ra)
            if f.truncate_rate and rng.random() < f.truncate_rate:
                return FaultPlan(**common, body="truncate", cut=rng.uniform(0.05, 0.95))
            if f.malformed_rate and rng.random() < f.malformed_rate:
                return FaultPlan(**common, body="malformed", malformed_kind=rng.randrange(3))
            return FaultPlan(**common, slow_body=f.slow_body)
