"""`cskit score` (issue 18 item 6, targets of item 5): scheme bands and lines, weights
renormalised over known KPIs, the bonus, targets, errors; every number hand-computed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cskit.cli  # noqa: F401
from cskit.errors import UsageError
from cskit.metrics.score import (Band, Rule, load_scheme, load_targets, rule_points, rule_text,
                                 score_agents, with_targets)
from chatlog import chat_store, run

SCHEME = """
name = "测试方案"
[[kpi]]
key = "reply_rate"
weight = 30
bands = [{ from = 0.95, points = 100 }, { from = 0.90, to = 0.95, points = 90 },
         { to = 0.90, points = 0 }]
[[kpi]]
key = "first_response_s_median"
weight = 20
linear = [[10, 100], [60, 0]]
[[kpi]]
key = "inquiry_conversion"
weight = 30
linear = [[0, 0], [1, 100]]
[[kpi]]
key = "sales"
weight = 20
bands = [{ from = 20000, points = 100 }, { to = 20000, points = 50 }]
[bonus]
base = "sales"
bands = [{ to = 10000, rate = 0 }, { from = 10000, rate = 0.01 }]
"""


@pytest.fixture()
def scheme(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SCHEME, encoding="utf-8")
    return load_scheme(p)


def test_bands_from_inclusive_to_exclusive_and_unknown_stays_unknown():
    r = Rule("reply_rate", 30, bands=(Band(0.95, None, 100), Band(0.90, 0.95, 90), Band(None, 0.90, 0)))
    pts = rule_points(r, [0.95, 0.9499, 0.90, 0.8999, 1.0, np.nan])
    assert pts[:5].tolist() == [100, 90, 90, 0, 100]
    assert math.isnan(pts[5])
    assert rule_text(r, [0.95, 0.9, 0.5], "rate") == ["≥ 95% → 100", "[90%, 95%) → 90", "< 90% → 0"]


def test_a_value_in_no_band_scores_zero():
    r = Rule("reply_rate", 1, bands=(Band(0.9, None, 100),))
    assert rule_points(r, [0.5]).tolist() == [0]
    assert rule_text(r, [0.5], "rate") == ["—"]


def test_linear_is_a_straight_line_clamped_outside():
    r = Rule("first_response_s_median", 20, linear=((10, 100), (60, 0)))
    assert rule_points(r, [10, 60, 35, 5, 600]).tolist() == [100, 0, 50, 100, 0]
    rising = Rule("inquiry_conversion", 1, linear=((0.2, 0), (0.6, 100)))
    assert rule_points(rising, [0.1, 0.4, 0.9]).tolist() == pytest.approx([0, 50, 100])


def test_weights_renormalised_over_known_kpis_and_bonus(scheme):
    frame = pd.DataFrame({
        "shop": ["S", "S"], "agent_id": ["a", "b"],
        "reply_rate": [0.96, 0.91], "first_response_s_median": [35, 10],
        "inquiry_conversion": [0.4, np.nan], "sales": [25000.0, np.nan]})
    summary, breakdown = score_agents(frame, scheme)
    # a: (30·100 + 20·50 + 30·40 + 20·100) / 100 = 72.0; bonus 1 % of 25000
    # b: conversion and sales unknown → (30·90 + 20·100) / 50 = 94.0; bonus unknown
    assert summary["score"].tolist() == [72.0, 94.0]
    assert summary["bonus"].iloc[0] == 250.0 and math.isnan(summary["bonus"].iloc[1])
    assert summary["kpis_left_out"].tolist() == ["", "inquiry_conversion,sales"]
    assert summary["points_inquiry_conversion"].iloc[0] == 40.0
    b = breakdown[breakdown["agent_id"] == "b"].set_index("kpi")
    assert b.loc["reply_rate", "weight_used"] == pytest.approx(0.6)
    assert b.loc["first_response_s_median", "contribution"] == pytest.approx(40.0)
    assert math.isnan(b.loc["sales", "points"])
    # the contributions add up to the score, for every agent
    sums = breakdown.groupby("agent_id")["contribution"].sum()
    assert sums.to_dict() == pytest.approx({"a": 72.0, "b": 94.0})


def test_nothing_known_is_no_score_not_zero(scheme):
    frame = pd.DataFrame({"shop": ["S"], "agent_id": ["z"]})
    summary, _ = score_agents(frame, scheme)
    assert math.isnan(summary["score"].iloc[0])


@pytest.mark.parametrize("body, needle", [
    ("[[kpi]]\nkey='reply_rate'\nweight=1\n", "exactly one of bands or linear"),
    ("[[kpi]]\nkey='reply_rate'\nweight=0\nlinear=[[0,0],[1,100]]\n", "weight must be above 0"),
    ("[[kpi]]\nkey='nope'\nweight=1\nlinear=[[0,0],[1,100]]\n", "unknown KPI 'nope'"),
    ("[[kpi]]\nkey='reply_rate'\nweight=1\nbands=[{from=1, to=0.5, points=1}]\n",
     "from must be below to"),
    ("[[kpi]]\nkey='reply_rate'\nweight=1\nlinear=[[1,0],[1,100]]\n", "two different values"),
    ("name = \n", "not valid TOML"),
    ("name='x'\n", "no [[kpi]] entries"),
])
def test_bad_schemes_are_refused_with_the_file_named(tmp_path, body, needle):
    p = tmp_path / "bad.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError) as e:
        load_scheme(p, known={"reply_rate", "sales"})
    assert needle in str(e.value) and str(p) in str(e.value)


def test_the_sample_scheme_loads_and_its_weights_total_100():
    s = load_scheme()
    assert sum(r.weight for r in s.rules) == 100 and s.bonus is not None


def test_targets_chinese_headers_gb18030_and_completion(tmp_path):
    p = tmp_path / "targets.csv"
    p.write_bytes("店铺,客服,月份,销售目标\nS,a,2026-11,20000\n,b,2026-11,\"8,000\"\nS,a,2026-12,1\n"
                  .encode("gb18030"))
    t = load_targets(p)
    assert t["sales_target"].tolist() == [20000, 8000, 1]
    frame = pd.DataFrame({"shop": ["S", "T", "S"], "agent_id": ["a", "b", "c"],
                          "sales": [25000.0, 4000.0, 100.0]})
    out = with_targets(frame, t, "2026-11")
    assert out["target_completion"].tolist()[:2] == [1.25, 0.5]  # b: a target for any shop
    assert math.isnan(out["target_completion"].iloc[2])  # c: no target → unknown


@pytest.mark.parametrize("text, row", [
    ("agent_id,month,sales_target\na,2026-11,100\nb,2026-13,100\n", 3),
    ("agent_id,month,sales_target\na,2026-11,abc\n", 2),
    ("agent_id,month,sales_target\na,2026-11,100\na,2026-11,200\n", 3),
])
def test_bad_target_rows_are_refused_with_their_row_number(tmp_path, text, row):
    p = tmp_path / "t.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as e:
        load_targets(p)
    assert f"row {row}" in str(e.value)


# ---- the command, on a tiny store -----------------------------------------------------
XM, AQ = "店S:小美", "店S:阿强"
CHATS = [
    # b1: 小美 answers in 20 s; b1 orders and pays 100 元
    f"店S,pdd,,b1,,buyer,2026-11-10 10:00:00,在吗,,",
    f"店S,pdd,,b1,{XM},agent,2026-11-10 10:00:20,亲，在的,,",
    # b2: 阿强 answers after 10 min (unreplied under the 5-minute rule); no order
    f"店S,pdd,,b2,,buyer,2026-11-10 11:00:00,有货吗,,",
    f"店S,pdd,,b2,{AQ},agent,2026-11-10 11:10:00,有的,,",
]
ORDERS = ("shop,order_id,buyer_id,created_at,paid_at,amount,status\n"
          "店S,o1,b1,2026-11-10 10:30:00,2026-11-10 10:31:00,100.00,paid\n")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return chat_store(tmp_path_factory.mktemp("score"), CHATS, ORDERS)


def test_cli_scores_hand_computed(store, tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SCHEME, encoding="utf-8")
    r = run("score", "--store", store, "--month", "2026-11", "--scheme", p, "-f", "json")
    assert r.exit_code == 0, r.output
    rows = {x["agent_id"]: x for x in json.loads(r.stdout)["rows"]}
    # 小美: rate 100 % → 100, 20 s → 80, conversion 1/1 → 100, sales 100 → 50
    #       (30·100 + 20·80 + 30·100 + 20·50) / 100 = 86.0; bonus 0 % of 100
    # 阿强: rate 0 % → 0, 600 s → 0, conversion 0/1 → 0, sales 0 → 50: 10.0
    assert rows[XM]["score"] == 86.0 and rows[XM]["bonus"] == 0
    assert rows[AQ]["score"] == 10.0
    r = run("score", "--store", store, "--month", "2026-11", "--scheme", p, "--explain", "-f", "csv")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "shop,agent_id,kpi,value,points,weight,weight_used,contribution,rule"
    assert f"店S,{XM},first_response_s_median,20.0,80.0,20.0,0.2,16.0,10s→100 … 60s→0" in lines


def test_cli_table_at_80_columns_keeps_score_and_bonus(store):
    r = run("score", "--store", store, "--month", "2026-11")
    assert r.exit_code == 0, r.output
    assert "总分" in r.stdout and "提成" in r.stdout and "小美" in r.stdout


def test_cli_bad_month_is_one_clear_line(store):
    r = run("score", "--store", store, "--month", "2026-13")
    assert r.exit_code == 2 and "--month" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("raw, needle", [
    (bytes(range(128, 256)) * 3, "not UTF-8 or GB18030 text"),
    ('客服,月份,销售目标\n"a,2026-11,100\n'.encode(), "not a readable CSV"),
])
def test_malformed_targets_files_are_refused_in_one_line(tmp_path, raw, needle):
    p = tmp_path / "t.csv"
    p.write_bytes(raw)
    with pytest.raises(UsageError) as e:
        load_targets(p)
    assert needle in str(e.value) and str(p) in str(e.value)
