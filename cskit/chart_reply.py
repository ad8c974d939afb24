"""The reply-rate chart (`cskit chart reply-rate`, reply_rate.png): the daily rate per shop
with the rolling 3-day rate the platform's activity gates judge (:func:`rolling_rate`,
:func:`headline_counts`), reference lines (:class:`Threshold`,
:data:`DEFAULT_THRESHOLDS`) and an agents × days heatmap (:func:`agent_rate_matrix`).
Not here: fonts and figure plumbing (:mod:`cskit.chart_fonts`, :mod:`cskit.chart_figure`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from cskit.chart_figure import (_AUTO, _COLORS, _GOOD, _MAX_BARS, _bold_headings, _build,
                                _draw_no_data, _new_figure, _t, _with_headings, agent_label,
                                is_heading)
from cskit.errors import UsageError

__all__ = ["Threshold", "DEFAULT_THRESHOLDS", "headline_counts", "rolling_rate",
           "agent_rate_matrix", "reply_rate"]

@dataclass(frozen=True)
class Threshold:
    value: float  #: a rate in [0, 1]
    label_zh: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_zh


#: Reference lines of the reply-rate chart.  Pinduoduo gates activities (新品推荐,
#: 9.9特卖 …) on the reply rate of the last 3 days; merchant sources report the gate
#: as ">50%" for some activities and ">60%" for others (docs/metrics-reference, §1), so
#: both are drawn.  80% is not a platform number: it is cskit's suggested internal
#: target, leaving a margin so that one bad day does not drop the 3-day rate below
#: the gates.
DEFAULT_THRESHOLDS = (
    Threshold(0.5, "活动门槛 50%", "activity gate 50%"),
    Threshold(0.6, "活动门槛 60%", "activity gate 60%"),
    Threshold(0.8, "建议目标 80%", "suggested target 80%"),
)


def headline_counts(frame: pd.DataFrame) -> tuple[str, str] | None:
    """(numerator, denominator) columns behind ``reply_rate``, or None.

    Buyer rules (pdd5, pdd3): consult_buyers − unreplied_buyers over consult_buyers
    (returned as ``("unreplied_buyers", "consult_buyers")``, the numerator being
    subtracted); other rules: ``<unit>s_on_time`` over ``<unit>s``.
    """
    cols = set(frame.columns)
    if {"consult_buyers", "unreplied_buyers"} <= cols:
        return "unreplied_buyers", "consult_buyers"
    for unit in ("rounds", "messages", "sessions"):
        if {unit, f"{unit}_on_time"} <= cols:
            return f"{unit}_on_time", unit
    return None


def rolling_rate(frame: pd.DataFrame, days: int = 3, keys: Sequence[str] = ("shop",)) -> pd.Series:
    """The reply rate over the last ``days`` calendar days, per row of a by-day frame.

    Counts are summed over the window (days without consultations count as
    zero), so this is the rate the platform judges ("近3天回复率"), not a mean of
    daily rates.  NaN where the window holds no consultation, or where the frame
    lacks the count columns.  Returned in ``frame``'s index order.
    """
    hc = headline_counts(frame)
    if hc is None or frame.empty:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    num, den = hc
    keys = [k for k in keys if k in frame.columns]
    f = frame[keys + ["date", num, den]].copy()
    f["_d"] = pd.to_datetime(f["date"])
    out = pd.Series(np.nan, index=frame.index, dtype=float)
    groups = f.groupby(keys, sort=False, dropna=False) if keys else [((), f)]
    for _, g in groups:
        daily = g.groupby("_d")[[num, den]].sum()
        full = daily.reindex(pd.date_range(daily.index.min(), daily.index.max(), freq="D"),
                             fill_value=0)
        roll = full.rolling(days, min_periods=1).sum()
        good = roll[den] - roll[num] if num == "unreplied_buyers" else roll[num]
        rate = (good / roll[den].where(roll[den] > 0)).astype(float)
        out.loc[g.index] = rate.reindex(g["_d"]).to_numpy()
    return out


def _every_day(g: pd.DataFrame) -> pd.DataFrame:
    """One shop's by-day rows on every calendar day of its range: counts 0, rates NaN."""
    idx = pd.to_datetime(g["date"])
    full = pd.date_range(idx.min(), idx.max(), freq="D")
    if len(full) == len(g):
        return g
    out = g.set_index(idx).reindex(full)
    counts = [c for c in out.columns if pd.api.types.is_integer_dtype(g[c])]
    out[counts] = out[counts].fillna(0)
    out["shop"] = g["shop"].iloc[0]
    out["date"] = full.date
    return out.reset_index(drop=True)


