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
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from cskit.errors import UsageError

__all__ = [
    "CJKFont", "FontMissingError", "Threshold", "DEFAULT_THRESHOLDS", "KINDS", "FONT_HINT",
    "find_cjk_font", "reply_rate", "load", "agents", "lost", "no_data", "save", "to_png",
    "rolling_rate", "headline_counts",
]

#: chart kinds of ``cskit chart``
KINDS = ("reply-rate", "load", "agents", "lost")

#: families tried in this order (Simplified Chinese first, then other CJK fonts that
#: cover the Simplified Chinese characters cskit draws)
PREFERRED_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "思源黑体", "Source Han Sans", "Sarasa Gothic SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "文泉驿微米黑", "文泉驿正黑", "Microsoft YaHei", "微软雅黑", "PingFang SC", "Hiragino Sans GB",
    "Heiti SC", "STHeiti", "SimHei", "黑体", "Noto Serif CJK SC", "Noto Sans CJK TC",
    "Noto Sans CJK HK", "Noto Sans CJK JP", "Noto Sans CJK KR", "Droid Sans Fallback",
    "AR PL UMing CN", "AR PL UKai CN", "LXGW WenKai", "Arial Unicode MS",
)
#: pip packages that ship a CJK font file: (import name, files inside the package, in order
#: of preference).  ``noto-cjk-sans-otc`` is the ``fonts`` extra of cskit.
FONT_PACKAGES = (
    ("noto_cjk_sans_otc", ("NotoSansCJK-Regular.ttc",)),
    ("mplfonts", ("fonts/NotoSansCJKsc-Regular.otf", "fonts/SourceHanSerifSC-Regular.otf",
                  "fonts/NotoSerifCJKsc-Regular.otf")),
)
#: characters a usable CJK font must draw
_PROBE = "回复率客服店铺询单流失周一"
FONT_HINT = ("pip install 'cskit[fonts]' (Noto Sans CJK), or apt-get install fonts-noto-cjk "
             "(Debian/Ubuntu), or set CSKIT_FONT to a .ttf/.otf/.ttc file")
#: the font every matplotlib install has: glyphs it lacks need the CJK font
_FALLBACK = "DejaVu Sans"

#: shown as an empty chart's message
NO_DATA = {"zh": "无数据", "en": "no data"}

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39"]
_GOOD, _BAD = "#2ca02c", "#d62728"
_MAX_BARS = 25  # agents per chart (beyond: the busiest are kept)


class FontMissingError(UsageError):
    """A chart holds Chinese (or other) text and no font on this machine can draw it."""


@dataclass(frozen=True)
class CJKFont:
    family: str  #: matplotlib family name
    path: str  #: the font file
    source: str  #: "CSKIT_FONT", "matplotlib", "package:<name>" or "fontconfig"


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


# ------------------------------------------------------------------------------------------
# fonts
# ------------------------------------------------------------------------------------------
def find_cjk_font() -> CJKFont | None:
    """The CJK font charts use, or None when this machine has none.

    Looked for in this order: the ``CSKIT_FONT`` environment variable (a font
    file, or an installed family name; an unusable value is a
    :class:`~cskit.errors.UsageError`); fonts matplotlib already knows, by
    :data:`PREFERRED_FAMILIES`; font files shipped by pip packages
    (:data:`FONT_PACKAGES`: ``noto-cjk-sans-otc`` = ``pip install 'cskit[fonts]'``,
    or ``mplfonts``); finally fontconfig (``fc-list :lang=zh``), which also finds
    fonts installed after matplotlib built its font cache.  A font must draw a
    few common Chinese characters to be chosen.  The result is cached per value
    of ``CSKIT_FONT``.
    """
    return _find_cjk_font(os.environ.get("CSKIT_FONT") or None)


@functools.lru_cache(maxsize=8)
def _find_cjk_font(env: str | None) -> CJKFont | None:
    if env:
        return _from_env(env)
    return _from_matplotlib() or _from_packages() or _from_fontconfig()


