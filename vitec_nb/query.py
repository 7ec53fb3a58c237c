"""The eleven contact filters of `GET CRM/Contact/{customerId}`, validated, as API parameters.

`ContactQuery` is the one value every layer passes around: the form builds it, the planner
splits it (`replace`, `for_office`), the client sends it (`path`, `to_params`). Validation
happens at construction, so a bad filter fails with a message naming the field before any
request is sent.

Decisions (also in docs/queries.md):

- Customer ids follow the one rule of `vitec_nb.vocab` (stripped, upper-cased, a prefix
  M/S/O/G/T followed by digits).
- Dates: naive means Swedish local time (Europe/Stockholm); aware values are converted.
  They are stored as tz-aware ``pandas.Timestamp`` in Europe/Stockholm, years 1900-9998. A
  local time in the spring DST gap is an error; an ambiguous autumn time means its first
  occurrence (summer time) unless a ``datetime`` says ``fold=1``.
- One date convention: a ``*_from`` date means 00:00 that day; a ``*_to`` given as a date
  (or date-only text) means the WHOLE day: it is stored as the next midnight with
  ``created_to_open`` / ``changed_to_open`` True (that midnight itself excluded; the planner
  makes it exact with an end-check call). A value with a time is that instant, included.
- Precision: microseconds. Parameters carry ``.ffffff`` only when the microseconds are not
  zero; finer values are rejected rather than silently rounded.
- Lead score: a whole number 0-5; ``3``, ``3.0`` and ``"3"`` are accepted, ``True`` and
  ``3.5`` are not.
- Scheduled order type: Vitec's published services (`vitec_nb.vocab.SCHEDULED_ORDER_TYPES`)
  by number or name, or any other positive integer; 0 is refused (not a published service).
- Text filters are kept exactly as given; empty, whitespace-only, control characters and
  more than `MAX_TEXT_LENGTH` characters are errors.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import re
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from vitec_nb import vocab
from vitec_nb.dates import (
    API_DATETIME_FORMAT,
    YEAR_RANGE,
    describe_range,
    format_api_datetime,
    is_whole_day,
    next_midnight,
    to_stockholm,
    when,
)
from vitec_nb.errors import InvalidQueryError
from vitec_nb.vocab import CUSTOMER_ID_PATTERN, SCHEDULED_ORDER_TYPES, TIMEZONE

__all__ = [
    "API_DATETIME_FORMAT",
    "CUSTOMER_ID_PATTERN",
    "LEAD_SCORE_RANGE",
    "MAX_TEXT_LENGTH",
    "PARAMETERS",
    "PARAMETERS_BY_API_NAME",
    "SCHEDULED_ORDER_TYPES",
    "TIMEZONE",
    "YEAR_RANGE",
    "ContactQuery",
    "Parameter",
    "format_api_datetime",
    "scheduled_order_type",
    "to_stockholm",
]

LEAD_SCORE_RANGE = range(0, 6)
"""Lead score is a whole number of stars from 0 to 5 (our assumption; docs/queries.md)."""

MAX_TEXT_LENGTH = 1000
"""Longest text filter accepted (a query string far longer than any id or field value)."""

Kind = Literal["path", "text", "datetime", "integer", "enum"]


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One filter: its Python name, the API's name, its kind and what it means."""

    name: str
    api_name: str
    kind: Kind
    description: str

    @property
    def in_path(self) -> bool:
        """True for the customer id, which goes in the URL path, not the query string."""
        return self.kind == "path"


# The one table of filters: used by the client, the form, the CLI and the docs.
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("customer_id", "customerId", "path", "customer (office) id, e.g. M30011"),
        Parameter("agent_id", "AgentId", "text", "only contacts of this user (agent) id"),
        Parameter("created_from", "CreatedAtFrom", "datetime", "created on or after"),
        Parameter("created_to", "CreatedAtTo", "datetime", "created up to and including"),
        Parameter("changed_from", "ChangedAtFrom", "datetime", "changed on or after"),
        Parameter("changed_to", "ChangedAtTo", "datetime", "changed up to and including"),
        Parameter("custom_field_name", "CustomFieldName", "text", "a customer-defined field"),
        Parameter("custom_field_value", "CustomFieldValue", "text", "value of that field"),
        Parameter("lead_score", "LeadScore", "integer", "number of lead-score stars, 0-5"),
        Parameter(
            "scheduled_order_type",
            "ContactScheduledOrderType",
            "enum",
            "active service on the contact (EstateValue, FinalPricesInArea, ...)",
        ),
        Parameter(
            "newsletter_list_id", "NewsletterListId", "text", "newsletter list the contact is on"
        ),
    )
}

