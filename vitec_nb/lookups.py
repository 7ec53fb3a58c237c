"""Lookups: the names behind the ids the filters take (users, lists, fields, offices)."""

from __future__ import annotations

import dataclasses

import pandas as pd

__all__ = ["OfficeLookups"]


@dataclasses.dataclass(frozen=True, eq=False)
class OfficeLookups:
    """Everything the planner needs to know about one office, fetched before planning.

    Args:
        office: the customer id.
        agents: users; columns user_id, name, title, archived (bool), public (bool),
            customer_id. None when not fetched.
        agents_complete: True when `agents` came from `User/GetAllUsers` (every user);
            False when only `User/GetUser` answered (public users only), so a contact in no
            listed agent's answer may belong to an unlisted user.
        newsletter_lists: columns id, name, customer_id (None: not fetched).
        custom_fields: columns name, label, type, valid_for (tuple of object types),
            customer_id (None: not fetched).
        office_name: the office's name from `Office/GetOffice` (None: unknown).
    """

    office: str
    agents: pd.DataFrame | None = None
    agents_complete: bool = False
    newsletter_lists: pd.DataFrame | None = None
    custom_fields: pd.DataFrame | None = None
    office_name: str | None = None
