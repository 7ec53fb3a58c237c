"""Breakdown options: every option strictly checked and normalised before any request."""

from __future__ import annotations

import dataclasses
import math
import numbers
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vitec_nb import activity
from vitec_nb import query as query_mod
from vitec_nb.dates import is_whole_day
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan.values import (
    _PLAN_OPTIONS,
    _RUN_OPTIONS,
    DEFAULT_MAX_CALLS,
    DIMENSIONS,
    MAX_CONCURRENCY,
    MEASURES,
    RunOptions,
)
from vitec_nb.query import ContactQuery

__all__ = [
    "BreakdownOptions",
    "breakdown_options",
    "office_group_option",
    "run_option",
    "service_number",
]

_BOOL = "True or False"


@dataclasses.dataclass(frozen=True)
class BreakdownOptions:
    """What a breakdown asks for, checked and normalised (no run options, no callables).

    Per-office values (`agent_ids`, ...) are a tuple for every office, or a mapping
    office -> tuple. `end_is_date` is True when `end` was a date without a time of day:
    the whole of that day is included (the range stops at the next midnight, exclusive).
    """

    by: tuple[str, ...] = ("agent",)
    measure: str = "created"
    period: str = "M"
    start: Any = None
    end: Any = None
    end_is_date: bool = False
    agent_ids: Any = None
    newsletter_list_ids: Any = None
    scheduled_order_types: Any = None
    custom_field_name: str | None = None
    custom_field_values: Any = None
    infer_last: bool = False
    include_archived: bool = True
    now: Any = None
    max_calls: int = DEFAULT_MAX_CALLS
    office_group: str | None = None  # a group's name or id, resolved before planning


def breakdown_options(
    query: ContactQuery, by: str | Iterable[str] | None = ("agent",), **options: Any
) -> tuple[BreakdownOptions, RunOptions]:
    """Check every option (before any request) and split them into plan and run options."""
    if not isinstance(query, ContactQuery):
        raise InvalidQueryError(
            "query", f"{type(query).__name__} is not a ContactQuery", "a vitec_nb.ContactQuery"
        )
    plan_kw: dict[str, Any] = {}
    run_kw: dict[str, Any] = {}
    for key, value in options.items():
        if key in _RUN_OPTIONS:
            run_kw[key] = run_option(key, value)
        elif key in _PLAN_OPTIONS:
            plan_kw[key] = value
        else:
            allowed = ", ".join(sorted(_PLAN_OPTIONS | _RUN_OPTIONS))
            raise InvalidQueryError(key, "is not a breakdown option", allowed)
    run = RunOptions(**{k: v for k, v in run_kw.items() if v is not None})
    return _plan_options(query, normalize_by(by), plan_kw), run


def _plan_options(query: ContactQuery, by: tuple[str, ...], kw: dict[str, Any]) -> BreakdownOptions:
    offices = query.customer_ids
    measure = kw.get("measure", "created")
    if measure not in MEASURES:
        raise InvalidQueryError("measure", f"{measure!r} is not a measure", "created, changed")
    end = kw.get("end")
    return BreakdownOptions(
        by=by,
        measure=measure,
        period=activity.normalize_period(kw.get("period", "M")),
        start=_date(kw.get("start"), "start"),
        end=_date(end, "end"),
        end_is_date=end is not None and is_whole_day(end),
        agent_ids=per_office(kw.get("agent_ids"), offices, "agent_ids", _agent_id),
        newsletter_list_ids=per_office(
            kw.get("newsletter_list_ids"), offices, "newsletter_list_ids", _list_id
        ),
        scheduled_order_types=per_office(
            kw.get("scheduled_order_types"), offices, "scheduled_order_types", service_number
        ),
        custom_field_name=_text_or_none(kw.get("custom_field_name"), "custom_field_name"),
        custom_field_values=per_office(
            kw.get("custom_field_values"), offices, "custom_field_values", _field_value
        ),
        infer_last=_flag(kw.get("infer_last", False), "infer_last"),
        include_archived=_flag(kw.get("include_archived", True), "include_archived"),
        now=_date(kw.get("now"), "now"),
        max_calls=_max_calls(kw.get("max_calls", DEFAULT_MAX_CALLS)),
        office_group=office_group_option(kw.get("office_group")),
    )


def office_group_option(value: Any) -> str | None:
    """An office group as given: its name or id (text), checked before any request."""
    allowed = "an office group's name or id from client.office_groups()"
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidQueryError("office_group", f"{value!r} is not a group name or id", allowed)
    return _printable(value.strip(), "office_group", allowed)


