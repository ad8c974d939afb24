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


def rules_of(text: str, sender: str = "agent", before: str | None = None) -> list[str]:
    """Rule ids flagged on one message (followed by nothing else), after the buyer's
    message ``before`` when given."""
    rows = ([("buyer", before)] if before else []) + [(sender, text)]
    return inspect(msgs(*rows))["rule_id"].tolist()


#: the context rules need the buyer's message before: a real question for 只回复"在",
#: a request for 否定需求 (without one they flag nothing: unknown is not a violation)
CONTEXT = {"only_zai": "这款包邮吗", "refuse": "能帮我改一下地址吗"}


# ------------------------------------------------------------------ positives


@pytest.mark.parametrize("text,rule", [
    ("爱买不买", "abuse"), ("你是不是傻", "abuse"), ("神经病吧你", "abuse"), ("滚", "abuse"),
    ("加我微信给你便宜", "off_platform"), ("亲 加v聊", "off_platform"), ("ＶＸ：abc123", "off_platform"),
    ("好评返现5元哦", "off_platform"), ("可以支付宝转账给我", "off_platform"), ("私下交易更便宜", "off_platform"),
    ("保证明天到", "overpromise"), ("百分百正品", "overpromise"), ("绝对不掉色", "overpromise"),
    ("100%不起球", "overpromise"),
    ("在", "only_zai"), ("在的", "only_zai"), ("亲，在的哦~", "only_zai"), ("[微笑]在呢", "only_zai"),
    ("不行", "refuse"), ("亲，做不到", "refuse"), ("没办法。", "refuse"),
    ("不知道", "shirk"), ("随便", "shirk"), ("不清楚", "shirk"),
])
def test_agent_violations_are_flagged(text, rule):
    assert rule in rules_of(text, before=CONTEXT.get(rule)), text


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
    m = pd.concat([msgs(("buyer", "有货吗", "b1"), ("agent", "在的", "b1")),
                   msgs(("agent", "好的", "b2")).assign(sent_at=T0 + pd.Timedelta(minutes=5))],
                  ignore_index=True)
    assert inspect(m)["buyer_id"].tolist() == ["b1"]


# ------------------------------------------------------------------ rules in context (issue 14)


def test_only_zai_needs_a_real_question_before_and_no_answer_straight_after():
    # the buyer asked a real question and got only "在的"
    assert rules_of("在的", before="这款今天能发货吗") == ["only_zai"]
    assert rules_of("您好，在的呢", before="VA123 这单对应哪个订单 在吗") == ["only_zai"]
    # 在的 after a bare 在吗 / a greeting / a link, or with no buyer message at all, is fine
    for before in ("在吗", "在吗？", "亲 在不在", "你好", "[链接] 你好", "转人工", None):
        assert rules_of("在的", before=before) == [], before
    # the agent went straight on to the answer
    assert inspect(msgs(("buyer", "这款今天能发货吗"), ("agent", "在的"),
                        ("agent", "今天四点前拍下当天发"))).empty


def test_refuse_needs_a_request_and_no_reason_or_alternative():
    assert rules_of("这个不能添加的亲", before="帮我把税号加进去") == ["refuse"]
    assert rules_of("很抱歉哈，没办法通过号码查询订单呢", before="通过手机号查一下订单 麻烦了") == ["refuse"]
    # round 5: a yes/no question whether a thing can be done is answered by a no (a fact)
    assert rules_of("这个不能添加的亲", before="税号可以加进去吗") == []
    assert rules_of("很抱歉哈，没办法通过号码查询订单呢", before="通过手机号能查到订单吗") == []
    assert rules_of("不支持的哦", before="此单需开两张发票 我一起拍了行吗?") == []
    # a factual answer (the buyer did not ask the shop to do anything) is not a refusal
    assert rules_of("不可以的", before="充电的时候可以用吗") == []
    assert rules_of("有些地方是无法送达的呢", before="为什么有些地方送不到") == []
    # a reason or an alternative in the same or the next agent message clears it
    assert rules_of("不能改哦，您可以拒收后重新下单", before="能帮我改地址吗") == []
    m = msgs(("buyer", "你微信给我一个吧"), ("agent", "不行的哦"), ("buyer", "为什么"),
             ("agent", "公司规定不能加私人联系方式"))
    assert inspect(m).empty
    # ... and so does the reason given just before (a repeated refusal is not bare)
    m = msgs(("buyer", "发票能不写纸尿裤吗"), ("agent", "发票只能开具大类和明细"),
             ("buyer", "我可以不开这个内容可以吗"), ("agent", "不可以的亲"))
    assert inspect(m).empty
    # but not a routine sentence two turns earlier: only the agent's previous message counts
    m = msgs(("buyer", "帮我分开打包"), ("agent", "这个不能的哦"), ("buyer", "？"))
    assert inspect(m)["rule_id"].tolist() == ["refuse"]


