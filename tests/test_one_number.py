"""Issue 12, point 5: one number per question.  Attribution, sessions, replies and
``pending`` do not depend on the date range a command reads; `kpi --by agent`,
`kpi --list unreplied`, the report CSVs and day-by-day sums agree."""

from __future__ import annotations

import csv
import io

import pytest

from cskit.ingest import ingest
from cskit.store import Store
from chatlog import chat_store
from chatlog import run as cli



def make_store(tmp_path, chats: list[str], orders: str | None = None, extra=()) -> str:
    return str(chat_store(tmp_path, chats, orders or None, extra=extra))


def run(*args):
    r = cli(*args)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return r


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def by(rows_, key):
    return {r[key]: r for r in rows_}


# --------------------------------------------------------------------------- jd sessions

JD = [  # the rows: one conversation c1 from 29 November 21:00 into 30 November
    "店J,jd,c1,b1,,buyer,2026-11-29 21:00:00,在吗,,",
    "店J,jd,c1,b1,店J:小智,agent,2026-11-29 21:00:10,在的,,",
    "店J,jd,c1,b1,,buyer,2026-11-30 10:00:00,发货了吗,,",
    "店J,jd,c1,b1,店J:小智,agent,2026-11-30 10:00:50,发了,,",
]


def test_jd_session_belongs_to_the_day_of_its_first_buyer_message_whatever_the_range(tmp_path):
    store = make_store(tmp_path, JD)
    one = by(rows(run("kpi", "--store", store, "--rule", "jd", "--since", "2026-11-30",
                      "--until", "2026-11-30", "-f", "csv").stdout), "date")
    two = by(rows(run("kpi", "--store", store, "--rule", "jd", "--since", "2026-11-29",
                      "--until", "2026-11-30", "-f", "csv").stdout), "date")
    # 29 November: the session opened at 21:00 (window 09:00-23:00), answered in 10 s
    assert (two["2026-11-29"]["sessions"], two["2026-11-29"]["sessions_on_time"]) == ("1", "1")
    # 30 November: b1 consults, but writes in the session opened the day before: no session,
    # however the range starts (before: 1 session, 0 on time when --since 2026-11-30)
    for r in (one["2026-11-30"], two["2026-11-30"]):
        assert (r["consult_buyers"], r["sessions"], r["sessions_on_time"]) == ("1", "0", "0")


def test_jd_conversation_silent_beyond_the_lead_in_opens_a_new_session(tmp_path):
    chats = JD[:2] + ["店J,jd,c1,b1,,buyer,2026-12-04 10:00:00,还在吗,,",
                      "店J,jd,c1,b1,店J:小智,agent,2026-12-04 10:00:20,在,,"]
    store = make_store(tmp_path, chats)
    for since in ("2026-11-29", "2026-12-04"):
        r = by(rows(run("kpi", "--store", store, "--rule", "jd", "--since", since,
                        "--until", "2026-12-04", "-f", "csv").stdout), "date")
        # 5 days of silence (lead-in 3 days): a new session on 4 December, on time
        assert (r["2026-12-04"]["sessions"], r["2026-12-04"]["sessions_on_time"]) == ("1", "1")


# --------------------------------------------------------------------------- lead-in, horizon

LEAD = [
    # b1: served by 阿美 on Saturday 14 November; on Monday 16 November nobody answers
    "店A,pdd,,b1,,buyer,2026-11-14 10:00:00,在吗,,",
    "店A,pdd,,b1,店A:阿美,agent,2026-11-14 10:00:30,在的,,",
    "店A,pdd,,b1,,buyer,2026-11-16 10:00:00,发货了吗,,",
    # b2: served by 阿强 on 1 November (15 days before): beyond the lead-in → 未分配
    "店A,pdd,,b2,,buyer,2026-11-01 10:00:00,你好,,",
    "店A,pdd,,b2,店A:阿强,agent,2026-11-01 10:00:30,您好,,",
    "店A,pdd,,b2,,buyer,2026-11-16 11:00:00,在吗,,",
    # b3: Monday 16 November 12:00, 阿强 answers on Thursday 19th (beyond the 2-day horizon)
    "店A,pdd,,b3,,buyer,2026-11-16 12:00:00,有货吗,,",
    "店A,pdd,,b3,店A:阿强,agent,2026-11-19 12:00:00,有的,,",
]


