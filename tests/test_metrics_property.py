"""Property test: reply_kpis against a slow, loop-based reference implementation.

Hypothesis draws small message logs (two shops, a few buyers, times around the
08:00 / 23:00 / midnight edges, waits that hit the thresholds exactly, ties at
the same second, robots, system messages, excluded buyers) and checks every
column of ``reply_kpis(by="day")`` and ``reply_kpis(by="agent")``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cskit.metrics import get_rule, reply_kpis

BASE = dt.datetime(2026, 11, 20)
START_TIMES = [dt.timedelta(hours=h, minutes=m, seconds=s) for h, m, s in
               [(7, 55, 0), (7, 59, 59), (8, 0, 0), (12, 0, 0), (22, 55, 0), (22, 59, 59),
                (23, 0, 0), (23, 58, 0)]]
W_START, W_END = dt.time(8, 0), dt.time(23, 0)
UNASSIGNED, BOT = "未分配", "机器人"


# ----------------------------------------------------------------------------------------
# reference implementation: plain loops, written from the rule text
# ----------------------------------------------------------------------------------------
def quantile(values, q):
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


def reference(rows, excluded, threshold, count_bot, slow_s, since, until, by):
    def is_excluded(shop, buyer, day):
        for e in excluded:
            if e["shop"] == shop and e["buyer_id"] == buyer and \
                    (e["since"] is None or day >= e["since"].date()):
                return True
        return False

    def in_range(day):
        return (since is None or day >= since) and (until is None or day <= until)

    def label(m):
        if m["agent_id"] is not None:
            return m["agent_id"]
        return BOT if m["sender"] == "bot" else UNASSIGNED

    convs = defaultdict(list)
    for m in rows:
        if m["sender"] in ("buyer", "agent", "bot"):
            convs[(m["shop"], m["buyer_id"])].append(m)

    groups = defaultdict(lambda: {"consult": set(), "unreplied": set(), "first": [],
                                  "rounds": [], "capped": [], "win": 0, "fast": 0,
                                  "slow": set(), "buyer": 0, "agent": 0, "bot": 0})

    def key(shop, day, agent):
        return (shop, day) if by == "day" else (shop, agent)

    for (shop, buyer), msgs in convs.items():
        if "source_row" in msgs[0]:
            msgs.sort(key=lambda m: (m["sent_at"], m["source_file"], m["source_row"], m["i"]))
        else:
            msgs.sort(key=lambda m: (m["sent_at"], m["i"]))
        first_seen = set()
        open_rounds = []
        for i, m in enumerate(msgs):
            day = m["sent_at"].date()
            excl = is_excluded(shop, buyer, day)
            if m["sender"] in ("agent", "bot"):
                if not excl and in_range(day):
                    groups[key(shop, day, label(m))][m["sender"]] += 1
                if m["sender"] == "agent":  # a human reply closes every open round
                    for r in open_rounds:
                        r["reply"] = m
                    open_rounds = []
                continue
            # a buyer message
            reply = human = None
            for later in msgs[i + 1:]:
                if reply is None and (later["sender"] == "agent" or
                                      (count_bot and later["sender"] == "bot")):
                    reply = later
                if human is None and later["sender"] == "agent":
                    human = later
            served = None
            for earlier in msgs[:i]:
                if earlier["sender"] == "agent":
                    served = earlier
            fallback = label(served) if served else UNASSIGNED
            rule_agent = label(reply) if reply else fallback
            human_agent = label(human) if human else fallback
            wait = (reply["sent_at"] - m["sent_at"]).total_seconds() if reply else None
            hwait = (human["sent_at"] - m["sent_at"]).total_seconds() if human else None
            in_win = W_START <= m["sent_at"].time() < W_END
            counted = in_win and not excl and in_range(day)
            # rounds: a new one unless a round of this day is still open
            if not any(r["start"]["sent_at"].date() == day for r in open_rounds):
                r = {"start": m, "reply": None, "agent": None}
                open_rounds.append(r)
                if counted:
                    m["round"] = r
            if excl or not in_range(day):
                continue
            groups[key(shop, day, human_agent)]["buyer"] += 1
            if not counted:
                continue
            late = wait is None or wait > threshold
            g = groups[key(shop, day, rule_agent)]
            g["consult"].add((buyer, day))
            if late:
                g["unreplied"].add((buyer, day))
            g = groups[key(shop, day, human_agent)]
            if (buyer, day) not in first_seen:
                first_seen.add((buyer, day))
                g["first"].append(hwait)
            g["win"] += 1
            if hwait is not None and hwait <= 30:
                g["fast"] += 1
            if hwait is None or hwait > slow_s:
                g["slow"].add((buyer, day))
            if "round" in m:
                m["round"]["key"] = key(shop, day, human_agent)
        for m in msgs:
            r = m.pop("round", None)
            if r is None:
                continue
            g = groups[r["key"]]
            start, reply = r["start"], r["reply"]
            if reply is None:
                g["rounds"].append(None)
                g["capped"].append(600.0)
            else:
                w = (reply["sent_at"] - start["sent_at"]).total_seconds()
                g["rounds"].append(w)
                if w > 0 and reply["sent_at"].date() == start["sent_at"].date():
                    g["capped"].append(min(w, 600.0))

    def mean(xs):
        xs = [x for x in xs if x is not None]
        return sum(xs) / len(xs) if xs else math.nan

    def ratio(a, b):
        return a / b if b else math.nan

    out = []
    for k, g in groups.items():
        answered = [x for x in g["rounds"] if x is not None]
        consult, unreplied = len(g["consult"]), len(g["unreplied"])
        out.append({
            "shop": k[0], ("date" if by == "day" else "agent_id"): k[1],
            "consult_buyers": consult, "unreplied_buyers": unreplied,
            "reply_rate": ratio(consult - unreplied, consult),
            "first_response_s_mean": mean(g["first"]),
            "response_s_mean": mean(answered),
            "response_s_median": quantile(answered, 0.5) if answered else math.nan,
            "response_s_p90": quantile(answered, 0.9) if answered else math.nan,
            "response_s_capped_mean": mean(g["capped"]),
            "answer_ratio": ratio(g["agent"], g["buyer"]),
            "answered_30s_rate": ratio(g["fast"], g["win"]),
            "slow_buyers": len(g["slow"]),
            "buyer_messages": g["buyer"], "agent_messages": g["agent"], "bot_messages": g["bot"],
        })
    keys = ["shop", "date" if by == "day" else "agent_id"]
    if not out:
        return pd.DataFrame(columns=keys)
    return pd.DataFrame(out).sort_values(keys).reset_index(drop=True)


# ----------------------------------------------------------------------------------------
# generated logs
# ----------------------------------------------------------------------------------------
@st.composite
def logs(draw, threshold: int = 300, slow_s: int = 100):
    """Random small logs; the gaps between messages favour the thresholds (±1 s), the
    30-second mark, ties (0 s) and jumps over 23:00 and midnight."""
    steps = st.sampled_from([0, 0, 1, 29, 30, 31, slow_s, slow_s + 1, threshold, threshold,
                             threshold + 1, max(threshold - 1, 0), 600, 3600, 30000, 33000])
    rows = []
    for shop in draw(st.sampled_from([["店铺A"], ["店铺A", "店铺B"]])):
        for b in range(draw(st.integers(1, 3))):
            t = BASE + draw(st.sampled_from([0, 1])) * dt.timedelta(days=1) + \
                draw(st.sampled_from(START_TIMES))
            for _ in range(draw(st.integers(1, 10))):
                sender = draw(st.sampled_from(["buyer", "buyer", "agent", "agent", "bot",
                                               "system"]))
                agent = draw(st.sampled_from(["a1", "a2", None])) if sender != "buyer" else None
                rows.append({"shop": shop, "buyer_id": f"b{b}", "agent_id": agent,
                             "sender": sender, "sent_at": t})
                t += dt.timedelta(seconds=draw(steps))
    order = draw(st.permutations(range(len(rows))))
    rows = [dict(rows[j], i=i) for i, j in enumerate(order)]
    if draw(st.booleans()):  # tie-break columns
        for r in rows:
            r["source_file"] = draw(st.sampled_from(["a.csv", "b.csv"]))
            r["source_row"] = draw(st.integers(0, 5))
    excluded = []
    for shop, buyer in sorted({(r["shop"], r["buyer_id"]) for r in rows}):
        if draw(st.integers(0, 3)) == 0:
            since = draw(st.sampled_from([None, BASE, BASE + dt.timedelta(days=1),
                                          BASE + dt.timedelta(days=1, hours=15)]))
            excluded.append({"shop": shop, "buyer_id": buyer, "reason": "拉黑", "since": since})
    return rows, excluded


@st.composite
def cases(draw):
    threshold = draw(st.sampled_from([300, 300, 0, 30, 180, 301]))
    slow_s = draw(st.sampled_from([100, 30, 300]))
    rows, excluded = draw(logs(threshold, slow_s))
    return rows, excluded, threshold, slow_s


def frames(rows, excluded):
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "i"} for r in rows])
    df["sent_at"] = df["sent_at"].astype("datetime64[s]")
    ex = pd.DataFrame(excluded, columns=["shop", "buyer_id", "reason", "since"])
    ex["since"] = pd.to_datetime(ex["since"]).astype("datetime64[s]")
    return df, ex


def check(got: pd.DataFrame, want: pd.DataFrame):
    keys = list(want.columns[:2])
    assert got[keys].astype(object).values.tolist() == want[keys].values.tolist()
    for c in want.columns[2:]:
        g, w = got[c].to_numpy(dtype=float), want[c].to_numpy(dtype=float)
        assert np.allclose(g, w, equal_nan=True, rtol=1e-9, atol=1e-9), (c, g, w)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.booleans(),
       st.sampled_from([(None, None), (dt.date(2026, 11, 20), dt.date(2026, 11, 20)),
                        (dt.date(2026, 11, 21), None)]))
def test_reply_kpis_match_reference(case, count_bot, span):
    rows, excluded, threshold, slow_s = case
    since, until = span
    df, ex = frames(rows, excluded)
    rule = get_rule("pdd5", threshold=threshold, count_bot_replies=count_bot)
    for by in ("day", "agent"):
        got = reply_kpis(df, rule, ex, by=by, since=since, until=until, slow_threshold_s=slow_s)
        want = reference([dict(r) for r in rows], excluded, threshold, count_bot, slow_s,
                         since, until, by)
        check(got, want)


@settings(max_examples=30, deadline=None)
@given(logs(), st.sampled_from(["pdd5", "pdd3", "taobao", "jd", "douyin"]),
       st.sampled_from(["day", "week", "shop", "agent", "hour"]))
def test_one_shop_at_a_time_gives_the_same_answer(log, preset, by):
    rows, excluded = log
    df, ex = frames(rows, excluded)
    whole = reply_kpis(df, preset, ex, by=by)
    parts = [reply_kpis(df[df["shop"] == s], preset, ex, by=by) for s in sorted(set(df["shop"]))]
    parts = [p for p in parts if len(p)]
    if not parts:
        assert whole.empty
        return
    pd.testing.assert_frame_equal(whole, pd.concat(parts, ignore_index=True))
