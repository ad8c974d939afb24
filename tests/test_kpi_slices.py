"""`cskit kpi` reads the store one shop-month at a time: the sliced computation must give
exactly the numbers of one computation over the whole period.

The fixture straddles the January/February boundary on purpose: a message at 23:59:30
on 31 January answered after midnight, an agent message three days later (beyond the reply
horizon, read in the next month: not a reply), an unanswered February message whose buyer
was last served three days before in January (the lead-in carried across months), one whose
buyer was last served weeks before (beyond the lead-in: 未分配),
a jd session (conversation) that continues into February, and a conversion window
(inquiry 30 January, order 1 February) that straddles the month end.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cskit import kpi, kpi_slices, schema
from cskit.ingest import ingest
from cskit.metrics import get_rule, reply_kpis, unreplied_list
from cskit.metrics.conversion import ConversionSlices, conversion_kpis
from cskit.metrics.reply import ReplySlices
from cskit.store import Store

HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
CHATS = [
    # b1: 23:59:30 on the last day of January, answered after midnight (210 s)
    "店A,pdd,c1,b1,,buyer,2027-01-31 23:59:30,在吗,,",
    "店A,pdd,c1,b1,店A:阿美,agent,2027-02-01 00:03:00,在的,,",
    # b2: 22:00 on 31 January; 阿强 writes on 4 February (beyond the 2-day reply horizon:
    # unanswered, and 阿强 is not its agent: no agent wrote to b2 before → 未分配)
    "店A,pdd,c2,b2,,buyer,2027-01-31 22:00:00,发货了吗,,",
    "店A,pdd,c2b,b2,店A:阿强,agent,2027-02-04 10:00:00,抱歉久等,,",
    # b3: served by 阿美 on 15 January; never answered on 10 February: beyond the 3-day
    # lead-in → 未分配
    "店A,pdd,c3,b3,,buyer,2027-01-15 10:00:00,有货吗,,",
    "店A,pdd,c3,b3,店A:阿美,agent,2027-01-15 10:00:05,有的,,",
    "店A,pdd,c3b,b3,,buyer,2027-02-10 12:00:00,还在吗,,",
    # b4: inquiry on 30 January (阿强), order on 1 February 09:00, paid 100 元
    "店A,pdd,c4,b4,,buyer,2027-01-30 10:00:00,这个多少钱,,",
    "店A,pdd,c4,b4,店A:阿强,agent,2027-01-30 10:01:00,99元,,",
    "店A,pdd,c5,b5,,buyer,2027-02-01 09:00:00,你好,,",
    "店A,pdd,c5,b5,店A:阿美,agent,2027-02-01 09:02:00,您好,,",
    # b6: one conversation from 31 January 22:50 into 1 February (one jd session)
    "店A,pdd,c6,b6,,buyer,2027-01-31 22:50:00,包邮吗,,",
    "店A,pdd,c6,b6,店A:阿美,agent,2027-01-31 22:50:20,包邮,,",
    "店A,pdd,c6,b6,,buyer,2027-02-01 10:00:00,那我拍了,,",
    "店A,pdd,c6,b6,店A:阿美,agent,2027-02-01 10:01:00,好的,,",
    # b7: served by 阿强 on 30 January; never answered on 2 February → 阿强's (lead-in)
    "店A,pdd,c7,b7,,buyer,2027-01-30 15:00:00,能便宜吗,,",
    "店A,pdd,c7,b7,店A:阿强,agent,2027-01-30 15:00:10,不能哦,,",
    "店A,pdd,c7b,b7,,buyer,2027-02-02 12:00:00,好吧,,",
]
ORDERS = ("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
          "o1,b4,2027-02-01 09:00:00,2027-02-01 09:05:00,100.00,已付款,店A\n")
ALL = kpi.Period(None, None)
D = dt.date


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("slices")
    (d / "chats.csv").write_text(HEADER + "\n".join(CHATS) + "\n", encoding="utf-8")
    (d / "orders.csv").write_text(ORDERS, encoding="utf-8")
    st = Store(d / "store")
    ingest([d / "chats.csv", d / "orders.csv"], st)
    return st


@pytest.fixture(params=["month", "joined"])
def store(request, built, monkeypatch):
    """Each month its own slice (as big shops are read), or small months joined in one."""
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 0 if request.param == "month" else 10**9)
    return built


def row(frame: pd.DataFrame, **keys) -> pd.Series:
    m = np.ones(len(frame), dtype=bool)
    for k, v in keys.items():
        m &= (frame[k] == v).to_numpy()
    assert m.sum() == 1, keys
    return frame[m].iloc[0]


# --------------------------------------------------------------------------- hand-computed


def test_month_boundary_by_day_hand_computed(store):
    f = kpi.reply_report(store, shops=None, period=ALL, rule=get_rule("pdd5"), by="day")
    jan31 = row(f, date=D(2027, 1, 31))
    # consult: b2 (22:00) and b6 (22:50); b1 at 23:59:30 is outside 08:00-23:00
    assert (jan31.consult_buyers, jan31.unreplied_buyers) == (2, 1)
    assert jan31.buyer_messages == 3 and jan31.agent_messages == 1
    # rounds: b6 20 s; b2 unanswered (阿强's message on 4 February is beyond the horizon)
    assert jan31.response_s_mean == 20.0
    assert jan31.response_s_p90 == 20.0
    assert jan31.response_s_capped_mean == 310.0  # b2 unanswered: counts the 600 s cap
    feb1 = row(f, date=D(2027, 2, 1))
    # b5 and b6 once each; agent messages: b1's 00:03, b5's 09:02 and b6's 10:01
    assert (feb1.consult_buyers, feb1.unreplied_buyers, feb1.agent_messages) == (2, 0, 3)
    assert feb1.first_response_s_mean == 90.0
    feb10 = row(f, date=D(2027, 2, 10))
    assert (feb10.consult_buyers, feb10.unreplied_buyers) == (1, 1)
    feb2 = row(f, date=D(2027, 2, 2))
    assert (feb2.consult_buyers, feb2.unreplied_buyers) == (1, 1)
    assert int(f["consult_buyers"].sum()) == 9  # every buyer-day exactly once


def test_message_at_23_59_answered_after_midnight_counts_once_on_its_own_day(store):
    rule = get_rule("pdd5", window="08:00-24:00")
    f = kpi.reply_report(store, shops=None, period=ALL, rule=rule, by="day")
    jan31 = row(f, date=D(2027, 1, 31))
    assert (jan31.consult_buyers, jan31.unreplied_buyers) == (3, 1)  # b1: 210 s, on time
    assert jan31.response_s_median == 115.0  # rounds answered: b6 20 s and b1 210 s
    assert row(f, date=D(2027, 2, 1)).consult_buyers == 2  # b1 is not February's
    # taobao: a reply after midnight fails the round
    t = kpi.reply_report(store, shops=None, period=ALL, by="day",
                         rule=get_rule("taobao", window="08:00-24:00"))
    jan31 = row(t, date=D(2027, 1, 31))
    assert (jan31.rounds, jan31.rounds_on_time) == (3, 1)  # only b6 (20 s)


def test_jd_session_continuing_into_the_next_month_is_one_session(store):
    f = kpi.reply_report(store, shops=None, period=ALL, rule=get_rule("jd"), by="day")
    assert (row(f, date=D(2027, 1, 31)).sessions, row(f, date=D(2027, 1, 31)).sessions_on_time) \
        == (2, 1)
    # 1 February: b5's session only; b6 wrote in the session opened on 31 January
    assert (row(f, date=D(2027, 2, 1)).sessions, row(f, date=D(2027, 2, 1)).sessions_on_time) \
        == (1, 0)


def test_unreplied_list_across_months(store):
    f = kpi.unreplied_report(store, shops=None, period=ALL, rule=get_rule("pdd5"))
    got = [(r.buyer_id, r.wait_s, r.agent) for r in f.itertuples()]
    assert got[0][0] == "b2" and np.isnan(got[0][1]) and got[0][2] == "未分配"  # beyond horizon
    assert got[1][0] == "b7" and np.isnan(got[1][1]) and got[1][2] == "店A:阿强"  # lead-in
    assert got[2][0] == "b3" and np.isnan(got[2][1]) and got[2][2] == "未分配"  # beyond lead-in
    assert len(got) == 3


def test_agent_report_conversion_window_straddles_the_month(store):
    frame, total = kpi.agent_report(store, shops=None, period=ALL, rule=get_rule("pdd5"),
                                    attr=kpi.Attribution())
    q = row(frame, agent_id="店A:阿强")
    # b4 inquired on 30 January and paid on 1 February: counted once, and the sale is 阿强's
    assert (q.inquiry_buyers, q.ordered_buyers, q.paid_buyers) == (2, 1, 1)  # and b7
    assert (q.attributed_orders, q.sales) == (1, 100.0)
    # b4 and b7 on 30 January on time, b7 on 2 February late (his, by the lead-in)
    assert (q.consult_buyers, q.unreplied_buyers) == (3, 1)
    m = row(frame, agent_id="店A:阿美")
    assert (m.consult_buyers, m.unreplied_buyers) == (4, 0)  # b3 (15 January) is not hers
    u = row(frame, agent_id="未分配")
    assert (u.consult_buyers, u.unreplied_buyers) == (2, 2)  # b2 and b3's February message
    assert (total["paid_buyers"], total["sales"], total["consult_buyers"]) == (1, 100.0, 9)
    assert total["served_buyers"] == 6  # b1's reply came after midnight: not served


# --------------------------------------------------------------------------- sliced == one call

PERIODS = [ALL, kpi.Period(D(2027, 1, 31), D(2027, 2, 1)), kpi.Period(D(2027, 1, 20), None),
           kpi.Period(None, D(2027, 1, 31)), kpi.Period(D(2027, 2, 1), D(2027, 2, 28))]
RULES = [get_rule("pdd5"), get_rule("pdd3"), get_rule("taobao"), get_rule("jd"),
         get_rule("douyin"), get_rule("pdd5", count_bot_replies=True),
         get_rule("pdd5", threshold=4 * 86400)]


def one_call_reply(store, period, rule, by):
    since = None if period.since is None else period.since - dt.timedelta(days=kpi.LEAD_DAYS)
    msgs = store.read(schema.MESSAGES, since=since, until=period.until,
                      columns=kpi.MESSAGE_COLUMNS, time_slack=kpi.REPLY_SLACK)
    return reply_kpis(msgs, rule, store.read(schema.EXCLUDED), by=by, since=period.since,
                      until=period.until)


@pytest.mark.parametrize("period", PERIODS, ids=str)
@pytest.mark.parametrize("rule", RULES,
                         ids=lambda r: f"{r.name}-{r.threshold_s}-{r.count_bot_replies}")
def test_sliced_reply_report_equals_one_computation(store, period, rule):
    for by in ("day", "week", "shop", "agent", "hour"):
        ref = one_call_reply(store, period, rule, by)
        if ref.empty:
            continue
        got = kpi.reply_report(store, shops=None, period=period, rule=rule, by=by)
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
    since = None if period.since is None else period.since - dt.timedelta(days=kpi.LEAD_DAYS)
    msgs = store.read(schema.MESSAGES, since=since, until=period.until,
                      columns=kpi.MESSAGE_COLUMNS, time_slack=kpi.REPLY_SLACK)
    ref = unreplied_list(msgs, rule, since=period.since, until=period.until)
    got = kpi.unreplied_report(store, shops=None, period=period, rule=rule)
    if len(ref):
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
    else:
        assert got.empty


@pytest.mark.parametrize("period", PERIODS, ids=str)
@pytest.mark.parametrize("attr", [kpi.Attribution(), kpi.Attribution(anchor="pay"),
                                  kpi.Attribution(window_days=0.5, lookback_days=40)], ids=str)
def test_sliced_agent_report_equals_one_computation(store, period, attr):
    assert_agent_report_equals_one_computation(store, ["店A"], period, attr)


def assert_agent_report_equals_one_computation(store, shops, period, attr) -> None:
    """kpi.agent_report (sliced, shops packed as SLICE_ROWS allows) equals reply_kpis and
    conversion_kpis on all the shops' messages and orders read at once."""
    from cskit.metrics.reply import reply_kpis as rk

    rule = get_rule("pdd5")
    parts = [kpi.read_shop(store, s, period, attr, content=True) for s in shops]
    msgs, orders, excl = (pd.concat([p[i] for p in parts], ignore_index=True) for i in range(3))
    kw = dict(since=period.since, until=period.until)
    ck = dict(window_days=attr.window_days, lookback_days=attr.lookback_days, anchor=attr.anchor)
    reply_a, reply_s = rk(msgs, rule, excl, by="agent", **kw), rk(msgs, rule, excl, by="shop", **kw)
    # pending against each shop's data end in the store (not the end of the read)
    ends = kpi.data_ends(store, list(shops))

    def conv(by):
        return pd.concat([conversion_kpis(p[0], p[1], by=by, as_of=ends[s], excluded=p[2],
                                          **kw, **ck)
                          for s, p in zip(shops, parts)], ignore_index=True) \
            .sort_values(["shop"] + (["agent_id"] if by == "agent" else []), kind="stable") \
            .reset_index(drop=True)

    conv_a, conv_s = conv("agent"), conv("shop")
    if reply_a.empty and conv_a.empty:
        return
    frame, total = kpi.agent_report(store, shops=None, period=period, rule=rule, attr=attr)
    ref = kpi.merge_agent_frames(kpi.merge_agent_frames(reply_a, conv_a), None)
    pd.testing.assert_frame_equal(frame, ref, check_exact=True)
    ref_total = kpi.total_row(reply_s.merge(conv_s, on=["shop"], how="outer"))
    assert total.keys() == ref_total.keys()
    for k, v in ref_total.items():
        assert (pd.isna(v) and pd.isna(total[k])) or total[k] == v, k