@pytest.mark.parametrize("since,until", [("2026-11-16", "2026-11-16"),
                                         ("2026-11-16", "2026-11-22"),
                                         ("2026-11-10", "2026-11-16")])
def test_agent_and_reply_of_a_buyer_day_do_not_depend_on_the_range(tmp_path, since, until):
    store = make_store(tmp_path, LEAD)
    ag = rows(run("kpi", "--store", store, "--since", since, "--until", until, "--by", "agent",
                  "-f", "csv").stdout)
    mon = {r["agent_id"]: (r["consult_buyers"], r["unreplied_buyers"]) for r in ag
           if r["consult_buyers"] not in ("", "0")}  # (阿强's row: his message on the 19th)
    if since == "2026-11-16":
        assert mon == {"店A:阿美": ("1", "1"), "未分配": ("2", "2")}
    lst = rows(run("kpi", "--store", store, "--since", since, "--until", until,
                   "--list", "unreplied", "-f", "csv").stdout)
    got = {(r["buyer_id"], r["sent_at"][:10]): (r["agent"], r["wait_s"]) for r in lst}
    assert got[("b1", "2026-11-16")] == ("店A:阿美", "")  # 阿美 served b1 two days before
    assert got[("b2", "2026-11-16")] == ("未分配", "")  # 阿强 served b2 15 days before
    assert got[("b3", "2026-11-16")] == ("未分配", "")  # 阿强's message 3 days later: no reply


# --------------------------------------------------------------------------- pending

PENDING_CHATS = [
    # b1 inquires on Monday 16 November 10:00 (阿美 answers); b9 writes on the 19th 09:00
    # (inside a one-day read) and on the 26th (outside it): the store's data end is the 26th
    "店P,pdd,,b1,,buyer,2026-11-16 10:00:00,这个多少钱,,",
    "店P,pdd,,b1,店P:阿美,agent,2026-11-16 10:00:30,99元,,",
    "店P,pdd,,b9,,buyer,2026-11-19 09:00:00,在吗,,",
    "店P,pdd,,b9,,buyer,2026-11-26 09:00:00,在吗,,",
]
# o0 (another buyer, before the period) makes the orders cover the period: without it
# conversion would be unknown, not pending (docs/metrics.md, "When conversion is unknown")
PENDING_ORDERS = ("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
                  "o0,b0,2026-11-10 09:30:00,2026-11-10 09:31:00,10.00,已付款,店P\n"
                  "o9,b9,2026-11-26 09:30:00,2026-11-26 09:31:00,10.00,已付款,店P\n")


def test_pending_is_judged_against_the_store_data_end_not_the_read(tmp_path):
    store = make_store(tmp_path, PENDING_CHATS, PENDING_ORDERS)
    # b1's window closes on the 19th 10:00; the read of a one-day range ends with b9's
    # message at 09:00 that day, but the store holds data to the 26th: not pending
    r = run("kpi", "--store", store, "--since", "2026-11-16", "--until", "2026-11-16",
            "--by", "agent", "-f", "csv")
    a = by(rows(r.stdout), "agent_id")["店P:阿美"]
    assert (a["inquiry_buyers"], a["pending"]) == ("1", "False")
    out = tmp_path / "r"
    run("report", "--store", store, "--week", "2026-W47", "--out", out, "--no-charts")
    conv = by(rows((out / "conversion_by_agent.csv").read_text(encoding="utf-8-sig")),
              "agent_id")
    assert conv["店P:阿美"]["pending"] == "False"


# --------------------------------------------------------------------------- sample data

@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    from pathlib import Path

    st = Store(tmp_path_factory.mktemp("sample") / "store")
    ingest([Path(__file__).resolve().parent.parent / "sample_data"], st)
    return str(st.root)


def frame(text: str):
    import pandas as pd

    return pd.read_csv(io.StringIO(text), dtype={"buyer_id": str})