def _dates(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s).to_numpy(dtype="datetime64[ns]")


def _date_axis(ax, dates: np.ndarray) -> None:
    from matplotlib import dates as mdates

    span = (dates.max() - dates.min()) / np.timedelta64(1, "D") if len(dates) else 0
    if span <= 31:
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, int(math.ceil((span + 1) / 16)))))
    else:
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=12))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    if len(dates):
        pad = np.timedelta64(12, "h")
        ax.set_xlim(dates.min() - pad, dates.max() + pad)


def _rate_axis(ax, thresholds: Sequence[Threshold], lang: str) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="y", alpha=0.3)
    for i, th in enumerate(thresholds):
        ax.axhline(th.value, color="#999999" if i < len(thresholds) - 1 else _GOOD,
                   linestyle=(0, (4, 3)), linewidth=0.9, zorder=1)
        ax.annotate(th.label(lang), xy=(0.995, th.value), xycoords=("axes fraction", "data"),
                    xytext=(0, 1), textcoords="offset points", va="bottom", ha="right",
                    fontsize=8, color="#555555", zorder=4,
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=0.5))


def _as_thresholds(thresholds) -> tuple[Threshold, ...]:
    out = []
    for th in thresholds or ():
        if isinstance(th, Threshold):
            out.append(th)
        elif isinstance(th, (tuple, list)):
            v, *labels = th
            zh = labels[0] if labels else f"{float(v):.0%}"
            out.append(Threshold(float(v), zh, labels[1] if len(labels) > 1 else zh))
        else:
            out.append(Threshold(float(th), f"{float(th):.0%}", f"{float(th):.0%}"))
    for th in out:
        if not 0 <= th.value <= 1:
            raise UsageError("threshold {value} is not a rate between 0 and 1", value=th.value)
    return tuple(out)


def agent_rate_matrix(by_agent: pd.DataFrame, max_agents: int = _MAX_BARS
                      ) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """(agent labels, dates, rates[agent, date] with NaN, number of agents before the cut).
    With several shops, a heading row (:func:`shop_heading`, all NaN) precedes each shop's
    agents, who are named within their shop.

    ``by_agent``: shop, date, agent_id, reply_rate (+ consult_buyers).  Agents without
    any reply rate (robot accounts) are left out; beyond ``max_agents`` the busiest
    (consult_buyers) are kept.  Rows sorted by shop, then agent.
    """
    a = by_agent[by_agent["reply_rate"].notna()]
    if a.empty:
        return [], np.array([], dtype="datetime64[ns]"), np.zeros((0, 0)), 0
    key = ["shop", "agent_id"]
    n_all = int(a[key].drop_duplicates().shape[0])
    if n_all > max_agents:
        w = "consult_buyers" if "consult_buyers" in a.columns else "reply_rate"
        top = (a.groupby(key, sort=True)[w].sum().sort_values(ascending=False, kind="stable")
               .head(max_agents).index)
        a = a.set_index(key).loc[top].reset_index()
    wide = a.assign(_d=pd.to_datetime(a["date"])).pivot_table(
        index=key, columns="_d", values="reply_rate", aggfunc="first").sort_index()
    wide = wide.reindex(columns=pd.date_range(wide.columns.min(), wide.columns.max(), freq="D"))
    multi = a["shop"].nunique() > 1
    labels = [agent_label(s, g) for s, g in wide.index]
    m = wide.to_numpy(dtype=float)
    if multi:  # each shop once, as a heading row (blank cells) above its agents
        labels, where = _with_headings([s for s, _ in wide.index], labels)
        full = np.full((len(labels), m.shape[1]), np.nan)
        full[where] = m
        m = full
    return labels, wide.columns.to_numpy(dtype="datetime64[ns]"), m, n_all