def test_each_month_is_read_once_with_only_the_needed_columns(store, monkeypatch):
    slices = []
    real_slices, real_packed = kpi_slices.month_slices, kpi_slices.packed_slice

    def count(*a, **kw):
        for sl in real_slices(*a, **kw):
            slices.append((sl.lo, sl.hi))
            yield sl

    def count_packed(*a, **kw):
        sl = real_packed(*a, **kw)
        slices.append((sl.lo, sl.hi))
        return sl

    monkeypatch.setattr(kpi_slices, "month_slices", count)
    monkeypatch.setattr(kpi_slices, "packed_slice", count_packed)
    calls = []
    real = Store.read_table

    def spy(self, kind, entries, columns, **kw):
        calls.append((kind, {f.month for f in entries}, tuple(columns), kw.get("categorical")))
        return real(self, kind, entries, columns, **kw)

    monkeypatch.setattr(Store, "read_table", spy)
    kpi.reply_report(store, shops=None, period=ALL, rule=get_rule("pdd5"), by="day")
    msg_calls = [c for c in calls if c[0] == schema.MESSAGES]
    if kpi_slices.SLICE_ROWS == 0:  # a slice per month, owning its days; each month read once
        assert [sorted(c[1]) for c in msg_calls] == [["2027-01"], ["2027-02"]]
        assert slices == [(D(2027, 1, 1), D(2027, 1, 31)), (D(2027, 2, 1), D(2027, 2, 28))]
    else:  # the whole (small) shop in one slice, read in one scan
        assert [sorted(c[1]) for c in msg_calls] == [["2027-01", "2027-02"]]
        assert slices == [(D(2027, 1, 1), D(2027, 2, 28))]
    # content (closing remarks of a buyer-day rule) is read, dictionary-encoded like all text
    assert all("conversation_id" not in c[2] and "content" in c[2] for c in msg_calls)
    assert all(c[3] for c in msg_calls)  # dictionary-encoded text
    calls.clear()
    kpi.reply_report(store, shops=None, period=ALL, rule=get_rule("jd"), by="day")
    assert all("conversation_id" in c[2] and "content" not in c[2]
               for c in calls if c[0] == schema.MESSAGES)
    calls.clear()
    kpi.reply_report(store, shops=None, period=kpi.Period(D(2027, 2, 9), D(2027, 2, 11)),
                     rule=get_rule("pdd5"), by="day")
    assert [sorted(c[1]) for c in calls if c[0] == schema.MESSAGES] == [["2027-02"]]


