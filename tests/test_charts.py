"""cskit.charts: every chart renders Chinese headless with a real CJK font (no tofu), empty
inputs say "no data", no CJK font is an error (never silent boxes), helpers by hand."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from cskit import charts
from cskit.errors import UsageError
from cskit.metrics import annotate, get_rule, reply_kpis

from report_data import glyph_problems, make_store, png_ok

RULE = get_rule("pdd5")
D = dt.date(2026, 11, 16)  # a Monday


# ---------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def font():
    f = charts.find_cjk_font()
    assert f is not None, ("no CJK font: the test environment must have one — "
                           "pip install -e '.[test]' installs noto-cjk-sans-otc")
    return f


def messages() -> pd.DataFrame:
    """Two shops, three days, three agents (ids 店铺名:子账号), a robot and an unanswered buyer."""
    rows = []
    for day in range(3):
        d = pd.Timestamp(D) + pd.Timedelta(days=day)
        for shop, agents in (("花语家居旗舰店", ["小雨", "阿杰"]), ("潮流服饰专营店", ["小美"])):
            for i in range(6):
                t = d + pd.Timedelta(hours=9 + 2 * i, minutes=day)
                b = f"{shop[:2]}{day}{i}"
                rows.append((shop, b, None, "buyer", t))
                if i == 5:
                    rows.append((shop, b, f"{shop}:智能助手", "bot", t + pd.Timedelta(seconds=2)))
                    continue  # never answered by a human
                agent = agents[i % len(agents)]
                wait = 60 if (i + day) % 3 else 900
                rows.append((shop, b, f"{shop}:{agent}", "agent", t + pd.Timedelta(seconds=wait)))
    return pd.DataFrame(rows, columns=["shop", "buyer_id", "agent_id", "sender", "sent_at"])


@pytest.fixture(scope="module")
def frames():
    m = messages()
    daily = reply_kpis(m, RULE, by="day")
    per_day = []
    for k in range(3):
        d = D + dt.timedelta(days=k)
        f = reply_kpis(m, RULE, by="agent", since=d, until=d)
        f.insert(1, "date", d)
        per_day.append(f)
    by_agent = reply_kpis(m, RULE, by="agent")
    by_agent = by_agent.assign(inquiry_conversion=np.linspace(0.1, 0.4, len(by_agent)),
                               sales=np.arange(len(by_agent)) * 1000.0)
    lost = pd.DataFrame({"reason": ["价格", "运费/包邮", "缺货/断码", "回复慢"],
                         "buyers": [12, 5, 3, 2]})
    return {"daily": daily, "agent_daily": pd.concat(per_day, ignore_index=True),
            "annotated": annotate(m, RULE), "by_agent": by_agent, "lost": lost}


def draw(kind: str, f: dict, **kw):
    if kind == "reply-rate":
        return charts.reply_rate(f["daily"], f["agent_daily"], rule=RULE, **kw)
    if kind == "load":
        return charts.load(f["annotated"], rule=RULE, **kw)
    if kind == "agents":
        return charts.agents(f["by_agent"], rule=RULE, **kw)
    return charts.lost(f["lost"], **kw)


def texts(fig) -> str:
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in fig.findobj(Text))


# ---------------------------------------------------------------------------------- fonts
def test_the_font_extra_provides_a_cjk_font(font):
    pkg = charts._from_packages()
    assert pkg is not None and pkg.source == "package:noto_cjk_sans_otc"
    assert pkg.family == "Noto Sans CJK SC"
    assert charts._covers(pkg.path, "回复率客服询单流失周日")
    assert charts._covers(font.path, "回复率客服询单流失周日")


def test_cskit_font_names_a_file_or_fails_clearly(font, monkeypatch):
    monkeypatch.setenv("CSKIT_FONT", font.path)
    f = charts.find_cjk_font()
    assert f.source == "CSKIT_FONT" and f.path == font.path
    monkeypatch.setenv("CSKIT_FONT", "/no/such/font.ttf")
    with pytest.raises(UsageError, match="CSKIT_FONT=/no/such/font.ttf.*pip install 'cskit\\[fonts\\]'"):
        charts.find_cjk_font()
    monkeypatch.setenv("CSKIT_FONT", "DejaVu Sans")  # installed, but draws no Chinese
    with pytest.raises(UsageError, match="draws Chinese"):
        charts.find_cjk_font()


def test_the_glyph_check_catches_tofu():
    """Negative control: Chinese drawn with DejaVu Sans only is reported by the harness."""
    from matplotlib.figure import Figure

    with glyph_problems() as found, matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = Figure()
        fig.add_subplot().set_title("回复率")
        fig.savefig(io.BytesIO(), format="png")
    assert found and "missing from" in found[0]


# ---------------------------------------------------------------------------------- charts
@pytest.mark.parametrize("kind", charts.KINDS)
def test_every_chart_renders_chinese_without_missing_glyphs(kind, frames, font, tmp_path):
    before = dict(matplotlib.rcParams)
    with glyph_problems() as found:
        fig = draw(kind, frames)
        path = charts.save(fig, tmp_path / f"{kind}.png")
    assert found == []
    png_ok(path.read_bytes())
    assert dict(matplotlib.rcParams) == before  # no global state leaks
    assert not list(tmp_path.glob(".*.tmp"))
    t = texts(fig)
    expected = {"reply-rate": ["5分钟回复率 · 按天", "按客服 × 天", "活动门槛 50%", "活动门槛 60%",
                               "建议目标 80%", "近3日", "【花语家居旗舰店】", "小雨"],
                "load": ["买家消息数", "超时/未回复消息数 (>5分钟)", "周一", "周日"],
                "agents": ["客服对比", "首次响应中位数(秒)", "询单转化率", "销售额(元)", "【花语家居旗舰店】",
                           "阿杰"],
                "lost": ["询单流失原因", "价格", "54.5% (12人)"]}[kind]
    for s in expected:
        assert s in t, s


def test_robot_accounts_are_left_out_of_agent_charts(frames, font):
    t = texts(draw("agents", frames, font=font))
    assert "智能助手" not in t and "小美" in t
    labels, dates, m, n_all = charts.agent_rate_matrix(frames["agent_daily"])
    assert not any("智能助手" in x for x in labels)
    agents = [x for x in labels if not charts.is_heading(x)]
    assert m.shape == (len(labels), 3) and n_all == len(agents)
    # two shops: each named once, in a heading row with no cells, above its agents
    heads = [i for i, x in enumerate(labels) if charts.is_heading(x)]
    assert [labels[i] for i in heads] == ["【潮流服饰专营店】", "【花语家居旗舰店】"] and heads[0] == 0
    assert {"小美", "小雨", "阿杰"} <= set(agents)
    assert np.isnan(m[heads]).all() and len(agents) == len(labels) - 2
    assert not any(":" in x for x in texts(draw("agents", frames, font=font)).split("\n"))


@pytest.mark.parametrize("kind", charts.KINDS)
def test_empty_input_draws_no_data(kind, font):
    empty = {"daily": pd.DataFrame(), "agent_daily": pd.DataFrame(), "annotated": pd.DataFrame(),
             "by_agent": pd.DataFrame(), "lost": pd.DataFrame()}
    with glyph_problems() as found:
        fig = draw(kind, empty, font=font)
        data = charts.to_png(fig)
    assert found == []
    assert "无数据" in texts(fig)
    png_ok(data, min_w=300, min_h=150, ink=0.001)


def test_without_a_cjk_font_chinese_charts_fail_loudly(frames):
    with pytest.raises(charts.FontMissingError) as e:
        draw("reply-rate", frames, font=None)
    assert "empty boxes" in str(e.value) and "pip install 'cskit[fonts]'" in str(e.value)
    assert "apt-get install fonts-noto-cjk" in str(e.value)


def test_without_a_cjk_font_ascii_english_charts_still_render():
    daily = pd.DataFrame({"shop": ["shopA", "shopA"], "date": [D, D + dt.timedelta(days=1)],
                          "consult_buyers": [4, 5], "unreplied_buyers": [1, 0],
                          "reply_rate": [0.75, 1.0]})
    with glyph_problems() as found:
        fig = charts.reply_rate(daily, lang="en", font=None)
        png_ok(charts.to_png(fig))
    assert found == []
    assert "activity gate 60%" in texts(fig)


def test_charts_from_a_tiny_store(tmp_path, font):
    """The frames collect() hands to the charts fit them (rendering them from this store:
    test_cli_report's bundle and chart tests)."""
    from cskit.kpi import parse_week
    from cskit.report import ALL_PARTS, collect
    from cskit.store import Store

    data = collect(Store(make_store(tmp_path)), shops=None, period=parse_week("2026-W47"),
                   rule=RULE, parts=ALL_PARTS)
    rr = texts(charts.reply_rate(data.by_day, data.agent_daily, rule=RULE, font=font))
    assert "近3日" in rr and "阿强" in rr and "店小蜜" not in rr
    ag = texts(charts.agents(data.agents_frame(), rule=RULE, font=font))
    assert "阿强" in ag and "店小蜜" not in ag and "¥59" in ag and "销售额(元)" in ag
    assert "运费/包邮" in texts(charts.lost(data.lost_reasons_total, font=font))  # b3: 包邮吗
    load = charts.load(data.annotated, rule=RULE, font=font)
    m = charts.load_matrix(data.annotated)
    assert m.sum() == 4 and m[0, 9] == 1 and m[0, 10] == 1 and m[1, 14] == 1 and m[6, 20] == 1
    assert "超时/未回复消息数 (>5分钟) · 周几 × 小时" in texts(load)


# ---------------------------------------------------------------------------------- helpers
def test_rolling_rate_sums_calendar_days():
    f = pd.DataFrame({"shop": ["A", "A", "A", "B"],
                      "date": [D, D + dt.timedelta(days=1), D + dt.timedelta(days=3), D],
                      "consult_buyers": [10, 10, 10, 4], "unreplied_buyers": [5, 0, 5, 1]})
    r = charts.rolling_rate(f, 3)
    # A day 4: the window is days 2-4 (day 3 had nobody): (20 - 5) / 20, not the last 3 rows
    assert r.tolist() == [0.5, 0.75, 0.75, 0.75]
    rounds = pd.DataFrame({"shop": ["A", "A"], "date": [D, D + dt.timedelta(days=1)],
                           "rounds": [4, 6], "rounds_on_time": [1, 6]})
    assert charts.rolling_rate(rounds, 2).tolist() == [0.25, 0.7]
    assert charts.rolling_rate(pd.DataFrame({"shop": ["A"], "date": [D]}), 3).isna().all()


def test_load_matrix_weekday_by_hour():
    a = pd.DataFrame({"sent_at": pd.to_datetime(["2026-11-16 09:10", "2026-11-16 09:59",
                                                 "2026-11-22 23:30", "2026-11-17 10:00"]),
                      "late": [True, False, True, True]})
    m = charts.load_matrix(a)
    assert m.shape == (7, 24) and m.sum() == 4
    assert m[0, 9] == 2 and m[6, 23] == 1 and m[1, 10] == 1
    late = charts.load_matrix(a, a["late"])
    assert late[0, 9] == 1 and late.sum() == 3


def test_agent_labels_are_the_agents_own_name_as_in_the_tables():
    assert charts.agent_label("店A", "店A:小美", multi_shop=False) == "小美"
    assert charts.agent_label("店A", "店A:小美", multi_shop=True) == "小美"  # shop: a heading row
    assert charts.agent_label("店A", "未分配", multi_shop=True) == "未分配"
    assert charts.agent_label("店A", "cs_9", multi_shop=False) == "cs_9"


def test_reason_shares_from_counts_or_shares():
    s = charts.reason_shares(pd.DataFrame({"reason": ["运费", "价格"], "buyers": [1, 3]}))
    assert s["label"].tolist() == ["价格", "运费"] and s["share"].tolist() == [0.75, 0.25]
    s = charts.reason_shares(pd.DataFrame({"reason_id": ["price"], "reason": ["价格"],
                                           "buyers": [2], "share": [0.4]}), lang="en")
    assert s.iloc[0].to_dict() == {"label": "price", "count": 2.0, "share": 0.4}


def test_thresholds_accept_numbers_and_tuples():
    ths = charts._as_thresholds([0.5, (0.7, "门槛", "gate")])
    assert [(t.value, t.label("zh"), t.label("en")) for t in ths] == [
        (0.5, "50%", "50%"), (0.7, "门槛", "gate")]
    with pytest.raises(UsageError):
        charts._as_thresholds([60])


def test_save_picks_the_format_from_the_suffix(frames, font, tmp_path):
    p = charts.save(draw("lost", frames, font=font), tmp_path / "sub" / "lost.svg")
    head = Path(p).read_text(encoding="utf-8")[:400]
    assert "<svg" in head
