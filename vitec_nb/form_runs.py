"""What a run of the contact form shows and writes: its record, outputs, staleness, export."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from pathlib import Path
from typing import Any

from vitec_nb import captions, i18n
from vitec_nb.errors import InvalidQueryError, VitecError
from vitec_nb.form_messages import ANY_VALUE
from vitec_nb.form_model import _picked_caption
from vitec_nb.form_output import (
    CHART_DPI,
    RunRecord,
    _table,
    chart_html,
    download_link,
    export_contacts,
    make_caption,
    png_bytes,
    summarize,
    summary_html,
)

__all__ = ["STALE_TEXT", "FormRuns"]

STALE_TEXT = "Out of date: Run to update"


def _labels(control: Any) -> dict[Any, str]:
    """A drop-down's choices as value -> label, "(any)" left out."""
    return {value: label for label, value in control.options if value != ANY_VALUE}


class FormRuns:
    """The explorer's runs: each one's record, drawn outputs, out-of-date note and export.

    A mixin of `ContactExplorer` (widgets.py): it reads the controls the layout built and
    writes the outputs; nothing here asks the server except the export's file system.
    """

    def _controls(self) -> tuple[Any, ...]:
        """The state of every input control: a run is current while this is unchanged."""
        return tuple(control.value for control in self._inputs)

    @property
    def is_out_of_date(self) -> bool:
        """True when a run is shown and the controls no longer describe it."""
        return self.record is not None and self.record.controls != self._controls()

    def _show_staleness(self) -> None:
        if not self.is_out_of_date:
            self.stale.value = ""
            return
        assert self.record is not None
        record = self.record
        shown = html.escape(
            f"#{record.number}: {record.caption.what}, {record.caption.office}, "
            f"{record.caption.range}"
        )
        self.stale.value = (
            '<div class="vnb-out-of-date" style="background:#fcf8e3;border:1px solid #f0ad4e;'
            'color:#8a6d3b;padding:4px 8px;font-weight:600">'
            f"⚠ {self._t('stale')} — {self._t('stale.still')} {shown}</div>"
        )

    def _show(self, result: Any) -> None:
        """Summary, chart and first rows of a finished run, all drawn from its record."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        record = self._record(result)
        caption = record.caption
        chart: dict[str, Any] = {}
        if result.plan.by[:1] == ("agent",):  # the analyst's top N; archived ones marked
            chart = {"top": int(self.top_agents.value), "names": record.names["agent"]}
            if self.picked_agents:  # the analyst's pick: those by name, the rest "others"
                chart["keep"] = self.picked_agents
        # The last chart is drawn into again (cheaper than a new figure); until this one is
        # drawn there is none to save, so a failed chart never leaves a half-drawn one.
        reuse, self.last_figure = self.last_figure, None
        fig = result.plot(  # first: if the chart fails, nothing half-shown remains
            where=caption.office,
            when=caption.range,
            subtitle=caption.subtitle,
            language=self.language,
            dpi=CHART_DPI,  # made at the resolution it is shown at: drawn without a change
            figure=reuse,
            **chart,
        )
        if result.previous is not None:
            self._label_earlier(fig, result)
        summary = summarize(result, self.client, record.office)
        summary["comparison"] = caption.compare
        self.record = record
        self.last_result, self.last_frame, self.last_summary = result, result.facts, summary
        self.summary.value = summary_html(summary, caption, self.language)
        self.last_png = png_bytes(fig)  # the PNG bytes shown (what a front end receives)
        title = fig.get_suptitle() or caption.what
        with self.chart_output:
            self.chart_output.clear_output(wait=True)
            display(chart_html(self.last_png, f"{title}. {caption.subtitle}"))
        plt.close(fig)  # a no-op for charts' Figure(); stops pyplot figures piling up
        self.last_figure = fig
        self.figures_shown += 1
        with self.table_output:
            self.table_output.clear_output(wait=True)
            display(_table(result.facts, record.names, self.language))
        self._fill_cells(result)
        self._show_staleness()

    def _label_earlier(self, fig: Any, result: Any) -> None:
        """The earlier range's line (drawn by `result.plot`) labelled in the form's words."""
        ax = fig.axes[0]
        measure = i18n.text(f"measure_words.{result.plan.measure}", self.language)
        earlier = result.previous.plan
        first = i18n.period_label(
            earlier.periods[0], earlier.period, self.language, multiline=False
        )
        last = i18n.period_label(
            earlier.periods[-1], earlier.period, self.language, multiline=False
        )
        label = self._t("compare.earlier", range=f"{first} – {last}", measure=measure)
        lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        legend = ax.get_legend()
        if lines and legend is not None:
            lines[-1].set_label(label)
            legend.get_texts()[-1].set_text(label)

    def _record(self, result: Any) -> RunRecord:
        """The record of a finished run: its query, plan, result, names and caption."""
        self._runs += 1
        names: dict[str, dict[Any, str]] = {k: dict(v) for k, v in result.names.items()}
        names.setdefault("office", {}).update(
            {o: self._office_label(o) for o in result.plan.query.customer_ids}
        )
        for dim, control in (("agent", self.agent), ("newsletter_list", self.newsletter_list)):
            names.setdefault(dim, {}).update(_labels(control))
        names["custom_field"] = _labels(self.custom_field)
        caption = make_caption(
            result,
            names=names,
            ranges={pair: self._written(pair) for pair in ("created", "changed")},
            office_names=self._office_names,
            language=self.language,
            demo=bool(getattr(result, "demo", False) or getattr(self.client, "is_demo", False)),
        )
        if self.picked_agents and result.plan.by[:1] == ("agent",):  # the pick, in words
            pick = _picked_caption(result, self.picked_agents, names["agent"], self.language)
            caption = dataclasses.replace(caption, filters=(*caption.filters, pick))
        return RunRecord(
            self._runs,
            result.plan.query,
            result.plan,
            result,
            caption,
            self._controls(),
            names,
            self.language,
        )

    def _written(self, pair: str) -> tuple[Any, Any]:
        """A pair of date controls as the analyst gave them (a date, or date and time)."""
        ends = []
        for side in ("from", "to"):
            day = getattr(self, f"{pair}_{side}").value
            time = getattr(self, f"{pair}_{side}_time").value
            ends.append(dt.datetime.combine(day, time) if day and time else day)
        return ends[0], ends[1]

    def _office_label(self, office: str) -> str:
        """ "Södermalm (M30011)" (`client.office_label`), the id alone when unknown."""
        try:
            return str(self.client.office_label(office, offline=True))
        except (VitecError, AttributeError):
            return office

    def _context_text(self) -> str:
        """What the controls ask for, for messages: office and the range as written."""
        measure = self.measure.value
        first, last = self._written(measure)
        when = captions.range_text(first, last, self.language)
        office = self.office.value or "?"
        words = i18n.text(f"measure.{measure}", self.language)
        return self._t("context", office=office, measure=words) + (f" {when}" if when else "")

    def _download_link(self, path: Path) -> str:
        return download_link(path, self.language)

    # ---------------------------------------------------------------- export
    def export(self, fmt: str = "csv") -> Path | None:
        """Write the shown run's contacts (CSV or Excel) to the export folder and link it.

        The file holds the run the form shows, named and headed by that run (office, run
        number, fetch time; filters and range in its header lines), even when the controls
        have changed since. Small files are also offered as a download link carrying the
        data itself, which works in JupyterLab and in Voila alike (no /files/ route).
        """
        record = self.record
        if record is None:
            self._set_status(self._t("status.run_first"), "error")
            return None
        if fmt not in ("csv", "xlsx"):
            raise InvalidQueryError("format", f"unknown export format {fmt!r}", "csv, xlsx")
        target = Path(self.export_folder.value) / f"{record.file_stem()}.{fmt}"
        try:
            path = export_contacts(
                record.result.facts,
                target,
                caption=record.caption,
                csv_style=self.csv_style.value,
                names=record.names,
                language=self.language,
            )
        except OSError as err:
            self.last_error = self._t("status.write_failed", error=err)
            self._set_status(self.last_error, "error")
            return None
        self.last_export = path
        self.export_link.value = self._download_link(path)
        text = self._t(
            "status.exported",
            run=record.number,
            rows=i18n.number(len(record.result.facts), self.language),
            office=record.caption.office,
            range=record.caption.range,
            path=path,
        )
        if self.is_out_of_date:
            text += "\n" + self._t("status.exported_stale")
        self._set_status(text, "ok")
        return path

    def save_chart(self, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
        """Write the shown run's chart (PNG and SVG) to the export folder, named by the run
        record's labels ("chart-m30012-contacts-created-per-month-...-run3.png")."""
        record, fig = self.record, self.last_figure
        if record is None or fig is None:
            self._set_status(self._t("status.run_first"), "error")
            return []
        folder = Path(self.export_folder.value)
        paths = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for fmt in formats:
                path = (folder / f"{record.chart_stem()}.{fmt}").resolve()
                fig.savefig(path, format=fmt, dpi=150)
                paths.append(path)
        except (OSError, ValueError) as err:
            self.last_error = self._t("status.write_failed", error=err)
            self._set_status(self.last_error, "error")
            return []
        self.last_chart_files = paths
        self.export_link.value = " ".join(self._download_link(p) for p in paths)
        shown = ", ".join(str(p) for p in paths)
        self._set_status(self._t("status.chart_saved", run=record.number, paths=shown), "ok")
        return paths
