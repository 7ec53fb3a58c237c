"""vitec_nb: explore Vitec Connect CRM contacts in Jupyter.

    import vitec_nb as vnb
    client = vnb.connect()                 # no credentials: the built-in stand-in (demo data)
    df = client.contacts(customer_id="M30011", lead_score=5)
    result = client.breakdown(vnb.ContactQuery("M30011"), by=("agent",), start="2025-01-01",
                              end="2026-01-01")
    result.plot()
    vnb.ContactExplorer(client)            # the form

Names are imported lazily, so `import vitec_nb` stays fast and does not load matplotlib
or ipywidgets until they are used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ApiError": "errors",
    "AuthenticationError": "errors",
    "BreakdownPlan": "plan",
    "BreakdownResult": "plan",
    "BreakdownWarning": "plan",
    "CacheLockedError": "cache_sqlite",
    "ConfigurationError": "errors",
    "ContactExplorer": "widgets",
    "ContactQuery": "query",
    "ContractWarning": "parse_columns",
    "Credentials": "credentials",
    "Dialect": "standin",
    "DoctorReport": "doctor",
    "ForbiddenError": "errors",
    "IncompleteBreakdownError": "errors",
    "InvalidQueryError": "errors",
    "MalformedResponseError": "errors",
    "MissingCall": "plan",
    "NotCachedError": "errors",
    "NotFoundError": "errors",
    "OfficeLookups": "lookups",
    "RateLimitedError": "errors",
    "RedirectError": "errors",
    "RequestTimeoutError": "errors",
    "ServerError": "errors",
    "ServerProfile": "profile",
    "ServerValidationError": "errors",
    "StandIn": "standin",
    "TransportError": "errors",
    "VitecClient": "client",
    "VitecError": "errors",
    "connect": "client",
}

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BreakdownPlan",
    "BreakdownResult",
    "BreakdownWarning",
    "CacheLockedError",
    "ConfigurationError",
    "ContactExplorer",
    "ContactQuery",
    "ContractWarning",
    "Credentials",
    "Dialect",
    "DoctorReport",
    "ForbiddenError",
    "IncompleteBreakdownError",
    "InvalidQueryError",
    "MalformedResponseError",
    "MissingCall",
    "NotCachedError",
    "NotFoundError",
    "OfficeLookups",
    "RateLimitedError",
    "RedirectError",
    "RequestTimeoutError",
    "ServerError",
    "ServerProfile",
    "ServerValidationError",
    "StandIn",
    "TransportError",
    "VitecClient",
    "VitecError",
    "__version__",
    "connect",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vitec_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vitec_nb.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors
    from vitec_nb.cache_sqlite import CacheLockedError
    from vitec_nb.client import VitecClient, connect
    from vitec_nb.credentials import Credentials
    from vitec_nb.doctor import DoctorReport
    from vitec_nb.errors import (
        ApiError,
        AuthenticationError,
        ConfigurationError,
        ForbiddenError,
        IncompleteBreakdownError,
        InvalidQueryError,
        MalformedResponseError,
        NotCachedError,
        NotFoundError,
        RateLimitedError,
        RedirectError,
        RequestTimeoutError,
        ServerError,
        ServerValidationError,
        TransportError,
        VitecError,
    )
    from vitec_nb.lookups import OfficeLookups
    from vitec_nb.parse_columns import ContractWarning
    from vitec_nb.plan import BreakdownPlan, BreakdownResult, BreakdownWarning, MissingCall
    from vitec_nb.profile import ServerProfile
    from vitec_nb.query import ContactQuery
    from vitec_nb.standin import Dialect, StandIn
    from vitec_nb.widgets import ContactExplorer
