"""The weekly report's 买家意见反馈 section (issue 15): per shop and department, the buyers
and messages of the period and the top three things buyers said (digits masked).  The
report (:mod:`cskit.report`) calls :func:`collect_voice` and :func:`voice_html`."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from cskit.render import Column

__all__ = ["collect_voice", "voice_summary", "voice_html", "VOICE_REPORT_COLUMNS", "TOP_ITEMS"]

TOP_ITEMS = 3
#: voice.csv (CSV keys; docs/report.md)
VOICE_REPORT_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("department", "部门", "department"),
    Column("buyers", "买家数", "buyers", "count"),
    Column("messages", "消息数", "messages", "count"),
    Column("top_quotes", "买家原话 (前三)", "top buyer quotes", wrap=True),
    Column("department_id", "部门代码", "department id"),
]


def voice_summary(feedback: pd.DataFrame, shops: list[str], rules=None, *,
                  top: int = TOP_ITEMS) -> pd.DataFrame:
    """Per shop (every one of ``shops``) and department: buyers, messages, the ``top``
    quotes (most frequent wording first) over the period rows of ``feedback``."""
    from cskit.text.voice import QUOTE_SEP, top_quotes
    from cskit.text.voice_rules import load_voice_rules

    vr = load_voice_rules(rules)
    keys = ["shop", "department_id"]
    grid = pd.DataFrame({"shop": shops}).merge(pd.DataFrame({"department_id": list(vr.ids())}),
                                               how="cross")
    fb = feedback[feedback["in_period"].astype(bool)] if "in_period" in feedback else feedback
    if len(fb):
        fb = fb.assign(shop=fb["shop"].astype(object), department_id=fb["department_id"].astype(object))
        agg = fb.groupby(keys, sort=False).agg(buyers=("buyer_id", "nunique"),
                                               messages=("buyer_id", "size")).reset_index()
        q = top_quotes(fb, keys, top)
        q["top_quotes"] = q["quotes"].map(QUOTE_SEP.join)
        agg = agg.merge(q[keys + ["top_quotes"]], on=keys, how="left")
    else:
        agg = pd.DataFrame(columns=keys + ["buyers", "messages", "top_quotes"])
    out = grid.merge(agg, on=keys, how="left")
    for c in ("buyers", "messages"):
        out[c] = out[c].fillna(0).astype(np.int64)
    out["top_quotes"] = out["top_quotes"].astype(object).where(out["top_quotes"].notna(), None)
    out["department"] = out["department_id"].map(vr.names("zh"))
    return out[[c.key for c in VOICE_REPORT_COLUMNS]]


def collect_voice(store, data, strict: bool = False) -> None:
    """``data.voice`` for the report's period and shops (a note instead when it fails)."""
    from cskit.errors import CskitError
    from cskit.i18n import tr
    from cskit.text.voice_frames import voice_frames

    try:
        feedback, weeks = voice_frames(store, shops=data.shops, period=data.period)
        # shops whose buyers wrote nothing in the period get no rows (unknown, not 0)
        seen = weeks[weeks["report"].astype(bool) & weeks["has_data"].astype(bool)]["shop"]
        data.voice = voice_summary(feedback, [s for s in data.shops if s in set(seen)])
    except (CskitError, KeyError, ValueError, TypeError) as exc:
        if strict:
            raise
        from cskit.report import Note

        data.notes.append(Note("voice", tr("buyers' voice not analysed ({error})",
                                           error=type(exc).__name__), warning=True))


def voice_html(data, clip) -> str:
    """The section: per shop, one row per department with its top three buyer quotes."""
    e = html.escape
    out = ["<h2>买家意见反馈 (按部门)</h2>"]
    v = getattr(data, "voice", None)
    if v is None:
        out.append('<p class="nodata">无数据</p>')
        return "\n".join(out)
    out.append("<p>买家消息按规则转交各部门 (规则见 docs/text.md, 可用店铺自己的规则文件); "
               "每个部门列出本期最常见的三种说法 (号码已隐去). 完整名单: "
               "<code>cskit voice --list</code>; 每个部门一个 CSV: <code>cskit voice --out 文件夹</code>. "
               '汇总见 <a href="voice.csv">voice.csv</a>.</p>')
    for shop, part in v.groupby("shop", sort=False):
        if len(data.shops) > 1:
            out.append(f"<h3>{e(str(shop))}</h3>")
        rows = []
        for r in part.itertuples():
            quotes = [clip(q) for q in (r.top_quotes or "").split(" | ") if q]
            items = "".join(f"<li>{e(q)}</li>" for q in quotes) or "—"
            rows.append(f"<tr><th>{e(str(r.department))}</th><td class=\"n\">{int(r.buyers)}</td>"
                        f"<td class=\"n\">{int(r.messages)}</td>"
                        f"<td>{'<ol>' + items + '</ol>' if quotes else items}</td></tr>")
        out.append("<table><tr><th>部门</th><th>买家数</th><th>消息数</th><th>买家原话 (前三)</th></tr>"
                   + "".join(rows) + "</table>")
    return "\n".join(out)
