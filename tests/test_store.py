"""The store: idempotent, atomic, safe appends and pruned reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from cskit.errors import StoreError
from cskit.store import MANIFEST, Store


def msgs(rows):
    cols = ["shop", "platform", "buyer_id", "agent_id", "sender", "sent_at", "content", "source_file",
            "source_row"]
    df = pd.DataFrame(rows, columns=cols)
    df["sent_at"] = pd.to_datetime(df["sent_at"]).astype("datetime64[s]")
    return df


BASE = msgs([
    ("店A", "pdd", "b1", None, "buyer", "2026-11-10 09:00:00", "在吗", "a.csv", 2),
    ("店A", "pdd", "b1", "客服1", "agent", "2026-11-10 09:01:00", "亲，在的", "a.csv", 3),
    ("店A", "pdd", "b1", None, "buyer", "2026-11-10 09:01:00", "在吗", "a.csv", 4),
    ("店A", "pdd", "b1", None, "buyer", "2026-11-10 09:01:00", "在吗", "a.csv", 5),  # real repeat
    ("店B", "taobao", "b2", None, "buyer", "2026-12-01 10:00:00", "包邮吗", "a.csv", 6),
])


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "_cskit.lock"}


def append(store, kind, frame):
    with store.transaction() as tx:
        return tx.append(kind, frame)


def test_same_rows_twice_add_nothing(tmp_path):
    st = Store(tmp_path / "s")
    first = append(st, "messages", BASE)
    assert (first.added, first.duplicates) == (5, 0)
    again = append(st, "messages", BASE)
    assert (again.added, again.duplicates) == (0, 5)
    assert len(st.read("messages")) == 5


def test_identical_messages_in_one_file_are_kept(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE)
    df = st.read("messages", shops=["店A"])
    assert (df["content"] == "在吗").sum() == 3


def test_overlapping_export_adds_only_new_rows(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE.iloc[:3])
    # a later export from another file overlaps rows 2-3 and adds two
    later = BASE.iloc[1:].assign(source_file="b.csv", source_row=[2, 3, 4, 5])
    stats = append(st, "messages", later)
    assert (stats.added, stats.duplicates) == (2, 2)
    assert len(st.read("messages")) == 5


def test_partitions_by_kind_shop_month(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE)
    parts = sorted({f.path.rsplit("/", 1)[0] for f in st.manifest().files})
    assert parts == ["messages/shop=%E5%BA%97A/month=2026-11", "messages/shop=%E5%BA%97B/month=2026-12"]


def test_read_filters_shop_dates_and_columns(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE)
    df = st.read("messages", shops=["店B"], columns=["buyer_id", "sent_at"])
    assert list(df.columns) == ["buyer_id", "sent_at"] and df["buyer_id"].tolist() == ["b2"]
    df = st.read("messages", since=dt.date(2026, 11, 11), until=dt.date(2026, 12, 1))
    assert df["buyer_id"].tolist() == ["b2"]
    df = st.read("messages", until=dt.date(2026, 11, 9))
    assert df.empty and "sent_at" in df.columns


def test_exception_mid_transaction_leaves_store_byte_identical(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE.iloc[:2])
    before = tree_digest(st.root)
    with pytest.raises(RuntimeError):
        with st.transaction() as tx:
            tx.append("messages", BASE)  # writes new part files …
            tx.append("orders", pd.DataFrame({"shop": ["店A"], "order_id": ["1"],
                                              "created_at": [pd.Timestamp("2026-11-10")]}))
            raise RuntimeError("disk full")  # … then the process fails
    assert tree_digest(st.root) == before
    assert len(st.read("messages")) == 2


def test_orphan_files_from_a_killed_run_are_invisible_and_swept(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE.iloc[:2])
    orphan = st.root / "messages/shop=x/month=2026-11/part-999999-dead.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a file")
    assert len(st.read("messages")) == 2  # the manifest does not list it
    append(st, "messages", BASE.iloc[2:])
    assert not orphan.exists()


def test_shop_name_cannot_escape_the_store(tmp_path):
    st = Store(tmp_path / "s")
    evil = BASE.iloc[:1].assign(shop="../../x")
    append(st, "messages", evil)
    files = [p for p in tmp_path.rglob("*.parquet")]
    assert files and all((tmp_path / "s") in p.parents for p in files)
    assert st.read("messages")["shop"].tolist() == ["../../x"]
    assert not (tmp_path / "x").exists()


def test_orders_are_versioned_latest_wins(tmp_path):
    st = Store(tmp_path / "s")

    def orders(status, paid):
        return pd.DataFrame({"shop": ["店A", "店A"], "platform": ["pdd", "pdd"], "order_id": ["1", "2"],
                             "buyer_id": ["b1", "b2"],
                             "created_at": pd.to_datetime(["2026-11-10 10:00", "2026-11-10 11:00"]),
                             "paid_at": pd.to_datetime([paid, None]), "amount": [59.9, 19.9],
                             "status": [status, "unpaid"], "source_file": "o.csv", "source_row": [2, 3]})

    s1 = append(st, "orders", orders("unpaid", None))
    assert (s1.added, s1.updated, s1.duplicates) == (2, 0, 0)
    s2 = append(st, "orders", orders("paid", "2026-11-10 10:05").assign(source_file="o2.csv"))
    assert (s2.added, s2.updated, s2.duplicates) == (0, 1, 1)
    df = st.read("orders").sort_values("order_id")
    assert df["status"].tolist() == ["paid", "unpaid"] and len(df) == 2
    # ingesting the stale export again does not roll the order back
    s3 = append(st, "orders", orders("unpaid", None))
    assert (s3.added, s3.updated, s3.duplicates) == (0, 0, 2)
    assert st.read("orders").sort_values("order_id")["status"].tolist() == ["paid", "unpaid"]


def test_damaged_manifest_is_a_store_error(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE)
    (st.root / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError):
        st.read("messages")


def test_manifest_is_plain_json_listing_files(tmp_path):
    st = Store(tmp_path / "s")
    append(st, "messages", BASE)
    data = json.loads((st.root / MANIFEST).read_text(encoding="utf-8"))
    assert data["batch"] == 1 and sum(f["rows"] for f in data["files"]) == 5


def test_row_keys_are_pinned_across_versions():
    """Row identities must never change between cskit/pandas/pyarrow versions: a change would
    make re-ingesting old exports add duplicates.  These numbers are golden."""
    from cskit.store import add_keys

    from cskit.store import conform

    keyed = add_keys("messages", conform("messages", BASE.iloc[:2]))
    assert keyed["_k1"].tolist() == PINNED_K1
    assert keyed["_k1"].dtype == "uint64" and keyed["_k2"].nunique() == 2


PINNED_K1 = [8589817019118959398, 9791308631797030841]


def test_row_keys_are_the_same_when_columns_are_hashed_on_threads(monkeypatch):
    """Large frames set their hash columns up on a thread pool: the keys are those of the
    one-thread path (and the pinned ones)."""
    import cskit.store_keys as store_keys
    from cskit.store import add_keys, conform

    many = conform("messages", pd.concat([BASE] * 40, ignore_index=True).assign(
        source_row=range(200), buyer_id=[f"b{i % 7}" for i in range(200)]))
    monkeypatch.setattr(store_keys, "_PARALLEL_HASH", 10**9)
    serial = add_keys("messages", many)
    monkeypatch.setattr(store_keys, "_PARALLEL_HASH", 1)
    monkeypatch.setattr(store_keys, "_SAMPLE", 8)  # the low-cardinality path too
    threaded = add_keys("messages", many)
    assert threaded[["_k1", "_k2"]].equals(serial[["_k1", "_k2"]])
    pinned = add_keys("messages", conform("messages", BASE.iloc[:2]))
    assert pinned["_k1"].tolist() == PINNED_K1


def test_part_files_keep_statistics_for_the_filtered_columns_only(tmp_path):
    """Row-group statistics are written for shop, the time column and the keys (the store's
    filters prune with them), not for free text and nearly unique ids (costly, useless)."""
    import pyarrow.parquet as pq

    st = Store(tmp_path / "s")
    append(st, "messages", BASE)
    data = json.loads((st.root / MANIFEST).read_text(encoding="utf-8"))
    meta = pq.ParquetFile(st.root / data["files"][0]["path"]).metadata
    rg = meta.row_group(0)
    has = {rg.column(i).path_in_schema: rg.column(i).is_stats_set for i in range(rg.num_columns)}
    assert has["shop"] and has["sent_at"] and has["_k1"] and has["sender"]
    assert not has["content"] and not has["msg_id"] and not has["buyer_id"]
    # the shop and time filters still prune by them
    got = st.read("messages", shops=["店A"], since=dt.date(2026, 11, 10), until=dt.date(2026, 11, 10))
    assert len(got) == 4


def test_a_run_of_consecutive_rows_is_written_from_a_slice_without_a_copy():
    """A part file's rows are taken from the batch; consecutive rows (one shop's export in
    time order) are a zero-copy slice, and the rows are those ``take`` gives either way."""
    import numpy as np
    import pyarrow as pa

    from cskit.store import _rows

    t = pa.table({"a": pa.array([f"v{i}" for i in range(10)], pa.large_string()),
                  "n": pa.array(range(10), pa.int64())})
    run = _rows(t, np.arange(3, 8))
    assert run.equals(t.take(pa.array(np.arange(3, 8))))
    base = t.column("n").chunk(0).buffers()[1].address
    assert run.column("n").chunk(0).buffers()[1].address == base  # the same memory
    for pos in ([2, 4, 5], [5, 4, 3], [7], [0, 1, 1], list(range(10))):
        pos = np.array(pos)
        assert _rows(t, pos).equals(t.take(pa.array(pos))), pos
