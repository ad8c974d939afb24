"""The monthly report's 绩效考核 section (`cskit report --month 2026-11`): ``score.csv`` (one
row per agent), ``score_breakdown.csv`` (one row per agent and KPI) and the page's table.
The scores are those of `cskit score --month` (:func:`cskit.scoring.score_month`)."""

from __future__ import annotations

import re

__all__ = ["FILE", "BREAKDOWN", "collect_score", "score_html", "extra_columns", "kpi_name",
           "points_labels"]

FILE = "score.csv"
BREAKDOWN = "score_breakdown.csv"


def extra_columns() -> dict:
    """Labels (zh, en, unit) of the score files' own columns, for the report's CSV headers."""
    return {"score": ("总分", "Score", "points"), "bonus": ("提成(元)", "Bonus", "yuan"),
            "kpis_scored": ("计分指标", "KPIs scored", "text"),
            "kpis_left_out": ("未计入指标(数值未知)", "KPIs left out (unknown)", "text"),
            "kpi": ("指标", "KPI", "text"), "value": ("数值", "Value", "ratio"),
            "points": ("得分", "Points", "points"), "weight": ("权重", "Weight", "points"),
            "weight_used": ("实际权重", "Weight used", "rate"),
            "contribution": ("贡献分", "Contribution", "points"),
            "rule": ("计分规则", "Rule", "text")}


def kpi_name(key: str, lang: str = "zh") -> str:
    """A KPI's label in ``lang`` (the key itself when the registry has none)."""
    from cskit.metrics import label

    try:
        return label(key, lang)
    except KeyError:
        return key


def points_labels(scheme) -> dict:
    """``points_<key>`` → (zh, en, unit) for the scheme's KPIs: the KPI's name without its
    unit ("(秒)") — the cell is points, not seconds — and 得分 / points."""
    return {f"points_{r.key}": (re.sub(r"[(（][^)）]*[)）]", "", kpi_name(r.key, "zh")) + "得分",
                                re.sub(r"\s*\([^)]*\)", "", kpi_name(r.key, "en")) + " points",
                                "points")
            for r in scheme.rules}


def collect_score(store, data, *, month: str, scheme_path=None, targets_path=None,
                  strict: bool = False) -> None:
    """``data.score``: the month's :class:`cskit.scoring.Scored` (None when it failed — a note
    says why; a bad scheme or targets file is the user's error and is raised)."""
    from cskit.errors import CskitError
    from cskit.i18n import tr
    from cskit.report import EXTRA_COLUMNS, Note
    from cskit.scoring import score_month

    data.score = None
    try:
        data.score = score_month(store, month=month, rule=data.rule, shops=data.shops,
                                 scheme_path=scheme_path, targets_path=targets_path)
    except CskitError:
        raise
    except Exception as exc:  # noqa: BLE001 — an optional section must not sink the report
        if strict:
            raise
        data.notes.append(Note("score", tr("scoring failed ({error})", error=type(exc).__name__),
                               warning=True))
        return
    EXTRA_COLUMNS.update(points_labels(data.score.scheme))  # the CSV headers of points_<key>


def score_html(data, table, clip) -> list[str]:
    """The section: every agent's score, bonus and points per KPI, and what was left out."""
    from cskit.render import Column

    sc = getattr(data, "score", None)
    if sc is None:
        return []
    out = [f"<h2>绩效考核 · {clip(sc.month)} · {clip(sc.scheme.name)}</h2>"]
    if sc.summary.empty:
        out.append('<p class="nodata">本月没有可计分的客服</p>')
        return out
    names = {r.key: kpi_name(r.key) for r in sc.scheme.rules}
    weights = "、".join(f"{clip(names[r.key])} {r.weight:g}" for r in sc.scheme.rules)
    out.append(f"<p>方案权重: {weights}. 每项得分满分 100; 数值未知的指标不计入, 其权重按比例分给其余指标. "
               f'每一分的来历见 <a href="{BREAKDOWN}">{BREAKDOWN}</a> (数值、分档、权重、贡献分).</p>')
    labels = points_labels(sc.scheme)
    cols = [Column("shop", "店铺", "shop"), Column("agent_id", "客服", "agent"),
            Column("score", "总分", "score", "points"), Column("bonus", "提成(元)", "bonus", "yuan")]
    cols += [Column(k, zh, en, unit) for k, (zh, en, unit) in labels.items()]
    cols.append(Column("kpis_left_out", "未计入(数值未知)", "left out", "text"))
    frame = sc.summary.sort_values(["shop", "score"], ascending=[True, False], kind="stable")
    frame = frame.assign(kpis_left_out=["、".join(names.get(k, k) for k in x.split(",")) if x else ""
                                        for x in frame["kpis_left_out"]])
    out.append(table(frame[[c.key for c in cols]], cols))
    return out
