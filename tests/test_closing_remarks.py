"""Issue 12 point 4: unreplied buyer-days whose only late messages are closing remarks
(好的/谢谢/没有了 …) are shown apart; the platform rule still counts them unreplied."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from cskit.kpi import closing_column
from cskit.metrics import reply_kpis
from cskit.metrics.closing import ClosingRemarks, closing_mask, is_closing
from cskit.metrics.reply import ReplySlices

D = "2026-11-16 "
SHOP = "店S"


def log(*rows) -> pd.DataFrame:
    """rows: (buyer, sender, time, agent, content)."""
    return pd.DataFrame([(SHOP, b, a, s, pd.Timestamp(D + t), c) for b, s, t, a, c in rows],
                        columns=["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"])


CASES = log(
    # c1: a question answered in time, then 好的，谢谢！ never answered → closing-only
    ("c1", "buyer", "10:00:00", None, "有L码吗"),
    ("c1", "agent", "10:00:30", "小美", "有的亲"),
    ("c1", "buyer", "10:01:00", None, "好的，谢谢！"),
    # c2: a real question and a closing remark, both never answered → NOT closing-only
    ("c2", "buyer", "11:00:00", None, "什么时候发货"),
    ("c2", "buyer", "11:00:10", None, "好的"),
    # c3: 好的? is a question (never answered) → not a closing remark
    ("c3", "buyer", "12:00:00", None, "好的?"),
    # c4: everything in time
    ("c4", "buyer", "13:00:00", None, "在吗"),
    ("c4", "agent", "13:01:00", "阿强", "在的"),
    # c5: 嗯嗯👌 answered after 10 minutes (late, answered) → closing-only, 阿强's
    ("c5", "buyer", "14:00:00", None, "嗯嗯👌"),
    ("c5", "agent", "14:10:00", "阿强", "亲还有什么需要吗"),
)


def test_lexicon_whole_message_match():
    texts = ["好的，谢谢！", "👌🏻", "[OK]", " 嗯嗯 ", "ＯＫ", "没有了哈", "好的亲", "拜拜",
             "好的?", "[图片]", "亲", "好的，什么时候发货", "谢谢你们的衣服有问题", None, ""]
    s = pd.Series(texts, dtype=object)
    want = [True] * 8 + [False] * 7
    assert is_closing(s).tolist() == want
    assert is_closing(s.astype("category")).tolist() == want
    arr = pa.chunked_array([pa.array(texts[:7]).dictionary_encode(),
                            pa.array(texts[7:]).dictionary_encode()])
    assert closing_mask(arr).tolist() == want
    assert closing_mask(pa.array(texts)).tolist() == want
    custom = ClosingRemarks(["收到"], ["啦"])
    assert is_closing(pd.Series(["收到啦", "好的", "啦"]), custom).tolist() == [True, False, False]


def test_closing_only_buyer_days_counted_apart_and_still_unreplied():
    day = reply_kpis(CASES, "pdd5", by="day").iloc[0]
    assert (day["consult_buyers"], day["unreplied_buyers"]) == (5, 4)  # c1 c2 c3 c5
    assert day["unreplied_closing_buyers"] == 2  # c1, c5 (not c2: a real question too)
    assert day["reply_rate"] == pytest.approx(1 / 5)  # the platform rule is unchanged


def test_closing_only_per_agent_follows_the_unreplied_attribution():
    out = reply_kpis(CASES, "pdd5", by="agent").set_index("agent_id")
    # c1's 好的 is 小美's (she last wrote to c1); c5's 嗯嗯👌 is 阿强's (his late reply)
    assert out.loc["小美", ["unreplied_buyers", "unreplied_closing_buyers"]].tolist() == [1, 1]
    assert out.loc["阿强", ["unreplied_buyers", "unreplied_closing_buyers"]].tolist() == [1, 1]
    assert out.loc["未分配", ["unreplied_buyers", "unreplied_closing_buyers"]].tolist() == [2, 0]


def test_without_content_the_column_is_unknown_not_zero():
    out = reply_kpis(CASES.drop(columns="content"), "pdd5", by="day")
    assert out["unreplied_closing_buyers"].isna().all()
    assert out["unreplied_buyers"].tolist() == [4]


def test_other_units_have_no_such_column():
    assert "unreplied_closing_buyers" not in reply_kpis(CASES, "taobao", by="day").columns


def test_closing_flag_read_from_arrow_equals_content():
    """kpi turns content into a boolean while reading: same numbers as from the text."""
    t = closing_column(pa.Table.from_pandas(CASES, preserve_index=False))
    assert "content" not in t.column_names
    frame = t.to_pandas()
    for by in ("day", "agent"):
        pd.testing.assert_frame_equal(reply_kpis(frame, "pdd5", by=by),
                                      reply_kpis(CASES, "pdd5", by=by))


def test_closing_flag_survives_a_reply_in_a_later_slice():
    """A buyer-day deferred to the next slice keeps its messages' closing flags (the late
    reply lies within the 2-day reply horizon but past the first slice's data end)."""
    m = pd.DataFrame([
        (SHOP, "d1", None, "buyer", pd.Timestamp("2026-11-30 10:00"), "好的"),
        (SHOP, "d2", None, "buyer", pd.Timestamp("2026-11-30 10:00"), "怎么退货"),
        (SHOP, "d1", "阿强", "agent", pd.Timestamp("2026-12-01 09:00"), "亲"),
        (SHOP, "d2", "阿强", "agent", pd.Timestamp("2026-12-01 09:00"), "亲")],
        columns=["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"])
    whole = reply_kpis(m, "pdd5", by="agent")
    sl = ReplySlices("pdd5", bys=("agent",))
    sl.add(m[m["sent_at"] < "2026-12-01"], "2026-11-01", "2026-11-30",
           end=pd.Timestamp("2026-12-01"))
    sl.add(m[m["sent_at"] >= "2026-12-01"], "2026-12-01", "2026-12-31", last=True)
    got = sl.result()["agent"]
    pd.testing.assert_frame_equal(got, whole)
    assert whole.set_index("agent_id").loc["阿强", "unreplied_closing_buyers"] == 1


