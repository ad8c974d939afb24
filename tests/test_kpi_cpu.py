"""The cheaper steps of `cskit kpi` (issue 17 item 6) give what the plain steps they replace
give: histograms, next/previous agent message, the sort's keys, the data end per shop, and
the last agent per buyer carried between slices (only what a later slice can still use)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cskit.metrics import get_rule, reply_kpis
from cskit.metrics.conversion import _max_into
from cskit.metrics.horizon import within_lead
from cskit.metrics.reply import (
    _DENSE_CELLS,
    ReplySlices,
    _Acc,
    _around,
    _next_at,
    _sorted,
)


def _acc(size: int) -> _Acc:
    acc = object.__new__(_Acc)  # only the histogram: no events needed
    acc.size = size
    return acc


def _reference_hist(idx, v, rows):
    at = np.full(max(rows.max() + 1, 1), -1)
    at[rows] = np.arange(len(rows))
    pairs, n = np.unique(np.stack([at[idx], v], axis=1), axis=0, return_counts=True)
    return sorted(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), n.tolist()))


@pytest.mark.parametrize("size,n", [(1, 50), (7, 3000), (400, 2000), (3, 0)])
def test_histogram_dense_part_and_sorted_tail_count_every_pair_once(size, n):
    rng = np.random.default_rng(size)
    idx = rng.integers(0, size, n)
    # mostly short waits, a long tail past any dense table (up to the 2-day horizon)
    v = np.where(rng.random(n) < 0.9, rng.integers(0, 90, n), rng.integers(0, 3 * 86400, n))
    rows = np.unique(idx) if n else np.zeros(0, dtype=np.int64)
    r, vv, c = _acc(size)._hist_frame(idx, v.astype(np.int64), rows)
    got = sorted(zip(r.tolist(), vv.tolist(), c.tolist()))
    assert got == (_reference_hist(idx, v, rows) if n else [])
    assert int(c.sum()) == n
    if n and size * (int(v.max()) + 1) > 4 * n + _DENSE_CELLS:
        assert int(v.max()) in vv.tolist()  # the tail was counted too


def _running(is_reply, gid, forward):
    """The old definition: running minimum (maximum) of reply positions, same group only."""
    n = len(is_reply)
    if forward:
        p = np.where(is_reply, np.arange(n), n)
        at = np.minimum.accumulate(p[::-1])[::-1]
        ok = at < n
    else:
        p = np.where(is_reply, np.arange(n), -1)
        at = np.maximum.accumulate(p)
        ok = at >= 0
    ok[ok] = gid[at[ok]] == gid[ok]
    return np.where(ok, at, -1)


def test_next_and_previous_agent_message_by_binary_search():
    rng = np.random.default_rng(7)
    n = 5000
    gid = np.sort(rng.integers(0, 300, n))
    sender = rng.integers(0, 3, n)  # 0 buyer, 1 agent, 2 robot
    rows = np.flatnonzero(sender == 0)
    g = gid[rows]
    for is_reply in (sender == 1, (sender == 1) | (sender == 2), np.zeros(n, dtype=bool)):
        at = np.flatnonzero(is_reply)
        nxt, prv = _around(at, gid, rows, g)
        assert (nxt == _running(is_reply, gid, True)[rows]).all()
        assert (prv == _running(is_reply, gid, False)[rows]).all()
        assert (_next_at(at, gid, rows, g) == nxt).all()


@pytest.mark.parametrize("ordered", [True, False])
def test_the_sort_gives_its_group_keys_and_times(ordered):
    rng = np.random.default_rng(3)
    n = 4000
    shop = np.sort(rng.integers(0, 3, n))
    buyer = rng.integers(0, 500, n)
    t = rng.integers(0, 5000, n)  # many ties at the same second
    if ordered:  # each shop's rows in time order, as a Parquet slice is read
        t = np.concatenate([np.sort(t[shop == s]) for s in range(3)])
    df = pd.DataFrame({"source_row": rng.permutation(n)})
    order, gs, ts, nb = _sorted(shop, buyer, t, df, np.arange(n))
    assert (gs == (shop * nb + buyer)[order]).all()
    assert (ts == t[order]).all()
    assert (np.diff(gs) >= 0).all()
    assert ((np.diff(gs) > 0) | (np.diff(ts) >= 0)).all()


@pytest.mark.parametrize("ordered", [True, False])
def test_data_end_per_shop_equals_maximum_at(ordered):
    rng = np.random.default_rng(11)
    at = rng.integers(0, 6, 2000)
    if ordered:
        at = np.sort(at)
    values = rng.integers(-10**9, 10**9, 2000)
    want = np.full(7, -(2**62), dtype=np.int64)
    want[2] = 10**10  # already larger than any message
    got = want.copy()
    np.maximum.at(want, at, values)
    _max_into(got, at, values)
    assert (got == want).all()
    _max_into(got, at[:0], values[:0])  # nothing to add
    assert (got == want).all()


@pytest.fixture(scope="module")
def shop_messages():
    from cskit.sample import generate

    data = generate(20261116, days=30)
    m = data.messages
    return m[m["shop"] == "花语家居旗舰店"], data.excluded


@pytest.mark.parametrize("days", [1, 2, 5])
def test_last_agent_carried_only_while_a_later_slice_can_use_it(shop_messages, days):
    """Slices of 1, 2 or 5 days, cut at midnight: an agent message of a slice's last days
    still attributes an unanswered message of the next slices (the lead-in reaches across
    a short slice), and the carried buyers are only those: the state does not grow with
    the shop's history."""
    messages, excluded = shop_messages
    rule = get_rule("pdd5")
    days_of = pd.to_datetime(messages["sent_at"]).dt.date
    first, last = days_of.min(), days_of.max()
    rs = ReplySlices(rule, excluded, bys=("agent",))
    lo = first
    sizes = []
    while lo <= last:
        hi = min(lo + dt.timedelta(days=days - 1), last)
        end = hi == last
        rs.add(messages, lo, hi, last=end,
               end=None if end else pd.Timestamp(hi) + pd.Timedelta(days=1))
        if not end:
            hi_d = (hi - dt.date(1970, 1, 1)).days
            assert within_lead(rs.prior_days, hi_d + 1).all()
            assert len(set(rs.prior_buyers.tolist())) == len(rs.prior_buyers)
            sizes.append(len(rs.prior_buyers))
        lo = hi + dt.timedelta(days=1)
    pd.testing.assert_frame_equal(rs.result()["agent"],
                                  reply_kpis(messages, rule, excluded, by="agent"),
                                  check_exact=True)
    # buyers served over the whole month far outnumber those of the last few days
    buyers = messages.loc[messages["sender"] == "agent", "buyer_id"].nunique()
    assert max(sizes) < buyers
