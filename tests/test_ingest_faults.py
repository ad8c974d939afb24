"""Issue 13: folder ingest for cron (per-file commits, rejected files, exit 7, --strict),
unreadable folders, and store faults (disk full, read-only, damaged stores, fsync, odd
paths)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cskit import store as store_mod
from cskit.cli import app
from cskit.errors import ExitCode, StoreError
from cskit.store import LOCK, MANIFEST, Store

HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
ROWS_A = ["店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
          "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:02:00,亲，在的,,"]
ROWS_B = ["店B,pdd,,b2,,buyer,2026-11-16 10:00:00,包邮吗,,"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def write(p: Path, rows: list[str]) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def tree(root: Path) -> dict[str, str]:
    """Every file (lock and temporary manifest included) and every directory under root."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): ("dir" if p.is_dir() else
                                              hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*"))}


def exports(tmp_path: Path) -> Path:
    d = tmp_path / "exports"
    write(d / "a.csv", ROWS_A)
    write(d / "b.csv", ROWS_B)
    (d / "c-empty.csv").write_bytes(b"")  # the 0-byte file that used to stop the cron job
    return d


# --------------------------------------------------------------------------- folder ingest


def test_bad_file_in_folder_keeps_the_good_ones_and_exits_7(tmp_path):
    d, store = exports(tmp_path), tmp_path / "s"
    r = run("ingest", d, "--store", store, "-f", "json", "--lang", "en")
    assert r.exit_code == ExitCode.PARTIAL == 7, r.stderr
    doc = json.loads(r.stdout)
    assert doc["totals"]["rows_added"] == 3
    assert [x["path"] for x in doc["rejected"]] == [str(d / "c-empty.csv")]
    assert doc["rejected"][0]["exit_code"] == ExitCode.INPUT
    assert "c-empty.csv: the file is empty" in r.stderr
    assert "rejected: 1 file(s) or folder(s) not ingested, 2 file(s) stored" in r.stderr
    assert Store(store).shops() == ["店A", "店B"]
    # the file fixed, the same cron line again: only its rows are new, exit 0
    write(d / "c-empty.csv", ["店C,pdd,,b3,,buyer,2026-11-17 10:00:00,发货了吗,,"])
    r = run("ingest", d, "--store", store, "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["rows_added"] == 1
    assert len(Store(store).read("messages")) == 4


def test_each_file_is_committed_on_its_own(tmp_path):
    d, store = exports(tmp_path), tmp_path / "s"
    run("ingest", d, "--store", store)
    man = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    assert sorted({f["batch"] for f in man["files"]}) == [1, 2]  # one transaction per file


def test_strict_keeps_all_or_nothing(tmp_path):
    d, store = exports(tmp_path), tmp_path / "s"
    write(tmp_path / "first.csv", ["店Z,pdd,,b0,,buyer,2026-11-01 09:00:00,在,,"])
    run("ingest", tmp_path / "first.csv", "--store", store)
    before = tree(store)
    r = run("ingest", d, "--store", store, "--strict")
    assert r.exit_code == ExitCode.INPUT, r.stderr
    assert r.stderr.startswith("Error: ") and "c-empty.csv" in r.stderr
    assert tree(store) == before


def test_single_bad_file_still_fails_with_its_own_code(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    r = run("ingest", tmp_path / "e.csv", "--store", tmp_path / "s")
    assert r.exit_code == ExitCode.INPUT and r.stderr.startswith("Error: ")
    assert not (tmp_path / "s").exists()


def test_unreadable_subfolder_is_listed_and_exits_non_zero(tmp_path, monkeypatch):
    d = exports(tmp_path)
    (d / "c-empty.csv").unlink()
    write(d / "locked" / "x.csv", ["店X,pdd,,b9,,buyer,2026-11-16 11:00:00,在,,"])
    real = os.scandir

    def scandir(path="."):  # root ignores chmod: make the folder unreadable the other way
        if Path(path).name == "locked":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    r = run("ingest", d, "--store", tmp_path / "s", "--lang", "en")
    assert r.exit_code == ExitCode.PARTIAL, r.stderr
    assert "locked: folder cannot be read (Permission denied); its files were not ingested" in r.stderr
    assert Store(tmp_path / "s").shops() == ["店A", "店B"]


def test_fifo_in_folder_and_as_argument(tmp_path):
    d = exports(tmp_path)
    (d / "c-empty.csv").unlink()
    os.mkfifo(d / "pipe.csv")
    r = run("ingest", d, "--store", tmp_path / "s", "--lang", "en")  # must not hang
    assert r.exit_code == ExitCode.PARTIAL
    assert "pipe.csv: not a regular file (a pipe, socket or device)" in r.stderr
    r = run("ingest", d / "pipe.csv", "--store", tmp_path / "s", "--lang", "en")
    assert r.exit_code == ExitCode.INPUT and "not a regular file" in r.stderr


def test_csv_named_xls_says_it_is_text(tmp_path):
    p = write(tmp_path / "orders.xls", ROWS_A)
    r = run("ingest", p, "--store", tmp_path / "s", "--lang", "en")
    assert r.exit_code == ExitCode.INPUT
    assert "orders.xls: named .xls but holds text" in r.stderr and "encrypted" not in r.stderr


def test_store_pointing_at_a_file(tmp_path):
    f = write(tmp_path / "a.csv", ROWS_A)
    target = tmp_path / "notes.txt"
    target.write_text("x", encoding="utf-8")
    for cmd in (["ingest", f], ["kpi"]):
        r = run(*cmd, "--store", target, "--lang", "en")
        assert r.exit_code == ExitCode.STORE, (cmd, r.stderr)
        assert "--store names a file, not a directory" in r.stderr
    assert target.read_text(encoding="utf-8") == "x"


def test_refused_foreign_folder_gets_no_lock_file(tmp_path):
    other = tmp_path / "docs"
    other.mkdir()
    (other / "thesis.docx").write_bytes(b"x")
    r = run("ingest", write(tmp_path / "a.csv", ROWS_A), "--store", other)
    assert r.exit_code == ExitCode.STORE
    assert sorted(p.name for p in other.iterdir()) == ["thesis.docx"]


# --------------------------------------------------------------------------- faults


def _existing_store(tmp_path: Path) -> Path:
    store = tmp_path / "s"
    assert run("ingest", write(tmp_path / "a.csv", ROWS_A), "--store", store).exit_code == 0
    return store


def test_disk_full_while_writing_a_part_file(tmp_path, monkeypatch):
    store = _existing_store(tmp_path)
    before = tree(store)
    real = pq.write_table

    def full(table, where, **kw):
        Path(where).write_bytes(b"PAR1 half")  # a partial file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(where))

    monkeypatch.setattr(pq, "write_table", full)
    r = run("ingest", write(tmp_path / "b.csv", ROWS_B), "--store", store, "--lang", "en")
    assert r.exit_code == ExitCode.STORE, r.stderr
    assert "cannot write the store: No space left on device" in r.stderr
    assert "part-" in r.stderr and "internal error" not in r.stderr
    assert tree(store) == before
    monkeypatch.setattr(pq, "write_table", real)


def test_read_only_store_at_commit_leaves_no_trace(tmp_path, monkeypatch):
    store = _existing_store(tmp_path)
    before = tree(store)

    def readonly(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(store_mod.os, "replace", readonly)
    r = run("ingest", write(tmp_path / "b.csv", ROWS_B), "--store", store, "--lang", "en")
    assert r.exit_code == ExitCode.STORE, r.stderr
    assert "Read-only file system" in r.stderr and MANIFEST in r.stderr
    assert tree(store) == before  # no part files, no .tmp manifest, no shop=店B folder


def test_failure_on_a_new_store_removes_it_all(tmp_path, monkeypatch):
    def readonly(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(store_mod.os, "replace", readonly)
    r = run("ingest", write(tmp_path / "a.csv", ROWS_A), "--store", tmp_path / "new" / "s")
    assert r.exit_code == ExitCode.STORE
    assert not (tmp_path / "new" / "s").exists()


def test_commit_failure_in_the_library_rolls_back(tmp_path, monkeypatch):
    st = Store(tmp_path / "s")
    frame = pd.DataFrame({"shop": ["店A"], "platform": ["pdd"], "buyer_id": ["b1"],
                          "sender": ["buyer"], "content": ["x"], "source_file": ["a.csv"],
                          "source_row": [2],
                          "sent_at": pd.to_datetime(["2026-11-10 09:00:00"]).astype("datetime64[s]")})
    with st.transaction() as tx:
        tx.append("messages", frame)
    before = tree(st.root)
    real = store_mod.Manifest.to_json

    def boom(self):  # the manifest cannot be serialised: a kill-free failure inside commit
        raise OSError(errno.EIO, "Input/output error", "manifest")

    monkeypatch.setattr(store_mod.Manifest, "to_json", boom)
    with pytest.raises(StoreError, match="Input/output error"):
        with st.transaction() as tx:
            tx.append("messages", frame.assign(shop="店B"))
    monkeypatch.setattr(store_mod.Manifest, "to_json", real)
    assert tree(st.root) == before


def test_part_files_manifest_and_directories_are_flushed(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(store_mod.os, "fsync", fsync)
    store = _existing_store(tmp_path)
    man = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    part = str((store / man["files"][0]["path"]).resolve())
    assert part in synced
    assert str((store / man["files"][0]["path"]).resolve().parent) in synced
    assert str((store / (MANIFEST + ".tmp")).resolve()) in synced  # before the swap
    assert synced[-1] == str(store.resolve())  # the directory, after the swap


def test_missing_part_file_is_named_by_kpi_and_refused_by_ingest(tmp_path):
    store = _existing_store(tmp_path)
    man = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    part = store / man["files"][0]["path"]
    part.unlink()
    r = run("kpi", "--store", store, "--lang", "en")
    assert r.exit_code == ExitCode.STORE, r.stderr
    assert f"part file {man['files'][0]['path']} listed in the store manifest is missing" in r.stderr
    before = tree(store)
    r = run("ingest", write(tmp_path / "b.csv", ROWS_B), "--store", store, "--lang", "en")
    assert r.exit_code == ExitCode.STORE and "missing or damaged" in r.stderr
    assert tree(store) == before


def test_corrupt_part_file_is_a_store_error(tmp_path):
    store = _existing_store(tmp_path)
    man = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    (store / man["files"][0]["path"]).write_bytes(b"not parquet at all")
    r = run("kpi", "--store", store, "--lang", "en")
    assert r.exit_code == ExitCode.STORE, r.stderr
    assert man["files"][0]["path"] in r.stderr and "internal error" not in r.stderr
    with pytest.raises(StoreError, match="missing or damaged"):
        Store(store).read("messages")


def test_lock_file_of_a_store_is_kept(tmp_path):
    store = _existing_store(tmp_path)
    assert (store / LOCK).exists()


# --------------------------------------------------------------------------- long shop names


def test_long_shop_names_get_bounded_distinct_directories(tmp_path):
    long1 = "某某旗舰店官方授权专卖店" * 4  # 48 CJK characters: 432 bytes quoted
    long2 = long1[:-1] + "铺"  # the same prefix, another shop
    f = write(tmp_path / "a.csv", [f"{long1},pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
                                   f"{long2},pdd,,b2,,buyer,2026-11-16 09:00:00,在吗,,"])
    store = tmp_path / "s"
    r = run("ingest", f, "--store", store)
    assert r.exit_code == 0, r.stderr
    man = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(e["shop"] for e in man["files"]) == sorted([long1, long2])  # the real names
    dirs = {e["path"].split("/")[1] for e in man["files"]}
    assert len(dirs) == 2 and all(len(d.encode()) <= store_mod.MAX_SHOP_SEGMENT for d in dirs)
    assert Store(store).shops() == sorted([long1, long2])
    assert run("ingest", f, "--store", store, "-f", "json").exit_code == 0  # idempotent
    assert len(Store(store).read("messages", shops=[long2])) == 1


def test_short_names_keep_their_old_directory_and_never_meet_a_bounded_one():
    assert store_mod.shop_segment("店A") == "shop=%E5%BA%97A"  # stores written before still read
    long = "好" * 30
    seg = store_mod.shop_segment(long)
    assert "%~" in seg and len(seg) <= store_mod.MAX_SHOP_SEGMENT
    # a short name that looks like a bounded one is quoted differently
    assert store_mod.shop_segment(seg[len("shop="):]) != seg


def test_one_ingest_checks_and_sweeps_the_store_once(tmp_path, monkeypatch):
    d = exports(tmp_path)
    write(d / "d.csv", ["店D,pdd,,b4,,buyer,2026-11-16 12:00:00,在,,"])
    calls = []
    real = Store._sweep
    monkeypatch.setattr(Store, "_sweep", lambda self, m: (calls.append(1), real(self, m)))
    r = run("ingest", d, "--store", tmp_path / "s")
    assert r.exit_code == ExitCode.PARTIAL
    assert len(Store(tmp_path / "s").shops()) == 3 and calls == [1]  # 3 commits, 1 sweep


def test_the_store_stays_locked_between_the_files_of_one_ingest(tmp_path, monkeypatch):
    """Every file is read first (a 宝贝报表 takes its shops from the orders read with it),
    then committed one by one: between two commits another ingest cannot get in."""
    d = exports(tmp_path)
    (d / "c-empty.csv").unlink()
    store = tmp_path / "s"
    real = Store.transaction
    seen, opened = [], []

    def transaction(self, *a, **kw):
        opened.append(1)
        if len(opened) == 2:  # a.csv is committed, b.csv's commit not begun: try to get in
            try:
                with real(Store(store)):
                    seen.append("got in")
            except StoreError as exc:
                seen.append(exc.message_en)
        return real(self, *a, **kw)

    monkeypatch.setattr(Store, "transaction", transaction)
    r = run("ingest", d, "--store", store)
    assert r.exit_code == 0, r.stderr
    assert len(seen) == 1 and "another cskit ingest is writing this store" in seen[0]


def test_links_to_folders_are_followed_once(tmp_path):
    d = tmp_path / "exports"
    write(tmp_path / "elsewhere" / "b.csv", ROWS_B)
    write(d / "a.csv", ROWS_A)
    os.symlink(tmp_path / "elsewhere", d / "linked")  # was skipped without a word
    os.symlink(d, d / "loop")  # a loop is walked once
    r = run("ingest", d, "--store", tmp_path / "s", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["rows_added"] == 3
    assert Store(tmp_path / "s").shops() == ["店A", "店B"]


def test_an_unreadable_hidden_folder_is_not_walked(tmp_path, monkeypatch):
    d = exports(tmp_path)
    (d / "c-empty.csv").unlink()
    (d / ".Trash-1000").mkdir()
    real = os.scandir

    def scandir(path="."):
        if Path(path).name == ".Trash-1000":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    r = run("ingest", d, "--store", tmp_path / "s")
    assert r.exit_code == 0, r.stderr
