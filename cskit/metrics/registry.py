"""The one ordered registry of KPIs: machine key, Chinese and English labels, unit.

Renderers use it for table headers (zh/en), CSV headers and JSON keys, so every
column a metric returns is either a :data:`KPIS` entry or a :data:`GROUP_KEYS`
entry.  The list order is the column order of metric outputs.  Later metric
families (conversion, sales — issue #4) add theirs with :func:`register`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KPI", "GroupKey", "KPIS", "GROUP_KEYS", "UNITS", "kpi", "register", "label",
           "column_order"]

#: units a KPI may have
UNITS = ("count", "rate", "seconds", "ratio", "yuan")


@dataclass(frozen=True)
class KPI:
    key: str  #: snake_case machine key (column name, JSON key)
    label_zh: str
    label_en: str
    unit: str  #: count | rate (fraction 0..1) | seconds | ratio | yuan
    description: str
    family: str = "reply"  #: which metric family computes it (reply, conversion, …)


@dataclass(frozen=True)
class GroupKey:
    key: str
    label_zh: str
    label_en: str
    description: str = ""


KPIS: list[KPI] = []


def register(k: KPI, *, after: str | None = None) -> KPI:
    """Append ``k`` to :data:`KPIS` (or insert it right after the key ``after``)."""
    if k.unit not in UNITS:
        raise ValueError(f"KPI {k.key!r}: unknown unit {k.unit!r}")
    if any(x.key == k.key for x in KPIS) or k.key in GROUP_KEYS:
        raise ValueError(f"KPI key {k.key!r} is already registered")
    if after is None:
        KPIS.append(k)
    else:
        KPIS.insert([x.key for x in KPIS].index(after) + 1, k)
    return k


def kpi(key: str) -> KPI:
    """The registered KPI with this key (KeyError if none)."""
    for k in KPIS:
        if k.key == key:
            return k
    raise KeyError(key)


GROUP_KEYS: dict[str, GroupKey] = {
    g.key: g
    for g in (
        GroupKey("shop", "店铺", "Shop"),
        GroupKey("date", "日期", "Date", "calendar day of the buyer message (shop-local)"),
        GroupKey("week", "周", "Week", "ISO week, e.g. 2026-W47"),
        GroupKey("agent_id", "客服", "Agent", "customer-service sub-account; 未分配 = unassigned, "
                 "机器人 = robot messages without an account"),
        GroupKey("hour", "小时", "Hour", "hour 0-23 of the message (shop-local)"),
    )
}


def label(key: str, lang: str = "zh") -> str:
    """Header for a column: KPI or group key, in ``zh`` or ``en``."""
    obj = GROUP_KEYS.get(key)
    if obj is None:
        obj = kpi(key)
    return obj.label_zh if lang == "zh" else obj.label_en


def column_order(columns) -> list[str]:
    """Group keys first (in GROUP_KEYS order), then KPIs in registry order."""
    cols = set(columns)
    return [k for k in GROUP_KEYS if k in cols] + [k.key for k in KPIS if k.key in cols]


for _k in (
    # -- headline of the reply rule (which appear depends on the rule's unit) --------------
    KPI("consult_buyers", "咨询人数", "Consulting buyers", "count",
        "buyer-days with ≥1 buyer message inside the rule's time window, excluded buyers left "
        "out (pdd3: also buyer-days handled only by the robot); a week/shop row sums buyer-days"),
    KPI("unreplied_buyers", "未回复人数", "Unreplied buyers", "count",
        "consulting buyer-days with ≥1 window message that waited more than the threshold for "
        "a reply, or got none (PDD 5分钟未回复累计)"),
    KPI("unreplied_closing_buyers", "未回复中仅结束语", "Unreplied: closing remarks only", "count",
        "of unreplied_buyers, the buyer-days whose every late or unanswered counted message is "
        "a closing remark (好的/谢谢/没有了/嗯/OK…, cskit/data/closing_remarks.toml); still "
        "unreplied under the platform rule; empty when message texts were not read"),
    KPI("rounds", "咨询轮次", "Rounds", "count",
        "rounds (首问首答) started inside the window: a round starts at the first buyer message "
        "after the last reply and ends at the next reply; rounds also end at midnight"),
    KPI("rounds_on_time", "及时响应轮次", "Rounds answered in time", "count",
        "rounds whose first message got a reply within the threshold, the same calendar day"),
    KPI("sessions", "会话数", "Sessions", "count",
        "sessions (conversation_id, else buyer+day) whose first buyer message is in the window"),
    KPI("sessions_on_time", "及时应答会话数", "Sessions answered in time", "count",
        "sessions whose first buyer message got a reply within the threshold"),
    KPI("messages", "计入消息数", "Counted messages", "count",
        "buyer messages inside the window (excluded buyers left out)"),
    KPI("messages_on_time", "及时回复消息数", "Messages answered in time", "count",
        "counted buyer messages that got a reply within the threshold"),
    KPI("late_messages", "超时消息数", "Late messages", "count",
        "counted buyer messages answered after the threshold or never"),
    KPI("unanswered_messages", "未回复消息数", "Unanswered messages", "count",
        "counted buyer messages that never got a reply"),
    KPI("reply_rate", "回复率", "Reply rate", "rate",
        "the rule's headline rate (threshold and unit per rule, e.g. 5分钟回复率): "
        "(consult_buyers − unreplied_buyers) / consult_buyers for buyer rules, else "
        "on-time / all rounds, messages or sessions"),
    # -- response times (human replies only) -------------------------------------------------
    KPI("first_response_s_mean", "平均首次响应(秒)", "Mean first response (s)", "seconds",
        "per buyer-day: first human reply − first window buyer message; mean over buyer-days "
        "that got a reply"),
    KPI("first_response_s_median", "首次响应中位数(秒)", "Median first response (s)", "seconds",
        "median over buyer-days that got a reply of the first response time (one overnight "
        "wait does not move it)"),
    KPI("first_response_s_p90", "首次响应P90(秒)", "P90 first response (s)", "seconds",
        "90th percentile (linear interpolation) of the first response time per buyer-day"),
    KPI("response_s_mean", "平均响应(秒)", "Mean response (s)", "seconds",
        "mean over answered rounds of (first human reply − round start)"),
    KPI("response_s_median", "响应中位数(秒)", "Median response (s)", "seconds",
        "median over answered rounds of the round response time"),
    KPI("response_s_p90", "响应P90(秒)", "P90 response (s)", "seconds",
        "90th percentile (linear interpolation) of the round response time"),
    KPI("response_s_capped_mean", "人工平响时长(秒)", "Mean response, capped (s)", "seconds",
        "Taobao 人工平响时长: rounds capped at the rule's cap (600 s), unanswered = cap, "
        "0-second replies and replies on a later day left out"),
    KPI("answer_ratio", "答问比", "Answer ratio", "ratio",
        "human agent messages / buyer messages (all hours)"),
    KPI("answered_30s_rate", "30秒应答率", "Answered within 30 s", "rate",
        "window buyer messages with a human reply within 30 s / window buyer messages"),
    KPI("slow_buyers", "慢响应人数", "Slow-response buyers", "count",
        "buyer-days with ≥1 window message whose human reply took longer than the slow "
        "threshold (default 100 s) or never came"),
    KPI("slow_messages", "慢响应消息数", "Slow messages", "count",
        "window buyer messages whose human reply took longer than the slow threshold or never "
        "came"),
    # -- volumes -----------------------------------------------------------------------------
    KPI("buyer_messages", "买家消息数", "Buyer messages", "count", "buyer messages, all hours"),
    KPI("agent_messages", "客服消息数", "Agent messages", "count",
        "human agent messages, all hours"),
    KPI("bot_messages", "机器人消息数", "Robot messages", "count", "robot messages, all hours"),
    # -- promises (日清, docs/promises.md; `cskit kpi --by agent` only) --------------------
    KPI("broken_promises", "超期未兑现承诺", "Broken promises", "count",
        "promises the agent made in the period (稍后回复, 明天发出, 补发, 退款 …) whose deadline "
        "passed with no follow-up to the buyer and no order showing it (`cskit promises`)",
        family="promises"),
):
    register(_k)
