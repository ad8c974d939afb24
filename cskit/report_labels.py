"""What every file and column of the weekly report is called: :data:`FILES` (file name →
what it holds, in the order index.html lists them), :data:`EXTRA_COLUMNS` (labels of the
columns that are neither KPIs nor group keys) and :func:`table_columns` (render columns for
a frame: registry labels, the rule-named rate).  Used by the CSV/xlsx writer
(:mod:`cskit.report`) and the page (:mod:`cskit.report_html`).  Not here: computing the
frames (:mod:`cskit.report_data`) or writing anything.  :data:`EXTRA_COLUMNS` is one dict
that :mod:`cskit.report_score` extends with a scheme's ``points_<key>`` labels.
"""

from __future__ import annotations

import pandas as pd

from cskit.render import Column
from cskit import report_promises, report_score

__all__ = ["FILES", "EXTRA_COLUMNS", "table_columns"]

#: file name → what it holds (zh), in the order index.html lists them
FILES = {
    "kpi_by_day.csv": "每日客服指标",
    "kpi_by_agent.csv": "客服个人指标",
    "kpi_by_hour.csv": "分时段消息量",
    "kpi_by_shop.csv": "店铺汇总指标",
    "unreplied.csv": "未及时回复名单",
    "conversion_by_day.csv": "每日询单转化",
    "conversion_by_agent.csv": "客服询单转化与销售额",
    "conversion_by_shop.csv": "店铺询单转化汇总",
    "unpaid.csv": "催付名单 (下单未付款)",
    "lost_buyers.csv": "询单未购买买家",
    "lost_reasons.csv": "询单流失原因",
    report_promises.FILE: "日清: 客服承诺清单",
    report_score.FILE: "绩效考核: 每个客服的总分、提成和各项得分",
    report_score.BREAKDOWN: "绩效考核明细: 每项指标的数值、分档、权重和贡献分",
    "products.csv": "商品询单分析",
    "voice.csv": "买家意见反馈 (按部门)",
    "reply_rate.png": "图表: 回复率趋势",
    "load.png": "图表: 咨询量与超时分布",
    "agents.png": "图表: 客服对比",
    "lost.png": "图表: 询单流失原因",
    "answers.csv": "话术优化: 常见问题 × 客服回答与转化",
    "faq.md": "常见问题最佳回答 (FAQ 草稿)",
    "summary.json": "核心指标 (机器可读)",
    "report.xlsx": "Excel 工作簿: 每个表一个工作表 (--excel)",
}

#: labels of columns that are not KPIs or group keys: key → (zh, en, unit)
EXTRA_COLUMNS = {
    "buyer_id": ("买家", "Buyer", "text"),
    "sent_at": ("发送时间", "Sent at", "time"),
    "wait_s": ("等待(秒)", "Wait (s)", "seconds"),
    "reply_at": ("回复时间", "Reply at", "time"),
    "agent": ("客服", "Agent", "text"),
    "content": ("买家消息", "Buyer message", "text"),
    "order_id": ("订单号", "Order", "text"),
    "amount": ("金额(元)", "Amount (yuan)", "yuan"),
    "created_at": ("下单时间", "Ordered at", "time"),
    "last_message_at": ("最后消息时间", "Last message at", "time"),
    "last_message": ("最后消息", "Last message", "text"),
    "had_unpaid_order": ("有未付款订单", "Had unpaid order", "text"),
    "reason": ("原因", "Reason", "text"),
    "reasons": ("流失原因", "Reasons", "text"),
    "reason_id": ("原因代码", "Reason id", "text"),
    "lost_buyers": ("流失人数", "Lost buyers", "count"),
    "mentions": ("提及人数", "Mentions", "count"),
    "mention_share": ("提及占比", "Mention share", "rate"),
    "pending": ("转化窗口未结束", "Pending", "text"),
    "reason_zh": ("原因", "Reason", "text"),
    "label": ("原因", "Reason", "text"),
    "label_zh": ("原因", "Reason", "text"),
    "buyers": ("人数", "Buyers", "count"),
    "count": ("次数", "Count", "count"),
    "share": ("占比", "Share", "rate"),
    "excluded": ("已排除", "Excluded", "text"),
    "in_window": ("计入时段", "In window", "text"),
    "counted": ("计入", "Counted", "text"),
    "late": ("超时", "Late", "text"),
    **report_promises.extra_columns(),
    **report_score.extra_columns(),
}


def table_columns(frame: pd.DataFrame, rule=None) -> list[Column]:
    """Render columns for every column of ``frame`` (registry labels, rule-named rate)."""
    from cskit.metrics import GROUP_KEYS, kpi

    units = {"date": "date", "hour": "int"}
    cols = []
    for k in frame.columns:
        if k in GROUP_KEYS:
            g = GROUP_KEYS[k]
            cols.append(Column(k, g.label_zh, g.label_en, units.get(k, "text")))
        elif k == "reply_rate" and rule is not None:
            cols.append(Column(k, rule.label_zh, rule.label_en, "rate"))
        else:
            try:
                m = kpi(k)
                cols.append(Column(k, m.label_zh, m.label_en, m.unit))
            except KeyError:
                from cskit.products.report import LABELS
                zh, en, unit = EXTRA_COLUMNS.get(k) or LABELS.get(k, (k, k, "text"))
                cols.append(Column(k, zh, en, unit))
    return cols


def _unit(key: str) -> str:
    from cskit.metrics import kpi

    try:
        return kpi(key).unit
    except KeyError:
        return "count"
