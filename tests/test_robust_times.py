"""Issue 12 point 3: what a person reads shows medians and P90s of response times, so one
multi-day wait does not make an agent "the slowest"; the means stay in CSV/JSON."""

from __future__ import annotations

import pandas as pd
import pytest

from cskit import charts
from cskit.cli.kpi import table_keys
from cskit.metrics import get_rule, output_columns, reply_kpis
from cskit.metrics.reply import ReplySlices

D = pd.Timestamp("2026-11-16")  # a Monday
SHOP = "店S"


def overnight() -> pd.DataFrame:
    """糖糖 answers t1..t3 within 30/40/50 s and t4's 您好 the next morning (16 h later, within
    the 2-day reply horizon); 阿杰 answers
    j1..j3 after 120 s each."""
    rows = []
    for b, wait in (("t1", 30), ("t2", 40), ("t3", 50), ("t4", 16 * 3600)):
        t = D + pd.Timedelta(hours=10, minutes=int(b[1]))
        rows += [(SHOP, b, None, "buyer", t, "您好"),
                 (SHOP, b, "糖糖", "agent", t + pd.Timedelta(seconds=wait), "在的")]
    for b in ("j1", "j2", "j3"):
        t = D + pd.Timedelta(hours=11, minutes=int(b[1]))
        rows += [(SHOP, b, None, "buyer", t, "有货吗"),
                 (SHOP, b, "阿杰", "agent", t + pd.Timedelta(seconds=120), "有的")]
    return pd.DataFrame(rows, columns=["shop", "buyer_id", "agent_id", "sender", "sent_at",
                                       "content"])


def test_one_overnight_wait_moves_the_mean_not_the_median():
    out = reply_kpis(overnight(), "pdd5", by="agent").set_index("agent_id")
    tang, jie = out.loc["糖糖"], out.loc["阿杰"]
    # first responses of 糖糖: 30, 40, 50, 57600 s
    assert tang["first_response_s_mean"] == (30 + 40 + 50 + 57600) / 4
    assert tang["first_response_s_median"] == 45.0
    assert tang["first_response_s_p90"] == pytest.approx(50 + 0.7 * (57600 - 50))
    assert (jie["first_response_s_mean"], jie["first_response_s_median"],
            jie["first_response_s_p90"]) == (120.0, 120.0, 120.0)


def test_first_response_quantiles_pool_across_slices():
    """Slices (a month each, the reply in the next) give the whole computation's quantiles."""
    m = overnight()
    m.loc[m["buyer_id"] == "t4", "sent_at"] = [pd.Timestamp("2026-11-30 20:00"),
                                               pd.Timestamp("2026-12-01 12:00")]
    whole = reply_kpis(m, "pdd5", by="shop")
    sl = ReplySlices("pdd5", bys=("shop",))
    nov, dec = m[m["sent_at"] < "2026-12-01"], m[m["sent_at"] >= "2026-12-01"]
    sl.add(pd.concat([nov, dec]), "2026-11-01", "2026-11-30",
           end=pd.Timestamp("2026-12-02"))
    sl.add(dec, "2026-12-01", "2026-12-31", last=True)
    got = sl.result()["shop"]
    for k in ("first_response_s_median", "first_response_s_p90", "first_response_s_mean"):
        assert got[k].tolist() == whole[k].tolist(), k
    assert whole["first_response_s_median"].iloc[0] == 120.0  # 30 40 50 120 120 120 57600


def test_agents_chart_does_not_draw_the_overnight_agent_as_slowest():
    from matplotlib.text import Text

    frame = reply_kpis(overnight(), "pdd5", by="agent")
    fig = charts.agents(frame, rule=get_rule("pdd5"))
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "首次响应中位数(秒)" in texts and "平均响应(秒)" not in texts
    rate_ax, time_ax = fig.axes  # panels: reply rate, median first response (no orders)
    labels = [t.get_text() for t in rate_ax.get_yticklabels()]
    widths = dict(zip(labels, [p.get_width() for p in time_ax.patches]))
    assert widths == {"糖糖": 45.0, "阿杰": 120.0}  # the mean would draw 糖糖 at 14430 s


def test_tables_show_medians_and_p90_and_the_capped_mean_only_where_defined():
    for name in ("pdd5", "jd", "douyin"):
        shown = table_keys(output_columns(name, "agent"), get_rule(name))
        assert {"first_response_s_median", "first_response_s_p90", "response_s_p90"} \
            <= set(shown), name
        assert not {"first_response_s_mean", "response_s_mean",
                    "response_s_capped_mean"} & set(shown), name
    shown = table_keys(output_columns("taobao", "day"), get_rule("taobao"))
    assert "response_s_capped_mean" in shown and "response_s_mean" not in shown
    # CSV/JSON keep every column, the means under their keys
    assert {"first_response_s_mean", "response_s_mean"} <= set(output_columns("pdd5", "day"))
