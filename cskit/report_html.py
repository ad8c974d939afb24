"""The weekly report's page, index.html: headline vs the period before, the worst agents, the
unreplied list, lost-sale reasons, the 催付 list, the sections of report_promises /
report_score / report_answers / products / report_voice, the charts and the file list.

:func:`_html` turns a collected :class:`~cskit.report_data.ReportData` (and the one of the
period before) into one HTML string (every value escaped; buyers' messages clipped, their
digits masked).  Not here: computing the frames (:mod:`cskit.report_data`), the names of
files and columns (:mod:`cskit.report_labels`), writing files (:mod:`cskit.report`).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from cskit.metrics import BOT_AGENT, UNASSIGNED
from cskit.render import Column, display_frame, human_value
from cskit.report_data import WINDOW_DAYS, _row_values, period_words, previous_period
from cskit.report_labels import EXTRA_COLUMNS, FILES, _unit, table_columns
from cskit import report_promises, report_score

__all__ = ["HEADLINE", "TOP_N", "WORST_AGENTS", "CONTENT_CHARS"]

#: rows of the unreplied / unpaid lists shown in index.html (the CSVs hold all)
TOP_N = 20
WORST_AGENTS = 10
CONTENT_CHARS = 80

#: (key, higher is better) of the headline table, in order; rows appear when present.
#: Response times are medians and P90s (week-over-week deltas of a mean would follow one
#: overnight wait); the capped mean only where the rule defines it (:func:`_headline`)
HEADLINE = (
    ("consult_buyers", None), ("unreplied_buyers", False), ("unreplied_closing_buyers", None),
    ("rounds", None),
    ("rounds_on_time", True), ("messages", None), ("messages_on_time", True),
    ("sessions", None), ("sessions_on_time", True), ("reply_rate", True),
    ("first_response_s_median", False), ("first_response_s_p90", False),
    ("response_s_median", False), ("response_s_p90", False), ("response_s_capped_mean", False),
    ("answer_ratio", None), ("answered_30s_rate", True), ("slow_buyers", False),
    ("buyer_messages", None),
    ("inquiry_buyers", None), ("paid_buyers", True), ("inquiry_conversion", True),
    ("sales", True), ("avg_order_value", None), ("silent_orders", None),
    ("unmatched_orders", None),
)


_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",
 "Source Han Sans SC",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;
 padding-bottom:4px} .meta{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #ddd;
 padding:4px 8px} th{background:#f5f5f5;text-align:left} td.n{text-align:right;white-space:nowrap}
.good{color:#1a7f37} .bad{color:#cf222e} .note{background:#fff8e1;border-left:4px solid #f0b400;
 padding:6px 10px;margin:6px 0;font-size:13px} img{max-width:100%;border:1px solid #eee;margin:8px 0}
.nodata{color:#777;font-style:italic} .shops{display:flex;flex-wrap:wrap;gap:0 24px}
h3{font-size:15px;margin:12px 0 4px}
"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _fmt(v, unit: str) -> str:
    return human_value(v, unit)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


def _delta(key: str, now, before, better: bool | None) -> tuple[str, str]:
    if _missing(now) or _missing(before):
        return "—", ""
    unit = _unit(key)
    d = float(now) - float(before)
    if unit == "rate":
        txt = f"{d * 100:+.1f} 个百分点"
    elif unit == "seconds":
        txt = f"{d:+.1f} 秒"
    elif unit == "yuan":
        txt = f"{'+' if d >= 0 else '-'}¥{abs(d):,.2f}"
    elif unit == "ratio":
        txt = f"{d:+.2f}"
    else:
        txt = f"{d:+,.0f}"
        if float(before):
            txt += f" ({d / float(before) * 100:+.1f}%)"
    cls = ""
    if better is not None and d != 0:
        cls = "good" if (d > 0) == better else "bad"
    return txt, cls


def _label(key: str, rule) -> str:
    from cskit.metrics import label

    if key == "reply_rate":
        return rule.label_zh
    try:
        return label(key, "zh")
    except KeyError:
        return EXTRA_COLUMNS.get(key, (key,))[0]


def _table(frame: pd.DataFrame, cols: list[Column]) -> str:
    frame = display_frame(frame, cols)  # agents named within their shop, as in every table
    head = "".join(f"<th>{_e(c.label_zh)}</th>" for c in cols)
    rows = []
    for rec in frame.itertuples(index=False):  # a short, shown table: at most TOP_N rows
        d = dict(zip(frame.columns, rec))
        cells = []
        for c in cols:
            v = d.get(c.key)
            num = c.unit in ("count", "rate", "seconds", "ratio", "yuan", "int")
            attr = ' class="n"' if num else ""
            cells.append(f"<td{attr}>{_e(_fmt(v, c.unit))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _html(data, previous, cur, prev, written, chart_files, notes, *, title, top_n, generated_at,
          excel) -> str:
    rule = data.rule
    p = data.period
    pp = previous.period if previous is not None else previous_period(p)
    iso = ""
    if p.since and p.until and (p.until - p.since).days == 6 and p.since.weekday() == 0:
        y, w, _ = p.since.isocalendar()
        iso = f"{y}-W{w:02d} "
    shops = "、".join(data.shops)
    this, last = period_words(p)
    title = title or f"客服周报 {shops} {iso}".strip()
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f'<p class="meta">统计周期 {_e(p.label("zh"))}'
           + (f" · 对比{last} {_e(pp.label('zh'))}" if pp else "")
           + f" · 规则 {_e(rule.label_zh)} (超过 {_e(rule.threshold_s)} 秒未回复算超时, "
             f"时段 {_e(rule.window_label)}) · 生成于 {_e(generated_at.isoformat(sep=' '))}</p>"]
    for n in notes:
        out.append(f'<p class="note">{_e(n.text)}</p>')

    # headline
    out.append(f"<h2>核心指标 ({this} vs {last})</h2><div class=\"shops\">")
    for shop in data.shops:
        c, q = _row_values(cur, shop), _row_values(prev, shop)
        out.append("<div>")
        if len(data.shops) > 1:
            out.append(f"<h3>{_e(shop)}</h3>")
        if not c:
            out.append(f'<p class="nodata">{this}无数据</p></div>')
            continue
        rows = []
        for key, better in HEADLINE:
            if key not in c or (key == "response_s_capped_mean" and not rule.capped_mean):
                continue
            unit = _unit(key)
            now, before = c.get(key), q.get(key)
            dtxt, cls = _delta(key, now, before, better)
            rows.append(f"<tr><th>{_e(_label(key, rule))}</th><td class=\"n\">{_e(_fmt(now, unit))}"
                        f"</td><td class=\"n\">{_e(_fmt(before, unit)) if q else '—'}</td>"
                        f"<td class=\"n {cls}\">{_e(dtxt)}</td></tr>")
        out.append(f"<table><tr><th>指标</th><th>{this}</th><th>{last}</th><th>变化</th></tr>"
                   + "".join(rows) + "</table></div>")
    out.append("</div>")
    if "reply_rate.png" in chart_files:
        out.append('<img src="reply_rate.png" alt="回复率趋势">')

    # worst agents
    out.append("<h2>回复率最低的客服</h2>")
    agents = data.agents_frame()
    if agents is None or agents.empty or "reply_rate" not in agents.columns:
        out.append('<p class="nodata">无数据</p>')
    else:
        pseudo = agents["agent_id"].isin([UNASSIGNED, BOT_AGENT])
        a = agents[agents["reply_rate"].notna() & ~pseudo]
        nobody = agents[pseudo & (agents["agent_id"] == UNASSIGNED)]
        if "unreplied_buyers" in nobody.columns and nobody["unreplied_buyers"].sum() > 0:
            parts = [f"{_e(r.shop)} {int(r.unreplied_buyers)} 人" for r in nobody.itertuples()
                     if r.unreplied_buyers > 0]
            out.append(f"<p>{_e(UNASSIGNED)} (没有任何客服回复过的买家, 不参与排名): "
                       + "、".join(parts) + "。</p>")
        sort_cols = ["reply_rate"] + (["consult_buyers"] if "consult_buyers" in a.columns else [])
        a = a.sort_values(sort_cols, ascending=[True] + [False] * (len(sort_cols) - 1),
                          kind="stable").head(WORST_AGENTS)
        keys = [k for k in ("shop", "agent_id", "consult_buyers", "unreplied_buyers",
                            "unreplied_closing_buyers", "reply_rate",
                            "first_response_s_median", "slow_buyers", "inquiry_conversion",
                            "sales")
                if k in a.columns]
        out.append(_table(a[keys], table_columns(a[keys], rule)) if len(a) else
                   '<p class="nodata">无数据</p>')
    if "agents.png" in chart_files:
        out.append('<img src="agents.png" alt="客服对比">')

    # unreplied
    out.append("<h2>未及时回复名单</h2>")
    u = data.unreplied if data.unreplied is not None else pd.DataFrame()
    if u.empty:
        out.append(f'<p class="nodata">{this}没有超时或未回复的消息</p>')
    else:
        never = u["wait_s"].isna().sum()
        top = u.assign(_never=u["wait_s"].isna()).sort_values(
            ["_never", "wait_s"], ascending=[False, False], kind="stable").head(top_n)
        if "content" in top.columns:
            from cskit.text.mask import mask_digits  # phone / order numbers: *** on the page

            top = top.assign(content=mask_digits(top["content"]).map(_clip))
        keys = [k for k in ("shop", "buyer_id", "sent_at", "wait_s", "agent", "content")
                if k in top.columns]
        out.append(f"<p>共 {len(u)} 条超时或未回复的买家消息 (其中 {never} 条始终未回复), "
                   f"显示等待最久的 {min(top_n, len(u))} 条; 完整名单见 "
                   f'<a href="unreplied.csv">unreplied.csv</a>.</p>')
        shown = top[keys].copy()
        shown["wait_s"] = [("未回复" if _missing(w) else f"{float(w):.0f}") for w in shown["wait_s"]]
        tcols = [Column(c.key, c.label_zh, c.label_en, "text" if c.key == "wait_s" else c.unit)
                 for c in table_columns(top[keys], rule)]
        out.append(_table(shown, tcols))
    if "load.png" in chart_files:
        out.append('<img src="load.png" alt="咨询量与超时分布">')

    # conversion & lost
    out.append("<h2>询单流失原因</h2>")
    lr = data.lost_reasons_total
    if lr is None or lr.empty:
        why = next((n.text for n in notes if n.section in ("lost", "conversion")), None)
        out.append(f'<p class="nodata">无数据{("：" + _e(why)) if why else ""}</p>')
    else:
        n_lost = int(lr["lost_buyers"].iloc[0]) if "lost_buyers" in lr.columns else None
        if n_lost is not None:
            out.append(f"<p>{n_lost} 个询单 (买家·天) 未在 {WINDOW_DAYS} 天内付款; 每人按主要原因计一次, "
                       "“提及” 为聊天中出现该原因的人数. 每个买家的原因见 "
                       '<a href="lost_buyers.csv">lost_buyers.csv</a>.</p>')
        keys = [k for k in ("reason", "buyers", "share", "mentions") if k in lr.columns]
        out.append(_table(lr[keys], table_columns(lr[keys], rule)))
    if "lost.png" in chart_files:
        out.append('<img src="lost.png" alt="询单流失原因">')
    if data.unpaid is not None:
        out.append("<h2>催付名单 (下单未付款)</h2>")
        if data.unpaid.empty:
            out.append('<p class="nodata">无</p>')
        else:
            top = data.unpaid.head(top_n)
            keys = [k for k in ("shop", "buyer_id", "order_id", "amount", "created_at", "agent")
                    if k in top.columns]
            out.append(f"<p>共 {len(data.unpaid)} 笔; 完整名单见 <a href=\"unpaid.csv\">unpaid.csv</a>.</p>")
            out.append(_table(top[keys], table_columns(top[keys], rule)))

    out.extend(report_promises.promises_html(data, _table, _clip))
    out.extend(report_score.score_html(data, _table, _clip))
    from cskit.report_answers import answers_html
    out += answers_html(data, _table, _e)
    from cskit.products.report import products_html
    out.append(products_html(data, top_n, _table))
    from cskit.report_voice import voice_html
    out.append(voice_html(data, _clip))

    # files
    out.append("<h2>文件</h2><ul>")
    for name in [n for n in FILES if n in written] + [n for n in written if n not in FILES]:
        out.append(f'<li><a href="{_e(name)}">{_e(name)}</a> — {_e(FILES.get(name, ""))}</li>')
    out.append("</ul>")
    if excel:
        out.append('<p class="meta">CSV 为 Excel 格式 (UTF-8 BOM, 中文表头); report.xlsx 为同样的表, '
                   "每个表一个工作表 (订单号等编号为文本, 比率为百分比).</p>")
    else:
        out.append('<p class="meta">CSV 为 UTF-8, 英文列名 (字段说明见 docs/report.md); '
                   "用 Excel 打开请加 --excel 重新生成.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _clip(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    s = " ".join(str(v).split())
    return s if len(s) <= CONTENT_CHARS else s[:CONTENT_CHARS - 1] + "…"
