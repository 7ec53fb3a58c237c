"""The charts' layout engine (fixed top and bottom margins, measured sides) and canvas."""

from __future__ import annotations

import threading

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import LayoutEngine

__all__ = ["ChartCanvas", "MarginLayout"]

# Margins in inches: the title above; period labels, axis label and notes below; padding.
MARGIN_TOP = 0.32
MARGIN_BOTTOM = 0.62
MARGIN_PAD = 0.05
MARGIN_RIGHT = 0.2  # without a legend
LEGEND_GAP = 0.01  # the legend's distance from the axes, in axes widths (bbox_to_anchor)


class MarginLayout(LayoutEngine):
    """Fixed top and bottom margins; left and right measured: the y axis and the legend.

    Constrained layout measured every decoration twice per draw (~35 ms of a form run,
    docs/benchmarks.md benchmark 6). These charts have one axes, a title above, period
    labels below and the legend on the right, so only two widths vary: the y tick labels
    (and the bar chart's names) on the left and the legend's labels on the right. Both are
    measured with the renderer that then draws (matplotlib finds it when none is passed),
    so the text metrics are reused.
    """

    _adjust_compatible = True
    _colorbar_gridspec = False

    def __init__(self, top: float = MARGIN_TOP, bottom: float = MARGIN_BOTTOM) -> None:
        super().__init__()
        self._top, self._bottom = top, bottom

    def execute(self, fig: Figure) -> None:
        width, height = fig.bbox.width, fig.bbox.height
        pad = MARGIN_PAD * fig.dpi
        if len(fig.axes) != 1:  # a caller added axes: leave the layout to them
            return
        ax = fig.axes[0]
        y_box = ax.yaxis.get_tightbbox()  # measured with the renderer that draws
        left = (ax.bbox.x0 - y_box.x0 + pad) / width if y_box is not None else 0.05
        right = 1 - MARGIN_RIGHT * fig.dpi / width  # room for half the last tick label
        legend = ax.get_legend()
        if legend is not None:
            # the legend's box keeps `borderaxespad` (in font sizes) from its anchor
            gap = legend.borderaxespad * legend.prop.get_size_in_points() * fig.dpi / 72
            room = (legend.get_window_extent().width + gap + pad) / width
            # the legend sits at 1.01 axes widths: right + 0.01 (right - left) + room = 1
            right = (1 - room + LEGEND_GAP * left) / (1 + LEGEND_GAP)
        dpi = fig.dpi
        fig.subplots_adjust(
            left=left,
            right=max(right, left + 0.2),
            top=1 - self._top * dpi / height,
            bottom=self._bottom * dpi / height,
        )


class ChartCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer is shared by every chart drawn in this thread.

    Matplotlib keeps the sizes of the texts it has measured per renderer, and a canvas of
    its own makes a new renderer for each new figure. The form draws a new chart on every
    run with mostly the same labels (period ticks, legend, axis labels), so one renderer
    per size and dpi, reused, measures each label once. Each thread has its own renderers:
    two charts are never drawn into the same pixels at once.
    """

    _local = threading.local()
    KEPT = 3  # renderers kept per thread (the form's size, a saved chart's, the report's)

    def get_renderer(self) -> RendererAgg:
        width, height = self.get_width_height(physical=True)
        key = (width, height, self.figure.dpi)
        kept: dict[tuple[int, int, float], RendererAgg] = getattr(self._local, "kept", {})
        renderer = kept.get(key)
        if renderer is None:
            if len(kept) >= self.KEPT:
                kept.clear()
            renderer = kept[key] = RendererAgg(width, height, self.figure.dpi)
            self._local.kept = kept
        self.renderer = renderer
        return renderer
