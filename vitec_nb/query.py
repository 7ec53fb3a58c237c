"""The eleven contact filters of `GET CRM/Contact/{customerId}`, validated, as API parameters.

`ContactQuery` is the one value every layer passes around: the form builds it, the planner
splits it (`replace`, `for_office`), the client sends it (`path`, `to_params`) and the
stand-in reads it back (`from_params`). Validation happens at construction, so a bad filter
fails with a message naming the field before any request is sent.

Decisions (also in docs/queries.md):

- Customer ids are upper-cased and stripped (``" m30011"`` → ``"M30011"``); the shape is a
  prefix M/S/O/G/T followed by digits.
- Dates: naive means Swedish local time (Europe/Stockholm); aware values are converted.
  They are stored as tz-aware ``pandas.Timestamp`` in Europe/Stockholm. A local time that
  does not exist (the spring DST gap) is an error; an ambiguous one (the autumn hour that
  happens twice) means the first occurrence (summer time), unless a ``datetime`` says
  ``fold=1``. A ``date`` means 00:00 of that day, also as a ``*_to`` bound.
- Precision: microseconds. Parameters carry ``.ffffff`` (six digits) only when the
  microseconds are not zero; finer values are rejected rather than silently rounded.
- Lead score: a whole number 0–5; ``3``, ``3.0`` and ``"3"`` are accepted, ``True`` and
  ``3.5`` are not.
- Scheduled order type: a non-negative integer (unknown integers are accepted, Vitec does
  not publish the list) or one of the names in `SCHEDULED_ORDER_TYPES` (our assumption).
- Text filters are kept exactly as given; empty or whitespace-only text is an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import numbers
import re
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from vitec_nb.errors import InvalidQueryError

__all__ = [
    "API_DATETIME_FORMAT",
    "CUSTOMER_ID_PATTERN",
    "LEAD_SCORE_RANGE",
    "PARAMETERS",
    "PARAMETERS_BY_API_NAME",
    "SCHEDULED_ORDER_TYPES",
    "TIMEZONE",
    "ContactQuery",
    "Parameter",
    "format_api_datetime",
    "to_stockholm",
]

TIMEZONE = "Europe/Stockholm"
"""Vitec interprets date-time parameters as Swedish local time (assumption 3)."""

API_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""Date-time format of the seed's example request (no offset); fractions appended if any."""

CUSTOMER_ID_PATTERN = re.compile(r"[MSOGT][0-9]+")
"""M (broker system), S (sales support), O (finance), G (group), T (customer environment)."""

LEAD_SCORE_RANGE = range(0, 6)
"""Lead score is a whole number of stars from 0 to 5 (assumption 1)."""

# Assumption 2: Vitec does not publish the names of ContactScheduledOrderType. These are the
# values this project labels; any other non-negative integer is still accepted and sent.
SCHEDULED_ORDER_TYPES: dict[str, int] = {
    "none": 0,
    "valuation": 1,
    "sales_start": 2,
    "market_update": 3,
    "newsletter": 4,
}

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


# The one table of filters: used by the client, the stand-in, the form and the docs.
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("customer_id", "customerId", "path", "customer (office) id, e.g. M30011"),
        Parameter("agent_id", "AgentId", "text", "only contacts of this user (agent) id"),
        Parameter("created_from", "CreatedAtFrom", "datetime", "created on or after"),
        Parameter("created_to", "CreatedAtTo", "datetime", "created on or before"),
        Parameter("changed_from", "ChangedAtFrom", "datetime", "changed on or after"),
        Parameter("changed_to", "ChangedAtTo", "datetime", "changed on or before"),
        Parameter("custom_field_name", "CustomFieldName", "text", "a customer-defined field"),
        Parameter("custom_field_value", "CustomFieldValue", "text", "value of that field"),
        Parameter("lead_score", "LeadScore", "integer", "number of lead-score stars, 0-5"),
        Parameter(
            "scheduled_order_type",
            "ContactScheduledOrderType",
            "enum",
            "type of active service on the contact (integer)",
        ),
        Parameter(
            "newsletter_list_id", "NewsletterListId", "text", "newsletter list the contact is on"
        ),
    )
}

PARAMETERS_BY_API_NAME: dict[str, Parameter] = {p.api_name: p for p in PARAMETERS.values()}

_DATE_PAIRS = (("created_from", "created_to"), ("changed_from", "changed_to"))
_FRACTION = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}[.,]([0-9]+)")
_DATE_ALLOWED = "a date, datetime, pandas Timestamp or ISO 8601 text like 2025-01-31T12:00:00"


