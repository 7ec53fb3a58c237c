"""Dialects: the stand-in's switches for what Vitec's documentation leaves open.

Each field is one undocumented behaviour (numbered as in docs/standin.md); the defaults
are the "documented" dialect, the best reading of Vitec's help pages and of what ASP.NET
Web API 2 does by default. `DIALECTS` names the presets the tests and `vitec-nb doctor`
use; a `Dialect` can also be built field by field.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["DIALECTS", "Dialect", "resolve_dialect"]

EmptyLists = Literal["[]", "null", "absent"]
ErrorShape = Literal["webapi", "camel", "plain"]
_EMPTY = ("[]", "null", "absent")
_SHAPES = ("webapi", "camel", "plain")


@dataclasses.dataclass(frozen=True)
class Dialect:
    """How the stand-in behaves where Vitec's docs are silent.

    Attributes:
        changed_at_offset: date-times carry a UTC offset (True) or are Stockholm local wall
            time without one, as .NET writes a DateTime of unspecified kind (False).
        empty_lists: an empty list is sent as `[]`, as `null`, or left out ("absent").
        zero_filters: `LeadScore=0` and `ContactScheduledOrderType=0` are real values
            (True: 0 stars; no service matches 0) or mean "no filter" (False: everyone).
        all_users: `User/GetAllUsers` answers (True) or is a 404 (False).
        error_shape: error bodies as Web API 2 writes them (`{"Message", "ModelState"}`),
            camel-cased (`{"message", "modelState"}`), or plain text ("plain").
        answer_cap: silently cut each contact-list answer to this many references.
    """

    changed_at_offset: bool = True
    empty_lists: EmptyLists = "[]"
    zero_filters: bool = False
    all_users: bool = True
    error_shape: ErrorShape = "webapi"
    answer_cap: int | None = None

    def __post_init__(self) -> None:
        for name in ("changed_at_offset", "zero_filters", "all_users"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be True or False, got {getattr(self, name)!r}")
        if self.empty_lists not in _EMPTY:
            raise ValueError(f"empty_lists: must be one of {_EMPTY}, got {self.empty_lists!r}")
        if self.error_shape not in _SHAPES:
            raise ValueError(f"error_shape: must be one of {_SHAPES}, got {self.error_shape!r}")
        cap = self.answer_cap
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError(f"answer_cap: must be None or a whole number >= 1, got {cap!r}")


DIALECTS: dict[str, Dialect] = {
    "documented": Dialect(),
    "local-times": Dialect(changed_at_offset=False),
    "null-lists": Dialect(empty_lists="null"),
    "absent-lists": Dialect(empty_lists="absent"),
    "zero-is-filter": Dialect(zero_filters=True),
    "public-users-only": Dialect(all_users=False),
    "camel-errors": Dialect(error_shape="camel"),
    "plain-errors": Dialect(error_shape="plain"),
    "capped": Dialect(answer_cap=1000),
}
"""Named presets: each differs from "documented" in one switch."""


def resolve_dialect(dialect: Dialect | str | None) -> Dialect:
    """A `Dialect` from a preset name, a `Dialect`, or None (the documented one)."""
    if dialect is None:
        return DIALECTS["documented"]
    if isinstance(dialect, Dialect):
        return dialect
    if isinstance(dialect, str) and dialect in DIALECTS:
        return DIALECTS[dialect]
    raise ValueError(f"dialect: give a Dialect or one of {', '.join(DIALECTS)}; got {dialect!r}")
