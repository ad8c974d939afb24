"""服务评价 (issue 18 item 1): the ratings reader (scales, encodings, bad rows with their row
number, idempotent), 评价数 / 参评率 / 满意率 hand-computed, the 不满意 list (digits masked), and
a shop without a rating export: unknown, not zero."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

import cskit.cli  # noqa: F401
from cskit.ingest import ingest
from cskit.metrics.ratings import ratings_by_agent
from cskit.readers.ratings import rating_score
from cskit.store import Store
from chatlog import chat_store, run

XM, AQ = "S:小美", "S:阿强"


def test_scales_words_numbers_and_stars():
    raw = pd.Series(["很满意", "满意", "一般", "不满意", "很不满意", "非常满意", "5", "1", "4星",
                     "3.0", " 满 意 ", "好评", "差评", "超级棒", "6", ""])
    assert rating_score(raw).tolist()[:13] == [5, 4, 3, 2, 1, 5, 5, 1, 4, 3, 4, 4, 2]
    assert rating_score(raw).isna().tolist()[13:] == [True, True, True]


def test_per_agent_hand_computed():
    r = pd.DataFrame({"shop": "S", "agent_id": [XM, XM, XM, AQ],
                      "rated_at": pd.to_datetime(["2026-11-10 10:00"] * 3 + ["2026-11-12 10:00"]),
                      "score": [5, 4, 2, 1]})
    served = pd.DataFrame({"shop": "S", "agent_id": [XM, AQ, "S:糖糖"], "buyers_served": [6, 4, 5]})
    out = ratings_by_agent(r, served, since="2026-11-10", until="2026-11-11").set_index("agent_id")
    # 小美: 3 ratings of 6 served → 50 %; 2 of 3 satisfied; 1 dissatisfied
    assert out.loc[XM, "ratings"] == 3 and out.loc[XM, "rating_rate"] == 0.5
    assert out.loc[XM, "satisfied_rate"] == pytest.approx(2 / 3) and out.loc[XM, "dissatisfied"] == 1
    # 阿强's rating is outside the period: 0 ratings, 0 % rated, satisfaction unknown
    assert out.loc[AQ, "ratings"] == 0 and out.loc[AQ, "rating_rate"] == 0
    assert pd.isna(out.loc[AQ, "satisfied_rate"])


RATINGS_CSV = ("店铺,被评价客服,买家昵称,评价时间,评价结果,评价内容\n"
               f"S,{XM},b1,2026-11-10 10:05:00,很满意,很耐心\n"
               f"S,{AQ},b2,2026-11-10 11:20:00,不满意,回复太慢 电话13812345678\n"
               f"S,{AQ},b3,2026-11-10 12:00:00,超级棒,\n"
               f"S,{XM},b4,2026-11-10 12:30:00,4,\n")
CHATS = [
    f"S,pdd,,b1,,buyer,2026-11-10 10:00:00,在吗,,", f"S,pdd,,b1,{XM},agent,2026-11-10 10:00:20,在的,,",
    f"S,pdd,,b2,,buyer,2026-11-10 11:00:00,在吗,,", f"S,pdd,,b2,{AQ},agent,2026-11-10 11:10:00,在,,",
    f"S,pdd,,b4,,buyer,2026-11-10 12:00:00,在吗,,", f"S,pdd,,b4,{XM},agent,2026-11-10 12:00:20,在的,,",
    f"T,pdd,,c1,,buyer,2026-11-10 12:00:00,在吗,,", f"T,pdd,,c1,T:阿明,agent,2026-11-10 12:00:20,在的,,",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("ratings")
    root = chat_store(d, CHATS)
    (d / "服务评价.csv").write_bytes(RATINGS_CSV.encode("gb18030"))
    rep = ingest([d / "服务评价.csv"], Store(root), max_bad=0.5)
    assert rep is not None
    return root, d


def test_ingest_rejects_unknown_rating_with_row_and_is_idempotent(store):
    root, d = store
    st = Store(root)
    got = st.read("ratings")
    assert sorted(got["score"].tolist()) == [2, 4, 5]  # row 4 (超级棒) rejected
    ingest([d / "服务评价.csv"], st, max_bad=0.5)  # again: nothing new
    assert len(st.read("ratings")) == 3
    r = run("ingest", d / "服务评价.csv", "--store", d / "other")
    assert r.exit_code == 4 and "第 4 行" in r.output  # 1 of 4 rows bad > 5 %: file refused


def test_cli_ratings_per_agent_and_unknown_shop(store):
    root, _ = store
    r = run("ratings", "--store", root, "--since", "2026-11-10", "--until", "2026-11-10", "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = {x["agent_id"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
    assert rows[XM]["ratings"] == "2" and rows[XM]["rating_rate"] == "1.0"  # 2 of 2 served
    assert rows[AQ]["satisfied_rate"] == "0.0" and rows[AQ]["dissatisfied"] == "1"
    assert "T:阿明" not in rows and "T：仓库里没有该店的服务评价导出" in r.output


def test_cli_dissatisfied_list_masks_digits(store):
    root, _ = store
    r = run("ratings", "--store", root, "--list", "dissatisfied", "-f", "json")
    assert r.exit_code == 0, r.output
    assert "电话***" in r.stdout and "13812345678" not in r.stdout


def test_kpi_wide_rating_columns_unknown_for_a_shop_without_ratings(store):
    root, _ = store
    r = run("kpi", "--store", root, "--by", "agent", "--since", "2026-11-10", "--until",
            "2026-11-10", "--wide", "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = {x["agent_id"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
    assert rows[XM]["satisfied_rate"] == "1.0" and rows["T:阿明"]["ratings"] == ""