def test_big_shop_in_months_small_shops_packed(monkeypatch):
    """shop_groups: consecutive small shops share a group up to SLICE_ROWS messages; a shop
    sliced by month, or without messages, is a group of its own."""
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 100)

    def plan(rows, months=1):
        return kpi._Plan("x", {}, [], [(D(2027, 1, 1), D(2027, 1, 31))] * months, False, rows,
                         None, None)

    plans = {"a": plan(40), "b": plan(60), "c": plan(1), "big": plan(500, months=3),
             "d": plan(10), "none": None, "e": plan(100), "f": plan(0), "g": plan(101)}
    assert kpi.shop_groups(plans) == [["a", "b"], ["c"], ["big"], ["d"], ["none"], ["e", "f"],
                                      ["g"]]


# --------------------------------------------------------------------------- slicers, no slack


@pytest.fixture(scope="module")
def sample():
    from cskit.sample import generate

    data = generate(20261116, days=75)  # 2026-11-09 .. 2027-01-22: three months
    return data.messages, data.orders, data.excluded


def month_bounds(messages):
    months = sorted(set(pd.to_datetime(messages["sent_at"]).dt.strftime("%Y-%m")))
    out = []
    for m in months:
        a = pd.Timestamp(m + "-01")
        out.append((a.date(), (a + pd.offsets.MonthEnd(0)).date()))
    return out


