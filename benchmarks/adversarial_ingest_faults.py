"""Adversarial corpus for issue 13 (folder ingest for cron, faults, hostile output).

    PYTHONPATH=. python benchmarks/adversarial_ingest_faults.py

Each case builds its inputs in a temporary folder, runs cskit in-process and judges the
outcome: *rejected* (a non-zero exit with a clear, catalogued message naming the file and
the store left as it was), *right* (accepted, and what is stored / printed is what the
input says), or *wrong* (accepted but stored or printed something else, or an internal
error).  Prints one line per case and the counts.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pyarrow.parquet as pq
from typer.testing import CliRunner

from cskit import store as store_mod
from cskit.cli import app
from cskit.store import MANIFEST, Store

HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
GOOD = ["店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
        "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:02:00,亲，在的,,"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def write(p: Path, rows, header=HEADER) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def tree(root: Path) -> dict:
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): "d" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))}


def clear(r, *needles) -> bool:
    err = r.stderr
    return ("内部错误" not in err and "internal error" not in err and "Traceback" not in err
            and all(n in err for n in needles))


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


# ------------------------------------------------------------------ folder ingest for cron
@case
def empty_file_in_folder(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    (d / "z.csv").write_bytes(b"")
    r = run("ingest", d, "--store", t / "s")
    ok = r.exit_code == 7 and clear(r, "z.csv") and len(Store(t / "s").read("messages")) == 2
    return "right" if ok else "wrong"


@case
def unrecognised_file_in_folder(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    write(d / "stock.csv", ["A1,红,3"], header="货号,颜色,库存\n")
    r = run("ingest", d, "--store", t / "s")
    return "right" if r.exit_code == 7 and clear(r, "stock.csv") and Store(t / "s").shops() == ["店A"] else "wrong"


@case
def bad_rows_file_in_folder(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    write(d / "b.csv", ["店B,pdd,,b9,,buyer,31/31/2026,x,,"] * 3)
    r = run("ingest", d, "--store", t / "s", "-f", "json")
    doc = json.loads(r.stdout) if r.stdout.strip() else {}
    ok = r.exit_code == 7 and doc.get("rejected", [{}])[0].get("exit_code") == 4 and \
        Store(t / "s").shops() == ["店A"]
    return "right" if ok else "wrong"


@case
def every_file_bad(t):
    d = t / "ex"
    (d).mkdir()
    (d / "a.csv").write_bytes(b"")
    (d / "b.csv").write_bytes(b"\x00\x01")
    r = run("ingest", d, "--store", t / "s")
    return "rejected" if r.exit_code == 7 and clear(r, "a.csv", "b.csv") and \
        not (t / "s" / MANIFEST).exists() else "wrong"


@case
def strict_with_bad_file(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    (d / "z.csv").write_bytes(b"")
    r = run("ingest", d, "--store", t / "s", "--strict")
    return "rejected" if r.exit_code == 3 and clear(r, "z.csv") and not (t / "s").exists() else "wrong"


@case
def rerun_after_fix_is_idempotent(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    (d / "z.csv").write_bytes(b"")
    run("ingest", d, "--store", t / "s")
    write(d / "z.csv", ["店Z,pdd,,b3,,buyer,2026-11-17 10:00:00,在,,"])
    r1 = run("ingest", d, "--store", t / "s", "-f", "json")
    r2 = run("ingest", d, "--store", t / "s", "-f", "json")
    ok = (r1.exit_code == 0 and json.loads(r1.stdout)["totals"]["rows_added"] == 1
          and r2.exit_code == 0 and json.loads(r2.stdout)["totals"]["rows_added"] == 0)
    return "right" if ok else "wrong"


@case
def unreadable_subfolder(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    write(d / "sub" / "b.csv", ["店B,pdd,,b2,,buyer,2026-11-16 10:00:00,在,,"])
    real = os.scandir

    def scandir(p="."):
        if Path(p).name == "sub":
            raise PermissionError(errno.EACCES, "Permission denied", str(p))
        return real(p)

    with mock.patch.object(os, "scandir", scandir):
        r = run("ingest", d, "--store", t / "s")
    return "right" if r.exit_code == 7 and clear(r, "sub") and Store(t / "s").shops() == ["店A"] else "wrong"


@case
def fifo_in_folder(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    os.mkfifo(d / "p.csv")
    r = run("ingest", d, "--store", t / "s")
    return "right" if r.exit_code == 7 and clear(r, "p.csv") and Store(t / "s").shops() == ["店A"] else "wrong"


@case
def fifo_as_argument(t):
    os.mkfifo(t / "p.csv")
    r = run("ingest", t / "p.csv", "--store", t / "s")
    return "rejected" if r.exit_code == 3 and clear(r, "p.csv") else "wrong"


@case
def broken_symlink_in_folder(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    os.symlink(t / "gone.csv", d / "l.csv")
    r = run("ingest", d, "--store", t / "s")
    return "right" if r.exit_code == 7 and clear(r, "l.csv") and Store(t / "s").shops() == ["店A"] else "wrong"


@case
def link_to_folder_and_loop(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    write(t / "other" / "b.csv", [GOOD[0].replace("店A", "店B")])
    os.symlink(t / "other", d / "other")
    os.symlink(d, d / "loop")
    r = run("ingest", d, "--store", t / "s")
    return "right" if r.exit_code == 0 and Store(t / "s").shops() == ["店A", "店B"] else "wrong"


@case
def json_rejected_list_without_contents(t):
    d = t / "ex"
    write(d / "a.csv", GOOD)
    write(d / "b.csv", ["店B,pdd,,b9,,buyer,31/31/2026,我的手机13800138000,,"] * 3)
    r = run("ingest", d, "--store", t / "s", "-f", "json")
    ok = r.exit_code == 7 and "13800138000" not in r.stdout + r.stderr and \
        json.loads(r.stdout)["rejected"][0]["path"].endswith("b.csv")
    return "right" if ok else "wrong"


@case
def csv_named_xls(t):
    r = run("ingest", write(t / "a.xls", GOOD), "--store", t / "s")
    return "rejected" if r.exit_code == 3 and clear(r, "a.xls") and "加密" not in r.stderr else "wrong"


@case
def tsv_named_xlsx(t):
    p = t / "a.xlsx"
    p.write_text(HEADER.replace(",", "\t") + GOOD[0].replace(",", "\t") + "\n", encoding="utf-8")
    r = run("ingest", p, "--store", t / "s")
    return "rejected" if r.exit_code == 3 and clear(r, "a.xlsx") else "wrong"


# ------------------------------------------------------------------ store faults
@contextmanager
def patched(obj, name, fn):
    with mock.patch.object(obj, name, fn):
        yield


def _store(t):
    run("ingest", write(t / "a.csv", GOOD), "--store", t / "s")
    return t / "s", tree(t / "s")


def _fault(t, obj, name, err):
    s, before = _store(t)

    def boom(*a, **k):
        if name == "write_table":
            Path(a[1]).write_bytes(b"PAR1")
        raise OSError(err, os.strerror(err), "x")

    with patched(obj, name, boom):
        r = run("ingest", write(t / "b.csv", [GOOD[0].replace("店A", "店B")]), "--store", s)
    return "rejected" if r.exit_code == 6 and clear(r, os.strerror(err)) and tree(s) == before else "wrong"


@case
def disk_full_part_file(t):
    return _fault(t, pq, "write_table", errno.ENOSPC)


@case
def read_only_at_swap(t):
    return _fault(t, store_mod.os, "replace", errno.EROFS)


@case
def io_error_at_fsync(t):
    return _fault(t, store_mod.os, "fsync", errno.EIO)


@case
def permission_denied_lock(t):
    s, before = _store(t)
    real = open

    def op(p, *a, **k):
        if str(p).endswith("_cskit.lock"):
            raise PermissionError(errno.EACCES, "Permission denied", str(p))
        return real(p, *a, **k)

    with mock.patch("builtins.open", op):
        r = run("ingest", write(t / "b.csv", GOOD), "--store", s)
    return "rejected" if r.exit_code == 6 and clear(r, "Permission denied") and tree(s) == before else "wrong"


@case
def missing_part_kpi(t):
    s, _ = _store(t)
    m = json.loads((s / MANIFEST).read_text(encoding="utf-8"))
    (s / m["files"][0]["path"]).unlink()
    r = run("kpi", "--store", s)
    return "rejected" if r.exit_code == 6 and clear(r, m["files"][0]["path"]) else "wrong"


@case
def missing_part_ingest(t):
    s, _ = _store(t)
    m = json.loads((s / MANIFEST).read_text(encoding="utf-8"))
    (s / m["files"][0]["path"]).unlink()
    before = tree(s)
    r = run("ingest", write(t / "b.csv", GOOD), "--store", s)
    return "rejected" if r.exit_code == 6 and clear(r, m["files"][0]["path"]) and tree(s) == before else "wrong"


@case
def truncated_part_kpi(t):
    s, _ = _store(t)
    m = json.loads((s / MANIFEST).read_text(encoding="utf-8"))
    p = s / m["files"][0]["path"]
    p.write_bytes(p.read_bytes()[:40])
    r = run("kpi", "--store", s)
    return "rejected" if r.exit_code == 6 and clear(r, m["files"][0]["path"]) else "wrong"


@case
def empty_part_ingest(t):
    s, _ = _store(t)
    m = json.loads((s / MANIFEST).read_text(encoding="utf-8"))
    (s / m["files"][0]["path"]).write_bytes(b"")
    r = run("ingest", write(t / "b.csv", GOOD), "--store", s)
    return "rejected" if r.exit_code == 6 and clear(r, m["files"][0]["path"]) else "wrong"


@case
def store_is_a_file(t):
    (t / "f").write_text("x")
    r = run("ingest", write(t / "a.csv", GOOD), "--store", t / "f")
    return "rejected" if r.exit_code == 6 and clear(r, "文件") and (t / "f").read_text() == "x" else "wrong"


@case
def foreign_folder_no_lock(t):
    (t / "docs").mkdir()
    (t / "docs" / "x.docx").write_bytes(b"x")
    r = run("ingest", write(t / "a.csv", GOOD), "--store", t / "docs")
    return "rejected" if r.exit_code == 6 and clear(r) and [p.name for p in (t / "docs").iterdir()] == ["x.docx"] \
        else "wrong"


@case
def store_under_a_file(t):
    (t / "f").write_text("x")
    r = run("ingest", write(t / "a.csv", GOOD), "--store", t / "f" / "s")
    return "rejected" if r.exit_code == 6 and clear(r) else "wrong"


# ------------------------------------------------------------------ hostile names / output
def _one(t, shop="店A", agent="店A:小美", buyer="b1", content="亲，在的"):
    rows = [f'"{shop}",pdd,,"{buyer}",,buyer,2026-11-17 09:00:00,在吗,,',
            f'"{shop}",pdd,,"{buyer}","{agent}",agent,2026-11-17 09:02:00,"{content}",,']
    r = run("ingest", write(t / "h.csv", rows), "--store", t / "s")
    return r


@case
def long_shop_name_48(t):
    shop = "某某旗舰店官方授权专卖店" * 4
    r = _one(t, shop=shop)
    ok = r.exit_code == 0 and Store(t / "s").shops() == [shop]
    return "right" if ok else "wrong"


@case
def long_shop_names_same_prefix(t):
    a = "好" * 60
    b = "好" * 59 + "坏"
    rows = [f"{a},pdd,,b1,,buyer,2026-11-17 09:00:00,在吗,,", f"{b},pdd,,b2,,buyer,2026-11-17 09:00:00,在吗,,"]
    r = run("ingest", write(t / "h.csv", rows), "--store", t / "s")
    st = Store(t / "s")
    ok = r.exit_code == 0 and st.shops() == sorted([a, b]) and \
        st.read("messages", shops=[b])["buyer_id"].tolist() == ["b2"]
    return "right" if ok else "wrong"


@case
def long_ascii_shop_name(t):
    shop = "x" * 240
    r = _one(t, shop=shop)
    return "right" if r.exit_code == 0 and Store(t / "s").shops() == [shop] else "wrong"


def _printed(t, cmd, needle, **kw):
    r = _one(t, **kw)
    if r.exit_code != 0 or "\x1b" in r.stdout:
        return "wrong"
    r = run(*cmd, "--store", t / "s", "--week", "2026-W47", "--wide")
    return "right" if r.exit_code == 0 and needle in r.stdout and "\x1b" not in r.stdout else "wrong"


@case
def markup_shop_kpi(t):
    return _printed(t, ["kpi", "--by", "shop"], "[/red]店", shop="[/red]店")


@case
def markup_agent_kpi(t):
    return _printed(t, ["kpi", "--by", "agent"], "[bold]阿强", agent="[bold]阿强")


@case
def markup_content_qc_list(t):
    return _printed(t, ["qc", "--list"], "[link=x]滚[/link]", content="[link=x]滚[/link]")


@case
def ansi_agent_kpi(t):
    return _printed(t, ["kpi", "--by", "agent"], "\ufffd[31m阿强", agent="\x1b[31m阿强")


@case
def bell_and_cr_in_content(t):
    # the reader trims the trailing CR (whitespace); the bell is shown as U+FFFD, never rung
    return _printed(t, ["qc", "--list"], "滚\ufffd ", content="滚\x07\x0d")


@case
def mathtext_agent_report(t):
    _one(t, agent="$\\bad{x}$")
    r = run("report", "--store", t / "s", "--week", "2026-W47", "--out", t / "rep")
    return "right" if r.exit_code == 0 and (t / "rep" / "agents.png").is_file() else "wrong"


@case
def mathtext_shop_chart(t):
    _one(t, shop="$x^{2$ 店")
    r = run("chart", "reply-rate", "--store", t / "s", "--week", "2026-W47", "-o", t / "c.png")
    return "right" if r.exit_code == 0 and (t / "c.png").stat().st_size > 0 else "wrong"


@case
def formula_buyer_excel_csv(t):
    _one(t, buyer="=HYPERLINK(\"\"http://e\"\",\"\"x\"\")")
    r = run("kpi", "--list", "unreplied", "--store", t / "s", "--week", "2026-W47", "-f", "csv", "--excel",
            "--threshold", "30s")
    return "right" if r.exit_code == 0 and r.stdout.startswith("\ufeff") and "'=HYPERLINK" in r.stdout \
        else "wrong"


@case
def formula_shop_excel_csv(t):
    _one(t, shop="+cmd|' /C calc'!A0")
    r = run("kpi", "--by", "agent", "--store", t / "s", "--week", "2026-W47", "-f", "csv", "--excel")
    return "right" if r.exit_code == 0 and "'+cmd|" in r.stdout else "wrong"


@case
def formula_shop_report_excel(t):
    _one(t, shop="@SUM(1+1)")
    r = run("report", "--store", t / "s", "--week", "2026-W47", "--out", t / "rep", "--excel")
    text = (t / "rep" / "kpi_by_agent.csv").read_text(encoding="utf-8-sig") if r.exit_code == 0 else ""
    return "right" if "'@SUM" in text and "\n@SUM" not in text and ",@SUM" not in text else "wrong"


def main() -> int:
    counts = {"rejected": 0, "right": 0, "wrong": 0}
    for fn in CASES:
        with tempfile.TemporaryDirectory() as d:
            try:
                verdict = fn(Path(d))
            except Exception as exc:  # noqa: BLE001
                verdict = f"wrong ({type(exc).__name__}: {exc})"
        key = verdict.split()[0]
        counts[key] += 1
        print(f"{fn.__name__:32s} {verdict}")
    print(f"tried {len(CASES)}: rejected with a clear message {counts['rejected']}, "
          f"accepted and right {counts['right']}, accepted but wrong {counts['wrong']}")
    return 1 if counts["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
