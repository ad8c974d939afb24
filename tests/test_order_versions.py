"""Issue 13 item 1: the version of an order the store shows is chosen by content
(status progression, times present, time precision), never by ingest order."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cskit.ingest import ingest
from cskit.store import Store
from cskit.versions import merge_versions

HEADER = "订单编号,买家会员名,订单创建时间,订单付款时间,买家实际支付金额,订单状态,店铺名称"
OID = '="300000000000000001"'


def taobao(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


PAID = f"{OID},tb_a,2020-02-21 00:00:37,2020-02-21 00:01:12,59.00,买家已付款，等待卖家发货,好店"
UNPAID = f"{OID},tb_a,2020-02-21 00:00:37,,59.00,等待买家付款,好店"
# the same paid order after an Excel re-save: seconds gone
PAID_EXCEL = f"{OID},tb_a,2020/2/21 0:00,2020/2/21 0:01,59.00,买家已付款，等待卖家发货,好店"
SHIPPED_EXCEL = f"{OID},tb_a,2020/2/21 0:00,2020/2/21 0:01,59.00,卖家已发货，等待买家确认,好店"
CLOSED = f"{OID},tb_a,2020-02-21 00:00:37,2020-02-21 00:01:12,0.00,交易关闭,好店"


def shown(store: Store) -> dict:
    df = store.read("orders")
    assert len(df) == 1
    r = df.iloc[0]
    return {"status": r["status"], "created_at": str(r["created_at"]),
            "paid_at": None if pd.isna(r["paid_at"]) else str(r["paid_at"])}


def totals(rep) -> tuple[int, int, int]:
    t = rep.totals()
    return t["rows_added"], t["updated"], t["duplicates"]


def test_older_export_ingested_later_does_not_roll_the_order_back(tmp_path):
    st = Store(tmp_path / "s")
    assert totals(ingest([taobao(tmp_path / "new.csv", PAID)], st)) == (1, 0, 0)
    assert totals(ingest([taobao(tmp_path / "old.csv", UNPAID)], st)) == (0, 0, 1)
    assert shown(st) == {"status": "paid", "created_at": "2020-02-21 00:00:37",
                         "paid_at": "2020-02-21 00:01:12"}


def test_older_file_sorting_later_in_one_ingest_does_not_win(tmp_path):
    taobao(tmp_path / "in" / "a_new.csv", PAID)
    taobao(tmp_path / "in" / "b_old.csv", UNPAID)
    st = Store(tmp_path / "s")
    rep = ingest([tmp_path / "in"], st)
    assert totals(rep) == (1, 0, 1)
    assert shown(st)["status"] == "paid" and shown(st)["paid_at"] == "2020-02-21 00:01:12"


def test_excel_resave_never_overwrites_precise_times(tmp_path):
    st = Store(tmp_path / "s")
    ingest([taobao(tmp_path / "a.csv", PAID)], st)
    # the same content with seconds cut: nothing new, nothing "updated"
    assert totals(ingest([taobao(tmp_path / "excel.csv", PAID_EXCEL)], st)) == (0, 0, 1)
    assert shown(st)["created_at"] == "2020-02-21 00:00:37"
    # a real progression from a re-saved file: status moves on, precise times stay
    assert totals(ingest([taobao(tmp_path / "excel2.csv", SHIPPED_EXCEL)], st)) == (0, 1, 0)
    assert shown(st) == {"status": "shipped", "created_at": "2020-02-21 00:00:37",
                         "paid_at": "2020-02-21 00:01:12"}


def test_precise_times_arriving_later_replace_truncated_ones(tmp_path):
    st = Store(tmp_path / "s")
    ingest([taobao(tmp_path / "excel.csv", PAID_EXCEL)], st)
    assert shown(st)["created_at"] == "2020-02-21 00:00:00"
    assert totals(ingest([taobao(tmp_path / "a.csv", PAID)], st)) == (0, 1, 0)
    assert shown(st)["created_at"] == "2020-02-21 00:00:37"


def test_closed_after_paid_is_later_than_paid_and_keeps_the_payment_time(tmp_path):
    st = Store(tmp_path / "s")
    ingest([taobao(tmp_path / "c.csv", CLOSED)], st)
    assert totals(ingest([taobao(tmp_path / "p.csv", PAID)], st)) == (0, 0, 1)
    assert shown(st)["status"] == "closed" and shown(st)["paid_at"] == "2020-02-21 00:01:12"


def test_equal_content_from_another_file_is_no_update(tmp_path):
    st = Store(tmp_path / "s")
    ingest([taobao(tmp_path / "a.csv", PAID)], st)
    assert totals(ingest([taobao(tmp_path / "copy.csv", PAID)], st)) == (0, 0, 1)


VERSIONS = {"unpaid": UNPAID, "paid": PAID, "paid_excel": PAID_EXCEL,
            "shipped_excel": SHIPPED_EXCEL, "closed": CLOSED}
EXPECTED = {  # hand-derived: the most advanced status, precise times kept
    frozenset({"unpaid", "paid"}): ("paid", "2020-02-21 00:00:37", "2020-02-21 00:01:12"),
    frozenset({"unpaid", "paid_excel"}): ("paid", "2020-02-21 00:00:37", "2020-02-21 00:01:00"),
    frozenset({"paid_excel", "shipped_excel", "unpaid"}):
        ("shipped", "2020-02-21 00:00:37", "2020-02-21 00:01:00"),
    frozenset(VERSIONS): ("closed", "2020-02-21 00:00:37", "2020-02-21 00:01:12"),
}


@pytest.mark.parametrize("names", sorted(EXPECTED, key=len), ids=lambda s: "+".join(sorted(s)))
def test_every_file_order_gives_the_same_row(tmp_path, names):
    results = set()
    for i, perm in enumerate(itertools.permutations(sorted(names))):
        if i >= 24:
            break
        files = [taobao(tmp_path / f"p{i}" / f"{j}_{n}.csv", VERSIONS[n]) for j, n in enumerate(perm)]
        one = Store(tmp_path / f"one{i}")  # one ingest, files sorted by name = perm order
        ingest([tmp_path / f"p{i}"], one)
        many = Store(tmp_path / f"many{i}")  # one ingest per file
        for f in files:
            ingest([f], many)
        for s in (one, many):
            r = shown(s)
            results.add((r["status"], r["created_at"], r["paid_at"]))
    assert results == {EXPECTED[names]}


# --------------------------------------------------------------------------- merge_versions

STATUSES = [None, "unpaid", "paid", "shipped", "completed", "closed", "refunded"]
T0 = pd.Timestamp("2020-02-21 00:00:00")


@st.composite
def versions(draw):
    n = draw(st.integers(1, 6))
    rows = []
    for _ in range(n):
        order = draw(st.integers(0, 2))
        # seconds near minute edges: whole minutes, precise seconds, and gaps of -30/+59
        created = T0 + pd.Timedelta(seconds=draw(st.sampled_from([0, 37, 60, 29, -31, 119])))
        paid = draw(st.sampled_from([None, 0, 12, 60, 72, 3600]))
        rows.append({"_k1": order, "_k2": 0, "shop": "店", "platform": "taobao",
                     "order_id": str(order), "buyer_id": draw(st.sampled_from([None, "b"])),
                     "created_at": created,
                     "paid_at": None if paid is None else T0 + pd.Timedelta(seconds=paid),
                     "amount": draw(st.sampled_from([None, 0.0, 59.0])),
                     "status": draw(st.sampled_from(STATUSES)),
                     "status_raw": draw(st.sampled_from([None, "x", "y"])),
                     "source_file": draw(st.sampled_from(["a.csv", "b.csv"])), "source_row": 2})
    df = pd.DataFrame(rows)
    for c in ("created_at", "paid_at"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
    for c in ("shop", "platform", "order_id", "buyer_id", "status", "status_raw", "source_file"):
        df[c] = df[c].astype("string")
    return df


def _norm(df: pd.DataFrame) -> list:
    return df.sort_values("_k1").astype(object).where(df.notna(), None).values.tolist()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions(), st.randoms(use_true_random=False))
def test_merge_is_a_function_of_the_set_and_absorbs_its_own_result(df, rnd):
    key = ["_k1", "_k2"]
    once = merge_versions(df, key)
    idx = list(range(len(df)))
    rnd.shuffle(idx)
    assert _norm(merge_versions(df.iloc[idx], key)) == _norm(once)
    # step by step, one version at a time (what ingests in a row do) ends the same
    acc = merge_versions(df.iloc[[idx[0]]], key)
    for i in idx[1:]:
        acc = merge_versions(pd.concat([acc, df.iloc[[i]]], ignore_index=True), key)
    assert _norm(acc) == _norm(once)
    # the shown row is itself a version: adding it changes nothing
    assert _norm(merge_versions(pd.concat([df, once], ignore_index=True), key)) == _norm(once)