@pytest.mark.parametrize("preset", ["pdd5", "pdd3", "taobao", "jd", "douyin"])
def test_reply_slices_cut_at_midnight_equal_one_call(sample, preset):
    """Every slice ends exactly at its last midnight (no slack at all): every reply across a
    month boundary is resolved by carrying the buyer-day forward."""
    everything, _, excluded = sample
    bys = ("day", "week", "shop", "agent", "hour")
    for shop in ("花语家居旗舰店", "极客数码京东专营店"):  # ReplySlices takes one shop
        messages = everything[everything["shop"] == shop]
        for rule in (get_rule(preset), get_rule(preset, count_bot_replies=True)):
            rs = ReplySlices(rule, excluded, bys=bys, unreplied=True)
            months = month_bounds(messages)
            for i, (lo, hi) in enumerate(months):
                last = i == len(months) - 1
                rs.add(messages, lo, hi, last=last,
                       end=None if last else pd.Timestamp(hi) + pd.Timedelta(days=1))
            got = rs.result()
            for by in bys:
                pd.testing.assert_frame_equal(got[by], reply_kpis(messages, rule, excluded, by=by),
                                              check_exact=True)
            pd.testing.assert_frame_equal(got["unreplied"],
                                          unreplied_list(messages, rule, excluded),
                                          check_exact=True)