_STOCKHOLM = pd.Timestamp(0, tz=TIMEZONE).tzinfo  # the one zone object pandas hands out


def to_stockholm(value: Any, field: str = "date") -> pd.Timestamp:
    """Return `value` as a tz-aware Timestamp in Europe/Stockholm.

    Args:
        value: a ``date`` (00:00 that day), ``datetime``, ``pandas.Timestamp``,
            ``numpy.datetime64`` or ISO 8601 text. Naive values are Swedish local time;
            aware values are converted.
        field: the name used in the error message.

    Raises InvalidQueryError for other types, unparsable text, a local time inside the
    spring DST gap, or precision finer than microseconds. An ambiguous autumn local time
    means its first occurrence (summer time) unless a ``datetime`` carries ``fold=1``.
    """
    fold = 0
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: Any = dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidQueryError(
                field, f"{value!r} is not an ISO 8601 date or date-time", _DATE_ALLOWED
            ) from None
        fraction = _FRACTION.search(text)
        if fraction and fraction.group(1)[6:].strip("0"):
            raise InvalidQueryError(
                field, f"{value!r} is finer than a microsecond", "at most microsecond precision"
            )
        ts = pd.Timestamp(parsed)
    elif isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise InvalidQueryError(field, "NaT is not a date", _DATE_ALLOWED)
        ts = value
    elif isinstance(value, dt.datetime):
        fold = value.fold
        ts = pd.Timestamp(value)
    elif isinstance(value, dt.date):
        ts = pd.Timestamp(value.year, value.month, value.day)
    elif isinstance(value, np.datetime64) and not np.isnat(value):
        ts = pd.Timestamp(value)  # numpy has no time zone: naive, so Swedish local time
    else:
        raise InvalidQueryError(
            field, f"must be a date or date-time, not {type(value).__name__}", _DATE_ALLOWED
        )
    if ts.nanosecond:
        raise InvalidQueryError(
            field, f"{value!r} is finer than a microsecond", "at most microsecond precision"
        )
    if ts.tzinfo is _STOCKHOLM:  # already Swedish time (the planner's own boundaries)
        return ts
    if ts.tzinfo is not None:
        return ts.tz_convert(TIMEZONE)
    local = ts.tz_localize(TIMEZONE, ambiguous=not fold, nonexistent="NaT")
    if pd.isna(local):
        raise InvalidQueryError(
            field,
            f"{ts.isoformat()} does not exist in Swedish local time (the clock jumps an hour"
            " forward for summer time)",
            "a local time outside the spring DST gap, or a time with a UTC offset",
        )
    return local


def format_api_datetime(ts: pd.Timestamp) -> str:
    """Stockholm local time as the API writes it: ``YYYY-MM-DDTHH:MM:SS[.ffffff]``."""
    local = ts.tz_convert(TIMEZONE) if ts.tzinfo is not None else ts
    text = local.strftime(API_DATETIME_FORMAT)
    if local.microsecond:
        text += f".{local.microsecond:06d}"
    return text


def _customer_id(value: Any) -> str:
    allowed = "a prefix M, S, O, G or T followed by digits, e.g. M30011"
    if not isinstance(value, str):
        raise InvalidQueryError(
            "customer_id", f"must be text, not {type(value).__name__} {value!r}", allowed
        )
    cid = value.strip().upper()
    if not cid:
        raise InvalidQueryError("customer_id", "must not be empty", allowed)
    if not CUSTOMER_ID_PATTERN.fullmatch(cid):
        raise InvalidQueryError("customer_id", f"{value!r} is not a customer id", allowed)
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
    if not isinstance(value, str):
        raise InvalidQueryError(
            field, f"must be {what}, not {type(value).__name__} {value!r}", f"{what} (a str)"
        )
    if not value.strip():
        raise InvalidQueryError(field, "must not be empty or only whitespace", f"{what}")
    return value


def _whole_number(field: str, value: Any, allowed: str) -> int:
    """An int from int, integral float or digit text; bool and fractions are rejected."""
    if isinstance(value, bool):
        raise InvalidQueryError(field, f"{value!r} is a bool, not a number", allowed)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if float(value).is_integer():
            return int(value)
        raise InvalidQueryError(field, f"{value!r} is not a whole number", allowed)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
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


