"""The monthly 绩效考核: a scheme (TOML) of weighted KPIs turned into one explained score
per agent, plus an optional 提成 (bonus).

A scheme names KPI columns of the per-agent report (``cskit kpi --by agent``), each with a
weight and a way to turn its value into points:

- ``bands``: the first band whose range holds the value (``from`` inclusive, ``to``
  exclusive, a missing end open) gives the points;
- ``linear``: two ``[value, points]`` pairs; points on the straight line between them,
  clamped to the nearer pair outside.

An agent's score is the weighted mean of the points of the KPIs whose value is known for
that agent; a KPI whose value is unknown (empty: no matchable orders, no ratings, no target)
is left out and the remaining weights are scaled up to the same total (the row names the
KPIs left out).  With no known KPI the score is unknown, never 0.

The bonus: ``bonus.base`` (a KPI key or ``target_completion``) falls in a band that gives a
rate; the bonus is that rate times ``bonus.pay`` (default ``sales``).  Unknown base or pay:
unknown bonus.

Pure functions: nothing here reads the store or prints.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from cskit.errors import InputFileError, UsageError
from cskit.metrics.registry import KPI, register

__all__ = ["Band", "Rule", "Bonus", "Scheme", "load_scheme", "rule_points", "score_agents",
           "load_targets", "with_targets", "SCORE_COLUMNS", "BREAKDOWN_COLUMNS"]

#: the extra per-agent figure a targets file gives (销售目标完成率)
TARGET_KPI = register(KPI(
    "target_completion", "销售目标完成率", "Target completion", "rate",
    "the agent's 客服销售额 (sales) of the month divided by the agent's sales target for that "
    "month (a targets file: shop, agent, month, target); empty when the agent has no target or "
    "the sales are unknown", family="score"))

#: the summary columns :func:`score_agents` returns (``points_<key>`` per scheme KPI, in scheme
#: order, come after ``bonus``)
SCORE_COLUMNS = ["shop", "agent_id", "score", "bonus", "kpis_scored", "kpis_left_out"]
#: the long breakdown: one row per (agent, scheme KPI)
BREAKDOWN_COLUMNS = ["shop", "agent_id", "kpi", "value", "points", "weight", "weight_used",
                     "contribution", "rule"]


@dataclass(frozen=True)
class Band:
    lo: float | None  #: inclusive; None: open
    hi: float | None  #: exclusive; None: open
    value: float  #: points (a KPI band) or rate (a bonus band)

    def holds(self, v: np.ndarray) -> np.ndarray:
        ok = np.ones(len(v), dtype=bool)
        if self.lo is not None:
            ok &= v >= self.lo
        if self.hi is not None:
            ok &= v < self.hi
        return ok


@dataclass(frozen=True)
class Rule:
    key: str
    weight: float
    bands: tuple[Band, ...] = ()
    linear: tuple[tuple[float, float], tuple[float, float]] | None = None


@dataclass(frozen=True)
class Bonus:
    base: str
    pay: str
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Scheme:
    name: str
    rules: tuple[Rule, ...]
    bonus: Bonus | None
    source: str

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.rules]


# ----------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------
def _number(x, path: str, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise UsageError("{path}: {where} must be a number (got {got!r})", path=path,
                         where=where, got=x)
    return float(x)


def _bands(items, path: str, where: str, value_key: str) -> tuple[Band, ...]:
    if not isinstance(items, list) or not items:
        raise UsageError("{path}: {where} needs a non-empty list of bands", path=path, where=where)
    out = []
    for i, b in enumerate(items, 1):
        w = f"{where}[{i}]"
        if not isinstance(b, dict) or value_key not in b:
            raise UsageError("{path}: {where} needs {field} (and from / to)", path=path, where=w,
                             field=value_key)
        unknown = set(b) - {"from", "to", value_key}
        if unknown:
            raise UsageError("{path}: {where} has unknown fields {fields}", path=path, where=w,
                             fields=", ".join(sorted(unknown)))
        lo = _number(b["from"], path, w + ".from") if "from" in b else None
        hi = _number(b["to"], path, w + ".to") if "to" in b else None
        if lo is not None and hi is not None and lo >= hi:
            raise UsageError("{path}: {where}: from must be below to", path=path, where=w)
        out.append(Band(lo, hi, _number(b[value_key], path, f"{w}.{value_key}")))
    return tuple(out)


def _rule(item, path: str, i: int, known: set[str] | None) -> Rule:
    where = f"kpi[{i}]"
    if not isinstance(item, dict):
        raise UsageError("{path}: {where} must be a table", path=path, where=where)
    key = item.get("key")
    if not isinstance(key, str) or not key:
        raise UsageError("{path}: {where} needs key = a column of cskit kpi --by agent",
                         path=path, where=where)
    if known is not None and key not in known:
        raise UsageError("{path}: {where}: unknown KPI {key!r}", path=path, where=where, key=key,
                         hint="a column key of cskit kpi --by agent -f csv, or target_completion")
    weight = _number(item.get("weight"), path, where + ".weight")
    if weight <= 0:
        raise UsageError("{path}: {where}.weight must be above 0", path=path, where=where)
    has_b, has_l = "bands" in item, "linear" in item
    if has_b == has_l:
        raise UsageError("{path}: {where} needs exactly one of bands or linear", path=path,
                         where=where)
    if has_b:
        return Rule(key, weight, bands=_bands(item["bands"], path, where + ".bands", "points"))
    lin = item["linear"]
    if (not isinstance(lin, list) or len(lin) != 2
            or not all(isinstance(p, list) and len(p) == 2 for p in lin)):
        raise UsageError("{path}: {where}.linear must be two [value, points] pairs", path=path,
                         where=where)
    (v0, p0), (v1, p1) = [[_number(x, path, where + ".linear") for x in p] for p in lin]
    if v0 == v1:
        raise UsageError("{path}: {where}.linear needs two different values", path=path,
                         where=where)
    return Rule(key, weight, linear=((v0, p0), (v1, p1)))


def load_scheme(path: str | Path | None = None, *, known: set[str] | None = None) -> Scheme:
    """The scheme in ``path`` (default: the sample scheme shipped in ``cskit/data``).
    ``known``: the KPI keys a rule may name (checked when given)."""
    if path is None:
        text = resources.files("cskit.data").joinpath("score_scheme.toml").read_text("utf-8")
        source = "score_scheme.toml"
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as e:
            raise UsageError("{path}: cannot read the scheme ({strerror})", path=source,
                             strerror=e.strerror or e) from None
        except UnicodeDecodeError:
            raise UsageError("{path}: the scheme is not UTF-8 text", path=source) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError("{path}: not valid TOML ({why})", path=source, why=str(e)) from None
    items = raw.get("kpi")
    if not isinstance(items, list) or not items:
        raise UsageError("{path}: no [[kpi]] entries", path=source)
    rules = tuple(_rule(x, source, i, known) for i, x in enumerate(items, 1))
    keys = [r.key for r in rules]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise UsageError("{path}: KPI {key!r} appears twice", path=source, key=dup[0])
    bonus = None
    if "bonus" in raw:
        b = raw["bonus"]
        if not isinstance(b, dict) or not isinstance(b.get("base"), str):
            raise UsageError("{path}: [bonus] needs base = a KPI key", path=source)
        pay = b.get("pay", "sales")
        for k in (b["base"], pay):
            if known is not None and k not in known:
                raise UsageError("{path}: [bonus]: unknown KPI {key!r}", path=source, key=k,
                                 hint="a column key of cskit kpi --by agent -f csv, or "
                                      "target_completion")
        bonus = Bonus(b["base"], pay, _bands(b.get("bands"), source, "bonus.bands", "rate"))
    name = raw.get("name") if isinstance(raw.get("name"), str) else Path(source).stem
    return Scheme(name, rules, bonus, source)


# ----------------------------------------------------------------------------------------
# scoring
# ----------------------------------------------------------------------------------------
def _band_of(bands: tuple[Band, ...], v: np.ndarray) -> np.ndarray:
    """Index of the first band holding each value; -1: none (or the value is unknown)."""
    idx = np.full(len(v), -1)
    for i in range(len(bands) - 1, -1, -1):  # the first matching band wins
        idx = np.where(bands[i].holds(v), i, idx)
    return np.where(np.isnan(v), -1, idx)


def rule_points(rule: Rule, values) -> np.ndarray:
    """Points for each value (NaN where the value is unknown; 0 where no band holds it)."""
    v = np.asarray(values, dtype=float)
    if rule.linear is not None:
        (v0, p0), (v1, p1) = rule.linear
        lo, hi = sorted((v0, v1))
        t = (np.clip(v, lo, hi) - v0) / (v1 - v0)
        return p0 + t * (p1 - p0)
    idx = _band_of(rule.bands, v)
    pts = np.array([b.value for b in rule.bands] + [0.0])[idx]
    return np.where(np.isnan(v), np.nan, pts)


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return ""
    if unit == "rate":
        return f"{v * 100:g}%"
    if unit == "seconds":
        return f"{v:g}s"
    if unit == "yuan":
        return f"¥{v:,.0f}"
    return f"{v:g}"


def _range(b: Band, unit: str) -> str:
    if b.lo is None and b.hi is None:
        return "*"
    if b.lo is None:
        return f"< {_fmt(b.hi, unit)}"
    if b.hi is None:
        return f"≥ {_fmt(b.lo, unit)}"
    return f"[{_fmt(b.lo, unit)}, {_fmt(b.hi, unit)})"


def rule_text(rule: Rule, values, unit: str) -> list[str]:
    """How each value was scored, for a person: ``[90%, 95%) → 90``, ``10s→100 … 60s→0``."""
    v = np.asarray(values, dtype=float)
    if rule.linear is not None:
        (v0, p0), (v1, p1) = rule.linear
        line = f"{_fmt(v0, unit)}→{p0:g} … {_fmt(v1, unit)}→{p1:g}"
        return ["" if math.isnan(x) else line for x in v]
    idx = _band_of(rule.bands, v)
    texts = [f"{_range(b, unit)} → {b.value:g}" for b in rule.bands]
    return ["" if math.isnan(x) else (texts[i] if i >= 0 else "—") for x, i in zip(v, idx)]


def _unit(key: str) -> str:
    from cskit.metrics.registry import kpi

    try:
        return kpi(key).unit
    except KeyError:
        return "count"


def score_agents(frame: pd.DataFrame, scheme: Scheme) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, breakdown) for the agent rows of ``frame`` (``shop``, ``agent_id`` and the
    KPI columns the scheme names; a missing column counts as unknown for everyone).

    summary: :data:`SCORE_COLUMNS` + ``points_<key>`` per scheme KPI; breakdown:
    :data:`BREAKDOWN_COLUMNS`, one row per agent and scheme KPI, in scheme order."""
    n = len(frame)
    values = {r.key: (pd.to_numeric(frame[r.key], errors="coerce").to_numpy(float)
                      if r.key in frame.columns else np.full(n, np.nan)) for r in scheme.rules}
    points = {r.key: rule_points(r, values[r.key]) for r in scheme.rules}
    w = np.array([r.weight for r in scheme.rules])
    P = np.column_stack([points[r.key] for r in scheme.rules]) if n else np.zeros((0, len(w)))
    known = ~np.isnan(P)
    wk = np.where(known, w, 0.0)
    wsum = wk.sum(axis=1)
    share = np.divide(wk, wsum[:, None], out=np.zeros_like(wk), where=wsum[:, None] > 0)
    total = np.where(wsum > 0, np.nansum(np.where(known, P, 0.0) * share, axis=1), np.nan)

    summary = pd.DataFrame({"shop": frame["shop"].to_numpy(), "agent_id": frame["agent_id"].to_numpy(),
                            "score": np.round(total, 1)})
    summary["bonus"] = _bonus(frame, scheme.bonus, n)
    keys = np.array(scheme.keys, dtype=object)
    summary["kpis_scored"] = [",".join(keys[k]) for k in known]
    summary["kpis_left_out"] = [",".join(keys[~k]) for k in known]
    for j, r in enumerate(scheme.rules):
        summary[f"points_{r.key}"] = np.round(P[:, j], 1) if n else []
    points = [f"points_{r.key}" for r in scheme.rules]
    summary = summary[["shop", "agent_id", "score", "bonus", *points, "kpis_scored",
                       "kpis_left_out"]]

    parts = []
    for j, r in enumerate(scheme.rules):
        parts.append(pd.DataFrame({
            "shop": summary["shop"], "agent_id": summary["agent_id"], "kpi": r.key,
            "value": values[r.key], "points": np.round(P[:, j], 1) if n else [],
            "weight": r.weight, "weight_used": np.round(share[:, j], 4) if n else [],
            "contribution": np.round(np.where(known[:, j], P[:, j] * share[:, j], np.nan), 2)
            if n else [],
            "rule": rule_text(r, values[r.key], _unit(r.key))}))
    breakdown = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=BREAKDOWN_COLUMNS)
    order = np.argsort(np.tile(np.arange(n), len(scheme.rules)), kind="stable")
    return summary, breakdown.iloc[order].reset_index(drop=True)[BREAKDOWN_COLUMNS]


