"""The client's one HTTP session: the cache, the retrying and gated adapter, no redirects.

The adapter holds the client's one limit of requests in flight (`settings.concurrency`,
i.e. `connect(concurrency=n)`): every exchange of every thread takes one of its n slots.

Built once per client from its settings; nothing here sends a request.
"""

from __future__ import annotations

import math
from typing import Any

from requests_cache import CachedSession

from vitec_nb import cache as cache_mod
from vitec_nb.errors import ConfigurationError
from vitec_nb.retries import GatedAdapter, RateLimitGate, make_retry
from vitec_nb.settings import Settings

__all__ = ["client_session", "positive"]


def positive(value: Any, default: float, name: str) -> float:
    """A finite positive number of seconds (None: the default); ConfigurationError else."""
    if value is None:
        return default
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{name}: {value!r} is not allowed (allowed: a finite number of seconds > 0)"
        )
    return float(value)


def client_session(
    settings: Settings, base_url: str, *, deadline: float, lock_timeout: float
) -> tuple[CachedSession, RateLimitGate]:
    """(the cached session, its shared 429 gate) for a client of `settings` at `base_url`."""
    session = cache_mod.make_session(
        settings.cache, expire_after=settings.expire_after, lock_timeout=lock_timeout
    )
    gate = RateLimitGate()
    adapter = GatedAdapter(
        gate=gate,
        slots=settings.concurrency,
        deadline=deadline,
        max_retries=make_retry(settings, gate),
        pool_connections=4,
        pool_maxsize=max(settings.concurrency, 10),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "vitec_nb"
    # No request of this session ever follows a redirect, whoever sends it: a 3xx is the
    # API's error to report (RedirectError), and another host's body is no answer.
    session.max_redirects = 0
    # Proxies and CA bundle from the environment, resolved once for the base URL (every
    # request goes there): left to requests, each request scans the whole environment
    # again, ~0.15 ms under the GIL (docs/benchmarks.md, benchmark 5). Auth is always
    # explicit, so trust_env's other use (netrc) never applied.
    env = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies = env["proxies"]
    session.verify = env["verify"]
    session.cert = env["cert"]
    session.trust_env = False
    return session, gate
