"""How the 日清 list and the per-agent counts are shown: column specs (machine keys, zh/en
labels, units, coded values' names) shared by `cskit promises` and the weekly report."""

from __future__ import annotations

from cskit.render import Column

__all__ = ["STATUS_LABELS", "KEPT_BY_LABELS", "TIER_LABELS", "PROMISE_AGENT_COLUMNS", "promise_list_columns",
           "EXTRA_COLUMNS"]

STATUS_LABELS = (("broken", "超期未兑现", "broken"), ("open", "未到期", "open"),
                 ("kept", "已兑现", "kept"), ("unknown", "无法判断", "unknown"))
KEPT_BY_LABELS = (("follow_up", "已跟进", "followed up"), ("order", "订单显示", "order data"))
#: ``--all``: a weak promise form (docs/promises.md, tiers) is shown as 待确认 / to confirm
TIER_LABELS = (("confident", "承诺", "promise"), ("weak", "待确认", "to confirm"))

PROMISE_AGENT_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("agent_id", "客服", "agent"),
    Column("promises", "承诺数", "promises", "count"),
    Column("kept", "已兑现", "kept", "count"),
    Column("broken", "超期未兑现", "broken", "count"),
    Column("open", "未到期", "open", "count"),
    Column("unknown", "无法判断", "unknown", "count"),
]


def promise_list_columns(rules, all_tiers: bool = False) -> list[Column]:
    """The 日清 list's columns (kind names from the rules); ``all_tiers`` (``--all``): a
    column ``tier`` (承诺 / 待确认) after the status."""
    kinds = tuple((k.id, k.name, k.name_en) for k in rules.kinds.values())
    tier = [Column("tier", "确定性", "tier", labels=TIER_LABELS)] if all_tiers else []
    return [
        Column("shop", "店铺", "shop"),
        Column("agent_id", "客服", "agent"),
        Column("buyer_id", "买家", "buyer"),
        Column("promised_at", "承诺时间", "promised at", "time"),
        Column("deadline", "期限", "deadline", "time"),
        Column("kind", "承诺类型", "kind", labels=kinds, optional=1),
        Column("status", "状态", "status", labels=STATUS_LABELS),
        *tier,
        Column("kept_by", "兑现依据", "kept by", labels=KEPT_BY_LABELS, optional=2),
        Column("followed_up_at", "跟进时间", "followed up at", "time", optional=2),
        Column("quote", "客服原话", "agent quote", wrap=True),
    ]


#: labels of the 日清 list's columns for the weekly report's CSV headers (key → zh, en, unit)
EXTRA_COLUMNS = {c.key: (c.label_zh, c.label_en, c.unit)
                 for c in [*PROMISE_AGENT_COLUMNS[2:], Column("promised_at", "承诺时间", "promised at", "time"),
                           Column("deadline", "期限", "deadline", "time"),
                           Column("kind", "承诺类型", "kind"), Column("status", "状态", "status"),
                           Column("kept_by", "兑现依据", "kept by"),
                           Column("followed_up_at", "跟进时间", "followed up at", "time"),
                           Column("quote", "客服原话", "agent quote")]}
