"""``-o FILE`` is written atomically: a command that fails leaves no empty or half-written
file, and an older file of that name stays as it was."""

from __future__ import annotations

import os
import stat

import pytest

from chatlog import chat_store, run
from cskit.cli.app import output_file

CHATS = ["店A,pdd,c1,b1,,buyer,2026-11-16 10:00:00,在吗,text,m1",
         "店A,pdd,c1,b1,a1,agent,2026-11-16 10:00:30,在的亲,text,m2"]


@pytest.fixture
def store(tmp_path):
    return chat_store(tmp_path, CHATS)


def test_failed_command_leaves_no_file(store, tmp_path):
    out = tmp_path / "kpi.csv"
    r = run("kpi", "--store", store, "--since", "2030-01-01", "--format", "csv", "-o", out)
    assert r.exit_code == 5
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_failed_command_keeps_the_older_file(store, tmp_path):
    out = tmp_path / "kpi.csv"
    out.write_text("last week's numbers\n", encoding="utf-8")
    r = run("kpi", "--store", store, "--since", "2030-01-01", "--format", "csv", "-o", out)
    assert r.exit_code == 5
    assert out.read_text(encoding="utf-8") == "last week's numbers\n"


def test_successful_command_replaces_the_file(store, tmp_path):
    out = tmp_path / "kpi.csv"
    out.write_text("old\n", encoding="utf-8")
    os.chmod(out, 0o640)
    r = run("kpi", "--store", store, "--format", "csv", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert out.read_text(encoding="utf-8").startswith("shop,date,consult_buyers")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kpi.csv")] == []


def test_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        with output_file(tmp_path / "a.csv", "csv") as fh:
            fh.write("x\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o644


def test_exception_inside_removes_the_partial_file(tmp_path):
    out = tmp_path / "a.xlsx"
    with pytest.raises(RuntimeError):
        with output_file(out, "xlsx") as fh:
            fh.write(b"PK half a workbook")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_a_usage_error(store, tmp_path):
    r = run("kpi", "--store", store, "--format", "csv", "-o", tmp_path / "no" / "kpi.csv")
    assert r.exit_code == 2 and r.stderr.startswith("Error: ")