# ------------------------------------------------------------------ through the CLI
HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
CHATS = [
    "店A,pdd,,b1,,buyer,2026-11-16 10:00:00,有L码吗,,",
    "店A,pdd,,b1,店A:小美,agent,2026-11-16 10:00:30,有的亲,,",
    "店A,pdd,,b1,,buyer,2026-11-16 10:01:00,好的，谢谢！,,",  # closing-only, unanswered
    "店A,pdd,,b2,,buyer,2026-11-16 11:00:00,什么时候发货,,",  # a real question ...
    "店A,pdd,,b2,,buyer,2026-11-16 11:00:10,好的,,",  # ... and a closing: not closing-only
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from cskit.ingest import ingest
    from cskit.store import Store

    d = tmp_path_factory.mktemp("closing")
    (d / "chats.csv").write_text(HEADER + "\n".join(CHATS) + "\n", encoding="utf-8")
    ingest([d / "chats.csv"], Store(d / "store"))
    return d / "store"


def _run(*args):
    from typer.testing import CliRunner

    from cskit.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.stderr
    return r.stdout


def test_kpi_reads_closing_remarks_from_the_store(store):
    import json

    doc = json.loads(_run("kpi", "--store", store, "--by", "agent", "-f", "json"))
    rows = {r["agent_id"]: r for r in doc["rows"]}
    assert (rows["店A:小美"]["unreplied_buyers"], rows["店A:小美"]["unreplied_closing_buyers"]) \
        == (1, 1)
    assert (rows["未分配"]["unreplied_buyers"], rows["未分配"]["unreplied_closing_buyers"]) \
        == (1, 0)
    day = json.loads(_run("kpi", "--store", store, "-f", "json"))["rows"][0]
    assert (day["unreplied_buyers"], day["unreplied_closing_buyers"]) == (2, 1)
    table = _run("kpi", "--store", store)
    assert "未回复中仅结束语" in table


def test_qc_flags_closing_only_as_low_severity(store):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(_run("qc", "--store", store, "--list", "-f", "csv"))))
    got = sorted((r["buyer_id"], r["content"], r["rule_id"], r["severity"]) for r in rows)
    assert got == [("b1", "好的，谢谢！", "closing_unanswered", "low"),
                   ("b2", "什么时候发货", "slow_reply", "medium"),
                   ("b2", "好的", "slow_reply", "medium")]


def test_phrases_are_normalised_as_one_by_one():
    """The lexicon's phrases and particles, normalised in one pass (one regex compile), are
    those normalising each text alone gives: non-empty, first occurrence kept, in order."""
    import tomllib

    import pyarrow as pa

    from cskit.metrics.closing import _normalise, _path

    doc = tomllib.loads(_path("closing_remarks.toml").read_text(encoding="utf-8"))

    def one_by_one(texts):
        normed = [_normalise(pa.array([str(t)], type=pa.large_string()))[0].as_py()
                  for t in texts]
        return tuple(dict.fromkeys(n for n in normed if n))

    texts = doc["phrases"] + ["  好的！ ", "", "👍🏻", "好的"]
    lex = ClosingRemarks(texts, doc["particles"])
    assert lex.phrases == one_by_one(texts)
    assert lex.particles == one_by_one(doc["particles"])
    assert ClosingRemarks(["好", "  "], []).particles == ()


def test_chunks_with_their_own_dictionaries_judged_once_per_text(monkeypatch):
    """A store read has one dictionary per part file: the flags are those of each text alone,
    and the regex runs once for all chunks (their dictionaries unified), not once per chunk."""
    from cskit.metrics import closing

    texts = ["好的", "在吗", None, "谢谢亲", "好的", "发什么快递", "嗯嗯", None, "谢谢亲", "好的👌"]
    chunks = [pa.array(texts[:4]).dictionary_encode(), pa.array(texts[4:7]).dictionary_encode(),
              pa.array(texts[7:]).dictionary_encode(), pa.array([], pa.string()).dictionary_encode()]
    calls = []
    real = closing._distinct_mask
    monkeypatch.setattr(closing, "_distinct_mask", lambda v, lex: calls.append(len(v)) or real(v, lex))
    got = closing_mask(pa.chunked_array(chunks))
    assert calls == [len({t for t in texts if t})]  # one pass over the distinct texts
    monkeypatch.setattr(closing, "_distinct_mask", real)
    want = [bool(closing_mask(pa.array([t]))[0]) if t else False for t in texts]
    assert got.tolist() == want
    assert want[:2] == [True, False] and want[3] is True
