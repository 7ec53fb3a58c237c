"""The contact explorer: an ipywidgets form that queries contacts and charts their activity.

    import vitec_nb as vnb
    vnb.ContactExplorer(vnb.connect())      # the last expression of a cell displays the form

One control per filter of `GET CRM/Contact/{customerId}`, chart options, Run / Refresh /
Offline, CSV and Excel export. Every change rebuilds the `ContactQuery` and the breakdown
plan (pure, no requests) so the form can say what is wrong, by field, before anything is
sent, and how many calls a run will make. Runs happen synchronously in the kernel thread:
widget updates (the progress bar) still reach the browser while the handler runs, and it
behaves the same in JupyterLab, Voila and nbclient. See docs/form.md.

The form's messages live in `form_messages.py`; what a run shows and writes (chart PNG,
summary, first rows, CSV/Excel export) in `form_output.py`. The names other code imports
from here (`FIELD_LABELS`, `error_message`, `stars`, `figure_image`) are re-exported.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd

from vitec_nb import captions
from vitec_nb.errors import InvalidQueryError, VitecError
from vitec_nb.form_messages import FIELD_LABELS as FIELD_LABELS
from vitec_nb.form_messages import error_message as error_message
from vitec_nb.form_messages import stars as stars
from vitec_nb.form_output import (
    CSV_STYLES,
    RunRecord,
    _table,
    download_link,
    export_contacts,
    make_caption,
    summarize,
    summary_html,
)
from vitec_nb.form_output import figure_image as figure_image
from vitec_nb.vocab import SCHEDULED_ORDER_TYPES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vitec_nb.client import VitecClient

__all__ = ["FIELD_LABELS", "ContactExplorer", "error_message", "figure_image", "stars"]

log = logging.getLogger(__name__)

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
STALE_TEXT = "Out of date: Run to update"
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
# An inclusive "to" date without a time of day means through the end of that day. The API
# compares at full precision, so the bound carries microseconds rather than 23:59:59.
END_OF_DAY = dt.time(23, 59, 59, 999999)
PROGRESS_INTERVAL = 0.1  # seconds between progress bar updates (the last is always shown)

LABEL_WIDTH = "120px"
CONTROL_WIDTH = "360px"
_STYLE = {"description_width": LABEL_WIDTH}


def _check_days(pair: str, start: dt.date | None, end: dt.date | None) -> None:
    """A whole-day range whose last day is before its first: name the "to" control."""
    if start is not None and end is not None and end < start:
        raise InvalidQueryError(
            f"{pair}_to",
            f"{end:%Y-%m-%d} is before {pair}_from {start:%Y-%m-%d}",
            f"a day on or after {start:%Y-%m-%d}",
        )


def _combine(day: dt.date | None, time: dt.time | None, default: dt.time, field: str) -> Any:
    """Date picker + optional time of day -> naive datetime (Swedish local time) or None."""
    if day is None:
        if time is not None:
            raise InvalidQueryError(field, "a time of day needs a date", "pick a date too")
        return None
    return dt.datetime.combine(day, time if time is not None else default)


def _blank(text: str) -> str | None:
    text = text.strip()
    return text or None


def _chosen(value: Any) -> Any:
    """A drop-down's value for the query: "(any)" is None."""
    return None if value == ANY_VALUE else value


def _label(text: str, width: str = LABEL_WIDTH) -> w.HTML:
    """A right-aligned label in the column of the controls' descriptions."""
    return w.HTML(
        f'<div style="text-align:right;padding-right:8px;line-height:28px">{text}</div>',
        layout=w.Layout(width=width, min_width=width),
    )


def _placeholder(text: str) -> Any:
    from IPython.display import HTML

    return HTML(f'<p style="color:#888;padding:1em">{html.escape(text)}</p>')


