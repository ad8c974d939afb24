"""The lost-sale reasons chart (`cskit chart lost`, lost.png): horizontal bars of each
reason's share, largest on top (:func:`reason_shares` normalises a reason summary).  Not
here: fonts and figure plumbing (:mod:`cskit.chart_fonts`, :mod:`cskit.chart_figure`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.chart_figure import _AUTO, _COLORS, _build, _draw_no_data, _new_figure, _t

__all__ = ["reason_shares", "lost"]

_LABEL_COLS = ("reason_zh", "label_zh", "reason", "label", "name", "category")
_VALUE_COLS = ("buyers", "count", "n", "conversations", "messages", "lost_buyers")


def reason_shares(summary: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Normalise a lost-reason summary to columns label, count (may be NaN), share."""
    if summary is None or summary.empty:
        return pd.DataFrame({"label": [], "count": [], "share": []})
    cols = list(summary.columns)
    pref = ("reason_en", "label_en", "reason_id") + _LABEL_COLS if lang == "en" else _LABEL_COLS
    label = next((c for c in pref if c in cols), None)
    if label is None:
        label = next((c for c in cols if summary[c].dtype == object), cols[0])
    count = next((c for c in _VALUE_COLS if c in cols), None)
    if count is None:
        count = next((c for c in cols if c not in ("share", label)
                      and pd.api.types.is_numeric_dtype(summary[c])), None)
    out = pd.DataFrame({"label": summary[label].astype(str),
                        "count": summary[count].astype(float) if count else np.nan})
    if "share" in cols:
        out["share"] = summary["share"].astype(float).to_numpy()
    elif count:
        tot = out["count"].sum()
        out["share"] = out["count"] / tot if tot else np.nan
    else:
        out["share"] = np.nan
    return out.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


def lost(summary: pd.DataFrame, *, title: str | None = None, detail: str | None = None,
         lang: str = "zh", font=_AUTO):
    """Lost-sale reasons (询单流失原因) as horizontal bars of their share, largest on top.

    ``summary``: one row per reason with a label column (reason_zh, label_zh, reason, label …)
    and a count (buyers, count, n …) and/or a ``share`` in [0, 1].  ``detail`` is
    shown under "no data" when the summary is empty (e.g. why it is unavailable).
    """

    def body():
        s = reason_shares(summary, lang)
        s = s[s["share"].notna()]
        name = title or _t(lang, "询单流失原因", "Lost-sale reasons")
        if s.empty:
            fig = _new_figure(8, 3)
            ax = fig.add_subplot()
            ax.set_title(name)
            _draw_no_data(ax, lang, detail)
            return fig
        s = s.iloc[::-1]  # largest on top
        n = len(s)
        fig = _new_figure(8, max(2.6, 0.38 * n + 1.4))
        ax = fig.add_subplot()
        y = np.arange(n)
        ax.barh(y, s["share"].to_numpy(), color=_COLORS[1], height=0.7)
        ax.set_ylim(-0.6, max(n, 4) - 0.4)  # a few reasons: thin bars, not slabs
        ax.set_yticks(y, s["label"].tolist())
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlim(0, min(1.0, float(s["share"].max()) * 1.3 + 0.02))
        unit = _t(lang, "人", "")
        for yi, (sh, c) in enumerate(zip(s["share"], s["count"])):
            txt = f"{sh * 100:.1f}%" + ("" if np.isnan(c) else f" ({int(c)}{unit})")
            ax.annotate(txt, xy=(sh, yi), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(name)
        return fig

    return _build(body, font, lang)
