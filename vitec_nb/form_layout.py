"""The contact form's layout: its controls, sections and the source badge (no behaviour)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as w

from vitec_nb.form_messages import FIELD_LABELS, stars
from vitec_nb.form_output import CSV_STYLES
from vitec_nb.vocab import DEMO_BANNER, SCHEDULED_ORDER_TYPES

__all__ = ["ANY", "ANY_VALUE", "FormLayout", "default_range"]

ANY = "(any)"
# The value of every "(any)" choice. Not None: a drop-down whose value is None has no
# selection and shows blank (ipywidgets maps None to index None), in Voila's first render
# and whenever "(any)" is chosen again.
ANY_VALUE = ""
# The scheduled order combo box offers the published services by label; any other whole
# number or Vitec's name may be typed.
SERVICE_CHOICES: dict[str, int] = {
    f"{s.en} ({s.number} {s.name})": s.number for s in SCHEDULED_ORDER_TYPES.values()
}
SERVICE_CHOICES_SV: dict[str, int] = {
    f"{s.sv} ({s.number} {s.name})": s.number for s in SCHEDULED_ORDER_TYPES.values()
}
SPLITS: list[tuple[str, tuple[str, ...]]] = [
    ("none", ()),
    ("agent", ("agent",)),
    ("lead score", ("lead_score",)),
    ("newsletter list", ("newsletter_list",)),
]
MEASURES: list[tuple[str, str]] = [("created", "created"), ("changed", "changed")]
PERIODS: list[tuple[str, str]] = [
    ("day", "D"),
    ("week", "W"),
    ("month", "M"),
    ("quarter", "Q"),
    ("year", "Y"),
]

LABEL_WIDTH = "120px"
CONTROL_WIDTH = "360px"
_STYLE = {"description_width": LABEL_WIDTH}
TOP_AGENTS = 8  # agents a chart split by agent names; the rest are "others" (adjustable)


def _label(text: str, width: str = LABEL_WIDTH) -> w.HTML:
    """A right-aligned label in the column of the controls' descriptions."""
    return w.HTML(
        f'<div style="text-align:right;padding-right:8px;line-height:28px">{text}</div>',
        layout=w.Layout(width=width, min_width=width),
    )


def _placeholder(text: str) -> Any:
    from IPython.display import HTML

    return HTML(f'<p style="color:#888;padding:1em">{html.escape(text)}</p>')


