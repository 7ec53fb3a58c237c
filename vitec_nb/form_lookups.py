"""The contact form's lookups: agents, lists, fields, office names and groups as choices."""

from __future__ import annotations

from typing import Any

from vitec_nb.errors import VitecError
from vitec_nb.form_layout import default_range
from vitec_nb.form_messages import ANY_VALUE
from vitec_nb.form_model import _agent_options, _contact_fields

__all__ = ["FormLookups"]


class FormLookups:
    """A mixin of `ContactExplorer` (widgets.py): fills the drop-downs from the client's
    lookups and reloads them when the office or Offline changes."""

    def _load_lookups(self) -> None:
        """Fill agent, newsletter list and custom field choices for the selected office."""
        office = self.office.value
        problems: list[str] = []
        anyone = (self._any, ANY_VALUE)
        agents: list[tuple[str, Any]] = [anyone]
        lists: list[tuple[str, Any]] = [anyone]
        fields: list[tuple[str, Any]] = [anyone]
        t = self._t
        if office is not None:
            offline = bool(self.offline.value)
            try:
                frame = self.client.agents(office, offline=offline)
                agents += _agent_options(frame, self.language)
            except VitecError as err:
                problems.append(f"{t('lookup.agents')}: {self._message(err)}")
            self._load_office_name(office, offline)
            try:
                frame = self.client.newsletter_lists(office, offline=offline)
                lists += [(str(r.name), str(r.id)) for r in frame.itertuples()]
            except VitecError as err:
                problems.append(f"{t('lookup.lists')}: {self._message(err)}")
            try:
                frame = _contact_fields(self.client.custom_fields(office, offline=offline))
                fields += [(str(r.label or r.name), str(r.name)) for r in frame.itertuples()]
            except VitecError as err:
                problems.append(f"{t('lookup.fields')}: {self._message(err)}")
        self._set_options(
            (self.agent, agents), (self.newsletter_list, lists), (self.custom_field, fields)
        )
        self._lookup_problems = problems

    def _set_options(self, *pairs: tuple[Any, list[tuple[str, Any]]]) -> None:
        """New choices for drop-downs, keeping each one's value when it is still offered."""
        self._updating = True
        try:
            for control, options in pairs:
                keep = control.value
                values = [v for _, v in options]
                control.options = options
                control.index = values.index(keep) if keep in values else 0
        finally:
            self._updating = False

    def _load_office_groups(self) -> None:
        """The office groups of the configured offices (`client.office_groups()`), by name."""
        groups: list[tuple[str, Any]] = [(self._t("no_group"), "")]
        if self.client.customer_ids:
            try:
                frame = self.client.office_groups(offline=bool(self.offline.value))
                for row in frame.itertuples():
                    groups.append((f"{row.name} ({len(row.offices)})", str(row.id)))
            except VitecError:
                pass  # no groups to offer: the offices can still be picked one by one
        self._set_options((self.office_group, groups))

    def _load_office_name(self, office: str, offline: bool) -> None:
        """The office's name for captions ("M30012 Kontor Söder"), when Vitec gives one."""
        if office in self._office_names:
            return
        try:
            frame = self.client.offices(office, offline=offline)
        except VitecError:
            return  # captions show the id alone
        names = frame.loc[frame["customer_id"].astype(str) == office, "name"].dropna()
        if len(names):
            self._office_names[office] = str(names.iloc[0])

    def _on_office(self, _change: dict[str, Any]) -> None:
        if not self._updating:
            self._load_lookups()
            self._validate()

    def _on_offline(self, change: dict[str, Any]) -> None:
        """Offline switched: reload the lookups (now from the server) and re-plan."""
        if not self._busy:
            self._load_office_groups()
            self._load_lookups()
            self._validate()

    def _on_measure(self, change: dict[str, Any]) -> None:
        """Measuring changes: the range comes from the changed dates, shown filled in."""
        empty = self.changed_from.value is None and self.changed_to.value is None
        if change["new"] == "changed" and empty:
            self._updating = True
            try:
                self.changed_from.value, self.changed_to.value = default_range(today=self._today())
            finally:
                self._updating = False
            self._validate()
