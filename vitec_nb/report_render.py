"""Rendering the report notebook to HTML: parameters injected, executed headless, exported.

`render_report(out, **params)` injects parameters after the notebook's cell tagged
``parameters`` (papermill's convention, done here with nbformat so papermill is not
needed), executes it with nbclient on the ``python3`` kernel of this environment and
exports HTML without input cells (analysts read the report, not the code).

The notebook is found relative to the package, ``Path(vitec_nb.__file__).parents[1] /
"notebooks"``: that is the repository checkout (an editable install), which is how the
project is run; a wheel would have to ship it as package data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

import vitec_nb
from vitec_nb import i18n
from vitec_nb.errors import InvalidQueryError, VitecError
from vitec_nb.query import ContactQuery
from vitec_nb.report_notebook import check_parameters

__all__ = ["REPORT_NOTEBOOK", "REPORT_PARAMETERS", "inject_parameters", "render_report"]

REPORT_NOTEBOOK = (
    Path(vitec_nb.__file__).resolve().parents[1] / "notebooks" / "activity_report.ipynb"
)

# The report's parameters (names of the variables in its `parameters` cell).
REPORT_PARAMETERS = ("office", "period", "start", "end", "dimensions", "filters", "language")
AUTHOR_TAG = "author"  # cells for whoever edits the notebook: left out of the rendered report
KERNEL = "python3"


def inject_parameters(nb: Any, params: dict[str, Any]) -> Any:
    """Insert a cell tagged ``injected-parameters`` after the ``parameters`` cell.

    Values must be literals Python can read back (`repr` round trip): str, int, float,
    bool, None, and lists/tuples of those. Unknown names are an `InvalidQueryError`.
    """
    import nbformat

    unknown = sorted(set(params) - set(REPORT_PARAMETERS))
    if unknown:
        raise InvalidQueryError(
            unknown[0], "is not a parameter of the report", ", ".join(REPORT_PARAMETERS)
        )
    lines = ["# Parameters injected by vitec_nb.report.render_report"]
    for name, value in params.items():
        if isinstance(value, (pd.Timestamp, Path)) or hasattr(value, "isoformat"):
            value = str(value)
        lines.append(f"{name} = {value!r}")
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    position = next(
        (i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])),
        0,
    )
    nb.cells.insert(position, cell)
    return nb


def render_report(
    out: Path | str,
    notebook: Path | str | None = None,
    *,
    timeout: int = 600,
    **params: Any,
) -> Path:
    """Execute the activity report with `params` and write it as HTML to `out`.

    Args:
        out: the HTML file to write (its folder is created).
        notebook: the report notebook; default ``notebooks/activity_report.ipynb``.
        timeout: seconds allowed per cell.
        params: any of office, period, start, end, dimensions, filters, language.

    Raises InvalidQueryError for a bad parameter or filter (before any kernel starts,
    except the office, which the notebook checks) and VitecError when a cell fails, with the error's
    message and no traceback.

    The kernel inherits this process's environment, so VITEC_* variables (or their
    absence: demo data) decide where the data comes from. Returns the path written.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    path = Path(notebook) if notebook is not None else REPORT_NOTEBOOK
    nb = inject_parameters(nbformat.read(path, as_version=4), params)
    # What can be checked here is checked before a kernel starts (the office needs the
    # client, so the notebook checks it).
    check_parameters(
        **{k: v for k, v in params.items() if k in ("period", "start", "end", "dimensions")}
    )
    if params.get("language") is not None:
        params["language"] = i18n.check_language(params["language"])
    _check_filters(params.get("filters"))
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=KERNEL, resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:  # the kernel's traceback is for developers
        raise VitecError(f"The report could not be made: {exc.ename}: {exc.evalue}") from None
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.register_preprocessor(_author_cells_removed(), enabled=True)
    title = _rendered_title(nb)
    nb.metadata["title"] = title  # the browser tab's title (nbconvert's template reads it)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out.resolve()


def _check_filters(filters: Any) -> None:
    """The report's further filters, checked as a query's filters (any office will do)."""
    if isinstance(filters, Mapping) and filters:
        ContactQuery("M1", **filters)


def _author_cells_removed() -> Any:
    from nbconvert.preprocessors import TagRemovePreprocessor

    return TagRemovePreprocessor(remove_cell_tags={AUTHOR_TAG}, enabled=True)


def _rendered_title(nb: Any) -> str:
    """The report's title as its header cell printed it (metadata), or a plain default."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            title = output.get("metadata", {}).get("vitec_nb", {}).get("title")
            if title:
                return str(title)
    return "Contact activity report"
