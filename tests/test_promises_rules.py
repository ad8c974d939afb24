"""Promise rules, second round (issue 15 item 4): clause breaks and the general exceptions
that keep procedures, policies, third parties' actions, questions and instructions from
counting as an agent's promise.  Every "not a promise" text below was one under the first
rules; the paired "still a promise" texts keep the exceptions from reaching too far.
Texts are made up (no corpus text)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from cskit.text._regex import normalise
from cskit.text.promises import clauses, detect, load_promise_rules


def _kinds(texts: list[str]) -> list[str | None]:
    m = pd.DataFrame({"sender": "agent", "shop": "s", "buyer_id": [f"b{i}" for i in range(len(texts))],
                      "agent_id": "a", "sent_at": pd.Timestamp("2026-11-16 10:00"),
                      "content": texts})
    d = detect(m)
    found = dict(zip(d["row"], d["kind"]))
    return [found.get(i) for i in range(len(texts))]


NOT_PROMISES = [
    # a third party (warehouse, system …) is the subject of 会/将
    "仓库会尽快给您发出",
    "售后会尽快给您回复",
    "会有同事尽快给您发出",
    # policy / usual practice
    "一般会在明天给您回复",
    # automatic processes and reviews
    "自动为您办理退款",
    "审核通过后马上给您退款",
    # rules by the time of the request
    "下午4点前提交的申请今天给您回复",
    # asking leave, also in the next short sentence
    "给您催促一下 您看行吗",
    "是否需要帮您申请售后",
    # an offer of what the agent can do
    "这边能帮您反馈一下",
    # the buyer is the one to report / contact
    "后续您可以反馈给我们",
    # an instruction (here to a merchant) — the buyer is to act
    "麻烦您尽快给您的买家安排发货",
    # the platform's SMS notice (subject 我们 = the company, not 我/这边)
    "我们会短信通知您",
    # shipped orders in general, and already shipped (facts)
    "今天发货的订单明天能到",
    "今天已经发货了",
    # a past action named as a noun
    "给您补发的商品今天到",
    # procedure steps after the return is received
    "商品寄回后尽快为您处理退款",
    # 会尽快处理 without the agent as subject
    "提交后会尽快处理",
    # 我问一下 is a question to the buyer, not 我去问一下
    "我问一下您是哪个订单",
    # a space between two Chinese sentences ends the clause
    "商品明天到 您留意回复",
    # a condition reaches into the next sentence (guards the clause break above)
    "如果明天没到的话 我们给您补发",
]

STILL_PROMISES = [
    ("我明天给您发出", "ship"),
    ("我们会尽快为您处理", "reply"),
    ("我去问一下仓库", "reply"),
    ("我会短信通知您", "reply"),
    ("请您耐心等待 明天给您回复", "reply"),          # the instruction ends at the space
    ("还请您放心这边会帮您跟进", "reply"),            # … and before the agent's 这边
    ("这边帮您核实一下 3点之前给您回电您看可以吗", "reply"),  # names a time: a promise
    ("给您提交售后", "reply"),                         # 售后 is no procedure step (…后)
    ("您拍下给您备注的哦", "remark"),                   # sentence-final 的, not a noun
    ("到货后会尽快给您安排发货", "ship"),
    ("好的 给您补发一个", "resend"),
]


@pytest.mark.parametrize("text", NOT_PROMISES)
def test_not_a_promise(text):
    assert _kinds([text]) == [None]


@pytest.mark.parametrize("text,kind", STILL_PROMISES)
def test_still_a_promise(text, kind):
    assert _kinds([text]) == [kind]


def test_clause_breaks():
    r = load_promise_rules()
    out = clauses(normalise(pa.array(["明天 到 了~好的", "72 小时内发货", "[数字x] 好"])), r).to_pylist()
    # spaces between Chinese characters and each clause_breaks pattern become 。; a space
    # next to ASCII stays (72 小时)
    assert out == ["明天。到。了。好的", "72 小时内发货", "[数字x] 好"]


def test_clause_breaks_in_a_rules_file_are_checked(tmp_path):
    from cskit.errors import UsageError

    p = tmp_path / "r.toml"
    p.write_text("version = 1\nclause_breaks = ['(']\n", encoding="utf-8")
    with pytest.raises(UsageError):
        load_promise_rules(p)
    p.write_text("version = 1\nclause_breaks = ['、']\n"
                 "[[kinds]]\nid = 'reply'\n[[families]]\nid = 'reply'\nkind = 'reply'\n"
                 "patterns = ['稍后给您回复']\n", encoding="utf-8")
    r = load_promise_rules(p)
    assert r.clause_breaks == ("、",)
    m = pd.DataFrame({"sender": "agent", "shop": "s", "buyer_id": ["b1", "b2"], "agent_id": "a",
                      "sent_at": pd.Timestamp("2026-11-16 10:00"),
                      "content": ["稍后给您回复", "稍后、给您回复"]})
    assert detect(m, r)["buyer_id"].tolist() == ["b1"]