@pytest.mark.parametrize("anchor", ["order", "pay"])
def test_conversion_slices_equal_one_call(sample, anchor):
    messages, orders, _ = sample
    bys = ("day", "week", "shop", "agent")
    cs = ConversionSlices(orders, bys=bys, anchor=anchor)
    months = month_bounds(messages)
    for i, (lo, hi) in enumerate(months):
        first, last = i == 0, i == len(months) - 1
        cs.add(messages, lo, hi, start=None if first else pd.Timestamp(lo) - pd.Timedelta(days=3),
               end=None if last else pd.Timestamp(hi) + pd.Timedelta(days=1),
               orders_to=None if last else hi, first=first, last=last)
    got = cs.result()
    for by in bys:
        pd.testing.assert_frame_equal(got[by], conversion_kpis(messages, orders, by=by,
                                                               anchor=anchor), check_exact=True)


def test_slices_must_come_in_order(sample):
    messages = sample[0][sample[0]["shop"] == "花语家居旗舰店"]
    rs = ReplySlices("pdd5")
    rs.add(messages, D(2026, 12, 1), D(2026, 12, 31))
    with pytest.raises(ValueError):
        rs.add(messages, D(2026, 11, 1), D(2026, 11, 30))


# --------------------------------------------------------------------------- small shops packed


