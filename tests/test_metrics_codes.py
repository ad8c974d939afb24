"""Machinery that replaced strings by codes in `cskit kpi` (cskit/metrics/codes.py and the
orders' data end in ConversionSlices): the same answers as the string paths they replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics import conversion, conversion_data
from cskit.metrics.codes import log_gids
from cskit.metrics.conversion import ConversionSlices, _Data, _joined, _shared_codes
from cskit.metrics.reply import slice_log


def _messages(categorical: bool, blank: bool = True) -> pd.DataFrame:
    m = pd.DataFrame({
        "shop": ["店B", "店A", "店A", "店B", "店A", "店A", "店B"],
        "buyer_id": ["b2", "b1", "b3", "b1", "b1", "  ", "b9"],
        "agent_id": [None, None, "店A:美", None, "店A:美", None, "店B:强"],
        "sender": ["buyer", "buyer", "agent", "buyer", "agent", "buyer", "agent"],
        "sent_at": pd.to_datetime(["2026-11-02 10:00", "2026-11-02 09:00", "2026-11-02 09:01",
                                   "2026-11-03 11:00", "2026-11-02 09:02", "2026-11-02 12:00",
                                   "2026-11-04 08:00"]),
    })
    if not blank:  # ids as the store holds them: the log's sort and codes are reused
        m = m[m["buyer_id"] != "  "].reset_index(drop=True)
    if categorical:
        for c in ("shop", "buyer_id", "agent_id", "sender"):
            m[c] = m[c].astype("category")
        # a category no kept row holds (as a dictionary read from Parquet may have)
        m["buyer_id"] = m["buyer_id"].cat.add_categories(["b7"])
    return m


def _string_gids(log, shop_names, oshop, obuyer):
    """What _Data._from_log did before: 'shop<US>buyer' strings looked up among the log's."""
    gkey = _joined(shop_names[log.shop_of_gid], log.buyer_of_gid)
    okey = _joined(shop_names[oshop], obuyer)
    return pd.Index(gkey).get_indexer(okey)


def test_log_gids_equal_string_lookup():
    m = _messages(categorical=True)
    log = slice_log(m, None, "2026-11-01")
    orders = pd.DataFrame({"shop": ["店A", "店B", "店A", "店C", "店B", "店A", "店B"],
                           "buyer_id": ["b1", "b1", "b7", "b1", "b2", "b3", "b9"]})
    (oshop,), shop_names = _shared_codes(orders["shop"], first=log.shop_names)
    (obuy,), bnames = _shared_codes(orders["buyer_id"])
    got = log_gids(log, oshop, bnames[obuy])
    want = _string_gids(log, shop_names, oshop, bnames[obuy])
    assert got is not None
    np.testing.assert_array_equal(got, want)
    assert (got >= 0).sum() == 5  # 店A b1 / b3 (agent only), 店B b1 / b2 / b9; not b7, 店C
    assert got[2] == -1 and got[3] == -1


def test_log_gids_not_categorical_falls_back():
    log = slice_log(_messages(categorical=False), None, "2026-11-01")
    assert log_gids(log, np.array([0]), np.array(["b1"], dtype=object)) is None


def test_conversion_same_with_codes_and_strings(monkeypatch):
    """The conversion figures of a slice fed its reply log: equal with the code lookup and
    with the string lookup it replaced."""
    m = _messages(categorical=True, blank=False)
    assert conversion._clean_log(slice_log(m, None, "2026-11-01"))
    orders = pd.DataFrame({"shop": ["店A", "店B", "店A"], "buyer_id": ["b1", "b2", "b8"],
                           "created_at": pd.to_datetime(["2026-11-02 09:30", "2026-11-02 10:10",
                                                         "2026-11-02 11:00"]),
                           "paid_at": pd.to_datetime(["2026-11-02 09:40", None,
                                                      "2026-11-02 11:05"]),
                           "amount": [10.0, 20.0, 30.0], "status": ["paid", "unpaid", "paid"]})

    def run():
        log = slice_log(m, None, "2026-11-01")
        d = _Data(m, orders, 3 * 86400, 15 * 86400, "order", None, log=log)
        return d.o_g.tolist(), d.bd_paid.tolist(), d.bd_ordered.tolist()

    with_codes = run()
    monkeypatch.setattr(conversion_data, "log_gids", lambda *a: None)
    assert run() == with_codes
    ngid = len(slice_log(m, None, "2026-11-01").shop_of_gid)
    assert min(with_codes[0][:2]) >= 0  # b1, b2: their log groups
    assert with_codes[0][2] == ngid  # b8: no messages, a new group after the log's


def test_orders_data_end_equal_old_path():
    """ConversionSlices' orders share of the data end: per (stripped) shop the latest
    creation or payment of an order with a creation time, as an orders-only _Data gives."""
    orders = pd.DataFrame({
        "shop": [" 店A", "店A", "店B", "", None, "店C"],
        "buyer_id": ["b1", " ", "b2", "b3", "b4", "b5"],
        "created_at": pd.to_datetime(["2026-11-01 10:00", "2026-11-03 10:00", "2026-11-02 00:00",
                                      "2026-11-05 00:00", "2026-11-06 00:00", None]),
        "paid_at": pd.to_datetime(["2026-11-04 08:00", None, None, None, None,
                                   "2026-11-09 00:00"]),
    })
    sl = ConversionSlices(orders)
    d = _Data(None, orders, sl.W, sl.L, "order", None)
    want = dict(zip(d.shop_names, d.end_of_shop[:len(d.shop_names)].tolist()))
    assert sl.end == want
    assert set(want) == {"店A", "店B", "店C"}
