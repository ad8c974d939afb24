"""What every chart shares: building a figure with the chart fonts applied only while it is
built (:func:`_build`, ``matplotlib.rc_context``; it refuses tofu when no CJK font is
there), a new constrained figure, the "no data" panel and figure (:func:`no_data`), saving
atomically (:func:`save`, :func:`to_png`), the palette, and the labels of agent rows
(agents named within their shop; a heading row per shop in multi-shop charts).

Not here: finding the font (:mod:`cskit.chart_fonts`) or any one chart
(:mod:`cskit.chart_reply`, :mod:`cskit.chart_load`, :mod:`cskit.chart_agents`,
:mod:`cskit.chart_lost`).  Nothing here touches ``pyplot``.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Callable

from cskit.chart_fonts import (FONT_HINT, _FALLBACK, CJKFont, FontMissingError, _undrawable,
                               find_cjk_font)
from cskit.errors import UsageError

__all__ = ["NO_DATA", "no_data", "save", "to_png", "agent_label", "shop_heading", "is_heading"]

#: shown as an empty chart's message
NO_DATA = {"zh": "无数据", "en": "no data"}

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39"]
_GOOD, _BAD = "#2ca02c", "#d62728"
_MAX_BARS = 25  # agents per chart (beyond: the busiest are kept)


# ------------------------------------------------------------------------------------------
# figure plumbing
# ------------------------------------------------------------------------------------------
_AUTO = "auto"


def _rc(font: CJKFont | None) -> dict:
    families = ([font.family] if font else []) + [_FALLBACK]
    return {"font.family": families, "axes.unicode_minus": False, "svg.fonttype": "path",
            "pdf.fonttype": 42, "axes.spines.top": False, "axes.spines.right": False,
            "axes.titlesize": 12, "axes.titlelocation": "left", "legend.fontsize": 8,
            "legend.frameon": False,
            # shop and agent names are data: "$\\bad{x}$" is drawn as written, never parsed as
            # math text (it would stop the chart, and the report with it)
            "text.parse_math": False, "text.usetex": False}


def _build(body: Callable[[], "object"], font, lang: str):
    """Run ``body`` (which returns a Figure) with the chart fonts; refuse tofu."""
    import matplotlib
    from matplotlib.text import Text

    if lang not in ("zh", "en"):
        raise UsageError("unknown language {lang!r}", hint="zh or en", lang=lang)
    if isinstance(font, str) and font == _AUTO:
        font = find_cjk_font()
    rc = _rc(font)
    with matplotlib.rc_context(rc):
        fig = body()
    from cskit.render import safe_text

    for t in fig.findobj(Text):  # control characters in names: visible, never drawn as boxes
        text = t.get_text()
        if safe_text(text) != text:
            t.set_text(safe_text(text))
    if font is None:
        bad = _undrawable(t.get_text() for t in fig.findobj(Text))
        if bad:
            raise FontMissingError(
                "no CJK font found: the chart's text ({n} distinct character(s) such as {chars!r}) would be drawn as empty boxes", hint=FONT_HINT, n=len(bad), chars=bad[:6])
    fig._cskit_rc = rc  # save() draws with the same fonts
    fig._cskit_font = font
    return fig


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _draw_no_data(ax, lang: str, detail: str | None = None) -> None:
    msg = NO_DATA[lang] if lang in NO_DATA else NO_DATA["zh"]
    if detail:
        msg += f"\n{detail}"
    ax.text(0.5, 0.5, msg, ha="center", va="center", fontsize=14, color="#777777",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def no_data(title: str, *, detail: str | None = None, lang: str = "zh",
            font: CJKFont | None | str = _AUTO):
    """A figure that says "no data" (used when a chart's input is empty or unavailable)."""

    def body():
        fig = _new_figure(8, 3)
        ax = fig.add_subplot()
        ax.set_title(title)
        _draw_no_data(ax, lang, detail)
        return fig

    return _build(body, font, lang)


def save(fig, path: str | os.PathLike, *, dpi: int | None = None) -> Path:
    """Write ``fig`` to ``path`` atomically; the suffix picks the format (default PNG).

    The file is written next to ``path`` under a temporary name and renamed, so a
    reader (a browser, a cron mail) never sees half an image; it gets the usual
    permissions (umask), not a private temp file's.
    """
    import matplotlib

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh, matplotlib.rc_context(getattr(fig, "_cskit_rc", {})):
            fig.savefig(fh, format=fmt, dpi=dpi or fig.dpi)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def to_png(fig, *, dpi: int | None = None) -> bytes:
    """The figure as PNG bytes."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(getattr(fig, "_cskit_rc", {})):
        fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# agent rows
# ------------------------------------------------------------------------------------------
def agent_label(shop, agent, multi_shop: bool = False) -> str:
    """An agent's label: its own name within its shop (:func:`cskit.naming.agent_name`), as
    in every table; with several shops the chart names each shop once, in a heading row
    (:func:`shop_heading`), never ``店铺:客服`` on a bar.  ``multi_shop`` is kept for callers."""
    from cskit.naming import agent_name
    from cskit.render import safe_text

    return safe_text(agent_name(shop, agent))


def shop_heading(shop) -> str:
    """The label of the row that heads a shop's agents in a multi-shop chart."""
    from cskit.render import safe_text

    return safe_text(f"【{shop}】")


def is_heading(label: str) -> bool:
    return label.startswith("【") and label.endswith("】")


def _with_headings(shops: list, labels: list[str]) -> tuple[list[str], list[int]]:
    """``labels`` (rows already grouped by shop) with a heading row before each shop's
    first row; the index each original row moved to."""
    out, where, prev = [], [], object()
    for s, lab in zip(shops, labels):
        if s != prev:
            out.append(shop_heading(s))
            prev = s
        where.append(len(out))
        out.append(lab)
    return out, where


def _bold_headings(ax) -> None:
    """Shop heading rows stand out by colour (the CJK fonts ship one weight: asking for
    bold makes matplotlib warn on stderr)."""
    for t in ax.get_yticklabels():
        if is_heading(t.get_text()):
            t.set_color("#1f4e79")
