"""`cskit score`: the monthly 绩效考核 — one explained score (and 提成) per agent, from a
TOML scheme over the per-agent report.  The library is :mod:`cskit.metrics.score`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import Fmt, RuleOpt, RuleOption, check_excel, shared_options
from cskit.i18n import tr
from cskit.render import Column, emit, stderr_console

__all__ = ["run_score"]

BREAKDOWN_VIEW = [
    Column("shop", "店铺", "shop"),
    Column("agent_id", "客服", "agent"),
    Column("kpi_label", "指标", "KPI"),
    Column("value_text", "数值", "value"),
    Column("points", "得分", "points", "points"),
    Column("weight", "权重", "weight", "points"),
    Column("weight_used", "实际权重", "weight used", "rate"),
    Column("contribution", "贡献分", "contribution", "points"),
    Column("rule", "计分规则", "rule", wrap=True),
]
BREAKDOWN_MACHINE = [Column(k, k, k, u) for k, u in (
    ("shop", "text"), ("agent_id", "text"), ("kpi", "text"), ("value", "ratio"),
    ("points", "points"), ("weight", "points"), ("weight_used", "ratio"),
    ("contribution", "points"), ("rule", "text"))]


def _value_text(values, keys, lang: str) -> list[str]:
    """Each KPI value as the tables show it (its registry unit; — when unknown)."""
    from cskit.metrics.registry import kpi
    from cskit.render import human_value

    def unit(k):
        try:
            return kpi(k).unit
        except KeyError:
            return "count"

    return [human_value(v, unit(k)) for v, k in zip(values, keys)]


def run_score(store, *, month: str | None, scheme_path: Path | None, targets_path: Path | None,
              shops=None, rule, explain: bool = False, fmt: str = "table", lang: str = "zh",
              output=None, wide: bool = False, excel: bool = False):
    from cskit.report_score import kpi_name, points_labels
    from cskit.scoring import score_month

    sc = score_month(store, month=month, rule=rule, shops=shops, scheme_path=scheme_path,
                     targets_path=targets_path)
    mon, scheme, summary, breakdown, unknown = sc.month, sc.scheme, sc.summary, sc.breakdown, \
        sc.unknown

    con = stderr_console()
    for shop in unknown:
        con.print("note: " + tr("{shop}: conversion unknown this month; KPIs that need orders are "
                                "left out of its agents' scores", lang, shop=shop), markup=False)
    if (summary["kpis_left_out"] != "").any() and fmt == "table":
        con.print("note: " + tr("a KPI left out of an agent's score (unknown value) has its weight "
                                "shared by the other KPIs in proportion", lang), markup=False)
    meta = {"month": mon, "scheme": scheme.name, "scheme_file": scheme.source,
            "weights": {r.key: r.weight for r in scheme.rules}, "rule": rule.name}
    title_zh = f"绩效考核 · {mon} · {scheme.name} · 各指标得分(满分100)"
    title_en = f"Monthly score · {mon} · {scheme.name} · points per KPI (of 100)"
    title = title_zh if lang == "zh" else title_en
    with output_file(output, fmt) as handle:
        if explain:
            if fmt in ("table", "xlsx"):
                view = breakdown.assign(
                    kpi_label=[kpi_name(k, lang) for k in breakdown["kpi"]],
                    value_text=_value_text(breakdown["value"].tolist(), breakdown["kpi"].tolist(),
                                           lang))
                emit(view, BREAKDOWN_VIEW, fmt, out=handle, lang=lang,
                     title=title + (" · 明细" if lang == "zh" else " · breakdown"), wide=wide,
                     excel=excel)
            else:
                emit(breakdown, BREAKDOWN_MACHINE, fmt, out=handle, lang=lang, meta=meta,
                     excel=excel)
            return summary, breakdown
        cols = [Column("shop", "店铺", "shop"), Column("agent_id", "客服", "agent"),
                Column("score", "总分", "score", "points"),
                Column("bonus", "提成(元)", "bonus (yuan)", "yuan")]
        cols += [Column(key, zh, en, unit, optional=1)
                 for key, (zh, en, unit) in points_labels(scheme).items()]
        if fmt in ("table", "xlsx"):
            view = summary.copy()
            view["left_out_text"] = [
                "、".join(kpi_name(k, lang) for k in s.split(",")) if s else ""
                for s in summary["kpis_left_out"]]
            if (summary["kpis_left_out"] != "").any():
                cols.append(Column("left_out_text", "未计入(数值未知)", "left out (unknown)",
                                   wrap=True))
            emit(view, cols, fmt, out=handle, lang=lang, title=title, wide=wide, excel=excel)
        else:
            cols += [Column("kpis_scored", "kpis_scored", "kpis_scored"),
                     Column("kpis_left_out", "kpis_left_out", "kpis_left_out")]
            emit(summary, cols, fmt, out=handle, lang=lang, title=title, meta=meta, excel=excel)
    return summary, breakdown


@app.command("score")
@boundary
@shared_options
def score_cmd(
    month: Annotated[Optional[str], typer.Option("--month", help="The month to score, e.g. 2026-11 (default: last month).")] = None,
    scheme: Annotated[Optional[Path], typer.Option("--scheme", help="A scoring scheme (TOML); default: the sample scheme (docs/score.md).")] = None,
    targets: Annotated[Optional[Path], typer.Option("--targets", help="Sales targets per agent and month (CSV: agent_id/客服, month/月份, sales_target/销售目标[, shop/店铺]).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="One row per agent and KPI: value, band or line, points, weight, contribution.")] = False,
    rule: RuleOption = RuleOpt.pdd5,
    store=None, shop=None, wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """绩效考核: one score per agent for a month from a weighted KPI scheme, with the 提成 and how each point was reached."""
    from cskit.metrics import get_rule

    check_excel(excel, fmt)
    run_score(open_store(store), month=month, scheme_path=scheme, targets_path=targets,
              shops=shop, rule=get_rule(rule.value), explain=explain, fmt=fmt.value,
              lang=lang.value, output=output, wide=wide, excel=excel)
