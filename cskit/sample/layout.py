"""What :func:`generate` returns (:class:`SampleData`) and which file holds which day's chats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from .shops import ShopSpec

# =============================================================================== sample data


@dataclass
class SampleData:
    """Canonical frames of the sample, the planted truth and the file layout.

    ``messages``/``orders``/``excluded`` hold exactly what a faithful reader of the
    files written by :func:`write_sample` yields: one row per message / order /
    excluded buyer; ``conversation_id`` only in the canonical CSV files; ``msg_id``
    where the format carries one (PDD ``msg_id``, the tabular 消息序号, canonical);
    ``msg_type`` as carried (PDD type code, ``transfer`` for Qianniu/canonical transfer
    notices, else ``text``/``image``); ``agent_id`` of a transfer notice = the agent it
    went to; Douyin orders have no ``buyer_id`` (the export has no buyer column) and the
    gift-line order has quantities summed and titles joined with "；".

    ``truth["buyer_days"]`` — one row per buyer and calendar day with a conversation:
    shop, platform, buyer_id, date, conversation_id (plan id), first/last_msg_at,
    in_window, after_sale, excluded, late (PDD default rule), never_answered,
    planned_slow, max_wait_s, first_response_s, agent_id (first human replier),
    last_agent_id, n_rounds, n_buyer_msgs, bot_replied, transferred, topic, special
    (planted edge case), buyer_ordered/buyer_paid (any chat order of the buyer),
    ordered/paid/order_id (the order that followed this day's chat), lost_reason.
    ``truth["orders"]`` — one row per order: kind (chat | after_sale | silent), the
    real buyer (also for Douyin), created_at, paid, status, amount, chat_date and
    hours_after_chat.
    ``truth["answers"]`` — the planted first answers of `cskit answers` (issue 16,
    cskit/sample/answers.py): one row per site (the agent's first answer to a pre-sale
    question): shop, buyer_id, date, conversation_id, agent_id, topic, role (good /
    plain / poor), answer, question, answer_at, paid, pending, excluded, planted.
    ``truth["voice"]`` — one row per buyer message planted as feedback for a department
    (:mod:`cskit.sample.voice`): shop, buyer_id, sent_at, department_id, content.
    """

    seed: int
    start: date
    days: int
    shops: list[ShopSpec]
    messages: pd.DataFrame
    orders: pd.DataFrame
    excluded: pd.DataFrame
    truth: dict[str, pd.DataFrame]
    #: Qianniu transcript noise lines (recalls, 当前用户来自 …): not messages
    notes: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    #: relative file path of every message / order / excluded row (index-aligned)
    message_files: pd.Series = field(repr=False, default_factory=lambda: pd.Series(dtype=str))
    #: per-message rendering extras (buyer nickname, plan conversation number)
    message_extra: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    order_files: pd.Series = field(repr=False, default_factory=lambda: pd.Series(dtype=str))
    excluded_files: pd.Series = field(repr=False, default_factory=lambda: pd.Series(dtype=str))
    #: per-order rendering extras (discounts, shipping times, masked personal data)
    order_extra: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)


# ---- message formats per (shop, day)

FMT_PDD_JSON = "pdd_json"
FMT_QIANNIU = "qianniu_text"
FMT_XLSX = "tabular_xlsx"
FMT_GBK_CSV = "tabular_csv_gb18030"
FMT_CANONICAL = "canonical_csv"


def _taobao_formats(days: int) -> list[str]:
    """Week 1 as Qianniu text, then XLSX, the last day as GB18030 CSV."""
    if days <= 1:
        return [FMT_QIANNIU] * days
    n_text = min(7, max(1, days - 2))
    fmts = [FMT_QIANNIU] * n_text + [FMT_XLSX] * (days - n_text - 1) + [FMT_GBK_CSV]
    return fmts


def _message_file(shop: ShopSpec, fmt: str, conv_day: date, days: int, start: date) -> str:
    if fmt == FMT_PDD_JSON:
        wk = (conv_day - start).days // 7
        a = start + timedelta(days=7 * wk)
        b = min(a + timedelta(days=6), start + timedelta(days=days - 1))
        return f"{shop.slug}/chats_{a:%Y%m%d}-{b:%Y%m%d}.jsonl"
    if fmt == FMT_QIANNIU:
        return f"{shop.slug}/qianniu_{conv_day:%Y-%m-%d}.txt"
    if fmt == FMT_XLSX:
        fmts = _taobao_formats(days)
        xs = [i for i, f in enumerate(fmts) if f == FMT_XLSX]
        a, b = start + timedelta(days=xs[0]), start + timedelta(days=xs[-1])
        return f"{shop.slug}/聊天记录_{a:%Y%m%d}-{b:%Y%m%d}.xlsx"
    if fmt == FMT_GBK_CSV:
        return f"{shop.slug}/聊天记录_{conv_day:%Y%m%d}.csv"
    return f"{shop.slug}/chats_canonical.csv"


def _day_format(shop: ShopSpec, day: int, days: int) -> str:
    if shop.platform == "pdd":
        return FMT_PDD_JSON
    if shop.platform == "taobao":
        return _taobao_formats(days)[day]
    return FMT_CANONICAL
