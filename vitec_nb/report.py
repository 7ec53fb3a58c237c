"""The activity report and the demo, as one import: the names of the three modules below.

`report_notebook` holds what the report notebook calls (`Report`, `show_*`),
`report_render` runs it headless to HTML (`render_report`), `demo_launch` starts
JupyterLab on the explorer notebook (`launch_demo`). `vitec_nb.report` keeps their public
names importable as before.
"""

from __future__ import annotations

from vitec_nb.demo_launch import EXPLORER_NOTEBOOK, NOTEBOOKS, launch_demo
from vitec_nb.report_notebook import (
    DIMENSION_NAMES,
    DIMENSIONS,
    PERIODS,
    Report,
    check_parameters,
    show_breakdown,
    show_created_vs_changed,
    show_header,
)
from vitec_nb.report_render import (
    REPORT_NOTEBOOK,
    REPORT_PARAMETERS,
    inject_parameters,
    render_report,
)

__all__ = [
    "DIMENSIONS",
    "DIMENSION_NAMES",
    "EXPLORER_NOTEBOOK",
    "NOTEBOOKS",
    "PERIODS",
    "REPORT_NOTEBOOK",
    "REPORT_PARAMETERS",
    "Report",
    "check_parameters",
    "inject_parameters",
    "launch_demo",
    "render_report",
    "show_breakdown",
    "show_created_vs_changed",
    "show_header",
]
