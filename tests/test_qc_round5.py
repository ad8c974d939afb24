"""QC rules round 5 (issue 14): the contexts behind the false flags found on test2.  Tiny
hand-made conversations (never corpus text); each assertion fails on the round-4 rules."""

from __future__ import annotations

import pandas as pd
import pytest

from cskit.text.qc import inspect

T0 = pd.Timestamp("2026-03-02 10:00")


def flags(*rows) -> list[tuple[int, str]]:
    """(row index, rule id) flagged in one buyer-day; rows: (sender, text) one minute apart."""
    m = pd.DataFrame([{"shop": "s", "buyer_id": "b1", "agent_id": "a1" if s == "agent" else None,
                       "sender": s, "sent_at": T0 + pd.Timedelta(minutes=i), "content": t}
                      for i, (s, t) in enumerate(rows)])
    f = inspect(m).merge(m.reset_index()[["index", "sent_at"]], on="sent_at")
    return sorted(zip(f["index"].tolist(), f["rule_id"].tolist()))


def one(text: str, before: str | None = None) -> list[str]:
    rows = ([("buyer", before)] if before else []) + [("agent", text)]
    return [r for _, r in flags(*rows)]


# ---------------------------------------------------------------- off_platform
@pytest.mark.parametrize("text", [
    "请问您退款到储蓄卡;信用卡;微信;白条;现金哪一种呢?",  # payment channels, any separator
    "请问原路退回到信用卡|微信呢",
    "商品名称: 小熊 儿童餐椅 晒图返现5元 联系客服 请您联系商家处理",  # a pasted product card
])
def test_off_platform_not_flagged_for_channels_and_product_cards(text):
    assert one(text) == []


@pytest.mark.parametrize("text", ["没有微信的哦", "没有微信啦", "不加微信的哦亲"])
def test_turning_down_a_wechat_request_is_not_off_platform(text):
    assert one(text, before="能加一下你的微信吗") == []


def test_off_platform_still_flagged_outside_those_contexts():
    assert one("加我微信吧，私下给您便宜") == ["off_platform"]
    assert one("没问题加我微信吧") == ["off_platform"]  # 没 only right before the word
    assert one("不用客气加我微信吧") == ["off_platform"]
    assert one("商品名称: 小熊 儿童餐椅。好评返现5元，加微信领取") == ["off_platform"]


# ----------------------------------------------------------------- overpromise
@pytest.mark.parametrize("text", [
    "这个不能保证的 没有保证您以后不出问题的",
    "这边确实无法更换快递呢 能的话肯定会给您安排的",
    "这个没法保证哦，但是商品肯定是正品，您可以放心使用",
])
def test_no_promise_in_a_denial_a_counterfactual_or_an_authenticity_fact(text):
    assert one(text) == []


def test_overpromise_still_flagged():
    assert one("下次购买的话我们绝对不会漏发") == ["overpromise"]  # a conditional on buying
    assert one("百分百正品") == ["overpromise"]  # 广告法 absolute term
    assert one("保证明天一定送到") == ["overpromise"]
    assert one("没问题保证明天送到") == ["overpromise"]  # 没 only right before 保证


# -------------------------------------------------------------------- only_zai
def test_presence_checks_are_not_questions():
    assert one("亲爱的，小妹在的哦，请问有什么可以为您效劳的吗?", before="在 ? 在吗") == []
    assert one("在的，亲爱的", before="怎么又失踪了") == []


def test_shenqing_is_not_a_request_word():
    assert flags(("buyer", "那我先拍另一款了"), ("agent", "好的。"),
                 ("buyer", "这款我签收后申请退款"), ("agent", "嗯呢。 请问还有什么可以帮助您呢")) == []


def test_tag_questions_and_bracketed_greetings_are_caught():
    assert one("亲 ，请问有什么可以帮您?", before="请问到时候是可以用信用卡刷卡的吧") == ["only_zai"]
    assert one("尊敬的商家朋友，请问有什么可以帮到您呢?(人工客服哦 )",
               before="入驻的商家参加活动还要缴纳押金吗") == ["only_zai"]


# ---------------------------------------------------------------------- refuse
def test_turning_down_an_off_platform_request_is_no_bare_refusal():
    assert one("不可以的呢", before="帮我加个微信吧") == []
    assert one("不可以的呢", before="帮我把运费退了吧") == ["refuse"]


def test_saying_what_is_possible_is_an_alternative():
    assert one("可以改昵称 ID改不了", before="帮我改一下会员名") == []
    assert one("ID改不了", before="帮我改一下会员名") == ["refuse"]


def test_a_denied_guarantee_denies_its_whole_clause():
    assert one("这个目前真的不能保证8点之前一定送达的") == []
    assert one("8点之前一定送达的") == ["overpromise"]


def test_a_topic_announced_in_advance_is_no_question():
    assert one("您好，请问有什么可以帮您的呢?", before="我想提前咨询一下") == []
    assert one("您好，请问有什么可以帮您的呢?", before="我想提前发货") == ["only_zai"]
