"""The contact form's drill-down: pick a cell of the shown run and list its contacts by name."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from vitec_nb import i18n
from vitec_nb.errors import VitecError
from vitec_nb.form_output import CONTACT_ROWS, _table, export_contacts
from vitec_nb.provenance import provenance_of

__all__ = ["CONTACT_COLUMNS", "FormDrill", "largest_cell"]

# what the contacts table shows, in this order (the rest of the facts columns follow)
CONTACT_COLUMNS = ("name", "kind", "agent", "agent_name", "lead_score", "created_at", "changed_at")
_NOT_SHOWN = ("period", "created_period")  # the cell's period: the same for every row


def largest_cell(result: Any) -> tuple[Any, Any]:
    """(period, value) of the largest segment of the first dimension; (period, None)
    without one: the busiest period. (None, None) for an empty result."""
    counts = result.counts
    if counts.empty or counts["contacts"].fillna(0).sum() == 0:
        return None, None
    by = result.plan.by[:1]
    row = counts.loc[counts["contacts"].fillna(-1).idxmax()]
    return row["period"], (row[by[0]] if by else None)


def _with_filters(rows: pd.DataFrame, record: Any) -> pd.DataFrame:
    """Agent and lead score of every row: from the split, else from a filter (the same for
    all rows). Neither split nor filtered, a breakdown does not know them per contact."""
    query = record.query
    rows = rows.copy()
    agent = getattr(query, "agent_id", None)
    if "agent" not in rows.columns and agent:
        rows["agent"] = agent
        rows["agent_name"] = record.names.get("agent", {}).get(agent, agent)
    score = getattr(query, "lead_score", None)
    if "lead_score" not in rows.columns and score is not None:
        rows["lead_score"] = int(score)
    return rows


class FormDrill:
    """A mixin of `ContactExplorer` (widgets.py): the cell choice, "Show contacts", their
    table and its export. Reads the shown run's record only, never the controls."""

    def _fill_cells(self, result: Any) -> None:
        """The shown run's periods and values as choices, set on its largest segment."""
        lang = self.language
        periods = [
            (i18n.period_label(p, result.plan.period, lang, multiline=False), p)
            for p in result.plan.periods
        ]
        by = result.plan.by[:1]
        values: list[tuple[str, Any]] = []
        if by:
            names = self.record.names.get(by[0], {}) if self.record else {}
            seen = pd.unique(result.counts[by[0]].astype(object))
            values = [(str(names.get(v, i18n.special_value(v, lang))), v) for v in seen]
        period, value = largest_cell(result)
        self._updating = True
        try:
            self.cell_period.options = periods
            self.cell_value.options = values or [(self._any, "")]  # no split: every value
            self.cell_value.layout.display = "" if by else "none"
            if period is not None:
                self.cell_period.value = period
            if value is not None:
                self.cell_value.value = value
        finally:
            self._updating = False
        self.last_contacts = None
        self._on_cell({})

    def cell(self) -> dict[str, Any]:
        """The chosen cell as `contacts_in` / `details` keywords: period and the value."""
        record = self.record
        if record is None or self.cell_period.value in (None, ""):
            return {}
        chosen: dict[str, Any] = {"period": self.cell_period.value}
        by = record.plan.by[:1]
        if by and self.cell_value.value not in (None, ""):
            chosen[by[0]] = self.cell_value.value
        return chosen

    def _cell_words(self) -> str:
        """The cell as shown: "jan 2025, Anna Berg"."""
        words = [self.cell_period.label or ""]
        if self.record is not None and self.record.plan.by and self.cell_value.label:
            words.append(self.cell_value.label)
        return ", ".join(w for w in words if w)

    def _on_cell(self, _change: dict[str, Any]) -> None:
        """A cell chosen: say what "Show contacts" will cost before it runs."""
        if self._updating or self.record is None or not self.cell():
            return
        try:
            calls = self.record.result.details_calls(**self.cell())
        except VitecError as err:
            self._drill_message(self._message(err), "error")
            return
        word = self._t("status.call" if calls.calls == 1 else "status.calls")
        text = self._t(
            "status.details_plan",
            calls=calls.calls,
            call_word=word,
            contacts=i18n.number(calls.contacts, self.language),
            cached=calls.cached,
        )
        self._drill_message(text, "info")

    def _drill_message(self, text: str, level: str) -> None:
        colour = {"error": "#b94a48", "info": "#31708f", "ok": "#3c763d"}[level]
        self.drill_status.value = (
            f'<div class="vnb-drill vnb-{level}" style="color:{colour}">{html.escape(text)}</div>'
        )
        self.drill_text = text

    def show_contacts(self) -> pd.DataFrame | None:
        """The contacts of the chosen cell with names (`result.details`), shown as a table."""
        record = self.record
        if record is None or not self.cell():
            self._drill_message(self._t("err.no_cell"), "error")
            return None
        status = self.status.value, self.status_text  # the run's "Done" line stays
        self._set_busy(True)
        try:
            rows = record.result.details(
                progress=self._on_progress, offline=bool(self.offline.value), **self.cell()
            )
        except Exception as err:  # a message in the form, never a traceback
            self.last_exception = err
            self._drill_message(self._message(err), "error")
            return None
        finally:
            self._set_busy(False)
            self.status.value, self.status_text = status
        return self._show_contacts(rows)

    def _show_contacts(self, rows: pd.DataFrame) -> pd.DataFrame:
        from IPython.display import display

        rows = _with_filters(rows, self.record)
        first = [c for c in CONTACT_COLUMNS if c in rows.columns]
        rest = [c for c in rows.columns if c not in first and c not in _NOT_SHOWN]
        rows = rows[[*first, *rest]]
        self.last_contacts = rows
        cell = self._cell_words()
        caption = self._t("rows.contacts", total=i18n.number(len(rows), self.language), cell=cell)
        with self.contacts_output:
            self.contacts_output.clear_output(wait=True)
            display(
                _table(rows, self.record.names, self.language, rows=CONTACT_ROWS, caption=caption)
            )
        self.contacts_csv_button.disabled = False
        done = self._t(
            "status.details_done",
            contacts=i18n.number(len(rows), self.language),
            cell=cell,
            calls=provenance_of(rows).details_calls,
            cached=provenance_of(rows).details_cached,
        )
        self._drill_message(done, "ok")
        return rows

    def export_contacts(self, fmt: str = "csv") -> Path | None:
        """Write the contacts table (the run's caption and the cell in its header) to the
        export folder with the same export as the counts (`form_output.export_contacts`)."""
        record, rows = self.record, self.last_contacts
        if record is None or rows is None:
            self._drill_message(self._t("err.no_cell"), "error")
            return None
        cell = "-".join("".join(c if c.isalnum() else " " for c in self._cell_words()).split())
        target = Path(self.export_folder.value) / f"{record.file_stem()}-{cell}.{fmt}"
        filters = (*record.caption.filters, self._cell_words())
        try:
            path = export_contacts(
                rows,
                target,
                caption=record.caption.replace(filters=filters),
                csv_style=self.csv_style.value,
                names=record.names,
                language=self.language,
            )
        except OSError as err:
            self._drill_message(self._t("status.write_failed", error=err), "error")
            return None
        self.last_export = path
        self.export_link.value = self._download_link(path)
        self._drill_message(f"{self._t('saved_to')} {path}", "ok")
        return path
