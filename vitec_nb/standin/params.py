"""Reading the contact endpoint's query parameters the way ASP.NET model binding does.

Pure functions, no HTTP: parameter names are case-insensitive, unknown names are ignored,
an empty value means "not given", the first of repeated values wins, and a value that
cannot be converted is a validation error reported per parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from vitec_nb.vocab import SCHEDULED_ORDER_TYPES, TIMEZONE

STOCKHOLM = ZoneInfo(TIMEZONE)

# API names of the ten query filters (the eleventh, customerId, is in the path).
CONTACT_PARAMETERS = (
    "AgentId",
    "CreatedAtFrom",
    "CreatedAtTo",
    "ChangedAtFrom",
    "ChangedAtTo",
    "CustomFieldName",
    "CustomFieldValue",
    "LeadScore",
    "ContactScheduledOrderType",
    "NewsletterListId",
)
_BY_LOWER = {name.lower(): name for name in CONTACT_PARAMETERS}
_DATES = ("CreatedAtFrom", "CreatedAtTo", "ChangedAtFrom", "ChangedAtTo")
_INTS = ("LeadScore", "ContactScheduledOrderType")

_DATE_RE = re.compile(
    r"""^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})
    (?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,7}))?)?
       (?P<tz>Z|[+-]\d{2}:?\d{2})?)?$""",
    re.VERBOSE,
)
_INT32 = (-(2**31), 2**31 - 1)
_ENUM = "ContactScheduledOrderType"
# Web API binds an enum by name (any case) or by number; an undefined number binds too
_ENUM_NAMES = {s.name.casefold(): s.number for s in SCHEDULED_ORDER_TYPES.values()}


@dataclass(frozen=True)
class ContactFilters:
    """Validated filters of one contact request; None = not given. Times in UTC epoch ns."""

    agent_id: str | None = None
    created_from: int | None = None
    created_to: int | None = None
    changed_from: int | None = None
    changed_to: int | None = None
    custom_field_name: str | None = None
    custom_field_value: str | None = None
    lead_score: int | None = None
    scheduled_order_type: int | None = None
    newsletter_list_id: str | None = None


class InvalidParameters(Exception):
    """The request's parameters failed validation; `errors` maps API name -> messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query pairs -> {name: first value}, keeping the names as sent."""
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def lookup(params: dict[str, str], name: str) -> str | None:
    """The value of `name` (case-insensitive), None when absent or empty."""
    lower = name.lower()
    for key, value in params.items():
        if key.lower() == lower:
            value = value.strip()
            return value or None
    return None


def parse_datetime(text: str) -> int:
    """A date or date-time parameter -> UTC epoch nanoseconds.

    Naive values are Swedish local time; a time in the repeated autumn hour is read as its
    first (summer-time) occurrence and one in the skipped spring hour with the winter
    offset, as Python's `fold=0` does. An explicit offset or Z is honoured. Up to seven
    fractional digits (.NET ticks) are kept. Raises ValueError when unreadable.
    """
    m = _DATE_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    # a "+" that was not URL-encoded arrives as a space: "12:00:00 01:00"
    tz = m["tz"]
    base = dt.datetime(
        int(m["y"]),
        int(m["mo"]),
        int(m["d"]),
        int(m["h"] or 0),
        int(m["mi"] or 0),
        int(m["s"] or 0),
    )
    frac_ns = int((m["f"] or "").ljust(9, "0")[:9] or 0)
    if tz is None:
        aware = base.replace(tzinfo=STOCKHOLM)
    elif tz == "Z":
        aware = base.replace(tzinfo=dt.UTC)
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= dt.timedelta(hours=15):
            raise ValueError(text)
        aware = base.replace(tzinfo=dt.timezone(sign * offset))
    seconds = int(aware.timestamp())
    return seconds * 1_000_000_000 + frac_ns


def _fix_space_offset(text: str) -> str:
    """`2025-01-01T12:00:00 01:00` (a '+' decoded as space) -> `2025-01-01T12:00:00+01:00`."""
    t = text.strip()
    if re.search(r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)? \d{2}:?\d{2}$", t):
        head, _, tail = t.rpartition(" ")
        return f"{head}+{tail}"
    return t


def parse_contact_filters(params: dict[str, str]) -> ContactFilters:
    """Validate the contact endpoint's parameters; raise InvalidParameters listing problems."""
    values: dict[str, str] = {}
    for key, value in params.items():
        name = _BY_LOWER.get(key.lower())
        if name is not None and name not in values and value.strip():
            values[name] = value.strip()
    errors: dict[str, list[str]] = {}
    converted: dict[str, int] = {}
    for name in _DATES:
        if name in values:
            try:
                converted[name] = parse_datetime(_fix_space_offset(values[name]))
            except (ValueError, OverflowError):
                errors[name] = [f"The value '{values[name]}' is not valid for {name}."]
    for name in _INTS:
        if name in values:
            text = values[name]
            number = _ENUM_NAMES.get(text.casefold()) if name == _ENUM else None
            if number is not None:
                converted[name] = number
            elif re.fullmatch(r"[+-]?\d{1,10}", text) and _INT32[0] <= int(text) <= _INT32[1]:
                converted[name] = int(text)
            else:
                errors[name] = [f"The value '{text}' is not valid for {name}."]
    if "CustomFieldValue" in values and "CustomFieldName" not in values:
        errors.setdefault("CustomFieldValue", []).append(
            "CustomFieldValue requires CustomFieldName."
        )
    if errors:
        raise InvalidParameters(errors)
    return ContactFilters(
        agent_id=values.get("AgentId"),
        created_from=converted.get("CreatedAtFrom"),
        created_to=converted.get("CreatedAtTo"),
        changed_from=converted.get("ChangedAtFrom"),
        changed_to=converted.get("ChangedAtTo"),
        custom_field_name=values.get("CustomFieldName"),
        custom_field_value=values.get("CustomFieldValue"),
        lead_score=converted.get("LeadScore"),
        scheduled_order_type=converted.get("ContactScheduledOrderType"),
        newsletter_list_id=values.get("NewsletterListId"),
    )
