"""The agents chart (`cskit chart agents`, agents.png): one horizontal-bar panel per measure
(:data:`AGENT_PANELS`: reply rate, median first response, inquiry conversion, sales), worst
reply rate on top; an unknown value draws no bar and "—" (never 0).  Not here: fonts and
figure plumbing (:mod:`cskit.chart_fonts`, :mod:`cskit.chart_figure`); the suggested
target line comes from :data:`cskit.chart_reply.DEFAULT_THRESHOLDS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.chart_figure import (_AUTO, _BAD, _COLORS, _GOOD, _MAX_BARS, _bold_headings, _build,
                                _draw_no_data, _new_figure, _t, _with_headings, agent_label)
from cskit.chart_reply import DEFAULT_THRESHOLDS

__all__ = ["AGENT_PANELS", "agents"]

#: (column, zh, en, kind) of the agents chart, in panel order; panels appear when the column
#: is in the frame and holds a value
AGENT_PANELS = (
    ("reply_rate", "回复率", "Reply rate", "rate"),
    # the median, not the mean: one overnight wait must not draw an agent as the slowest
    ("first_response_s_median", "首次响应中位数(秒)", "Median first response (s)", "seconds"),
    ("inquiry_conversion", "询单转化率", "Inquiry conversion", "rate"),
    ("sales", "销售额(元)", "Sales (yuan)", "yuan"),
)


def agents(frame: pd.DataFrame, *, rule=None, title: str | None = None, lang: str = "zh",
           max_agents: int = _MAX_BARS, font=_AUTO):
    """Per-agent comparison: one horizontal-bar panel per measure present in ``frame``
    (reply rate, median first response time, inquiry conversion, sales — see
    :data:`AGENT_PANELS`).  ``frame`` is ``reply_kpis(by="agent")``, optionally merged
    with ``conversion_kpis(by="agent")`` on (shop, agent_id).  Agents are sorted by
    reply rate, worst at the top; with more than ``max_agents`` the busiest
    (consult_buyers) are kept.
    """
    rate_name = (rule.label_en if lang == "en" else rule.label_zh) if rule is not None else None

    def body():
        f = frame if frame is not None else pd.DataFrame()
        panels = [p for p in AGENT_PANELS if p[0] in f.columns and f[p[0]].notna().any()]
        if not f.empty and "agent_id" in f.columns and panels:
            # robot accounts (only robot messages) and rows without a value in any panel
            keep = f[[p[0] for p in panels]].notna().any(axis=1)
            if {"bot_messages", "agent_messages"} <= set(f.columns):
                keep &= ~((f["bot_messages"] > 0) & (f["agent_messages"] == 0))
            f = f[keep].copy()
        if f.empty or "agent_id" not in f.columns or not panels:
            fig = _new_figure(8, 3)
            ax = fig.add_subplot()
            ax.set_title(title or _t(lang, "客服对比", "Agents"))
            _draw_no_data(ax, lang)
            return fig
        multi = "shop" in f.columns and f["shop"].nunique() > 1
        f["_label"] = [agent_label(s, a) for s, a in zip(f["shop"], f["agent_id"])] \
            if "shop" in f.columns else f["agent_id"].astype(str)
        n_all = len(f)
        if n_all > max_agents and "consult_buyers" in f.columns:
            f = f.sort_values("consult_buyers", ascending=False, kind="stable").head(max_agents)
        elif n_all > max_agents:
            f = f.head(max_agents)
        sort_key = "reply_rate" if "reply_rate" in f.columns else panels[0][0]
        # worst on top (within each shop, under the shop's heading row, with several shops)
        f = f.sort_values(sort_key, ascending=True, kind="stable", na_position="last")
        if multi:
            f = f.sort_values("shop", kind="stable")
            labels, where = _with_headings(f["shop"].tolist(), f["_label"].tolist())
        else:
            labels, where = f["_label"].tolist(), list(range(len(f)))
        n_agents, n = len(f), len(labels)
        fig = _new_figure(3.6 * len(panels) + 1.5, max(2.6, 0.32 * n + 1.6))
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        # barh draws row 0 at the bottom: the first label goes on top
        y = (n - 1 - np.asarray(where, dtype=float)) if n else np.arange(0)
        unknown_cells = np.zeros(n_agents, dtype=bool)
        for i, (ax, (col, zh, en, kind)) in enumerate(zip(axes, panels)):
            name = rate_name if col == "reply_rate" and rate_name else _t(lang, zh, en)
            v = f[col].to_numpy(dtype=float)
            color = _PANEL_COLORS.get(col, _COLORS[0])
            if col == "reply_rate":  # below the suggested target: red
                target = DEFAULT_THRESHOLDS[-1].value
                color = np.where(np.nan_to_num(v, nan=0) < target, _BAD, _GOOD).tolist()
            known = np.isfinite(v)  # unknown (NaN): no bar, "—" (a footnote says why)
            ax.barh(y[known], v[known], height=0.7,
                    color=np.asarray(color, dtype=object)[known].tolist()
                    if isinstance(color, list) else color)
            if kind in ("rate", "yuan") and col != "reply_rate":  # not "no inquiries"
                unknown_cells |= ~known & (f["inquiry_buyers"].isna().to_numpy()
                                           if "inquiry_buyers" in f.columns else True)
            ax.set_title(name, fontsize=10)
            for yi, x in zip(y, v):
                ax.annotate("—" if np.isnan(x) else _fmt_value(x, kind), xy=(0 if np.isnan(x) else x, yi),
                            xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
            if kind == "rate":
                from matplotlib.ticker import PercentFormatter

                ax.set_xlim(0, 1.15)
                ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            else:
                top = np.nanmax(v) if np.isfinite(v).any() else 1.0
                ax.set_xlim(0, max(top, 1e-9) * 1.25)
            ax.grid(axis="x", alpha=0.3)
        axes[0].set_yticks(np.arange(n)[::-1], labels)
        axes[0].set_ylim(-0.6, n - 0.4)
        _bold_headings(axes[0])
        more = f" ({n_agents}/{n_all})" if n_all > n_agents else ""
        fig.suptitle((title or _t(lang, "客服对比", "Agents")) + more)
        if unknown_cells.any():
            # a figure-level x label: the constrained layout keeps room for it
            fig.supxlabel(_t(lang, "— 未知：该店订单无法与聊天匹配或未覆盖统计期，不画柱（不是 0）",
                             "— unknown: the shop's orders cannot be matched to chats or do "
                             "not cover the period; no bar (not 0)"),
                          x=0.01, ha="left", fontsize=7, color="#555555")
        return fig

    return _build(body, font, lang)


_PANEL_COLORS = {"first_response_s_median": "#ff7f0e", "inquiry_conversion": "#9467bd",
                 "sales": "#1f77b4"}


def _fmt_value(x: float, kind: str) -> str:
    if kind == "rate":
        return f"{x * 100:.1f}%"
    if kind == "yuan":
        return f"¥{x:,.0f}"
    if kind == "seconds":
        return f"{x:.0f}s"
    return f"{x:,.0f}"