def normalize_by(by: str | Iterable[str] | None) -> tuple[str, ...]:
    """The dimensions asked, as a tuple of known names, each once."""
    if by is None:
        return ()
    allowed = ", ".join(DIMENSIONS)
    if not isinstance(by, str | Iterable):
        raise InvalidQueryError("by", f"{by!r} is not a dimension", allowed)
    names = (by,) if isinstance(by, str) else tuple(by)
    seen: list[str] = []
    for name in names:
        if not isinstance(name, str) or name not in DIMENSIONS:
            raise InvalidQueryError("by", f"{name!r} is not a dimension", allowed)
        if name in seen:
            raise InvalidQueryError("by", f"{name!r} is given twice", allowed)
        seen.append(name)
    return tuple(seen)


def run_option(key: str, value: Any) -> Any:
    """Run options: real booleans (allow_partial="no" would otherwise count as True)."""
    if value is None:
        return None
    if key == "concurrency":
        return check_concurrency(value)
    if key == "progress":
        if isinstance(value, bool) or callable(value):
            return value
        raise InvalidQueryError(
            key, f"{value!r} is not allowed", "True, False or a callable(done, total)"
        )
    return _flag(value, key)


def check_concurrency(value: Any) -> int:
    """A whole number of requests in flight, 1 to MAX_CONCURRENCY."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise InvalidQueryError(
            "concurrency", f"{value!r} is not allowed", f"a whole number 1–{MAX_CONCURRENCY}"
        )
    return value


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidQueryError(field, f"{value!r} is not True or False", _BOOL)
    return value


def _max_calls(value: Any) -> int:
    allowed = "a whole number of calls, at least 1"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidQueryError("max_calls", f"{value!r} is not allowed", allowed)
    return int(value)


def _date(value: Any, field: str) -> Any:
    """A date option as a Stockholm Timestamp (None stays None), checked for its year."""
    if value is None:
        return None
    return activity.to_timestamp(value, field)


def _text_or_none(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidQueryError(field, f"{value!r} is not a name", "non-empty text")
    return _printable(value, field, "printable text")


def _printable(value: str, field: str, allowed: str) -> str:
    """Text without control or format characters (a newline, NUL, a right-to-left mark)."""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value):
        raise InvalidQueryError(field, f"{value!r} holds a control character", allowed)
    return value


def _agent_id(value: Any, field: str) -> str:
    allowed = "text ids like HAN…, printable"
    if not isinstance(value, str) or not value.strip():
        raise InvalidQueryError(field, f"{value!r} is not an agent id", allowed)
    return _printable(value, field, allowed)


def _list_id(value: Any, field: str) -> str:
    allowed = "text ids, printable"
    if not isinstance(value, str) or not value.strip():
        raise InvalidQueryError(field, f"{value!r} is not a newsletter list id", allowed)
    return _printable(value, field, allowed)


def _field_value(value: Any, field: str) -> str:
    if isinstance(value, bool) or value is None:
        raise InvalidQueryError(field, f"{value!r} is not a field value", "text or numbers")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidQueryError(field, f"{value!r} is not a field value", "text or numbers")
    if isinstance(value, str | numbers.Real):
        text = str(value)
        if text.strip():
            return _printable(text, field, "printable text or numbers")
    raise InvalidQueryError(field, f"{value!r} is not a field value", "text or numbers")


def service_number(value: Any, field: str = "scheduled_order_types") -> int:
    """A scheduled order type as its number: 2, "2", "FinalPricesInArea" or
    "final_prices_in_area" all give 2; 0, negatives and unknown names are refused."""
    return query_mod.scheduled_order_type(value, field)


def per_office(option: Any, offices: Sequence[str], field: str, check: Any) -> Any:
    """Values given for a dimension, each checked and normalised, then checked for repeats:
    one sequence for every office, or a mapping office -> sequence."""
    if option is None:
        return None
    if isinstance(option, Mapping):
        unknown = [str(k) for k in option if k not in offices]
        if unknown:
            raise InvalidQueryError(
                field,
                f"names offices not in the query: {', '.join(sorted(unknown))}",
                ", ".join(offices),
            )
        return {office: _values(values, field, check) for office, values in option.items()}
    return _values(option, field, check)


def _values(option: Any, field: str, check: Any) -> tuple[Any, ...]:
    if isinstance(option, str | int) and not isinstance(option, bool):
        option = (option,)
    if not isinstance(option, Iterable) or isinstance(option, bytes):
        raise InvalidQueryError(field, f"{option!r} is not a list of values", "a list of values")
    option = tuple(option)
    values = tuple(check(v, field) for v in option)
    seen: set[Any] = set()
    for raw, value in zip(option, values, strict=True):
        if value in seen:
            raise InvalidQueryError(
                field, f"{raw!r} is given twice (as {value!r})", "each value once"
            )
        seen.add(value)
    return values


def values_for(option: Any, office: str) -> tuple[Any, ...] | None:
    """The normalised values of an office (None: not given)."""
    if option is None:
        return None
    if isinstance(option, Mapping):
        return tuple(option.get(office, ()))
    return tuple(option)