@pytest.mark.parametrize("text", [
    "祝您生意兴隆，财源滚滚",  # an idiom with 滚
    "宝宝圆滚滚的很可爱",
    "退款原路返回，微信零钱1-3个工作日到账",  # 微信 as a refund channel
    "储蓄卡3-5个工作日，信用卡7个工作日，微信、白条1-3个工作日到账",
    "微信是返京东余额1到3天到账",
    "建议您关注京东官方微信公众号查看进度",  # the platform's own account
    "建议您关注下我们生鲜客服的微信公众号爱上京东生鲜",
    "您进入 微信 点击 发现 然后点击个人中心申请价保",  # WeChat as the app the buyer shops in
    "是有其他人员通过微信联系您刷单的吗",  # an anti-fraud warning
    "请提供您要充值的qq号",  # a QQ top-up
    "我们会保证您的账户安全",  # 保证 as security, purpose, quality, effort
    "为了保证商品新鲜，全程冷链",
    "我们的宝贝质量是保证的哦",
    "海外直采，层层质检，保证正品",
    "这个小妹不能完全跟您保证，但会帮您申请拦截",
    "小妹跟您保证会尽快为您审核处理",
    "我这边不清楚，帮您联系售后核实一下",  # 不清楚 with an offer to find out
    "不会的哈 要您自己查看的哦",
])
def test_allow_lists_and_legitimate_uses_are_not_flagged(text):
    assert rules_of(text, before="这个怎么弄") == [], text


def test_allow_list_blanks_only_the_phrase():
    assert rules_of("退款到微信零钱，另外加我微信返现") == ["off_platform"]
    assert rules_of("财源滚滚，滚吧") == ["abuse"]
    assert rules_of("12小时内一定给您答复的") == ["overpromise"]


def test_each_distinct_text_is_matched_once(monkeypatch):
    import cskit.text.qc as qcmod

    sizes = []
    real = qcmod.contains

    def counting(arr, pattern):
        sizes.append(len(arr))
        return real(arr, pattern)

    monkeypatch.setattr(qcmod, "contains", counting)
    rows = [("buyer", "包邮吗", f"b{i}") for i in range(50)] + \
        [("agent", "加我微信" if i % 2 else "亲，包邮的哦", f"b{i}") for i in range(50)]
    f = inspect(msgs(*rows))
    assert f["rule_id"].tolist() == ["off_platform"] * 25
    assert max(sizes) == 2  # 2 distinct agent texts, not 50 messages


def test_committed_labelled_set_floor():
    """tests/data/qc_labelled.jsonl (synthetic, the project's own text): every labelled
    violation is flagged and nothing else (the floor CI keeps; the real-corpus numbers are
    benchmarks/eval_qc_real.py, never in CI)."""
    import json

    rows = [json.loads(x) for x in (ROOT / "tests" / "data" / "qc_labelled.jsonl")
            .read_text(encoding="utf-8").splitlines() if x.strip()]
    frames = []
    for k, r in enumerate(rows):
        m = msgs(*[(s, t, r["id"]) for s, t in r["turns"]])
        frames.append(m.assign(turn=range(len(m)),
                               sent_at=m["sent_at"] + pd.Timedelta(hours=k)))
    m = pd.concat(frames, ignore_index=True)
    f = inspect(m).merge(m[["buyer_id", "sent_at", "turn"]], on=["buyer_id", "sent_at"])
    got = {(b, int(t), rid) for b, t, rid in zip(f["buyer_id"], f["turn"], f["rule_id"])}
    gold = {(r["id"], int(t), rid) for r in rows for t, ids in r["labels"].items() for rid in ids}
    assert got == gold
    assert {rid for _, _, rid in gold} == {"abuse", "off_platform", "overpromise", "only_zai",
                                           "refuse", "shirk"}


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
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\nkeywords = ["a"]\nunless_followed = "yes"\n',
     "rules.x.unless_followed"),
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\nkeywords = ["a"]\nbuyer_before = ["(a"]\n',
     "rules.x.buyer_before[0]"),
    ('[[rules]]\nid = "x"\nname = "x"\nseverity = "low"\nkeywords = ["a"]\ncleared_by = "b"\n',
     "rules.x.cleared_by"),
])
def test_bad_rules_file_is_one_line_naming_file_and_key(tmp_path, body, key):
    p = tmp_path / "bad.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_qc_rules(p)
    msg = str(exc.value)
    assert "\n" not in msg and str(p) in msg and key in msg


def test_only_zai_covers_greeting_only_templates():
    # a real question answered by a greeting template alone is the same 无效沟通 as 在的
    for reply in ("您好", "有什么问题我可以帮您处理或解决呢？", "您好，请问有什么可以帮您？",
                  "亲爱的，请问有什么可以为您效劳的呢？", "尊敬的商家朋友，请问有什么可以帮到您呢？",
                  "您好，小妹在的哦，让您久等啦"):
        assert rules_of(reply, before="运输途中能改收货地址吗") == ["only_zai"], reply
    # a request without a question mark counts as a real question too
    assert rules_of("您好", before="我需要修改收货地址") == ["only_zai"]
    # not after a bare greeting, a nudge, 在？, a generic intent or a transfer request
    for before in ("你好", "？", "？？", "我已经购买 在？", "我想要申请售后服务", "我要转人工",
                   "我想问一下"):
        assert rules_of("有什么问题我可以帮您处理或解决呢？", before=before) == [], before
    # asking which matter a returning buyer is back about is no empty greeting
    assert rules_of("请问您是咨询之前的问题还是有其他的问题需要处理呢？",
                    before="你好，可以了吗") == []
    # a greeting followed straight away by the answer is a habit, not a violation
    assert inspect(msgs(("buyer", "运输途中能改收货地址吗"), ("agent", "您好"),
                        ("agent", "同城可以修改的哦"))).empty
    # a greeting with content is an answer
    assert rules_of("您好，可以修改的哦", before="运输途中能改收货地址吗") == []


def test_refuse_with_the_rules_scope_is_explained():
    # 不支持跨市修改 states the scope of the rule: a reason, not a bare no
    assert rules_of("您好，京东快递不支持跨市修改哦", before="那帮我改签到山西运城") == []
    assert rules_of("您好，京东快递不支持修改哦", before="那帮我改签到山西运城") == ["refuse"]