def reply_rate(daily: pd.DataFrame, by_agent: pd.DataFrame | None = None, *,
               thresholds=DEFAULT_THRESHOLDS, rule=None, rolling_days: int = 3,
               title: str | None = None, lang: str = "zh", font=_AUTO):
    """Daily reply rate per shop (solid lines) with the rolling ``rolling_days``-day rate
    (dotted: what the platform's activity gates judge; the first days of the range sum
    only the days shown) and reference lines at
    ``thresholds``; with ``by_agent`` (shop, date, agent_id, reply_rate — e.g.
    reply_kpis(by="agent") for each day) a second panel: agents × days heatmap of
    the rate (a line per agent is unreadable beyond a handful).

    ``daily`` is a ``reply_kpis(by="day")`` frame (shop, date, reply_rate and the
    headline counts).  ``rule`` (a RuleConfig) names the rate in the titles.
    ``thresholds``: :class:`Threshold` objects, floats or (value, label_zh[,
    label_en]) tuples.
    """
    ths = _as_thresholds(thresholds)
    rate_name = (rule.label_en if lang == "en" else rule.label_zh) if rule is not None else \
        _t(lang, "回复率", "Reply rate")

    def body():
        ok_agents = by_agent is not None and not by_agent.empty and "reply_rate" in by_agent.columns
        mat = agent_rate_matrix(by_agent) if ok_agents else ([], None, np.zeros((0, 0)), 0)
        n_agents = sum(not is_heading(x) for x in mat[0])
        if by_agent is None:
            fig = _new_figure(11, 4.4)
            axes = [fig.add_subplot()]
        else:
            h2 = 0.32 * max(n_agents, 3) + 1.3
            fig = _new_figure(11, 4.4 + h2)
            axes = fig.subplots(2, 1, height_ratios=[4.4, h2])
        ax = axes[0]
        ax.set_title(title or _t(lang, f"{rate_name} · 按天", f"{rate_name} by day"))
        if daily is None or daily.empty or "reply_rate" not in daily.columns:
            _draw_no_data(ax, lang)
        else:
            d = daily.sort_values(["shop", "date"], kind="stable")
            for i, (shop, g) in enumerate(d.groupby("shop", sort=True)):
                c = _COLORS[i % len(_COLORS)]
                g = _every_day(g)  # a day without consultations breaks the line
                x = _dates(g["date"])
                ax.plot(x, g["reply_rate"].to_numpy(dtype=float), marker="o", markersize=3.5,
                        color=c, linewidth=1.8, label=str(shop), zorder=3)
                roll = rolling_rate(g, rolling_days) if rolling_days and rolling_days > 1 else None
                if roll is not None and roll.notna().sum() > 1:
                    ax.plot(x, roll.to_numpy(dtype=float), color=c, linewidth=1.2, linestyle=":",
                            zorder=2,
                            label=_t(lang, f"近{rolling_days}日", f"last {rolling_days} days"))
            _rate_axis(ax, ths, lang)
            _date_axis(ax, _dates(d["date"]))
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        if by_agent is not None:
            ax2 = axes[1]
            name = _t(lang, f"{rate_name} · 按客服 × 天", f"{rate_name} by agent and day")
            if mat[3] > n_agents:
                name += _t(lang, f" (咨询最多的 {n_agents}/{mat[3]} 位)",
                           f" (busiest {n_agents} of {mat[3]})")
            ax2.set_title(name)
            if not n_agents:
                _draw_no_data(ax2, lang)
            else:
                _rate_heatmap(fig, ax2, *mat[:3])
        return fig

    return _build(body, font, lang)


def _rate_heatmap(fig, ax, labels: list[str], dates: np.ndarray, m: np.ndarray) -> None:
    import matplotlib
    from matplotlib.ticker import PercentFormatter

    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#eeeeee")
    im = ax.imshow(np.ma.masked_invalid(m), aspect="auto", cmap=cmap, vmin=0.4, vmax=1.0,
                   interpolation="nearest")
    ax.set_yticks(range(len(labels)), labels)
    _bold_headings(ax)
    for r, lab in enumerate(labels):  # a shop's heading row is not "no data": no grey
        if is_heading(lab):
            ax.axhspan(r - 0.5, r + 0.5, color="white", zorder=2)
    ax.set_xticks(range(len(dates)), [pd.Timestamp(x).strftime("%m-%d") for x in dates])
    ax.spines[:].set_visible(False)
    rows, cols = np.nonzero(~np.isnan(m))
    for r, c in zip(rows, cols):
        ax.text(c, r, f"{m[r, c] * 100:.0f}", ha="center", va="center", fontsize=7,
                color="#222222")
    fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01, format=PercentFormatter(1.0, decimals=0))
