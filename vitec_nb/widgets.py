"""The contact explorer: an ipywidgets form that queries contacts and charts their activity.

    import vitec_nb as vnb
    vnb.ContactExplorer(vnb.connect())      # the last expression of a cell displays the form

One control per filter of `GET CRM/Contact/{customerId}`, chart options, Run / Refresh /
Offline, CSV and Excel export. Every change rebuilds the `ContactQuery` and the breakdown
plan (pure, no requests) so the form can say what is wrong, by field, before anything is
sent, and how many calls a run will make. Runs happen synchronously in the kernel thread:
widget updates (the progress bar) still reach the browser while the handler runs, and it
behaves the same in JupyterLab, Voila and nbclient. See docs/form.md.

The form is four modules besides this one: its layout (`form_layout.py`), its rules
without widgets (`form_model.py`), what a run shows and writes (`form_runs.py`: the run
record, out-of-date note, export; `form_output.py`: chart PNG, summary, first rows, export
files) and its words (`form_messages.py`). The names other code imports from here
(`FIELD_LABELS`, `error_message`, `stars`, `figure_image`) are re-exported.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

import pandas as pd

from vitec_nb.errors import InvalidQueryError, VitecError
from vitec_nb.form_layout import (
    ANY,
    ANY_VALUE,
    SERVICE_CHOICES,
    SERVICE_CHOICES_SV,
    FormLayout,
    default_range,
)
from vitec_nb.form_messages import FIELD_LABELS as FIELD_LABELS
from vitec_nb.form_messages import error_message as error_message
from vitec_nb.form_messages import stars as stars
from vitec_nb.form_model import (
    _agent_options,
    _blank,
    _cached_calls,
    _check_days,
    _chosen,
    _combine,
    _contact_fields,
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


class ContactExplorer(FormRuns, FormLayout):
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
            self._load_office_name(office, offline)
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

        Dates are whole days in Swedish time, passed on as dates: `ContactQuery` reads a
        "to" day as the whole day (up to the next midnight, that midnight excluded, made
        exact by the planner's end check). A time of day, when given, is that instant,
        included (Vitec's "up to and including").
        """
        from vitec_nb.query import ContactQuery

        for pair in ("created", "changed"):
            _check_days(
                pair, getattr(self, f"{pair}_from").value, getattr(self, f"{pair}_to").value
            )

        def bound(pair: str, side: str) -> Any:
            day = getattr(self, f"{pair}_{side}").value
            time = getattr(self, f"{pair}_{side}_time").value
            return _combine(day, time, f"{pair}_{side}")

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