@pytest.mark.parametrize("week", ["2026-W46", "2026-W47"])
def test_commands_agree_on_the_sample_week(sample_store, week, tmp_path):
    """`kpi --by agent`, the per-agent sums of `--list unreplied`, the report CSVs and
    day-by-day runs give the same numbers for the same week."""
    import datetime as dt

    import pandas as pd

    from cskit.kpi import parse_week

    s = sample_store
    agent = frame(run("kpi", "--store", s, "--week", week, "--by", "agent", "--wide", "-f",
                      "csv").stdout)
    day = frame(run("kpi", "--store", s, "--week", week, "--by", "day", "-f", "csv").stdout)
    shop = frame(run("kpi", "--store", s, "--week", week, "--by", "shop", "-f", "csv").stdout)
    late = frame(run("kpi", "--store", s, "--week", week, "--list", "unreplied",
                     "-f", "csv").stdout)
    assert len(late) and len(agent) > 8
    # 1. the list's buyer-days per (shop, agent) are the agents' unreplied_buyers
    late["date"] = late["sent_at"].str[:10]
    per = late.drop_duplicates(["shop", "buyer_id", "date", "agent"]) \
        .groupby(["shop", "agent"]).size()
    kpi_u = agent.set_index(["shop", "agent_id"])["unreplied_buyers"]
    kpi_u = kpi_u[kpi_u.fillna(0) > 0]
    kpi_u.index.names = ["shop", "agent"]
    pd.testing.assert_series_equal(per.sort_index(), kpi_u.astype(int).sort_index(),
                                   check_names=False)
    # 2. the report's CSVs are the kpi outputs
    out = tmp_path / "r"
    run("report", "--store", s, "--week", week, "--out", out, "--no-charts")

    def csv_(name):
        return pd.read_csv(out / name, dtype={"buyer_id": str})

    pd.testing.assert_frame_equal(csv_("kpi_by_agent.csv"), agent, check_dtype=False)
    pd.testing.assert_frame_equal(csv_("kpi_by_day.csv"), day, check_dtype=False)
    rep_late = csv_("unreplied.csv")
    pd.testing.assert_frame_equal(rep_late[["shop", "buyer_id", "sent_at", "wait_s", "agent"]],
                                  late[["shop", "buyer_id", "sent_at", "wait_s", "agent"]],
                                  check_dtype=False)
    # 3. day by day: each day alone gives that day's row, and agent rows add up
    p = parse_week(week)
    days, agents = [], []
    for i in range(7):
        d = str(p.since + dt.timedelta(days=i))
        days.append(frame(run("kpi", "--store", s, "--since", d, "--until", d, "--by", "day",
                              "-f", "csv").stdout))
        agents.append(frame(run("kpi", "--store", s, "--since", d, "--until", d, "--by",
                                "agent", "-f", "csv").stdout))
    one_by_one = pd.concat(days, ignore_index=True).sort_values(["shop", "date"], kind="stable")
    pd.testing.assert_frame_equal(one_by_one.reset_index(drop=True),
                                  day.sort_values(["shop", "date"], kind="stable")
                                  .reset_index(drop=True), check_dtype=False)
    cols = ["consult_buyers", "unreplied_buyers", "slow_buyers", "buyer_messages",
            "agent_messages"]
    summed = pd.concat(agents).groupby(["shop", "agent_id"])[cols].sum()
    week_rows = agent.set_index(["shop", "agent_id"])[cols].fillna(0)
    pd.testing.assert_frame_equal(summed.sort_index(), week_rows.sort_index(), check_dtype=False)
    # 4. the shop rows are the sums of the day rows (buyer counts are buyer-day sums)
    pd.testing.assert_frame_equal(
        day.groupby("shop")[["consult_buyers", "unreplied_buyers"]].sum(),
        shop.set_index("shop")[["consult_buyers", "unreplied_buyers"]], check_dtype=False)


# --------------------------------------------------------------------------- same second

TIE = [
    # all in the same second, in this file order: 阿美's message sorts before the buyer's
    # (it cannot answer it), 阿强's after it (a 0-second reply)
    "店T,pdd,,b1,店T:阿美,agent,2026-11-16 10:00:00,在的,,",
    "店T,pdd,,b1,,buyer,2026-11-16 10:00:00,这个多少钱,,",
    "店T,pdd,,b1,店T:阿强,agent,2026-11-16 10:00:00,99元,,",
]
TIE_ORDERS = ("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
              "o1,b1,2026-11-16 11:00:00,2026-11-16 11:01:00,99.00,已付款,店T\n"
              "o2,bx,2026-11-30 11:00:00,2026-11-30 11:01:00,1.00,已付款,店T\n")


