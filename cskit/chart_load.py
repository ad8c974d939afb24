"""The load chart (`cskit chart load`, load.png): two weekday × hour heatmaps, buyer messages
and the late or unanswered ones (:func:`load_matrix` counts them).  Not here: fonts and
figure plumbing (:mod:`cskit.chart_fonts`, :mod:`cskit.chart_figure`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.chart_figure import _AUTO, _build, _draw_no_data, _new_figure, _t

__all__ = ["WEEKDAYS", "load_matrix", "load"]

WEEKDAYS = {"zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
            "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def load_matrix(annotated: pd.DataFrame, mask: pd.Series | np.ndarray | None = None) -> np.ndarray:
    """7 × 24 counts (weekday Monday=0 × hour) of the rows of ``annotated`` (sent_at)."""
    m = np.zeros((7, 24), dtype=np.int64)
    if annotated is None or annotated.empty:
        return m
    t = pd.to_datetime(annotated["sent_at"])
    ok = t.notna().to_numpy()
    if mask is not None:
        ok = ok & np.asarray(mask, dtype=bool)
    t = t[ok]
    np.add.at(m, (t.dt.day_of_week.to_numpy(), t.dt.hour.to_numpy()), 1)
    return m


def load(annotated: pd.DataFrame, *, rule=None, title: str | None = None, lang: str = "zh",
         font=_AUTO):
    """Two heatmaps, weekday × hour of day: buyer messages (inquiries), and buyer messages
    that were late or never answered under the rule (counted messages only).

    ``annotated`` is :func:`cskit.metrics.annotate` output (sent_at, late, counted,
    excluded), already restricted to the period shown.  Excluded buyers are left out.
    """
    def body():
        fig = _new_figure(12, 6.4)
        axes = fig.subplots(2, 1)
        a = annotated if annotated is not None else pd.DataFrame()
        empty = a.empty or "sent_at" not in a.columns
        base = None if empty or "excluded" not in a.columns else ~a["excluded"].to_numpy(dtype=bool)
        late = None
        if not empty and "late" in a.columns:
            late = a["late"].to_numpy(dtype=bool)
            if "counted" in a.columns:
                late = late & a["counted"].to_numpy(dtype=bool)
        limit = ""
        if rule is not None:
            limit = f" (>{_fmt_threshold(rule.threshold_s, lang)})"
        panels = [
            (_t(lang, "买家消息数 (咨询量) · 周几 × 小时", "Buyer messages (inquiries) · weekday × hour"),
             base, "Blues"),
            (_t(lang, f"超时/未回复消息数{limit} · 周几 × 小时",
                f"Late or unanswered messages{limit} · weekday × hour"), late, "Reds"),
        ]
        if title:
            fig.suptitle(title)
        for ax, (name, mask, cmap) in zip(axes, panels):
            ax.set_title(name)
            if empty or (mask is None and cmap == "Reds"):
                _draw_no_data(ax, lang)
                continue
            m = load_matrix(a, mask)
            im = ax.imshow(m, aspect="auto", cmap=cmap, interpolation="nearest",
                           vmin=0, vmax=max(1, int(m.max())))
            ax.set_yticks(range(7), WEEKDAYS.get(lang, WEEKDAYS["zh"]))
            ax.set_xticks(range(24), [str(h) for h in range(24)])
            ax.set_xlabel(_t(lang, "小时", "hour"))
            ax.spines[:].set_visible(False)
            if m.max() <= 999:
                hi = m.max()
                rows, cols = np.nonzero(m)
                for r, c in zip(rows, cols):
                    ax.text(c, r, str(m[r, c]), ha="center", va="center", fontsize=7,
                            color="white" if m[r, c] > 0.6 * hi else "#333333")
            fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01)
        return fig

    return _build(body, font, lang)


def _fmt_threshold(s: int, lang: str) -> str:
    if s % 60 == 0 and s >= 60:
        return _t(lang, f"{s // 60}分钟", f"{s // 60} min")
    return _t(lang, f"{s}秒", f"{s} s")
