"""Charts: matplotlib figures for managers (reply rate, load, agents, lost-sale reasons).

Every chart is a pure function ``frame(s) → matplotlib.figure.Figure``; nothing
here touches ``pyplot`` (no global figure registry, no backend switch, no
``plt.rcParams`` edits that outlive a call).  :func:`save` writes a figure
atomically (PNG by default; the file suffix picks the format).

Chinese text needs a CJK font.  :func:`find_cjk_font` looks for one (see its
docstring); a chart whose text the fallback font cannot draw raises
:class:`FontMissingError` instead of silently drawing empty boxes (豆腐块).
Charts whose text is plain ASCII (``lang="en"`` with ASCII shop and agent
names) render without a CJK font.

The fonts a chart uses are applied with ``matplotlib.rc_context`` while it is
built and again while :func:`save` draws it: ``rcParams`` are never changed
for the caller.  The one global effect is that a font file found outside
matplotlib's own cache (an optional pip package, ``CSKIT_FONT``, fontconfig)
is registered with ``matplotlib.font_manager.fontManager`` so it can be used
by name.

The module is split by idea and keeps every name callers import: fonts in
:mod:`cskit.chart_fonts`, figure plumbing (build, no data, save, agent row labels) in
:mod:`cskit.chart_figure`, and one module per chart family: :mod:`cskit.chart_reply`,
:mod:`cskit.chart_load`, :mod:`cskit.chart_agents`, :mod:`cskit.chart_lost`.
"""

from __future__ import annotations

# the names callers and tests import from cskit.charts (same objects)
from cskit.chart_agents import AGENT_PANELS, _PANEL_COLORS, _fmt_value, agents  # noqa: F401
from cskit.chart_figure import (_AUTO, _BAD, _COLORS, _GOOD, _MAX_BARS, NO_DATA,  # noqa: F401
                                _bold_headings, _build, _draw_no_data, _new_figure, _rc, _t,
                                _with_headings, agent_label, is_heading, no_data, save,
                                shop_heading, to_png)
from cskit.chart_fonts import (_FALLBACK, _PROBE, FONT_HINT, FONT_PACKAGES,  # noqa: F401
                               PREFERRED_FAMILIES, CJKFont, FontMissingError, _best_family,
                               _covers, _fallback_charmap, _find_cjk_font, _font_manager,
                               _from_env, _from_fontconfig, _from_matplotlib, _from_packages,
                               _package_dir, _register, _undrawable, _weight, find_cjk_font)
from cskit.chart_load import WEEKDAYS, _fmt_threshold, load, load_matrix  # noqa: F401
from cskit.chart_lost import _LABEL_COLS, _VALUE_COLS, lost, reason_shares  # noqa: F401
from cskit.chart_reply import (DEFAULT_THRESHOLDS, Threshold, _as_thresholds,  # noqa: F401
                               _date_axis, _dates, _every_day, _rate_axis, _rate_heatmap,
                               agent_rate_matrix, headline_counts, reply_rate, rolling_rate)

__all__ = [
    "CJKFont", "FontMissingError", "Threshold", "DEFAULT_THRESHOLDS", "KINDS", "FONT_HINT",
    "find_cjk_font", "reply_rate", "load", "agents", "lost", "no_data", "save", "to_png",
    "rolling_rate", "headline_counts",
]

#: chart kinds of ``cskit chart``
KINDS = ("reply-rate", "load", "agents", "lost")