def _font_manager():
    from matplotlib import font_manager

    return font_manager.fontManager


def _covers(path: str, text: str = _PROBE) -> bool:
    try:
        from matplotlib.ft2font import FT2Font

        cmap = FT2Font(path).get_charmap()
    except Exception:  # noqa: BLE001 - an unreadable font is simply not used
        return False
    return all(ord(c) in cmap for c in text)


def _register(path: str) -> list[str]:
    """Add a font file to matplotlib; the family names it registered."""
    fm = _font_manager()
    known = [e.name for e in fm.ttflist if e.fname == path]
    if known:
        return known
    try:
        fm.addfont(path)
    except Exception:  # noqa: BLE001
        return []
    return [e.name for e in fm.ttflist if e.fname == path]


def _best_family(names: Sequence[str]) -> str | None:
    for fam in PREFERRED_FAMILIES:
        if fam in names:
            return fam
    return names[0] if names else None


def _from_env(value: str) -> CJKFont:
    p = Path(value).expanduser()
    if p.is_file():
        fam = _best_family(_register(str(p)))
        if fam is None or not _covers(str(p)):
            raise UsageError("CSKIT_FONT={value}: not a font that can draw Chinese text",
                             hint=FONT_HINT, value=value)
        return CJKFont(fam, str(p), "CSKIT_FONT")
    entries = [e for e in _font_manager().ttflist if e.name == value]
    for e in entries:
        if _covers(e.fname):
            return CJKFont(value, e.fname, "CSKIT_FONT")
    raise UsageError("CSKIT_FONT={value}: no such font file or installed font family that draws Chinese text",
                     hint=FONT_HINT, value=value)


def _from_matplotlib() -> CJKFont | None:
    entries: dict[str, list] = {}
    for e in _font_manager().ttflist:
        entries.setdefault(e.name, []).append(e)
    for fam in PREFERRED_FAMILIES:
        # regular weight, upright first
        for e in sorted(entries.get(fam, ()), key=lambda e: (e.style != "normal",
                                                             abs(_weight(e.weight) - 400))):
            if _covers(e.fname):
                return CJKFont(fam, e.fname, "matplotlib")
    return None


def _weight(w) -> int:
    if isinstance(w, (int, float)):
        return int(w)
    from matplotlib.font_manager import weight_dict

    return int(weight_dict.get(str(w), 400))


def _package_dir(name: str) -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _from_packages() -> CJKFont | None:
    for name, files in FONT_PACKAGES:
        d = _package_dir(name)
        if d is None:
            continue
        for rel in files:
            p = d / rel
            if p.is_file() and _covers(str(p)):
                fam = _best_family(_register(str(p)))
                if fam:
                    return CJKFont(fam, str(p), f"package:{name}")
    return None


def _from_fontconfig() -> CJKFont | None:
    exe = shutil.which("fc-list")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, ":lang=zh", "--format", "%{family[0]}\t%{file}\n"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = {}
    for line in out.splitlines():
        fam, _, path = line.partition("\t")
        if path:
            found.setdefault(fam.strip(), path.strip())
    order = [f for f in PREFERRED_FAMILIES if f in found] + sorted(set(found) - set(PREFERRED_FAMILIES))
    for fam in order:
        path = found[fam]
        if _covers(path):
            names = _register(path)
            best = fam if fam in names else _best_family(names)
            if best:
                return CJKFont(best, path, "fontconfig")
    return None


@functools.lru_cache(maxsize=1)
def _fallback_charmap() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=_FALLBACK),
                                 fallback_to_default=True)
    return frozenset(FT2Font(path).get_charmap())


def _undrawable(texts: Iterable[str]) -> str:
    """Characters of ``texts`` the fallback font has no glyph for."""
    cmap = _fallback_charmap()
    bad = {c for t in texts for c in t if not c.isspace() and ord(c) not in cmap}
    return "".join(sorted(bad))


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
# reply rate
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# load
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# agents
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# lost-sale reasons
# ------------------------------------------------------------------------------------------
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