class ContactExplorer:
    """The contact form: filters, chart options, Run/Refresh/Offline, export, results.

    Args:
        client: a `VitecClient`; None connects with `vitec_nb.connect()` (demo data when
            no credentials are configured).

    Display it as the last expression of a cell (or `display(explorer.widget)`). The form
    is built once, inside the object: re-running the cell builds a new form instead of
    stacking handlers on the old one.

    What a run displayed is also kept on the object, because `Output.outputs` stays empty
    outside a front end: `last_summary` (dict of the numbers in the summary),
    `last_frame` (the contacts), `last_result`, `last_figure`, `last_png` (the chart as
    shown: PNG bytes, rendered inside the click), `last_error` (the message shown),
    `figures_shown` (count over the form's life), `last_export` (path).
    """

    def __init__(self, client: VitecClient | None = None, *, language: str = "en") -> None:
        if client is None:
            from vitec_nb.client import connect

            client = connect()
        if language not in ("en", "sv"):
            raise InvalidQueryError("language", f"{language!r} is not a language", "en, sv")
        self.client = client
        self.language = language
        self.record: RunRecord | None = None  # the run the outputs show
        self._runs = 0
        self._office_names: dict[str, str] = {}
        self.last_summary: dict[str, Any] | None = None
        self.last_frame: pd.DataFrame | None = None
        self.last_result: Any = None
        self.last_figure: Figure | None = None
        self.last_png: bytes | None = None
        self.last_error: str | None = None
        self.last_export: Path | None = None
        self.last_exception: BaseException | None = None
        self.figures_shown = 0
        self.query: Any = None  # the ContactQuery the controls describe (None while invalid)
        self.plan: Any = None
        self._updating = False  # set while the form itself changes options
        self._progress_shown = 0.0  # monotonic() of the last progress bar update
        self._lookup_problems: list[str] = []
        self._busy = False
        self._build()
        self._load_lookups()
        self._validate()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        def dropdown(field: str, tooltip: str, options: Sequence[Any] = ((ANY, ANY_VALUE),)) -> Any:
            return w.Dropdown(
                options=list(options),
                description=FIELD_LABELS[field],
                tooltip=tooltip,
                style=_STYLE,
                layout=w.Layout(width=CONTROL_WIDTH),
            )

        def text(field: str, tooltip: str, placeholder: str) -> w.Text:
            return w.Text(
                description=FIELD_LABELS[field],
                tooltip=tooltip,
                placeholder=placeholder,
                style=_STYLE,
                layout=w.Layout(width=CONTROL_WIDTH),
            )

        def when(field: str, tooltip: str) -> tuple[w.DatePicker, w.TimePicker, w.HBox]:
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

        offices = list(self.client.customer_ids)
        office_tip = "The office (customer id) whose CRM is asked"
        if offices:
            self.office = dropdown("customer_id", office_tip, [(o, o) for o in offices])
        else:  # no offices configured (one password for all): the analyst types the id
            self.office = text("customer_id", office_tip, "customer id, e.g. M30011")
            self.office.continuous_update = False
        self.agent = dropdown("agent_id", "Only contacts of this agent (from the users list)")
        self.created_from, self.created_from_time, created_from = when(
            "created_from", "Contacts created on or after this day (Swedish time)"
        )
        self.created_to, self.created_to_time, created_to = when(
            "created_to", "Contacts created on or before this day (through its end)"
        )
        self.changed_from, self.changed_from_time, changed_from = when(
            "changed_from", "Contacts changed on or after this day"
        )
        self.changed_to, self.changed_to_time, changed_to = when(
            "changed_to", "Contacts changed on or before this day (through its end)"
        )
        # The form opens on the twelve whole months before this one: a range with data and
        # a chart worth looking at, which the analyst then narrows or widens.
        self.created_from.value, self.created_to.value = default_range()
        self.lead_score = dropdown(
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
        self.newsletter_list = dropdown(
            "newsletter_list_id", "Only contacts on this newsletter list"
        )
        self.custom_field = dropdown(
            "custom_field_name", "A field your office defined in Vitec Express"
        )
        self.custom_value = text(
            "custom_field_value", "The value the custom field must have", "value (needs a field)"
        )

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
        ]

        def section(title: str, *children: w.Widget) -> w.VBox:
            head = w.HTML(f'<div style="font-weight:600;color:#444">{title}</div>')
            box = w.VBox(
                [head, *children],
                layout=w.Layout(border="1px solid #e0e0e0", padding="6px 10px", margin="4px 0"),
            )
            return box

        col = w.Layout(width="380px")
        filters = section(
            "Filters",
            w.HBox(
                [
                    w.VBox(
                        [
                            self.office,
                            created_from,
                            changed_from,
                            self.lead_score,
                            self.newsletter_list,
                        ],
                        layout=col,
                    ),
                    w.VBox(
                        [
                            self.agent,
                            created_to,
                            changed_to,
                            self.scheduled_order_type,
                            self.custom_field,
                            self.custom_value,
                        ],
                        layout=col,
                    ),
                ]
            ),
        )
        chart = section(
            "Chart",
            w.HBox([_label(FIELD_LABELS["by"]), self.split]),
            w.HBox(
                [
                    _label(FIELD_LABELS["measure"]),
                    self.measure,
                    _label(FIELD_LABELS["period"], "70px"),
                    self.period,
                ]
            ),
        )
        actions = section(
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
                'padding:2px 8px;border-radius:3px;font-weight:600">DEMO DATA</span> '
                f"synthetic contacts from the built-in stand-in ({base}); configure "
                "VITEC_USERNAME and VITEC_PASSWORD for your own CRM.</div>"
            )
        return (
            '<div class="vnb-source"><span style="background:#5cb85c;color:white;'
            f'padding:2px 8px;border-radius:3px;font-weight:600">LIVE</span> {base}</div>'
        )

    # ------------------------------------------------------------ displaying
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # --------------------------------------------------------------- lookups
    def _load_lookups(self) -> None:
        """Fill agent, newsletter list and custom field choices for the selected office."""
        office = self.office.value
        problems: list[str] = []
        agents: list[tuple[str, Any]] = [(ANY, ANY_VALUE)]
        lists: list[tuple[str, Any]] = [(ANY, ANY_VALUE)]
        fields: list[tuple[str, Any]] = [(ANY, ANY_VALUE)]
        if office is not None:
            offline = bool(self.offline.value)
            try:
                agents += _agent_options(self.client.agents(office, offline=offline))
            except VitecError as err:
                problems.append(f"agents: {error_message(err)}")
            try:
                frame = self.client.newsletter_lists(office, offline=offline)
                lists += [(str(r.name), str(r.id)) for r in frame.itertuples()]
            except VitecError as err:
                problems.append(f"newsletter lists: {error_message(err)}")
            try:
                frame = _contact_fields(self.client.custom_fields(office, offline=offline))
                fields += [(str(r.label or r.name), str(r.name)) for r in frame.itertuples()]
            except VitecError as err:
                problems.append(f"custom fields: {error_message(err)}")
        self._updating = True
        try:
            for control, options in (
                (self.agent, agents),
                (self.newsletter_list, lists),
                (self.custom_field, fields),
            ):
                keep = control.value
                values = [v for _, v in options]
                control.options = options
                control.index = values.index(keep) if keep in values else 0
        finally:
            self._updating = False
        self._lookup_problems = problems

    def _on_office(self, _change: dict[str, Any]) -> None:
        if not self._updating:
            self._load_lookups()
            self._validate()

    def _on_offline(self, change: dict[str, Any]) -> None:
        """Offline switched: reload the lookups (now from the server) and re-plan."""
        if not self._busy:
            self._load_lookups()
            self._validate()

    def _on_measure(self, change: dict[str, Any]) -> None:
        """Measuring changes: the range comes from the changed dates, shown filled in."""
        empty = self.changed_from.value is None and self.changed_to.value is None
        if change["new"] == "changed" and empty:
            self._updating = True
            try:
                self.changed_from.value, self.changed_to.value = default_range()
            finally:
                self._updating = False
            self._validate()

    @property
    def _service_choices(self) -> dict[str, int]:
        return SERVICE_CHOICES_SV if self.language == "sv" else SERVICE_CHOICES

    def _service(self) -> Any:
        """The scheduled order for the query: a service chosen by label, or what was typed."""
        text = self.scheduled_order_type.value.strip()
        return self._service_choices.get(text, _blank(text))

    # ------------------------------------------------------------ validation
    def build_query(self) -> Any:
        """The `ContactQuery` the controls describe; raises `InvalidQueryError` by field.

        Dates are whole days in Swedish time: "from" starts at 00:00 and "to" includes
        the whole day. For the measured pair (created or changed) the planner reads
        `*_to` as the exclusive end of a half-open range, so "to" becomes 00:00 of the
        next day; for the other pair, a plain inclusive API filter, it becomes
        23:59:59.999999. A time of day, when given, is used as is.
        """
        from vitec_nb.query import ContactQuery

        measured = self.measure.value
        for pair in ("created", "changed"):
            _check_days(
                pair, getattr(self, f"{pair}_from").value, getattr(self, f"{pair}_to").value
            )

        def bound(pair: str, side: str) -> Any:
            day = getattr(self, f"{pair}_{side}").value
            time = getattr(self, f"{pair}_{side}_time").value
            field = f"{pair}_{side}"
            if side == "from":
                return _combine(day, time, dt.time(), field)
            if day is not None and time is None and pair == measured:
                return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
            return _combine(day, time, END_OF_DAY, field)

        return ContactQuery(
            customer_id=self.office.value or "",
            agent_id=_chosen(self.agent.value),
            created_from=bound("created", "from"),
            created_to=bound("created", "to"),
            changed_from=bound("changed", "from"),
            changed_to=bound("changed", "to"),
            lead_score=_chosen(self.lead_score.value),
            scheduled_order_type=self._service(),
            newsletter_list_id=_chosen(self.newsletter_list.value),
            custom_field_name=_chosen(self.custom_field.value),
            custom_field_value=_blank(self.custom_value.value),
        )

    def chart_options(self) -> dict[str, Any]:
        """Keyword arguments for `client.plan` / `client.breakdown` from the chart controls."""
        return {"by": self.split.value, "measure": self.measure.value, "period": self.period.value}

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._updating and not self._busy:
            self._validate()

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
        shown = html.escape(
            f"run {self.record.number}: {self.record.caption.what}, "
            f"office {self.record.caption.office}, {self.record.caption.range}"
        )
        self.stale.value = (
            '<div class="vnb-out-of-date" style="background:#fcf8e3;border:1px solid #f0ad4e;'
            'color:#8a6d3b;padding:4px 8px;font-weight:600">'
            f"⚠ {STALE_TEXT} — the chart, rows and exports below still show {shown}</div>"
        )

    def _validate(self) -> bool:
        """Rebuild query and plan (pure); show what is wrong or what a run will cost."""
        self.query = self.plan = None
        self._show_staleness()
        try:
            query = self.build_query()
            plan = self.client.plan(query, **self.chart_options())
        except InvalidQueryError as err:
            self._set_status(error_message(err), "error")
            self.run_button.disabled = self.refresh_button.disabled = True
            return False
        except VitecError as err:  # a lookup the plan needs failed
            self._set_status(error_message(err), "error")
            self.run_button.disabled = self.refresh_button.disabled = True
            return False
        self.query, self.plan = query, plan
        self._set_status(self._plan_text(plan), "info")
        self.run_button.disabled = self.refresh_button.disabled = False
        return True

    def _plan_text(self, plan: Any) -> str:
        n = int(plan.n_calls)
        cached = _cached_calls(plan, self.client)
        calls = "call" if n == 1 else "calls"
        text = f"Will make {n} {calls} ({cached} cached)"
        if self._lookup_problems:
            text += " — could not load " + "; ".join(self._lookup_problems)
        return text

    def _set_status(self, text: str, level: str) -> None:
        colour = {"error": "#b94a48", "info": "#31708f", "ok": "#3c763d"}[level]
        icon = {"error": "⚠ ", "info": "", "ok": "✓ "}[level]
        self.status.value = (
            f'<div class="vnb-status vnb-{level}" style="color:{colour};white-space:pre-line">'
            f"{icon}{html.escape(text)}</div>"
        )
        self.status_text = text

    # ------------------------------------------------------------------- run
    def run(self, *, refresh: bool = False) -> None:
        """Run the breakdown for the current controls and show summary, table and chart.

        Errors are shown as messages in the form (and kept in `last_error`); nothing is
        raised, so a button click never prints a traceback.
        """
        from vitec_nb.plan import run_plan

        # Every change of a control re-plans (see _validate), so the current plan is the
        # one to run; planning again here would only repeat the work.
        if self._busy or (self.plan is None and not self._validate()):
            return
        self._set_busy(True)
        self.last_error = None
        self.export_link.value = ""  # the previous export's link belongs to the previous run
        try:
            result = run_plan(
                self.client,
                self.plan,
                refresh=refresh,
                offline=bool(self.offline.value),
                progress=self._on_progress,
            )
            self._show(result)
        except Exception as err:  # every failure becomes a message, never a traceback
            # Kept for developers (and at DEBUG in the log), never printed in the form.
            self.last_exception = err
            log.debug("the contact explorer's run failed", exc_info=err)
            self.last_error = error_message(err, context=self._context_text())
            self._set_status(self.last_error, "error")
        finally:
            self._set_busy(False)
            if self.last_error is None:
                self._set_status(self._done_text(), "ok")

    def _on_progress(self, done: int, total: int) -> None:
        # At most ten updates a second, and always the last: a warm run reports ~50 calls
        # in a few ms, each update three widget messages (benchmark 6 counts them).
        now = monotonic()
        if done < total and now - self._progress_shown < PROGRESS_INTERVAL:
            return
        self._progress_shown = now
        self.progress.max = max(int(total), 1)
        self.progress.value = int(done)
        self.progress.description = f"{done}/{total}"

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for control in [*self._inputs, self.offline, self.csv_button, self.excel_button]:
            control.disabled = busy
        self.run_button.disabled = self.refresh_button.disabled = busy
        if busy:
            self._progress_shown = 0.0  # the run's first report is shown at once
            self._set_status("Running…", "info")
            self.progress.value = 0
            self.progress.layout.visibility = "visible"
        else:
            self.progress.layout.visibility = "hidden"
            has_result = self.last_frame is not None
            self.csv_button.disabled = self.excel_button.disabled = not has_result
            tip = "Write the current result to the export folder" if has_result else "Run first"
            self.csv_button.tooltip = self.excel_button.tooltip = tip

    def _done_text(self) -> str:
        s = self.last_summary or {}
        return (
            f"Done: {s.get('total', 0)} contacts; {s.get('calls', 0)} calls made, "
            f"{s.get('cached', 0)} answered from the cache."
        )

    def _show(self, result: Any) -> None:
        """Summary, chart and first rows of a finished run, all drawn from its record."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        record = self._record(result)
        caption = record.caption
        fig = result.plot(  # first: if the chart fails, nothing half-shown remains
            where=caption.office,
            when=caption.range,
            subtitle=caption.subtitle,
            language=self.language,
        )
        summary = summarize(result, self.client, record.office)
        self.record = record
        self.last_result, self.last_frame, self.last_summary = result, result.facts, summary
        self.summary.value = summary_html(summary, caption)
        image = figure_image(fig)
        self.last_png = image.data  # the PNG bytes shown (what a front end receives)
        with self.chart_output:
            self.chart_output.clear_output(wait=True)
            display(image)
        plt.close(fig)  # a no-op for charts' Figure(); stops pyplot figures piling up
        self.last_figure = fig
        self.figures_shown += 1
        with self.table_output:
            self.table_output.clear_output(wait=True)
            display(_table(result.facts, record.names, self.language))
        self._show_staleness()

    def _record(self, result: Any) -> RunRecord:
        """The record of a finished run: its query, plan, result, names and caption."""
        self._runs += 1
        names: dict[str, dict[Any, str]] = {k: dict(v) for k, v in result.names.items()}
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

    def _context_text(self) -> str:
        """What the controls ask for, for messages: office and the range as written."""
        measure = self.measure.value
        first, last = self._written(measure)
        when = captions.range_text(first, last, self.language)
        office = self.office.value or "?"
        return f"office {office}, contacts {measure}" + (f" {when}" if when else "")

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
            self._set_status("Run first: there is nothing to export yet.", "error")
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
            self.last_error = f"Could not write the export: {err}"
            self._set_status(self.last_error, "error")
            return None
        self.last_export = path
        self.export_link.value = download_link(path)
        text = f"Exported run {record.number} ({len(record.result.facts)} rows, office "
        text += f"{record.caption.office}, {record.caption.range}) to {path}"
        if self.is_out_of_date:
            text += "\nThe controls have changed since that run: Run to export what they show."
        self._set_status(text, "ok")
        return path


# ------------------------------------------------------------------ helpers
def default_range(months: int = 12, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """First and last day of the `months` whole months before the current one."""
    today = today or dt.date.today()
    first = today.replace(day=1)
    year, month = divmod(first.year * 12 + first.month - 1 - months, 12)
    return dt.date(year, month + 1, 1), first - dt.timedelta(days=1)


def _agent_options(agents: pd.DataFrame) -> list[tuple[str, Any]]:
    """Agents as (label, user id): active first, archived marked; names stay unique."""
    rows = agents.sort_values(["archived", "name"], kind="stable")
    seen: dict[str, int] = {}
    options = []
    for r in rows.itertuples():
        label = str(r.name) + (" (archived)" if bool(r.archived) else "")
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label += f" [{r.user_id}]"
        options.append((label, str(r.user_id)))
    return options


def _labels(control: Any) -> dict[Any, str]:
    """A drop-down's choices as value -> label, "(any)" left out."""
    return {value: label for label, value in control.options if value != ANY_VALUE}


def _contact_fields(fields: pd.DataFrame) -> pd.DataFrame:
    """Custom fields that can match a contact: valid for Person or Company (when known)."""
    if "valid_for" not in fields.columns:
        return fields
    keep = fields["valid_for"].map(
        lambda v: (
            v is None or not isinstance(v, (tuple, list)) or bool({"Person", "Company"} & set(v))
        )
    )
    return fields[keep.astype(bool)]


def _cached_calls(plan: Any, client: Any) -> int:
    for name in ("n_cached", "cached"):
        value = getattr(plan, name, None)
        if callable(value):
            value = value(client)
        if value is not None:
            return int(value)
    return 0
