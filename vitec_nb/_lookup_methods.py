"""The client's lookup and contact-details methods: thin calls into lookups.py, details.py.

A base class of `_base_client.BaseClient`, so `VitecClient` keeps one surface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from vitec_nb.lookups import OfficeLookups

__all__ = ["LookupMethods"]


class LookupMethods:
    """Lookups (`agents`, `newsletter_lists`, `custom_fields`, `offices`, `office_groups`,
    `office_label`, `lookups`) and `contact_details`; `_office` checks the office."""

    def _office(self, customer_id: str) -> str:
        raise NotImplementedError

    def agents(
        self, customer_id: str, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """The office's users: user_id, name, title, archived, public, customer_id.

        From `User/GetAllUsers` when it answers (`attrs["agents_complete"]` True), else the
        public users of `User/GetUser` (False); a refusal is remembered by this client.
        """
        from vitec_nb import lookups

        return lookups.fetch_agents(self, self._office(customer_id), refresh=refresh,
                                    offline=offline)  # fmt: skip

    def newsletter_lists(
        self, customer_id: str, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """The office's newsletter lists: id, name, customer_id."""
        return self._table("newsletter_lists", customer_id, refresh, offline)

    def custom_fields(
        self, customer_id: str, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """The office's custom fields: name, label, type, valid_for (tuple), customer_id.

        Only those valid for a person or company can match a contact:
        `vitec_nb.lookups.contact_fields(frame)`.
        """
        return self._table("custom_fields", customer_id, refresh, offline)

    def offices(
        self, customer_id: Any = None, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """Offices (`Office/GetOffice`) of every configured office (or those given):
        customer_id, office_id, name, archived, chain_id, chain_name, groups."""
        from vitec_nb import lookups

        return lookups.fetch_offices(self, customer_id, refresh=refresh, offline=offline)

    def office_groups(
        self, customer_id: Any = None, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """Office groups (`CRM/Officegroups`): id, name, offices (tuple of customer ids)."""
        from vitec_nb import lookups

        return lookups.fetch_office_groups(self, customer_id, refresh=refresh, offline=offline)

    def office_label(self, customer_id: str, *, offline: bool = False) -> str:
        """The office for display, "Södermalm (M30011)" (the id alone without a name)."""
        from vitec_nb import lookups

        cid = self._office(customer_id)
        return lookups.office_label(cid, lookups.fetch_office_name(self, cid, offline=offline))

    def lookups(
        self, office: str, *, refresh: bool = False, offline: bool = False
    ) -> OfficeLookups:
        """What the planner needs about one office (`vitec_nb.lookups.OfficeLookups`)."""
        from vitec_nb import lookups

        return lookups.fetch_office_lookups(self, office, refresh=refresh, offline=offline)

    def contact_details(
        self,
        customer_id: str,
        ids: Any,
        fields: Any = None,
        *,
        refresh: bool = False,
        offline: bool = False,
        progress: Any = None,
    ) -> pd.DataFrame:
        """One row per contact id: kind, id, customer_id, name, created_at, changed_at,
        agent_id, lead_score; personal data only as `fields=` names it (docs/lookups.md)."""
        from vitec_nb import details

        return details.fetch_details(self, customer_id, ids, fields, refresh=refresh,
                                     offline=offline, progress=progress)  # fmt: skip

    def _table(self, name: str, customer_id: str, refresh: bool, offline: bool) -> pd.DataFrame:
        from vitec_nb import lookups

        cid = self._office(customer_id)
        return lookups.fetch_lookup(self, lookups.LOOKUPS[name], cid, refresh=refresh,
                                    offline=offline)  # fmt: skip