@pytest.fixture(scope="module")
def four_shops(tmp_path_factory):
    """sample_data/ ingested: four shops of 100 to 11,623 messages."""
    from pathlib import Path

    st = Store(tmp_path_factory.mktemp("packed") / "store")
    ingest([Path(__file__).resolve().parent.parent / "sample_data"], st)
    return st


@pytest.mark.parametrize("slice_rows", [0, 9_000, 10**9], ids=["alone", "some", "all"])
@pytest.mark.parametrize("period", [ALL, kpi.Period(D(2026, 11, 12), D(2026, 11, 18))], ids=str)
def test_shops_packed_in_one_slice_equal_one_computation(four_shops, monkeypatch, slice_rows,
                                                         period):
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", slice_rows)
    store = four_shops
    shops = store.shops(schema.MESSAGES)
    groups = kpi.shop_groups(kpi._plans(store, shops, period, 0, kpi.REPLY_SLACK))
    assert len(groups) == {0: 4, 9_000: 3, 10**9: 1}[slice_rows]
    for rule in (get_rule("pdd5"), get_rule("jd")):
        for by in ("day", "week", "shop", "agent", "hour"):
            got = kpi.reply_report(store, shops=None, period=period, rule=rule, by=by)
            pd.testing.assert_frame_equal(got, one_call_reply(store, period, rule, by),
                                          check_exact=True)
        msgs = store.read(schema.MESSAGES, since=period.since, until=period.until,
                          columns=kpi.MESSAGE_COLUMNS, time_slack=kpi.REPLY_SLACK)
        ref = unreplied_list(msgs, rule, store.read(schema.EXCLUDED), since=period.since,
                             until=period.until)
        got = kpi.unreplied_report(store, shops=None, period=period, rule=rule)
        pd.testing.assert_frame_equal(got, ref, check_exact=True)

    # the agent report: reply and conversion of all shops computed at once
    assert_agent_report_equals_one_computation(store, shops, period, kpi.Attribution())


def test_packed_shops_keep_the_order_asked_for(four_shops, monkeypatch):
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 10**9)
    shops = sorted(four_shops.shops(schema.MESSAGES), reverse=True)
    got = kpi.reply_report(four_shops, shops=shops, period=ALL, rule=get_rule("pdd5"), by="day")
    assert list(pd.unique(got["shop"])) == shops
    assert got.groupby("shop", sort=False)["date"].apply(lambda d: d.is_monotonic_increasing).all()


def test_reply_slices_take_several_shops_only_in_one_last_slice(four_shops):
    from cskit.metrics.reply import ReplySlices

    msgs = four_shops.read(schema.MESSAGES, columns=kpi.MESSAGE_COLUMNS)
    lo, hi = D(2026, 11, 9), D(2026, 11, 22)
    with pytest.raises(ValueError, match="several shops"):
        ReplySlices("pdd5").add(msgs, lo, hi, last=False)
    rs = ReplySlices("pdd5")
    one = msgs[msgs["shop"] == msgs["shop"].iloc[0]]
    rs.add(one, lo, D(2026, 11, 15))
    with pytest.raises(ValueError, match="several shops only in one, last slice"):
        rs.add(msgs, D(2026, 11, 16), hi, last=True)
    assert len(ReplySlices("pdd5").add(msgs, lo, hi, last=True).shop_names) == 4
