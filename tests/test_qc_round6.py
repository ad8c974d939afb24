"""QC round 6 (issue 14): two tiers of evidence and the only_zai contexts behind test3's
errors.  Tiny hand-made conversations (never corpus text); each assertion fails on the
round-5 rules or code."""

from __future__ import annotations

import pandas as pd
import pytest

from cskit.errors import UsageError
from cskit.text.lexicon import load_qc_rules
from cskit.text.qc import FLAG_COLUMNS, inspect, qc_summary

T0 = pd.Timestamp("2026-03-02 10:00")


def frame(*rows) -> pd.DataFrame:
    """rows: (sender, text) of one buyer-day, one minute apart."""
    return pd.DataFrame([{"shop": "s", "buyer_id": "b1", "agent_id": "a1" if s == "agent" else None,
                          "sender": s, "sent_at": T0 + pd.Timedelta(minutes=i), "content": t}
                         for i, (s, t) in enumerate(rows)])


def tiers(text: str, before: str | None = None) -> list[tuple[str, str]]:
    """(rule id, tier) of the agent's message, with the review tier asked for."""
    rows = ([("buyer", before)] if before else []) + [("agent", text)]
    f = inspect(frame(*rows), review=True)
    return sorted(zip(f["rule_id"], f["tier"]))


def default(text: str, before: str | None = None) -> list[str]:
    rows = ([("buyer", before)] if before else []) + [("agent", text)]
    return inspect(frame(*rows))["rule_id"].tolist()


# ------------------------------------------------------------------ the tiers
@pytest.mark.parametrize("text,rule", [
    ("退款会在1-7个工作日退回，您可以在微信里查看", "off_platform"),  # WeChat named as an app
    ("您可以关注我们的微信看活动", "off_platform"),
    ("企业采购可以用对公转账，在收银台选线下付款", "off_platform"),  # the checkout's own option
    ("您选的这个颜色肯定很适合送人", "overpromise"),  # 肯定 as "surely", an opinion
    ("祝您生意兴隆，其他妈妈也很喜欢", "abuse"),  # 他妈 inside 其他妈妈
    ("机器有毛病的话可以申请售后", "abuse"),  # a defect, not an insult
    ("明年会不会出新款我们也不清楚的", "shirk"),  # what nobody can know, stated
    ("您有好几个订单 这边不清楚您指的是哪一个", "shirk"),  # asks back
    ("您可以自己查一下物流哦", "shirk"),
])
def test_weak_evidence_is_review_tier_only(text, rule):
    assert default(text) == []
    assert tiers(text) == [(rule, "review")]


@pytest.mark.parametrize("text,rule", [
    ("加我微信给您便宜", "off_platform"), ("微信联系我哈", "off_platform"),
    ("可以转账给我", "off_platform"), ("好评返现5元", "off_platform"),
    ("滚吧", "abuse"), ("亲 滚", "abuse"), ("你有病吧", "abuse"), ("爱买不买", "abuse"),
    ("保证明天到", "overpromise"),
    ("这个我也不知道呢", "shirk"), ("不好意思 这个我们不太清楚哦", "shirk"),
    ("这个也不是很清楚哈", "shirk"),
])
def test_strong_evidence_stays_confident(text, rule):
    assert default(text) == [rule]
    assert tiers(text) == [(rule, "confident")]


def test_a_blessing_with_cai_yun_is_no_abuse_in_any_tier():
    assert tiers("新年快乐，祝您财运滚滚") == []


def test_tier_column_only_when_asked_and_late_rows_are_confident():
    assert "tier" not in inspect(frame(("agent", "您可以在微信里查看"))).columns
    assert list(inspect(frame(("agent", "好的")), review=True).columns) == FLAG_COLUMNS + ["tier"]
    late = pd.DataFrame({"shop": ["s"], "buyer_id": ["b1"], "sent_at": [T0], "agent_id": ["a1"],
                         "wait_s": [900.0], "content": ["这个多少钱"]})
    f = inspect(frame(("buyer", "这个多少钱")), late=late, review=True)
    assert f[["rule_id", "tier"]].values.tolist() == [["slow_reply", "confident"]]


def test_review_tier_keeps_the_rules_exceptions():
    # 微信零钱 is on the allow-list: blanked before either tier is tried
    assert tiers("退款会原路退回您的微信零钱") == []


def test_summary_counts_confident_flags_and_review_apart():
    m = frame(("agent", "您可以在微信里查看"), ("agent", "加我微信给您便宜"))
    s = qc_summary(inspect(m, review=True), messages=m)
    row = s.iloc[0]
    assert (row["flags"], row["off_platform"], row["review"]) == (1, 1, 1)
    assert "review" not in qc_summary(inspect(m), messages=m).columns


def test_rules_file_review_keys(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('[[rules]]\nid = "x"\nname = "X"\nseverity = "low"\n'
                 'review_keywords = ["嗯"]\n', encoding="utf-8")
    r = load_qc_rules(p).by_id()["x"]
    assert r.pattern() is None and r.pattern("review") == "嗯"
    assert inspect(frame(("agent", "嗯")), p).empty
    assert inspect(frame(("agent", "嗯")), p, review=True)["tier"].tolist() == ["review"]
    p.write_text('[[rules]]\nid = "x"\nname = "X"\nseverity = "low"\n'
                 'review_patterns = ["("]\n', encoding="utf-8")
    with pytest.raises(UsageError):
        load_qc_rules(p)


# -------------------------------------------------------------------- only_zai
@pytest.mark.parametrize("buyer", ["有人?", "怎么还没人说话", "还不回复吗"])
def test_asking_whether_anyone_is_there_is_no_question(buyer):
    assert default("您好!请问有什么可以帮到您的吗?", before=buyer) == []


@pytest.mark.parametrize("buyer", ["我想绑定新的邮箱", "快递显示签收了可我没拿到 麻烦核实",
                                   "这款耳机有几款颜色"])
def test_requests_and_how_many_questions_are_real_questions(buyer):
    assert default("您好", before=buyer) == ["only_zai"]
