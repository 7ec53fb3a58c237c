"""What the toolkit knows about a server: plain data the planner and the client act on.

A `ServerProfile` starts from safe defaults (nothing known), is refined by
`vitec-nb doctor` (remembered per base URL beside the cache) and by what answers reveal.
The planner never depends on an undocumented meaning: where a field is None, it takes the
path that is right under every dialect (see docs/standin.md).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["ServerProfile"]

EmptyLists = Literal["[]", "null", "absent"]


@dataclasses.dataclass(frozen=True)
class ServerProfile:
    """How one base URL behaves where Vitec's docs are silent; None means "not known".

    Args:
        all_users: `User/GetAllUsers` answers (True), is refused or missing (False).
        zero_filters: `LeadScore=0` narrows the set (True) or means "no filter" (False).
        changed_at_offset: `changedAt` carries a UTC offset (True) or is local time (False).
        empty_lists: how an empty contact list is sent ("[]", "null" or "absent").
        error_shape: "webapi" (`Message` + `ModelState`), "camel" (`message` +
            `modelState`) or "other".
        answer_cap: the size at which answers seemed to be cut silently, if ever.
        checked_at: ISO time of the doctor run that learnt this (None: defaults).
    """

    all_users: bool | None = None
    zero_filters: bool | None = None
    changed_at_offset: bool | None = None
    empty_lists: EmptyLists | None = None
    error_shape: str | None = None
    answer_cap: int | None = None
    checked_at: str | None = None