def _scheduled_order_type(value: Any) -> int | None:
    if value is None:
        return None
    names = ", ".join(SCHEDULED_ORDER_TYPES)
    allowed = f"a non-negative integer or one of {names}"
    if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
        key = value.strip().lower().replace(" ", "_").replace("-", "_")
        if key in SCHEDULED_ORDER_TYPES:
            return SCHEDULED_ORDER_TYPES[key]
        raise InvalidQueryError(
            "scheduled_order_type", f"{value!r} is not a known order type", allowed
        )
    number = _whole_number("scheduled_order_type", value, allowed)
    if number < 0:
        raise InvalidQueryError("scheduled_order_type", f"{number} is negative", allowed)
    return number


def _short_date(ts: pd.Timestamp) -> str:
    if ts.hour == ts.minute == ts.second == ts.microsecond == 0:
        return ts.strftime("%Y-%m-%d")
    if ts.second == ts.microsecond == 0:
        return ts.strftime("%Y-%m-%d %H:%M")
    return format_api_datetime(ts).replace("T", " ")


@dataclasses.dataclass(frozen=True, repr=False)
class ContactQuery:
    """A validated query for `GET CRM/Contact/{customerId}`: the eleven filters.

    `customer_id` is one office id or a list/tuple of them (stored as a tuple). Dates are
    stored as Europe/Stockholm Timestamps, lead score and order type as ints. Every invalid
    value raises `InvalidQueryError` naming the field.

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

    def __post_init__(self) -> None:
        values: dict[str, Any] = {
            "customer_id": _customer_ids(self.customer_id),
            "agent_id": _text("agent_id", self.agent_id, "a text id"),
            "custom_field_name": _text("custom_field_name", self.custom_field_name, "text"),
            "custom_field_value": _text("custom_field_value", self.custom_field_value, "text"),
            "newsletter_list_id": _text("newsletter_list_id", self.newsletter_list_id, "a text id"),
            "lead_score": _lead_score(self.lead_score),
            "scheduled_order_type": _scheduled_order_type(self.scheduled_order_type),
        }
        for pair in _DATE_PAIRS:
            for name in pair:
                raw = getattr(self, name)
                values[name] = None if raw is None else to_stockholm(raw, field=name)
        for start, end in _DATE_PAIRS:
            lo, hi = values[start], values[end]
            if lo is not None and hi is not None and lo > hi:
                raise InvalidQueryError(
                    end,
                    f"{format_api_datetime(hi)} is before {start} {format_api_datetime(lo)}",
                    f"a time on or after {start}",
                )
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
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    # -- API parameters -------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        """The filters that are set (Python names, normalised values), without customer_id."""
        return {
            name: getattr(self, name)
            for name in PARAMETERS
            if name != "customer_id" and getattr(self, name) is not None
        }

    def to_params(self) -> dict[str, str]:
        """The query-string parameters under the API's names; unset filters left out.

        Dates are Stockholm local time ``YYYY-MM-DDTHH:MM:SS`` (``.ffffff`` only when the
        microseconds are not zero), integers decimal. Single office only: the customer id
        goes in `path`.
        """
        self._single_office("to_params()")
        return dict(_api_params(self))

    @classmethod
    def from_params(cls, customer_id: str, params: Mapping[str, str]) -> ContactQuery:
        """Rebuild a query from a path customer id and query-string parameters.

        API names match case-insensitively (ASP.NET binds them that way). An unknown
        parameter raises InvalidQueryError naming it.
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
        return cls(customer_id, **kwargs)

    # -- display --------------------------------------------------------------------------

    def describe(self) -> str:
        """A one-line summary for titles, e.g. ``M30011 · lead score 5 · created 2025-01-01 → 2025-02-01``."""  # noqa: E501
        parts = [", ".join(self.customer_ids)]
        if self.agent_id is not None:
            parts.append(f"agent {self.agent_id}")
        for label, (start, end) in zip(("created", "changed"), _DATE_PAIRS, strict=True):
            lo, hi = getattr(self, start), getattr(self, end)
            if lo is not None or hi is not None:
                left = _short_date(lo) if lo is not None else "…"
                right = _short_date(hi) if hi is not None else "…"
                parts.append(f"{label} {left} → {right}")
        if self.custom_field_name is not None:
            if self.custom_field_value is None:
                parts.append(f"field {self.custom_field_name}")
            else:
                parts.append(f"{self.custom_field_name} = {self.custom_field_value}")
        if self.lead_score is not None:
            parts.append(f"lead score {self.lead_score}")
        if self.scheduled_order_type is not None:
            names = {v: k for k, v in SCHEDULED_ORDER_TYPES.items()}
            label = names.get(self.scheduled_order_type, str(self.scheduled_order_type))
            parts.append(f"order type {label}")
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
        return f"ContactQuery({', '.join(args)})"


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
