"""The contact explorer: an ipywidgets form that queries contacts and charts their activity.

    import vitec_nb as vnb
    vnb.ContactExplorer(vnb.connect())      # the last expression of a cell displays the form

One control per filter of `GET CRM/Contact/{customerId}`, several offices or an office
group (the chain), chart options (split, measure, period, compare with), Run / Refresh /
Offline, CSV and Excel export, Save chart (PNG and SVG) and the contacts of one cell with
their names (drill-down). In English or Swedish (`language=`, `vitec_nb.i18n`). Every
change rebuilds the `ContactQuery` and the breakdown plan (pure, no requests) so the form
can say what is wrong, by field, before anything is sent, and how many calls a run will
make. Runs happen synchronously in the kernel thread: widget updates (the progress bar)
still reach the browser while the handler runs, and it behaves the same in JupyterLab,
Voila and nbclient. See docs/form.md.

The form is these modules besides this one: its controls (`form_layout.py`) and their
sections (`form_sections.py`), its lookups (`form_lookups.py`), its rules without widgets
(`form_model.py`), what a run shows and writes (`form_runs.py`: the run record, out-of-date
note, export, saved charts; `form_drill.py`: the drill-down; `form_output.py`: chart PNG,
summary, first rows, export files) and its words (`form_messages.py`; every word through
`vitec_nb.i18n`). The names other code imports from here (`ANY`, `ANY_VALUE`,
`FIELD_LABELS`, `error_message`, `stars`, `figure_image`) are re-exported.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

import pandas as pd

from vitec_nb import i18n
from vitec_nb.errors import VitecError
from vitec_nb.form_drill import FormDrill
from vitec_nb.form_layout import (
    SERVICE_CHOICES,
    SERVICE_CHOICES_SV,
    FormLayout,
    default_range,
)
from vitec_nb.form_lookups import FormLookups
from vitec_nb.form_messages import ANY, ANY_VALUE
from vitec_nb.form_messages import FIELD_LABELS as FIELD_LABELS
from vitec_nb.form_messages import error_message as error_message
from vitec_nb.form_messages import stars as stars
from vitec_nb.form_model import (
    _blank,
    _cached_calls,
    _check_days,
    _chosen,
    _combine,
    _pick_options,
)
from vitec_nb.form_output import (
    RunRecord,
)
from vitec_nb.form_output import figure_image as figure_image
from vitec_nb.form_runs import STALE_TEXT, FormRuns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vitec_nb.client import VitecClient

__all__ = [
    "ANY",
    "ANY_VALUE",
    "FIELD_LABELS",
    "STALE_TEXT",
    "ContactExplorer",
    "default_range",
    "error_message",
    "figure_image",
    "stars",
]

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.1  # seconds between progress bar updates (the last is always shown)


class ContactExplorer(FormLookups, FormDrill, FormRuns, FormLayout):
    """The contact form: filters, chart options, Run/Refresh/Offline, export, results.

    Args:
        client: a `VitecClient`; None connects with `vitec_nb.connect()` (demo data when
            no credentials are configured).
        language: "en" or "sv" for every label, message, chart and summary; None takes
            `VITEC_NB_LANGUAGE`, else the locale (Swedish when it starts with "sv"), else
            English. Anything else is an `InvalidQueryError` listing "en, sv".

    Display it as the last expression of a cell (or `display(explorer.widget)`). The form
    is built once, inside the object: re-running the cell builds a new form instead of
    stacking handlers on the old one.

    What a run displayed is also kept on the object, because `Output.outputs` stays empty
    outside a front end: `last_summary` (dict of the numbers in the summary),
    `last_frame` (the contacts), `last_result`, `last_figure`, `last_png` (the chart as
    shown: PNG bytes, rendered inside the click), `last_error` (the message shown),
    `figures_shown` (count over the form's life), `last_export` (path), `last_contacts`
    (the drill-down table's rows), `last_chart_files` (the saved chart's paths).
    """

    def __init__(self, client: VitecClient | None = None, *, language: str | None = None) -> None:
        self.language = i18n.resolve_language(language)  # before connecting: fail fast
        if client is None:
            from vitec_nb.client import connect

            client = connect()
        self.client = client
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
        self.last_contacts: pd.DataFrame | None = None
        self.last_chart_files: list[Path] = []
        self.figures_shown = 0
        self.query: Any = None  # the ContactQuery the controls describe (None while invalid)
        self.plan: Any = None
        self.options: dict[str, Any] = {}  # the breakdown options a run passes with the query
        self._updating = False  # set while the form itself changes options
        self._progress_shown = 0.0  # monotonic() of the last progress bar update
        self._lookup_problems: list[str] = []
        self._busy = False
        self._build()
        self._load_office_groups()
        self._load_lookups()
        self._validate()

    # ------------------------------------------------------------ displaying
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def _service_choices(self) -> dict[str, int]:
        return SERVICE_CHOICES_SV if self.language == "sv" else SERVICE_CHOICES

    def _service(self) -> Any:
        """The scheduled order for the query: a service chosen by label, or what was typed."""
        text = self.scheduled_order_type.value.strip()
        return self._service_choices.get(text, _blank(text))

    def _message(self, err: BaseException, context: str | None = None) -> str:
        return error_message(err, context=context, language=self.language)

    @property
    def picked_agents(self) -> tuple[str, ...]:
        """The agents (user ids) picked to show by name when split by agent; () = top N."""
        return tuple(str(v) for v in self.pick_agents.value)

    def _on_agent_options(self, _change: dict[str, Any]) -> None:
        """The agents offered to pick follow the agent drop-down (archived marked), keeping
        the picks still offered."""
        options = _pick_options(self.agent.options)
        offered = {value for _, value in options}
        keep = tuple(v for v in self.pick_agents.value if v in offered)
        updating, self._updating = self._updating, True
        try:
            self.pick_agents.options = options
            self.pick_agents.value = keep
        finally:
            self._updating = updating

    # ------------------------------------------------------------ validation
    def _offices(self) -> Any:
        """The office, or the office and the other offices picked (the chain)."""
        office = self.office.value or ""
        more = [o for o in self.more_offices.value if o != office]
        return (office, *more) if more and office else office

    def build_query(self) -> Any:
        """The `ContactQuery` the controls describe; raises `InvalidQueryError` by field.

        Dates are whole days in Swedish time, passed on as dates: `ContactQuery` reads a
        "to" day as the whole day (up to the next midnight, that midnight excluded, made
        exact by the planner's end check). A time of day, when given, is that instant,
        included (Vitec's "up to and including").
        """
        from vitec_nb.query import ContactQuery

        for pair in ("created", "changed"):
            _check_days(
                pair,
                getattr(self, f"{pair}_from").value,
                getattr(self, f"{pair}_to").value,
                self.language,
            )
        return ContactQuery(
            customer_id=self._offices(),
            agent_id=_chosen(self.agent.value),
            created_from=self._bound("created", "from"),
            created_to=self._bound("created", "to"),
            changed_from=self._bound("changed", "from"),
            changed_to=self._bound("changed", "to"),
            lead_score=_chosen(self.lead_score.value),
            scheduled_order_type=self._service(),
            newsletter_list_id=_chosen(self.newsletter_list.value),
            custom_field_name=_chosen(self.custom_field.value),
            custom_field_value=_blank(self.custom_value.value),
        )

    def _bound(self, pair: str, side: str) -> Any:
        day = getattr(self, f"{pair}_{side}").value
        time = getattr(self, f"{pair}_{side}_time").value
        return _combine(day, time, f"{pair}_{side}", self.language)

    def chart_options(self) -> dict[str, Any]:
        """Keyword arguments for `client.plan` / `client.breakdown` from the chart controls."""
        options = {
            "by": self.split.value,
            "measure": self.measure.value,
            "period": self.period.value,
        }
        if self.office_group.value:
            options["office_group"] = self.office_group.value
        return options

    def _planned(self) -> tuple[Any, dict[str, Any]]:
        """The query and options a run passes. Comparing, the measured dates become the
        breakdown's start= and end= (an earlier range must lie outside the query's own)."""
        query, options = self.build_query(), self.chart_options()
        if self.compare.value:
            pair = self.measure.value
            options["start"], options["end"] = self._bound(pair, "from"), self._bound(pair, "to")
            query = query.replace(**{f"{pair}_from": None, f"{pair}_to": None})
        return query, options

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._updating and not self._busy:
            self._validate()

    def _validate(self) -> bool:
        """Rebuild query and plan (pure); show what is wrong or what a run will cost."""
        self.query = self.plan = None
        self._show_staleness()
        try:
            query, options = self._planned()
            plan = self.client.plan(query, **options)
            earlier = self._earlier_plan(query, options, plan)
        except VitecError as err:  # a bad control, or a lookup the plan needs failed
            self._set_status(self._message(err), "error")
            self.run_button.disabled = self.refresh_button.disabled = True
            return False
        self.query, self.plan, self.options = query, plan, options
        self._set_status(self._plan_text(plan, earlier), "info")
        self.run_button.disabled = self.refresh_button.disabled = False
        return True

    def _earlier_plan(self, query: Any, options: dict[str, Any], plan: Any) -> Any:
        """With Compare with: the plan of the earlier range (for its call count), else None."""
        if not self.compare.value:
            return None
        from vitec_nb.plan.compare import earlier_range

        start, end = earlier_range(plan, self.compare.value)
        return self.client.plan(query, **{**options, "start": start, "end": end})

    def _plan_text(self, plan: Any, earlier: Any = None) -> str:
        n = int(plan.n_calls)
        cached = _cached_calls(plan, self.client)
        if earlier is not None:
            n += int(earlier.n_calls)
            cached += _cached_calls(earlier, self.client)
        calls = self._t("status.call" if n == 1 else "status.calls")
        text = self._t("status.will_make", n=n, calls=calls, cached=cached)
        if self._lookup_problems:
            text += f" — {self._t('status.lookups_failed')} " + "; ".join(self._lookup_problems)
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
        # Every change of a control re-plans (see _validate), so the current plan is the
        # one to run; planning again here would only repeat the work.
        if self._busy or (self.plan is None and not self._validate()):
            return
        self._set_busy(True)
        self.last_error = None
        self.export_link.value = ""  # the previous export's link belongs to the previous run
        try:
            self._show(self._breakdown(refresh))
        except Exception as err:  # every failure becomes a message, never a traceback
            # Kept for developers (and at DEBUG in the log), never printed in the form.
            self.last_exception = err
            log.debug("the contact explorer's run failed", exc_info=err)
            self.last_error = self._message(err, context=self._context_text())
            self._set_status(self.last_error, "error")
        finally:
            self._set_busy(False)
            if self.last_error is None:
                self._set_status(self._done_text(), "ok")

    def _breakdown(self, refresh: bool) -> Any:
        """The run: the plan made on the last change, or with Compare with both ranges."""
        from vitec_nb.plan import run_plan

        offline = bool(self.offline.value)
        if not self.compare.value:
            return run_plan(
                self.client, self.plan, refresh=refresh, offline=offline, progress=self._on_progress
            )
        options = dict(self.options)
        return self.client.breakdown(
            self.query,
            options.pop("by"),
            compare=self.compare.value,
            refresh=refresh,
            offline=offline,
            progress=self._on_progress,
            **options,
        )

    def _on_progress(self, done: int, total: int) -> None:
        # At most ten updates a second, and always the last: a warm run reports ~50 calls
        # in a few ms (benchmark 6 counts them).
        now = monotonic()
        if done < total and now - self._progress_shown < PROGRESS_INTERVAL:
            return
        self._progress_shown = now
        with self.progress.hold_sync():  # one message to the front end, not three
            self.progress.max = max(int(total), 1)
            self.progress.value = int(done)
            self.progress.description = f"{done}/{total}"

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        outputs = [self.csv_button, self.excel_button, self.save_chart_button]
        outputs += [self.show_contacts_button, self.contacts_csv_button]
        for control in [*self._inputs, self.offline, *outputs]:
            control.disabled = busy
        self.run_button.disabled = self.refresh_button.disabled = busy
        if busy:
            self._progress_shown = 0.0  # the run's first report is shown at once
            self._set_status(self._t("status.running"), "info")
            self.progress.value = 0
            self.progress.layout.visibility = "visible"
        else:
            self.progress.layout.visibility = "hidden"
            has_result = self.last_frame is not None
            for button in outputs[:4]:
                button.disabled = not has_result
            self.contacts_csv_button.disabled = self.last_contacts is None
            tip = self._t("tip.export" if has_result else "tip.run_first")
            self.csv_button.tooltip = self.excel_button.tooltip = tip
            if has_result:
                self.save_chart_button.tooltip = self._t("tip.save_chart")
                self.show_contacts_button.tooltip = self._t("tip.show_contacts")

    def _done_text(self) -> str:
        s = self.last_summary or {}
        return self._t(
            "status.done",
            total=i18n.number(s.get("total", 0), self.language),
            calls=s.get("calls", 0),
            cached=s.get("cached", 0),
        )
