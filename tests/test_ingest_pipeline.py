"""Messages are appended one partition at a time (cskit/store_pipeline.py): the hash of one
partition runs while the files of the partitions before it are written.  Checked here
against the whole-frame pass it stands in for: the same part files, rows, order, keys,
schema and counts — on a first ingest, on a second one over it (known rows, duplicates
inside the batch, identical rows kept by their occurrence number), with missing source
files, and when a hash is shared by two partitions (the whole-frame pass then runs and
nothing of the pipeline's stays on disk)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import cskit.store as store_mod
import cskit.store_files as store_files
import cskit.store_keys as store_keys
import cskit.store_pipeline as pipeline
from cskit.errors import StoreError
from cskit.store import Store, conform

COLS = ["shop", "platform", "conversation_id", "buyer_id", "agent_id", "sender", "sent_at",
        "content", "msg_type", "msg_id", "source_row", "source_file"]


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch):
    """Tiny frames take the large-frame paths too: per-value hashing (and the one-value
    shortcut), hashing in blocks, several partitions taken ahead."""
    monkeypatch.setattr(store_keys, "_SAMPLE", 16)
    monkeypatch.setattr(store_keys, "_FEW", 8)
    monkeypatch.setattr(store_keys, "_HASH_BLOCK", 37)


def frame(n: int, seed: int, source: str = "a.csv") -> pd.DataFrame:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        shop = rnd.choice(["店A", "店B", "店C"])
        buyer = f"b{rnd.randint(1, 40)}"
        role = rnd.choice(["buyer", "agent", "bot"])
        rows.append({
            "shop": shop, "platform": "pdd", "conversation_id": f"{shop}-{buyer}",
            "buyer_id": buyer,
            "agent_id": None if role == "buyer" else f"{shop}:客服{rnd.randint(1, 3)}",
            "sender": role,
            "sent_at": pd.Timestamp(2026, rnd.choice([4, 5, 6]), rnd.randint(1, 3), 10,
                                    rnd.randint(0, 2), rnd.randint(0, 5)),
            "content": rnd.choice(["在吗", "好的", "谢谢", None]), "msg_type": "text",
            "msg_id": None if i % 5 == 0 else f"{9000 + i}", "source_row": i + 2,
            "source_file": source})
    out = pd.DataFrame(rows, columns=COLS)
    # the same message twice in one file (both kept: occurrence numbers), and rows that are
    # exact copies of earlier ones
    return pd.concat([out, out.iloc[:25], out.iloc[40:45]], ignore_index=True)


def whole_frame_only(monkeypatch):
    def refuse(*a, **k):
        raise pipeline.NotPipelined
    monkeypatch.setattr(pipeline, "append_messages", refuse)


def append(root, frames) -> list[tuple[int, int, int, int]]:
    st = Store(root)
    out = []
    for f in frames:
        with st.transaction() as tx:
            s = tx.append("messages", conform("messages", f))
        out.append((s.rows, s.added, s.duplicates, s.updated))
    return out


def stores_differ(a, b) -> list[str]:
    ma, mb = Store(a).manifest(), Store(b).manifest()
    la = [(f.kind, f.shop, f.month, f.rows, f.batch) for f in ma.files]
    lb = [(f.kind, f.shop, f.month, f.rows, f.batch) for f in mb.files]
    if la != lb or ma.batch != mb.batch:
        return [f"manifests: {la} != {lb}"]
    out = []
    for fa, fb in zip(ma.files, mb.files):
        ta, tb = pq.read_table(a / fa.path), pq.read_table(b / fb.path)
        if not ta.equals(tb) or ta.schema.metadata != tb.schema.metadata:
            out.append(fa.path)
    return out


def parquet_files(root) -> list[str]:
    return sorted(p.name for p in root.rglob("*.parquet"))


@pytest.mark.parametrize("ahead, writers, missing", [(2, 2, False), (1, 1, False),
                                                     (3, 4, False), (2, 2, True)])
def test_the_pipeline_writes_what_the_whole_frame_pass_writes(tmp_path, monkeypatch, ahead,
                                                              writers, missing):
    monkeypatch.setattr(pipeline, "_AHEAD", ahead)
    monkeypatch.setattr(store_files, "_WRITERS", writers)
    first = frame(300, 1)
    # a second file over it: half of the first again (known), new rows, exact copies
    new = frame(120, 2, "b.csv")
    second = pd.concat([first.iloc[::2], new, new.iloc[-30:],
                        # the same messages from another file: duplicates inside the batch
                        # (the first is kept: its source file and row are stored)
                        new.iloc[:20].assign(source_file="c.csv", source_row=7)],
                       ignore_index=True)
    if missing:  # missing source files: the whole-frame pass (its occurrence numbers)
        second.loc[second.index[::9], "source_file"] = None
    calls = []
    real = pipeline.append_messages

    def counted(*a, **k):
        out = real(*a, **k)
        calls.append(1)
        return out

    monkeypatch.setattr(pipeline, "append_messages", counted)
    got = append(tmp_path / "pipe", [first, second])
    assert len(calls) == (1 if missing else 2)  # the pipeline did the work
    whole_frame_only(monkeypatch)
    want = append(tmp_path / "whole", [first, second])
    assert got == want
    assert want[1][1] > 0 and want[1][2] >= (150 if missing else 170)  # new; known, copies
    assert len(Store(tmp_path / "pipe").manifest().files) > 6  # shops x months, two batches
    assert stores_differ(tmp_path / "pipe", tmp_path / "whole") == []


def test_a_hash_shared_by_two_partitions_takes_the_whole_frame_pass(tmp_path, monkeypatch):
    f = frame(200, 3)
    whole_frame_only(monkeypatch)
    want = append(tmp_path / "whole", [f])
    monkeypatch.undo()
    monkeypatch.setattr(store_keys, "_SAMPLE", 16)
    monkeypatch.setattr(store_keys, "_FEW", 8)
    monkeypatch.setattr(pipeline, "_shared_hashes", lambda bases: True)
    written = []
    real = store_mod.Transaction._write_part
    monkeypatch.setattr(store_mod.Transaction, "_write_part",
                        lambda self, kind, entry, part: written.append(entry.path) or
                        real(self, kind, entry, part))
    got = append(tmp_path / "pipe", [f])
    assert got == want
    assert stores_differ(tmp_path / "pipe", tmp_path / "whole") == []
    # the pipeline's own files were written, then removed: only the manifest's remain
    manifest = sorted(p.rsplit("/", 1)[1] for p in
                      (e.path for e in Store(tmp_path / "pipe").manifest().files))
    assert len(written) == 2 * len(manifest)
    assert parquet_files(tmp_path / "pipe") == manifest


def test_a_failed_write_in_the_pipeline_leaves_nothing(tmp_path, monkeypatch):
    st = Store(tmp_path / "st")
    append(tmp_path / "st", [frame(50, 4)])
    before = (parquet_files(tmp_path / "st"), st.manifest_path.read_bytes())
    real = store_mod.Transaction._write_part
    count = []

    def flaky(self, kind, entry, part):
        count.append(1)
        if len(count) == 3:
            raise OSError(28, "No space left on device")
        real(self, kind, entry, part)

    monkeypatch.setattr(store_mod.Transaction, "_write_part", flaky)
    with pytest.raises(StoreError, match="No space left"):
        append(tmp_path / "st", [frame(300, 5, "c.csv")])
    assert (parquet_files(tmp_path / "st"), st.manifest_path.read_bytes()) == before


def test_shared_hashes_finds_a_hash_in_two_partitions_only():
    u = np.uint64
    assert not pipeline._shared_hashes([np.array([1, 2], u)])
    assert not pipeline._shared_hashes([np.array([1, 1, 2], u), np.array([3, 3], u)])
    assert pipeline._shared_hashes([np.array([1, 2], u), np.array([2, 3], u)])
    assert pipeline._shared_hashes([np.array([1, 1, 5], u), np.array([4], u), np.array([5], u)])


@pytest.mark.parametrize("values", [["店A"] * 40, ["店A"] * 30 + ["店B"] * 10,
                                    ["店A"] * 20 + [None] * 20, [None] * 40])
@pytest.mark.parametrize("how", [None, "one", "few", "many"])
def test_a_column_with_one_value_hashes_as_any_other(values, how):
    """One value on every row (hashed once) or only in the sample (the dictionary then),
    and whatever the caller says to expect (the pipeline's per-table look): the hashes of
    the plain per-row formulation."""
    s = pd.Series(values, dtype="string")
    plain = pd.Series(["\x00" if v is None else v for v in values], dtype=object)
    keys = [store_mod._K1, store_mod._K2]
    got = store_mod._column_hasher(s, keys, how)(0, len(s))
    for key, h in zip(keys, got):
        want = pd.util.hash_array(plain.to_numpy(), hash_key=key, categorize=False)
        assert np.array_equal(np.broadcast_to(h, len(s)), want)
        if how is None:
            assert np.array_equal(store_mod._hash_text(s, key), want)


def test_rows_sharing_a_hash_at_different_times_are_numbered_in_the_frame_order(
        tmp_path, monkeypatch):
    """Two rows of one partition with the same identity hash but different times (a hash
    collision; made here by leaving the time out of the identity): their occurrence numbers
    and the duplicate kept follow the frame's order, as in the whole-frame pass, not the
    partition's time order."""
    from cskit import schema

    monkeypatch.setitem(schema.IDENTITY, "messages",
                        tuple(c for c in schema.IDENTITY["messages"] if c != "sent_at"))
    f = frame(60, 6)
    f["sent_at"] = pd.Timestamp(2026, 4, 2, 12) - pd.to_timedelta(f.index, unit="s")  # reversed
    f["buyer_id"] = f["buyer_id"].where(f.index % 3 > 0, "b1")
    f["content"] = f["content"].where(f.index % 3 > 0, "在吗")
    f = pd.concat([f, f.iloc[:9].assign(source_file="b.csv", source_row=99)], ignore_index=True)
    real = pipeline._shared_hashes
    shared = []
    monkeypatch.setattr(pipeline, "_shared_hashes",
                        lambda b: shared.append(real(b)) or shared[-1])
    got = append(tmp_path / "pipe", [f])
    assert shared == [False]  # the pipeline ran to its end (one month: no fallback)
    whole_frame_only(monkeypatch)
    want = append(tmp_path / "whole", [f])
    assert got == want and want[0][2] > 0
    assert stores_differ(tmp_path / "pipe", tmp_path / "whole") == []
