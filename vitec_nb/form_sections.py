"""The contact form's sections: its controls arranged in boxes, tabs and the source badge."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from vitec_nb import i18n
from vitec_nb.vocab import DEMO_BANNER

__all__ = ["FormSections"]

LABEL_WIDTH = "120px"  # the column of the controls' descriptions (form_layout's too)


def _label(text: str, width: str = LABEL_WIDTH) -> w.HTML:
    """A right-aligned label in the column of the controls' descriptions."""
    return w.HTML(
        f'<div style="text-align:right;padding-right:8px;line-height:28px">{text}</div>',
        layout=w.Layout(width=width, min_width=width),
    )


def _section(title: str, *children: w.Widget) -> w.VBox:
    head = w.HTML(f'<div style="font-weight:600;color:#444">{title}</div>')
    box = w.VBox(
        [head, *children],
        layout=w.Layout(border="1px solid #e0e0e0", padding="6px 10px", margin="4px 0"),
    )
    return box


class FormSections:
    """Arranges the controls `FormLayout` built into the form's sections (no behaviour).

    A base of `FormLayout`: `_arrange()` runs once the controls exist.
    """

    client: Any
    language: str
    _labels: dict[str, str]

    def _t(self, key: str, **values: Any) -> str:
        """A word of the form in its language (`vitec_nb.i18n`)."""
        return i18n.text(key, self.language, **values)

    def _filters_section(self) -> w.VBox:
        col = w.Layout(width="380px")
        left = [self.office, self._created_from_box, self._changed_from_box]
        left += [self.lead_score, self.newsletter_list, self.more_offices]
        right = [self.agent, self._created_to_box, self._changed_to_box]
        right += [self.scheduled_order_type, self.custom_field, self.custom_value]
        right += [self.office_group]
        columns = [w.VBox(left, layout=col), w.VBox(right, layout=col)]
        # two columns from about 800 px, one below
        return _section(
            self._t("section.filters"), w.HBox(columns, layout=w.Layout(flex_flow="row wrap"))
        )

    def _arrange(self) -> None:
        t, labels = self._t, self._labels
        chart = _section(
            t("section.chart"),
            w.HBox(
                [_label(labels["by"]), self.split, self.top_agents, self.pick_agents],
                layout=w.Layout(flex_flow="row wrap"),
            ),
            w.HBox(
                [
                    _label(labels["measure"]),
                    self.measure,
                    _label(labels["period"], "70px"),
                    self.period,
                ]
            ),
            self.compare,
        )
        actions = _section(
            t("section.actions"),
            w.HBox([self.run_button, self.refresh_button, self.offline]),
            self.status,
            self.progress,
            w.HBox([self.csv_button, self.excel_button, self.save_chart_button]),
            w.HBox([self.csv_style, self.export_folder], layout=w.Layout(flex_flow="row wrap")),
            self.export_link,
        )
        drill = w.VBox(
            [
                w.HBox([self.cell_period, self.cell_value, self.show_contacts_button]),
                self.contacts_csv_button,
                self.drill_status,
                self.contacts_output,
            ]
        )
        self.source = w.HTML(self._source_html())
        tabs = w.Tab(
            children=[self.chart_output, self.table_output, drill],
            titles=(t("tab.chart"), t("tab.rows"), t("tab.contacts")),
        )
        self.widget = w.VBox(
            [self.source, self._filters_section(), chart, actions, self.stale, self.summary, tabs],
            layout=w.Layout(max_width="900px"),
        )
        self.widget.add_class("vnb-explorer")

    def _source_html(self) -> str:
        base = html.escape(str(getattr(self.client, "base_url", "") or ""))
        if getattr(self.client, "is_demo", False):
            return (
                '<div class="vnb-source"><span style="background:#f0ad4e;color:white;'
                f'padding:2px 8px;border-radius:3px;font-weight:600">{DEMO_BANNER}</span> '
                f"{html.escape(self._t('source.demo', base=base))}</div>"
            )
        return (
            '<div class="vnb-source"><span style="background:#5cb85c;color:white;'
            f'padding:2px 8px;border-radius:3px;font-weight:600">LIVE</span> {base}</div>'
        )