def _bonus(frame: pd.DataFrame, bonus: Bonus | None, n: int) -> np.ndarray:
    if bonus is None:
        return np.full(n, np.nan)

    def col(k):
        return pd.to_numeric(frame[k], errors="coerce").to_numpy(float) if k in frame.columns \
            else np.full(n, np.nan)

    base, pay = col(bonus.base), col(bonus.pay)
    idx = _band_of(bonus.bands, base)
    rate = np.where(idx >= 0, np.array([b.value for b in bonus.bands] + [0.0])[idx], 0.0)
    return np.round(np.where(np.isnan(base) | np.isnan(pay), np.nan, rate * pay), 2)


# ----------------------------------------------------------------------------------------
# targets
# ----------------------------------------------------------------------------------------
#: accepted headers of a targets file → canonical names
TARGET_HEADERS = {"shop": "shop", "店铺": "shop", "agent_id": "agent_id", "agent": "agent_id",
                  "客服": "agent_id", "客服账号": "agent_id", "month": "month", "月份": "month",
                  "sales_target": "sales_target", "target": "sales_target",
                  "销售目标": "sales_target", "目标销售额": "sales_target"}


def load_targets(path: str | Path) -> pd.DataFrame:
    """A targets file (CSV, UTF-8 or GB18030): ``agent_id``/客服, ``month``/月份 (YYYY-MM),
    ``sales_target``/销售目标 (元) and optionally ``shop``/店铺.  A bad row stops the load
    with its row number (a pay decision is never made on a guessed target)."""
    import io

    from cskit.readers.common import decode_bytes, read_bytes

    p = Path(path)
    raw = read_bytes(p)  # a missing or unreadable file: InputFileError with the reason
    try:
        text, _ = decode_bytes(raw, p)  # UTF-8 or GB18030, as every export cskit reads
    except InputFileError:
        raise UsageError("{path}: the targets file is not UTF-8 or GB18030 text",
                         path=str(p)) from None
    try:
        t = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise UsageError("{path}: the targets file is not a readable CSV ({why})", path=str(p),
                         why=str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    t.columns = [TARGET_HEADERS.get(str(c).strip(), str(c).strip()) for c in t.columns]
    missing = [c for c in ("agent_id", "month", "sales_target") if c not in t.columns]
    if missing:
        raise UsageError("{path}: the targets file needs columns {cols}", path=str(p),
                         cols=", ".join(missing), hint="agent_id (客服), month (月份, YYYY-MM), "
                                                      "sales_target (销售目标), optional shop (店铺)")
    if "shop" not in t.columns:
        t["shop"] = ""
    t = t[["shop", "agent_id", "month", "sales_target"]].apply(lambda s: s.str.strip())
    month_ok = t["month"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")
    target = pd.to_numeric(t["sales_target"].str.replace(",", "", regex=False), errors="coerce")
    bad = ~month_ok | target.isna() | (target <= 0) | t["agent_id"].eq("")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # 1-based, after the header line
        raise UsageError("{path}: row {row}: needs an agent, a month YYYY-MM and a target above 0",
                         path=str(p), row=row)
    t["sales_target"] = target
    dup = t.duplicated(["shop", "agent_id", "month"], keep=False)
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[1]) + 2
        raise UsageError("{path}: row {row}: a second target for the same agent and month",
                         path=str(p), row=row)
    return t.reset_index(drop=True)


def with_targets(frame: pd.DataFrame, targets: pd.DataFrame | None, month: str) -> pd.DataFrame:
    """``frame`` with ``sales_target`` and ``target_completion`` (sales / target) for
    ``month``; a target without a shop applies to that agent id in every shop."""
    out = frame.copy()
    out["sales_target"] = np.nan
    if targets is not None and len(targets):
        t = targets[targets["month"] == month]
        exact = t[t["shop"] != ""].set_index(["shop", "agent_id"])["sales_target"]
        anyshop = t[t["shop"] == ""].drop_duplicates("agent_id").set_index("agent_id")["sales_target"]
        idx = pd.MultiIndex.from_arrays([out["shop"], out["agent_id"]])
        out["sales_target"] = exact.reindex(idx).to_numpy()
        fill = out["agent_id"].map(anyshop).to_numpy(dtype=float)
        out["sales_target"] = np.where(np.isnan(out["sales_target"].to_numpy(float)), fill,
                                       out["sales_target"].to_numpy(float))
    sales = pd.to_numeric(out.get("sales"), errors="coerce") if "sales" in out else np.nan
    out["target_completion"] = sales / out["sales_target"]
    return out
