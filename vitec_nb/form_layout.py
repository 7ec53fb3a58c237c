"""The contact form's controls and the wiring of their handlers (no behaviour of its own)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as w
import pandas as pd

from vitec_nb.errors import VitecError
from vitec_nb.form_messages import ANY_VALUE, field_labels, stars
from vitec_nb.form_output import CSV_STYLES
from vitec_nb.form_sections import LABEL_WIDTH, FormSections
from vitec_nb.vocab import SCHEDULED_ORDER_TYPES

__all__ = ["FormLayout", "default_range"]

# The scheduled order combo box offers the published services by label; any other whole
# number or Vitec's name may be typed.
SERVICE_CHOICES: dict[str, int] = {
    f"{s.en} ({s.number} {s.name})": s.number for s in SCHEDULED_ORDER_TYPES.values()
}
SERVICE_CHOICES_SV: dict[str, int] = {
    f"{s.sv} ({s.number} {s.name})": s.number for s in SCHEDULED_ORDER_TYPES.values()
}
# split key (words in i18n: "split.<key>") -> the breakdown's `by`
SPLITS: list[tuple[str, tuple[str, ...]]] = [
    ("none", ()),
    ("agent", ("agent",)),
    ("lead_score", ("lead_score",)),
    ("newsletter_list", ("newsletter_list",)),
    ("office", ("office",)),
]
MEASURES = ("created", "changed")
PERIODS = ("D", "W", "M", "Q", "Y")
COMPARES = ("", "previous", "year")  # "": no comparison

CONTROL_WIDTH = "360px"
_STYLE = {"description_width": LABEL_WIDTH}
TOP_AGENTS = 8  # agents a chart split by agent names; the rest are "others" (adjustable)


def _placeholder(text: str) -> Any:
    from IPython.display import HTML

    return HTML(f'<p style="color:#888;padding:1em">{html.escape(text)}</p>')


def default_range(months: int = 12, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """First and last day of the `months` whole months before the current one."""
    today = today or dt.date.today()
    first = today.replace(day=1)
    year, month = divmod(first.year * 12 + first.month - 1 - months, 12)
    return dt.date(year, month + 1, 1), first - dt.timedelta(days=1)


def _dropdown(label: str, tooltip: str, options: Sequence[Any]) -> Any:
    return w.Dropdown(
        options=list(options),
        description=label,
        tooltip=tooltip,
        style=_STYLE,
        layout=w.Layout(width=CONTROL_WIDTH),
    )


def _text(label: str, tooltip: str, placeholder: str) -> w.Text:
    return w.Text(
        description=label,
        tooltip=tooltip,
        placeholder=placeholder,
        style=_STYLE,
        layout=w.Layout(width=CONTROL_WIDTH),
    )


def _when(label: str, tooltip: str, time_tip: str) -> tuple[w.DatePicker, w.TimePicker, w.HBox]:
    day = w.DatePicker(
        description=label,
        tooltip=tooltip,
        style=_STYLE,
        layout=w.Layout(width="245px"),
    )
    time = w.TimePicker(tooltip=time_tip, layout=w.Layout(width="112px"))
    return day, time, w.HBox([day, time], layout=w.Layout(width=CONTROL_WIDTH))


class FormLayout(FormSections):
    """Builds the form's widgets as attributes of the explorer (see `ContactExplorer`).

    Every word comes from the translation table (`vitec_nb.i18n`) in `self.language`.
    """

    def _build(self) -> None:
        """Every control, then the sections, then the handlers."""
        self._labels = field_labels(self.language)
        self._any = self._t("any")
        self._build_filters()
        self._build_offices()
        self._build_chart_controls()
        self._build_actions()
        self._build_outputs()
        self._build_drill()
        self._arrange()
        self._connect()

    def _build_filters(self) -> None:
        t, labels, anyone = self._t, self._labels, [(self._any, ANY_VALUE)]
        offices = list(self.client.customer_ids)
        if offices:
            self.office = _dropdown(
                labels["customer_id"], t("tip.office"), self._office_choices(offices)
            )
        else:  # no offices configured (one password for all): the analyst types the id
            self.office = _text(labels["customer_id"], t("tip.office"), t("placeholder.office"))
            self.office.continuous_update = False
        self.agent = _dropdown(labels["agent_id"], t("tip.agent"), anyone)
        for pair in ("created", "changed"):
            for side in ("from", "to"):
                name = f"{pair}_{side}"
                day, time, box = _when(labels[name], t(f"tip.{name}"), t("tip.time"))
                setattr(self, name, day)
                setattr(self, f"{name}_time", time)
                setattr(self, f"_{name}_box", box)
        # The form opens on the twelve whole months before this one: a range with data and
        # a chart worth looking at, which the analyst then narrows or widens.
        self.created_from.value, self.created_to.value = default_range(today=self._today())
        scores = [(f"{stars(n)} {n}", n) for n in range(6)]
        self.lead_score = _dropdown(labels["lead_score"], t("tip.lead_score"), anyone + scores)
        # A combo box: the published services are offered by label; any other whole
        # number may be typed (Vitec may add services; they are labelled by number).
        self.scheduled_order_type = w.Combobox(
            options=list(self._service_choices),
            ensure_option=False,
            description=labels["scheduled_order_type"],
            tooltip=t("tip.service"),
            placeholder=t("placeholder.service"),
            style=_STYLE,
            layout=w.Layout(width=CONTROL_WIDTH),
        )
        self.newsletter_list = _dropdown(
            labels["newsletter_list_id"], t("tip.newsletter_list"), anyone
        )
        self.custom_field = _dropdown(labels["custom_field_name"], t("tip.custom_field"), anyone)
        self.custom_value = _text(
            labels["custom_field_value"], t("tip.custom_value"), t("placeholder.custom_value")
        )

    def _office_choices(self, offices: list[str]) -> list[tuple[str, str]]:
        """(label, id) per office: "Södermalm (M30011)", the id alone when no name is known."""
        choices = []
        for cid in offices:
            try:
                label = self.client.office_label(cid)
            except VitecError:  # offline and not cached, or refused: the id is enough
                label = cid
            choices.append((label, cid))
        return choices

    def _today(self) -> dt.date | None:
        """The day the default range is counted back from: the demo data's own clock (its
        last day + 1, so the last month shown is whole), else today (None)."""
        dataset = getattr(getattr(self.client, "standin", None), "dataset", None)
        last = getattr(dataset, "last_day", None)
        return None if last is None else (pd.Timestamp(last) + pd.Timedelta(days=1)).date()

    def _build_offices(self) -> None:
        """The chain: more offices besides `office`, or an office group (filled by lookups)."""
        others = self._office_choices(list(self.client.customer_ids))
        self.more_offices = w.SelectMultiple(
            options=others,
            value=(),
            rows=min(max(len(others), 2), 4),
            description=self._t("field.more_offices"),
            tooltip=self._t("tip.more_offices"),
            style=_STYLE,
            layout=w.Layout(width=CONTROL_WIDTH, display="" if len(others) > 1 else "none"),
        )
        self.office_group = _dropdown(
            self._labels["office_group"], self._t("tip.office_group"), [(self._t("no_group"), "")]
        )

    def _build_chart_controls(self) -> None:
        t = self._t
        self.split = w.ToggleButtons(
            options=[(t(f"split.{key}"), by) for key, by in SPLITS],
            value=(),
            tooltips=[t(f"split.{key}") for key, _ in SPLITS],
            style={"button_width": "112px"},
        )
        self.split.add_class("vnb-split")
        self.measure = w.ToggleButtons(
            options=[(t(f"measure.{m}"), m) for m in MEASURES],
            value="created",
            tooltips=[t(f"measure.{m}") for m in MEASURES],
            style={"button_width": "90px"},
        )
        self.period = w.ToggleButtons(
            options=[(t(f"period.{p}"), p) for p in PERIODS],
            value="M",
            tooltips=[t(f"period.{p}") for p in PERIODS],
            style={"button_width": "70px"},
        )
        self.top_agents = w.BoundedIntText(
            value=TOP_AGENTS,
            min=1,
            max=60,
            description=t("top"),
            tooltip=t("tip.top"),
            style={"description_width": "30px"},
            layout=w.Layout(width="110px"),
        )
        # Picked agents (issue 14): shown by name, every other one in "others"; none: top N.
        self.pick_agents = w.SelectMultiple(
            options=[],
            value=(),
            rows=4,
            description=t("pick"),
            tooltip=t("tip.pick"),
            style={"description_width": "70px"},
            layout=w.Layout(width="300px"),
        )
        self.compare = w.Dropdown(
            options=[(t(f"compare.{c or 'none'}"), c) for c in COMPARES],
            value="",
            description=self._labels["compare"],
            tooltip=t("tip.compare"),
            style=_STYLE,
            layout=w.Layout(width=CONTROL_WIDTH),
        )

    def _build_actions(self) -> None:
        t = self._t
        self.run_button = w.Button(
            description=t("run"), button_style="primary", icon="play", tooltip=t("tip.run")
        )
        self.refresh_button = w.Button(
            description=t("refresh"), icon="refresh", tooltip=t("tip.refresh")
        )
        self.offline = w.Checkbox(
            description=t("offline"),
            indent=False,
            tooltip=t("tip.offline"),
            layout=w.Layout(width="190px"),
        )

        def button(key: str, icon: str) -> w.Button:
            return w.Button(
                description=t(key), icon=icon, disabled=True, tooltip=t("tip.run_first")
            )

        self.csv_button = button("export_csv", "download")
        self.excel_button = button("export_excel", "file-excel-o")
        self.save_chart_button = button("save_chart", "image")
        self.csv_style = w.Dropdown(
            options=[(t(f"csv.{key}"), key) for key in CSV_STYLES],
            value="excel-sv" if self.language == "sv" else "plain",
            description="CSV",
            tooltip="; ".join(CSV_STYLES.values()),
            style={"description_width": "40px"},
            layout=w.Layout(width="330px"),
        )
        self.export_folder = w.Text(
            value="exports",
            description=t("export_folder"),
            tooltip=t("tip.folder"),
            style={"description_width": "130px"},
            layout=w.Layout(width="320px"),
        )
        self.status = w.HTML(layout=w.Layout(min_height="24px"))
        self.progress = w.IntProgress(
            value=0,
            min=0,
            max=1,
            description="",
            bar_style="info",
            layout=w.Layout(width="100%", visibility="hidden"),
        )

    def _build_outputs(self) -> None:
        self.summary = w.HTML()
        self.summary.add_class("vnb-summary")
        self.stale = w.HTML()  # "Out of date" when the controls no longer match the run
        self.stale.add_class("vnb-stale")
        self.export_link = w.HTML()
        self.chart_output = w.Output(layout=w.Layout(height="440px", overflow="auto"))
        self.chart_output.append_display_data(_placeholder(self._t("placeholder.chart")))
        self.table_output = w.Output(layout=w.Layout(min_height="200px", overflow="auto"))
        self.table_output.append_display_data(_placeholder(self._t("placeholder.rows")))

        self._inputs: list[w.DOMWidget] = [
            self.office,
            self.agent,
            self.created_from,
            self.created_from_time,
            self.created_to,
            self.created_to_time,
            self.changed_from,
            self.changed_from_time,
            self.changed_to,
            self.changed_to_time,
            self.lead_score,
            self.scheduled_order_type,
            self.newsletter_list,
            self.custom_field,
            self.custom_value,
            self.split,
            self.measure,
            self.period,
            self.top_agents,
            self.pick_agents,
            self.more_offices,
            self.office_group,
            self.compare,
        ]

    def _build_drill(self) -> None:
        """A cell of the shown run (period, value), Show contacts, and their table."""
        t = self._t
        style = {"description_width": "60px"}
        before = [(t("tip.run_first"), "")]  # never a blank drop-down (ANY_VALUE's reason)
        self.cell_period = w.Dropdown(
            options=before,
            description=t("cell_period"),
            style=style,
            layout=w.Layout(width="220px"),
        )
        self.cell_value = w.Dropdown(
            options=before,
            description=t("cell_value"),
            style=style,
            layout=w.Layout(width="300px"),
        )
        self.show_contacts_button = w.Button(
            description=t("show_contacts"), icon="users", disabled=True, tooltip=t("tip.run_first")
        )
        self.contacts_csv_button = w.Button(
            description=t("export_contacts"),
            icon="download",
            disabled=True,
            tooltip=t("tip.run_first"),
        )
        self.drill_status = w.HTML()
        self.contacts_output = w.Output(layout=w.Layout(min_height="200px", overflow="auto"))
        self.contacts_output.append_display_data(_placeholder(t("placeholder.contacts")))

    def _connect(self) -> None:
        for control in self._inputs:
            control.observe(self._on_change, names="value")
        self.office.observe(self._on_office, names="value")
        self.agent.observe(self._on_agent_options, names="options")
        self.offline.observe(self._on_offline, names="value")
        self.measure.observe(self._on_measure, names="value")
        self.run_button.on_click(lambda _b: self.run())
        self.refresh_button.on_click(lambda _b: self.run(refresh=True))
        self.csv_button.on_click(lambda _b: self.export("csv"))
        self.excel_button.on_click(lambda _b: self.export("xlsx"))
        self.save_chart_button.on_click(lambda _b: self.save_chart())
        self.show_contacts_button.on_click(lambda _b: self.show_contacts())
        self.contacts_csv_button.on_click(lambda _b: self.export_contacts("csv"))
        self.cell_period.observe(self._on_cell, names="value")
        self.cell_value.observe(self._on_cell, names="value")