def default_range(months: int = 12, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """First and last day of the `months` whole months before the current one."""
    today = today or dt.date.today()
    first = today.replace(day=1)
    year, month = divmod(first.year * 12 + first.month - 1 - months, 12)
    return dt.date(year, month + 1, 1), first - dt.timedelta(days=1)


def _dropdown(field: str, tooltip: str, options: Sequence[Any] = ((ANY, ANY_VALUE),)) -> Any:
    return w.Dropdown(
        options=list(options),
        description=FIELD_LABELS[field],
        tooltip=tooltip,
        style=_STYLE,
        layout=w.Layout(width=CONTROL_WIDTH),
    )


def _text(field: str, tooltip: str, placeholder: str) -> w.Text:
    return w.Text(
        description=FIELD_LABELS[field],
        tooltip=tooltip,
        placeholder=placeholder,
        style=_STYLE,
        layout=w.Layout(width=CONTROL_WIDTH),
    )


def _when(field: str, tooltip: str) -> tuple[w.DatePicker, w.TimePicker, w.HBox]:
    day = w.DatePicker(
        description=FIELD_LABELS[field],
        tooltip=tooltip,
        style=_STYLE,
        layout=w.Layout(width="245px"),
    )
    time = w.TimePicker(
        tooltip="Optional time of day (Swedish local time)",
        layout=w.Layout(width="112px"),
    )
    return day, time, w.HBox([day, time], layout=w.Layout(width=CONTROL_WIDTH))


def _section(title: str, *children: w.Widget) -> w.VBox:
    head = w.HTML(f'<div style="font-weight:600;color:#444">{title}</div>')
    box = w.VBox(
        [head, *children],
        layout=w.Layout(border="1px solid #e0e0e0", padding="6px 10px", margin="4px 0"),
    )
    return box


class FormLayout:
    """Builds the form's widgets as attributes of the explorer (see `ContactExplorer`)."""

    def _build(self) -> None:
        """Every control, then the sections, then the handlers."""
        self._build_filters()
        self._build_chart_controls()
        self._build_actions()
        self._build_outputs()
        self._arrange()
        self._connect()

    def _build_filters(self) -> None:
        offices = list(self.client.customer_ids)
        office_tip = "The office (customer id) whose CRM is asked"
        if offices:
            self.office = _dropdown("customer_id", office_tip, [(o, o) for o in offices])
        else:  # no offices configured (one password for all): the analyst types the id
            self.office = _text("customer_id", office_tip, "customer id, e.g. M30011")
            self.office.continuous_update = False
        self.agent = _dropdown("agent_id", "Only contacts of this agent (from the users list)")
        self.created_from, self.created_from_time, self._created_from_box = _when(
            "created_from", "Contacts created on or after this day (Swedish time)"
        )
        self.created_to, self.created_to_time, self._created_to_box = _when(
            "created_to", "Contacts created on or before this day (through its end)"
        )
        self.changed_from, self.changed_from_time, self._changed_from_box = _when(
            "changed_from", "Contacts changed on or after this day"
        )
        self.changed_to, self.changed_to_time, self._changed_to_box = _when(
            "changed_to", "Contacts changed on or before this day (through its end)"
        )
        # The form opens on the twelve whole months before this one: a range with data and
        # a chart worth looking at, which the analyst then narrows or widens.
        self.created_from.value, self.created_to.value = default_range()
        self.lead_score = _dropdown(
            "lead_score",
            "Lead score: the number of stars, 0 to 5",
            [(ANY, ANY_VALUE)] + [(f"{stars(n)} {n}", n) for n in range(6)],
        )
        # A combo box: the published services are offered by label; any other whole
        # number may be typed (Vitec may add services; they are labelled by number).
        self.scheduled_order_type = w.Combobox(
            options=list(self._service_choices),
            ensure_option=False,
            description=FIELD_LABELS["scheduled_order_type"],
            tooltip="Active service on the contact: one of the published services, or a number",
            placeholder="any — a service or its number",
            style=_STYLE,
            layout=w.Layout(width=CONTROL_WIDTH),
        )
        self.newsletter_list = _dropdown(
            "newsletter_list_id", "Only contacts on this newsletter list"
        )
        self.custom_field = _dropdown(
            "custom_field_name", "A field your office defined in Vitec Express"
        )
        self.custom_value = _text(
            "custom_field_value", "The value the custom field must have", "value (needs a field)"
        )

    def _build_chart_controls(self) -> None:
        self.split = w.ToggleButtons(
            options=SPLITS,
            value=(),
            tooltips=["one bar per period", "per agent", "per lead score", "per newsletter list"],
            style={"button_width": "112px"},
        )
        self.split.add_class("vnb-split")
        self.measure = w.ToggleButtons(
            options=MEASURES,
            value="created",
            tooltips=["count contacts by creation time", "count contacts by last change"],
            style={"button_width": "90px"},
        )
        self.period = w.ToggleButtons(
            options=PERIODS,
            value="M",
            tooltips=[
                "per day",
                "per week (Monday to Sunday)",
                "per month",
                "per quarter",
                "per year",
            ],
            style={"button_width": "70px"},
        )
        self.top_agents = w.BoundedIntText(
            value=TOP_AGENTS,
            min=1,
            max=60,
            description="top",
            tooltip="Split by agent: the busiest agents shown by name; the rest summed as others",
            style={"description_width": "30px"},
            layout=w.Layout(width="110px"),
        )

    def _build_actions(self) -> None:
        self.run_button = w.Button(
            description="Run", button_style="primary", icon="play", tooltip="Run the query"
        )
        self.refresh_button = w.Button(
            description="Refresh",
            icon="refresh",
            tooltip="Run again, asking Vitec Connect instead of the cache",
        )
        self.offline = w.Checkbox(
            description="Offline (cache only)",
            indent=False,
            tooltip="Answer only from the cache; nothing is sent",
            layout=w.Layout(width="170px"),
        )
        self.csv_button = w.Button(
            description="Export CSV", icon="download", disabled=True, tooltip="Run first"
        )
        self.excel_button = w.Button(
            description="Export Excel", icon="file-excel-o", disabled=True, tooltip="Run first"
        )
        self.csv_style = w.Dropdown(
            options=[(label.split(" (")[0], key) for key, label in CSV_STYLES.items()],
            value="excel-sv" if self.language == "sv" else "plain",
            description="CSV",
            tooltip="; ".join(CSV_STYLES.values()),
            style={"description_width": "40px"},
            layout=w.Layout(width="330px"),
        )
        self.export_folder = w.Text(
            value="exports",
            description="Export to folder",
            tooltip="Folder the exports are written to (relative to the notebook)",
            style={"description_width": "110px"},
            layout=w.Layout(width="300px"),
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
        self.chart_output.append_display_data(
            _placeholder("Press Run: the chart of the contacts you chose appears here.")
        )
        self.table_output = w.Output(layout=w.Layout(min_height="200px", overflow="auto"))
        self.table_output.append_display_data(
            _placeholder("Press Run: the first rows appear here.")
        )

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
        ]

    def _filters_section(self) -> w.VBox:
        col = w.Layout(width="380px")
        left = [self.office, self._created_from_box, self._changed_from_box]
        left += [self.lead_score, self.newsletter_list]
        right = [self.agent, self._created_to_box, self._changed_to_box]
        right += [self.scheduled_order_type, self.custom_field, self.custom_value]
        columns = [w.VBox(left, layout=col), w.VBox(right, layout=col)]
        # two columns from about 800 px, one below
        return _section("Filters", w.HBox(columns, layout=w.Layout(flex_flow="row wrap")))

    def _arrange(self) -> None:
        filters = self._filters_section()
        chart = _section(
            "Chart",
            w.HBox([_label(FIELD_LABELS["by"]), self.split, self.top_agents]),
            w.HBox(
                [
                    _label(FIELD_LABELS["measure"]),
                    self.measure,
                    _label(FIELD_LABELS["period"], "70px"),
                    self.period,
                ]
            ),
        )
        actions = _section(
            "Actions",
            w.HBox([self.run_button, self.refresh_button, self.offline]),
            self.status,
            self.progress,
            w.HBox([self.csv_button, self.excel_button, self.csv_style]),
            self.export_folder,
            self.export_link,
        )
        self.source = w.HTML(self._source_html())
        self.widget = w.VBox(
            [
                self.source,
                filters,
                chart,
                actions,
                self.stale,
                self.summary,
                w.Tab(
                    children=[self.chart_output, self.table_output],
                    titles=("Chart", "First rows"),
                ),
            ],
            layout=w.Layout(max_width="900px"),
        )
        self.widget.add_class("vnb-explorer")

    def _connect(self) -> None:
        for control in self._inputs:
            control.observe(self._on_change, names="value")
        self.office.observe(self._on_office, names="value")
        self.offline.observe(self._on_offline, names="value")
        self.measure.observe(self._on_measure, names="value")
        self.run_button.on_click(lambda _b: self.run())
        self.refresh_button.on_click(lambda _b: self.run(refresh=True))
        self.csv_button.on_click(lambda _b: self.export("csv"))
        self.excel_button.on_click(lambda _b: self.export("xlsx"))

    def _source_html(self) -> str:
        base = html.escape(str(getattr(self.client, "base_url", "") or ""))
        if getattr(self.client, "is_demo", False):
            return (
                '<div class="vnb-source"><span style="background:#f0ad4e;color:white;'
                f'padding:2px 8px;border-radius:3px;font-weight:600">{DEMO_BANNER}</span> '
                f"synthetic contacts from the built-in stand-in ({base}); configure "
                "VITEC_USERNAME and VITEC_PASSWORD for your own CRM.</div>"
            )
        return (
            '<div class="vnb-source"><span style="background:#5cb85c;color:white;'
            f'padding:2px 8px;border-radius:3px;font-weight:600">LIVE</span> {base}</div>'
        )