PARAMETERS_BY_API_NAME: dict[str, Parameter] = {p.api_name: p for p in PARAMETERS.values()}

_DATE_PAIRS = (("created_from", "created_to"), ("changed_from", "changed_to"))
_OPEN = {"created_to": "created_to_open", "changed_to": "changed_to_open"}
_SERVICE_KEYS = {s.name.lower(): n for n, s in SCHEDULED_ORDER_TYPES.items()}
_SERVICES_ALLOWED = (
    ", ".join(f"{n} {s.name}" for n, s in SCHEDULED_ORDER_TYPES.items())
    + " (by number or name, any case), or another positive integer"
)


def _upper_bound(value: Any, open_: Any, field: str) -> tuple[pd.Timestamp | None, bool]:
    """(stored bound, open flag) for a `*_to` value; see the module docstring."""
    flag = _OPEN[field]
    if open_ is not None and not isinstance(open_, bool):
        raise InvalidQueryError(
            flag, f"{open_!r} ({type(open_).__name__}) is not a bool", "True, False or None"
        )
    if value is None:
        if open_:
            raise InvalidQueryError(flag, f"is True but {field} is not set", f"a {field}")
        return None, False
    if open_ is not None:  # explicit: the value is the bound as stored (repr, replace)
        return to_stockholm(value, field), open_
    ts = to_stockholm(value, field)
    if not is_whole_day(value):
        return ts, False
    return next_midnight(ts), True  # the whole day: up to the next midnight


def _customer_id(value: Any) -> str:
    allowed = vocab.CUSTOMER_ID_ALLOWED
    if not isinstance(value, str):
        raise InvalidQueryError(
            "customer_id", f"must be text, not {type(value).__name__} {value!r}", allowed
        )
    cid = vocab.normalize_customer_id(value)
    if not cid:
        raise InvalidQueryError("customer_id", "must not be empty", allowed)
    if not vocab.is_customer_id(cid):
        raise InvalidQueryError("customer_id", f"{value[:50]!r} is not a customer id", allowed)
    return cid


def _customer_ids(value: Any) -> str | tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        if not value:
            raise InvalidQueryError(
                "customer_id", "the list of offices is empty", "one or more ids like M30011"
            )
        ids = tuple(_customer_id(v) for v in value)
        duplicates = sorted({c for c in ids if ids.count(c) > 1})
        if duplicates:
            raise InvalidQueryError(
                "customer_id", f"{', '.join(duplicates)} given more than once", "distinct ids"
            )
        return ids
    return _customer_id(value)


def _text(field: str, value: Any, what: str) -> str | None:
    if value is None:
        return None
    allowed = f"{what} (a str of 1-{MAX_TEXT_LENGTH} characters, no control characters)"
    if not isinstance(value, str):
        raise InvalidQueryError(
            field, f"must be {what}, not {type(value).__name__} {value!r}", allowed
        )
    if not value.strip():
        raise InvalidQueryError(field, "must not be empty or only whitespace", allowed)
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidQueryError(field, f"is {len(value)} characters long", allowed)
    control = vocab.control_character(value)
    if control is not None:
        raise InvalidQueryError(
            field, f"{value[:40]!r} holds the control character {control!r}", allowed
        )
    return value


def _whole_number(field: str, value: Any, allowed: str) -> int:
    """An int from int, integral float or digit text; bool, NaN and fractions are rejected."""
    if isinstance(value, bool):
        raise InvalidQueryError(field, f"{value!r} is a bool, not a number", allowed)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if float(value).is_integer():
            return int(value)
        raise InvalidQueryError(field, f"{value!r} is not a whole number", allowed)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,19}\s*", value):
        return int(value)
    raise InvalidQueryError(
        field, f"{value!r} ({type(value).__name__}) is not a whole number", allowed
    )


def _lead_score(value: Any) -> int | None:
    if value is None:
        return None
    allowed = "a whole number of stars from 0 to 5"
    score = _whole_number("lead_score", value, allowed)
    if score not in LEAD_SCORE_RANGE:
        raise InvalidQueryError("lead_score", f"{score} is out of range", allowed)
    return score


def scheduled_order_type(value: Any, field: str = "scheduled_order_type") -> int:
    """A service number from a number, a published name (any case, `_` optional) or a
    `vocab.Service`; InvalidQueryError naming `field` otherwise (0 included)."""
    if isinstance(value, vocab.Service):
        return value.number
    if isinstance(value, str) and not re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
        key = re.sub(r"[\s_-]", "", value).lower()
        if key in _SERVICE_KEYS:
            return _SERVICE_KEYS[key]
        raise InvalidQueryError(field, f"{value!r} is not a published service", _SERVICES_ALLOWED)
    number = _whole_number(field, value, _SERVICES_ALLOWED)
    if number == 0:
        raise InvalidQueryError(
            field,
            '0 is not a published service (Vitec\'s values start at 1); "no active service"'
            " is not a filter value but a derived bucket in breakdowns",
            _SERVICES_ALLOWED,
        )
    if number < 0 or number >= 2**63:
        raise InvalidQueryError(field, f"{number} is not a positive integer", _SERVICES_ALLOWED)
    return number