def test_same_second_serve_and_reply_go_to_one_agent_in_every_command(tmp_path):
    store = make_store(tmp_path, TIE, TIE_ORDERS)
    out = tmp_path / "r"
    run("report", "--store", store, "--week", "2026-W47", "--out", out, "--no-charts")
    for text in (run("kpi", "--store", store, "--week", "2026-W47", "--by", "agent",
                     "-f", "csv").stdout,
                 run("kpi", "--store", store, "--since", "2026-11-16", "--until", "2026-11-16",
                     "--by", "agent", "-f", "csv").stdout,
                 (out / "kpi_by_agent.csv").read_text(encoding="utf-8-sig")):
        a = by(rows(text), "agent_id")
        q = a["店T:阿强"]  # the reply, the serve and the inquiry are all 阿强's
        assert (q["consult_buyers"], q["unreplied_buyers"]) == ("1", "0")
        assert (q["served_buyers"], q["inquiry_buyers"], q["paid_buyers"]) == ("1", "1", "1")
        m = a.get("店T:阿美", {})
        assert m.get("served_buyers", "0") in ("0", "") and m.get("consult_buyers", "0") \
            in ("0", "")


# --------------------------------------------------------------------------- excluded buyers

EXCL_CHATS = [
    # bx: served by 阿美 on 15 and 16 November; blacklisted (拉黑) from 16 November 15:00 —
    # the whole of the 16th is excluded (exclusion works by whole days)
    "店X,pdd,,bx,,buyer,2026-11-15 10:00:00,在吗,,",
    "店X,pdd,,bx,店X:阿美,agent,2026-11-15 10:00:20,在的,,",
    "店X,pdd,,bx,,buyer,2026-11-16 10:00:00,便宜点,,",
    "店X,pdd,,bx,店X:阿美,agent,2026-11-16 10:00:20,不行哦,,",
    # b1: an ordinary buyer on the 16th
    "店X,pdd,,b1,,buyer,2026-11-16 11:00:00,有货吗,,",
    "店X,pdd,,b1,店X:阿美,agent,2026-11-16 11:00:20,有的,,",
]
EXCL_ORDERS = ("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
               "o1,b1,2026-11-16 12:00:00,2026-11-16 12:01:00,10.00,已付款,店X\n"
               "o9,bz,2026-11-30 12:00:00,2026-11-30 12:01:00,1.00,已付款,店X\n")
EXCL_LIST = "买家ID,原因,时间,店铺\nbx,拉黑,2026-11-16 15:00:00,店X\n"


def test_excluded_buyers_count_nowhere_in_reply_and_conversion(tmp_path):
    store = make_store(tmp_path, EXCL_CHATS, EXCL_ORDERS, extra=[("黑名单.csv", EXCL_LIST)])
    out = tmp_path / "r"
    run("report", "--store", store, "--week", "2026-W47", "--out", out, "--no-charts")
    day_kpi = by(rows(run("kpi", "--store", store, "--since", "2026-11-15", "--until",
                          "2026-11-16", "-f", "csv").stdout), "date")
    agent = by(rows(run("kpi", "--store", store, "--since", "2026-11-15", "--until",
                        "2026-11-16", "--by", "agent", "-f", "csv").stdout), "agent_id")
    # the reply table: bx on the 15th counts, on the 16th not (only b1)
    assert (day_kpi["2026-11-15"]["consult_buyers"], day_kpi["2026-11-16"]["consult_buyers"]) \
        == ("1", "1")
    # conversion the same way: bx's 15th is an inquiry, the 16th is not served/inquiry
    m = agent["店X:阿美"]
    assert (m["consult_buyers"], m["served_buyers"], m["inquiry_buyers"]) == ("2", "2", "2")
    conv = by(rows((out / "conversion_by_day.csv").read_text(encoding="utf-8-sig")), "date")
    assert (conv["2026-11-16"]["served_buyers"], conv["2026-11-16"]["inquiry_buyers"],
            conv["2026-11-16"]["paid_buyers"]) == ("1", "1", "1")  # b1 only
    rep = by(rows((out / "kpi_by_day.csv").read_text(encoding="utf-8-sig")), "date")
    assert rep["2026-11-16"]["consult_buyers"] == conv["2026-11-16"]["served_buyers"] == "1"
