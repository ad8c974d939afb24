"""Quality inspection (cskit.text.qc): rules, false-positive traps, late rows, summary,
rule-file validation, and docs in sync with the packaged rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cskit.errors import UsageError
from cskit.text.lexicon import load_qc_rules
from cskit.text.qc import FLAG_COLUMNS, inspect, qc_summary

ROOT = Path(__file__).resolve().parents[1]
T0 = pd.Timestamp("2026-11-16 09:00:00")


def msgs(*rows) -> pd.DataFrame:
    """rows: (sender, content[, buyer_id[, agent_id]]) one minute apart."""
    out = []
    for i, r in enumerate(rows):
        sender, content = r[0], r[1]
        buyer = r[2] if len(r) > 2 else "b1"
        agent = r[3] if len(r) > 3 else ("a1" if sender == "agent" else None)
        out.append({"shop": "s", "buyer_id": buyer, "agent_id": agent, "sender": sender,
                    "sent_at": T0 + pd.Timedelta(minutes=i), "content": content})
    return pd.DataFrame(out)


def rules_of(text: str, sender: str = "agent") -> list[str]:
    """Rule ids flagged on one message (followed by nothing else)."""
    return inspect(msgs((sender, text)))["rule_id"].tolist()


# ------------------------------------------------------------------ positives


@pytest.mark.parametrize("text,rule", [
    ("爱买不买", "abuse"), ("你是不是傻", "abuse"), ("神经病吧你", "abuse"), ("滚", "abuse"),
    ("加我微信给你便宜", "off_platform"), ("亲 加v聊", "off_platform"), ("ＶＸ：abc123", "off_platform"),
    ("好评返现5元哦", "off_platform"), ("可以支付宝转账给我", "off_platform"), ("私下交易更便宜", "off_platform"),
    ("保证明天到", "overpromise"), ("百分百正品", "overpromise"), ("绝对不掉色", "overpromise"),
    ("肯定没问题的", "overpromise"), ("100%不起球", "overpromise"),
    ("在", "only_zai"), ("在的", "only_zai"), ("亲，在的哦~", "only_zai"), ("[微笑]在呢", "only_zai"),
    ("不行", "refuse"), ("亲，做不到", "refuse"), ("没办法。", "refuse"),
    ("不知道", "shirk"), ("自己看详情页", "shirk"), ("随便", "shirk"), ("不清楚", "shirk"),
])
def test_agent_violations_are_flagged(text, rule):
    assert rule in rules_of(text), text


# ------------------------------------------------------------------ false-positive traps


@pytest.mark.parametrize("text", [
    "我们交了保证金的，放心",  # 保证金 is not 过度承诺
    "质量有保证的亲",  # a noun, not a promise
    "这个我们不能保证哦",  # an honest refusal to promise
    "绝对值误差在1mm内",
    "面料是100%纯棉的",
    "现在就给您发货",  # contains 在, is not only "在"
    "在的亲，这款有现货，今天就能发",
    "亲亲我们不能加微信哦，有问题平台上联系",  # refusing an off-platform request is right
    "支持微信支付的",
    "滚筒洗衣机专用的",
    "傻瓜式操作，很简单",
    "不知道您是要哪个颜色呢",  # politeness, not 推诿
    "有不清楚的随时问我哦",
    "您随便看看，喜欢再拍",
    "如果不行的话可以退换",
    "亲，这是最低价了",
])
def test_compliant_agent_messages_are_not_flagged(text):
    assert rules_of(text) == [], text


def test_only_agent_messages_are_inspected():
    m = msgs(("buyer", "加微信吧 便宜点"), ("buyer", "在吗"), ("buyer", "你们是不是傻"),
             ("bot", "在的"), ("system", "加微信"))
    assert inspect(m).empty


def test_only_zai_is_flagged_only_when_nothing_followed():
    m = msgs(("buyer", "包邮吗"), ("agent", "在的"), ("agent", "亲，包邮的哦"))
    assert inspect(m).empty  # a greeting followed by an answer
    m = msgs(("buyer", "包邮吗"), ("agent", "在的"), ("buyer", "？？"))
    f = inspect(m)
    assert f["rule_id"].tolist() == ["only_zai"] and f.loc[0, "content"] == "在的"
    # the next agent message must go to the same buyer on the same day
    m = pd.concat([msgs(("agent", "在的", "b1")), msgs(("agent", "好的", "b2")).assign(
        sent_at=T0 + pd.Timedelta(minutes=5))], ignore_index=True)
    assert inspect(m)["buyer_id"].tolist() == ["b1"]


def test_one_message_can_break_several_rules_and_rows_are_complete():
    m = msgs(("buyer", "能便宜吗"), ("agent", "加我微信，保证最低价，爱买不买"))
    f = inspect(m)
    assert f["rule_id"].tolist() == ["abuse", "off_platform", "overpromise"]  # rule order
    assert list(f.columns) == FLAG_COLUMNS
    row = f.iloc[0]
    assert (row["shop"], row["buyer_id"], row["agent_id"], row["severity"]) == ("s", "b1", "a1", "high")
    assert row["sent_at"] == T0 + pd.Timedelta(minutes=1) and np.isnan(row["wait_s"])


def test_late_rows_become_slow_reply_flags():
    late = pd.DataFrame({"shop": ["s", "s"], "buyer_id": ["b1", "b2"],
                         "sent_at": [T0, T0 + pd.Timedelta(hours=1)], "wait_s": [612.0, np.nan],
                         "agent": ["a1", "未分配"], "content": ["包邮吗", "在吗"]})
    f = inspect(msgs(("agent", "好的亲")), late=late)
    assert f["rule_id"].tolist() == ["slow_reply", "slow_reply"]
    assert f["agent_id"].tolist() == ["a1", "未分配"]
    assert f["wait_s"].iloc[0] == 612.0 and np.isnan(f["wait_s"].iloc[1])
    assert f["severity"].tolist() == ["medium", "medium"]


def test_closing_only_buyer_days_are_low_severity_not_slow_reply():
    """Issue 12 point 4: a buyer-day whose every late message is a closing remark is
    结束语未回复 (low); a real question late the same day keeps the whole day slow_reply."""
    H = pd.Timedelta(hours=1)
    late = pd.DataFrame({
        "shop": ["s"] * 5, "buyer_id": ["b1", "b2", "b2", "b3", "b3"],
        "sent_at": [T0, T0, T0 + H, T0, T0 + 24 * H],
        "wait_s": [np.nan, 400.0, np.nan, np.nan, np.nan],
        "agent": ["a1", "a1", "a1", "a2", "a2"],
        "content": ["好的，谢谢！", "包邮吗", "好的", "嗯嗯👌", "怎么退货"]})
    f = inspect(msgs(("agent", "亲")), late=late)
    got = list(zip(f["buyer_id"], f["content"], f["rule_id"], f["severity"]))
    assert sorted(got) == [
        ("b1", "好的，谢谢！", "closing_unanswered", "low"),
        ("b2", "包邮吗", "slow_reply", "medium"),
        ("b2", "好的", "slow_reply", "medium"),  # the day had a real question: not closing-only
        ("b3", "嗯嗯👌", "closing_unanswered", "low"),  # day 1: only a closing remark
        ("b3", "怎么退货", "slow_reply", "medium"),  # day 2: a question
    ]
    assert f.loc[f["rule_id"] == "closing_unanswered", "rule"].unique().tolist() == ["结束语未回复"]
    # without the buyers' texts nothing is known to be a closing remark: all stay slow_reply
    f = inspect(msgs(("agent", "亲")), late=late.drop(columns="content"))
    assert set(f["rule_id"]) == {"slow_reply"} and len(f) == 5


def test_empty_and_missing_columns():
    f = inspect(msgs(("buyer", "在吗")))
    assert f.empty and list(f.columns) == FLAG_COLUMNS
    with pytest.raises(ValueError, match="sender"):
        inspect(pd.DataFrame({"content": ["x"]}))


# ------------------------------------------------------------------ summary


def test_qc_summary_counts_per_agent_and_rule():
    m = pd.concat([
        msgs(("agent", "加微信", "b1", "a1"), ("agent", "爱买不买", "b1", "a1"),
             ("agent", "好的亲", "b1", "a1")),
        msgs(("agent", "亲 已为您备注", "b2", "a2")).assign(sent_at=T0 + pd.Timedelta(hours=1)),
        msgs(("agent", "保证明天到", "b3", "a3"), ("agent", "不知道", "b3", "a3")).assign(
            sent_at=lambda d: d["sent_at"] + pd.Timedelta(hours=2)),
    ], ignore_index=True)
    f = inspect(m)
    s = qc_summary(f, messages=m).set_index("agent_id")
    assert s.loc["a1", ["agent_messages", "flags", "high", "medium", "low"]].tolist() == [3, 2, 2, 0, 0]
    assert s.loc["a1", ["abuse", "off_platform", "overpromise"]].tolist() == [1, 1, 0]
    assert s.loc["a3", ["flags", "medium", "low", "overpromise", "shirk"]].tolist() == [2, 1, 1, 1, 1]
    assert s.loc["a2", ["agent_messages", "flags"]].tolist() == [1, 0]  # inspected, clean
    assert list(qc_summary(f, messages=m)["agent_id"]) == ["a1", "a3", "a2"]  # most flags first
    only = qc_summary(f)
    assert "agent_messages" not in only.columns and set(only["agent_id"]) == {"a1", "a3"}
    assert qc_summary(f.iloc[:0]).empty


# ------------------------------------------------------------------ rule files


def test_every_packaged_rule_is_complete_and_documented():
    qc = load_qc_rules()
    ids = [r.id for r in qc.rules]
    assert ids == ["abuse", "off_platform", "overpromise", "only_zai", "refuse", "shirk",
                   "slow_reply", "closing_unanswered"]
    doc = (ROOT / "docs" / "text.md").read_text(encoding="utf-8")
    for r in qc.rules:
        assert r.name and r.severity in ("high", "medium", "low") and r.penalty
        assert f"`{r.id}`" in doc and r.name in doc, r.id
    assert qc.late_rule().id == "slow_reply"
    assert qc.late_closing_rule().id == "closing_unanswered"


def test_custom_rules_file_and_extends(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('[[rules]]\nid = "brand"\nname = "提竞品"\nseverity = "low"\n'
                 'keywords = ["某宝"]\n', encoding="utf-8")
    f = inspect(msgs(("agent", "某宝上更贵"), ("agent", "加微信")), rules=p)
    assert f["rule_id"].tolist() == ["brand"]
    p.write_text('extends = "default"\n[[rules]]\nid = "overpromise"\nname = "过度承诺"\n'
                 'severity = "high"\nkeywords = ["包您满意"]\n', encoding="utf-8")
    qc = load_qc_rules(p)
    assert len(qc.rules) == 8 and qc.by_id()["overpromise"].severity == "high"
    assert inspect(msgs(("agent", "保证明天到"), ("agent", "包您满意")), rules=p)[
        "content"].tolist() == ["包您满意"]


@pytest.mark.parametrize("body,key", [
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "severe"\nkeywords = ["a"]\n', "rules.x.severity"),
    ('[[rules]]\nid = "X-1"\nname = "x"\nseverity = "low"\nkeywords = ["a"]\n', "rules.X-1.id"),
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\npatterns = ["(a"]\n', "rules.x.patterns[0]"),
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\n', "rules.x"),
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\nkeywords = ["a"]\nmatch = "all"\n',
     "rules.x.match"),
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\nkeywords = ["a"]\n[[rules]]\nid = "x"\n'
     'name = "y"\nseverity = "low"\nkeywords = ["b"]\n', "rules.x.id"),
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\nkeywords = ["a"]\nlevel = 2\n', "rules.x.level"),
    ('rules = 3\n', "rules"),
])
def test_bad_rules_file_is_one_line_naming_file_and_key(tmp_path, body, key):
    p = tmp_path / "bad.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_qc_rules(p)
    msg = str(exc.value)
    assert "\n" not in msg and str(p) in msg and key in msg