def _bool_flag(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidQueryError(name, f"{value!r} is not a bool", "True, False or None")


@dataclasses.dataclass(frozen=True, repr=False)
class ContactQuery:
    """A validated query for `GET CRM/Contact/{customerId}`: the eleven filters.

    `customer_id` is one office id or a list/tuple of them (stored as a tuple). Dates are
    stored as Europe/Stockholm Timestamps, lead score and service as ints. A `*_to` given
    as a date is the whole day: stored as the next midnight with `*_to_open` True (leave the
    flag None to have it derived; True/False take the value as the stored bound). Every
    invalid value raises `InvalidQueryError` naming the field.

        >>> q = ContactQuery("M30011", lead_score=5, created_from="2025-01-01")
        >>> q.to_params()
        {'CreatedAtFrom': '2025-01-01T00:00:00', 'LeadScore': '5'}
    """

    customer_id: str | tuple[str, ...]
    agent_id: str | None = None
    created_from: pd.Timestamp | None = None
    created_to: pd.Timestamp | None = None
    changed_from: pd.Timestamp | None = None
    changed_to: pd.Timestamp | None = None
    custom_field_name: str | None = None
    custom_field_value: str | None = None
    lead_score: int | None = None
    scheduled_order_type: int | None = None
    newsletter_list_id: str | None = None
    created_to_open: bool | None = None
    changed_to_open: bool | None = None

    def __post_init__(self) -> None:
        order = self.scheduled_order_type
        values: dict[str, Any] = {
            "customer_id": _customer_ids(self.customer_id),
            "agent_id": _text("agent_id", self.agent_id, "a text id"),
            "custom_field_name": _text("custom_field_name", self.custom_field_name, "text"),
            "custom_field_value": _text("custom_field_value", self.custom_field_value, "text"),
            "newsletter_list_id": _text("newsletter_list_id", self.newsletter_list_id, "a text id"),
            "lead_score": _lead_score(self.lead_score),
            "scheduled_order_type": None if order is None else scheduled_order_type(order),
        }
        for start, end in _DATE_PAIRS:
            raw = getattr(self, start)
            values[start] = None if raw is None else to_stockholm(raw, field=start)
            values[end], values[_OPEN[end]] = _upper_bound(
                getattr(self, end), getattr(self, _OPEN[end]), end
            )
            _check_order(start, values[start], end, values[end], values[_OPEN[end]])
        if values["custom_field_value"] is not None and values["custom_field_name"] is None:
            raise InvalidQueryError(
                "custom_field_value",
                "a custom field value needs custom_field_name",
                "a value together with custom_field_name",
            )
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # -- offices ---------------------------------------------------------------------------

    @property
    def customer_ids(self) -> tuple[str, ...]:
        """The office ids, always as a tuple."""
        cid = self.customer_id
        return cid if isinstance(cid, tuple) else (cid,)

    @property
    def is_single_office(self) -> bool:
        """True when the query names exactly one office (so it is one API call)."""
        return len(self.customer_ids) == 1

    def _single_office(self, what: str) -> str:
        ids = self.customer_ids
        if len(ids) != 1:
            raise InvalidQueryError(
                "customer_id",
                f"{what} needs a single office, this query has {len(ids)} ({', '.join(ids)})",
                "one office id; use query.for_office(customer_id) for each",
            )
        return ids[0]

    @property
    def path(self) -> str:
        """The request path, ``CRM/Contact/{customerId}``; single office only."""
        return f"CRM/Contact/{self._single_office('path')}"

    def for_office(self, customer_id: str) -> ContactQuery:
        """The same filters for one of this query's offices."""
        cid = _customer_id(customer_id)
        if cid not in self.customer_ids:
            raise InvalidQueryError(
                "customer_id",
                f"{cid} is not one of this query's offices",
                ", ".join(self.customer_ids),
            )
        return dataclasses.replace(self, customer_id=cid)

    def replace(self, **changes: Any) -> ContactQuery:
        """A copy with some fields changed, validated again.

        A new `created_to` / `changed_to` follows the date convention afresh (a date is the
        whole day) unless its `*_open` flag is given too.
        """
        for end, flag in _OPEN.items():
            if end in changes and flag not in changes:
                changes[flag] = None
        return dataclasses.replace(self, **changes)

    # -- API parameters -------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        """The filters that are set (Python names, normalised values), without customer_id
        and without the open-bound flags (see `created_to_open`)."""
        return {
            name: getattr(self, name)
            for name in PARAMETERS
            if name != "customer_id" and getattr(self, name) is not None
        }

    def to_params(self) -> dict[str, str]:
        """The query-string parameters under the API's names; unset filters left out.

        Dates are Stockholm local time ``YYYY-MM-DDTHH:MM:SS`` (``.ffffff`` only when the
        microseconds are not zero), an open `*_to` as its next midnight; integers decimal.
        Single office only: the customer id goes in `path`.
        """
        self._single_office("to_params()")
        return dict(_api_params(self))

    @classmethod
    def from_params(cls, customer_id: str, params: Mapping[str, str]) -> ContactQuery:
        """Rebuild a query from a path customer id and query-string parameters.

        API names match case-insensitively (ASP.NET binds them that way); a `*To` value is
        the instant sent, included (as the server reads it). An unknown parameter raises
        InvalidQueryError naming it.
        """
        by_lower = {p.api_name.lower(): p for p in PARAMETERS.values() if not p.in_path}
        kwargs: dict[str, Any] = {}
        for key, value in params.items():
            param = by_lower.get(key.lower())
            if param is None:
                raise InvalidQueryError(
                    key,
                    "is not a parameter of CRM/Contact",
                    ", ".join(p.api_name for p in by_lower.values()),
                )
            kwargs[param.name] = value
        for end, flag in _OPEN.items():
            if end in kwargs:
                kwargs[flag] = False
        return cls(customer_id, **kwargs)

    # -- display --------------------------------------------------------------------------

    def describe(self) -> str:
        """A one-line summary for titles, e.g. ``M30011 · created 1 Jan – 31 Dec 2025``.

        A whole-day `*_to` shows the last day as the user wrote it.
        """
        parts = [", ".join(self.customer_ids)]
        if self.agent_id is not None:
            parts.append(f"agent {self.agent_id}")
        for label, (start, end) in zip(("created", "changed"), _DATE_PAIRS, strict=True):
            lo, hi = getattr(self, start), getattr(self, end)
            if lo is not None or hi is not None:
                parts.append(f"{label} {describe_range(lo, hi, bool(getattr(self, _OPEN[end])))}")
        if self.custom_field_name is not None:
            if self.custom_field_value is None:
                parts.append(f"field {self.custom_field_name}")
            else:
                parts.append(f"{self.custom_field_name} = {self.custom_field_value}")
        if self.lead_score is not None:
            parts.append(f"lead score {self.lead_score}")
        if self.scheduled_order_type is not None:
            service = SCHEDULED_ORDER_TYPES.get(self.scheduled_order_type)
            name = service.name if service else str(self.scheduled_order_type)
            parts.append(f"service {name}")
        if self.newsletter_list_id is not None:
            parts.append(f"newsletter {self.newsletter_list_id}")
        return " · ".join(parts)

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        cid = self.customer_id
        args = [repr(cid if isinstance(cid, str) else list(cid))]
        for name, value in self.filters().items():
            if isinstance(value, pd.Timestamp):
                value = format_api_datetime(value)
            args.append(f"{name}={value!r}")
        for end, flag in _OPEN.items():
            if getattr(self, end) is not None:
                args.append(f"{flag}={getattr(self, flag)!r}")
        return f"ContactQuery({', '.join(args)})"


def _check_order(
    start: str, lo: pd.Timestamp | None, end: str, hi: pd.Timestamp | None, hi_open: bool
) -> None:
    """`lo` must not be after `hi` (an open `hi` must be after `lo`: it is excluded)."""
    if lo is None or hi is None or lo < hi or (lo == hi and not hi_open):
        return
    shown = describe_range(None, hi, hi_open).removeprefix("until ")
    raise InvalidQueryError(
        end,
        f"{shown} ends before {start} {when(lo)}",
        f"a {end} on or after {start}",
    )


@functools.lru_cache(maxsize=4096)
def _api_params(query: ContactQuery) -> tuple[tuple[str, str], ...]:
    """`query.to_params()` items, remembered (a query is immutable; strftime is slow and a
    warm breakdown asks for the same ~50 queries' parameters again on every re-run)."""
    params: list[tuple[str, str]] = []
    for name, value in query.filters().items():
        param = PARAMETERS[name]
        if param.kind == "datetime":
            params.append((param.api_name, format_api_datetime(value)))
        else:
            params.append((param.api_name, str(value)))
    return tuple(params)
