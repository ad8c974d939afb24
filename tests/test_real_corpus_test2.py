"""The test2 set of the lost-reason benchmark (issue 14): the reader of the second JDDC
sample drops every session that overlaps the first one, the selection rule and the seeded
draw are mechanical, and ``eval_real.py --test2`` scores it.  Tiny files in the JDDC column
layout, written here (the project's own text); the real corpora are never read by CI."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import eval_real  # noqa: E402
import real_corpus as rc  # noqa: E402

VALID = {"price", "shipping", "stock", "size", "quality", "logistics", "payment", "returns",
         "compare", "aftersale", "other"}


def _tsv(path: Path, sessions: dict[str, list[tuple[int, str]]]) -> Path:
    lines = [f"{sid}\tUSERID_1\t{w}\t0\t0\tnan\t{t}" for sid, turns in sessions.items()
             for w, t in turns]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


OTHER = {  # stands for the current sample (dev + held-out parts)
    "s_same_id": [(0, "我的订单什么时候发货"), (1, "亲，今天就发货")],
    "s_whole": [(0, "这个包邮吗？"), (1, "亲，包邮的哦")],
    "s_utt": [(0, "我买的吹风机用了两天就坏了怎么办"), (1, "亲，给您申请售后")],
}
MINE = {
    "s_same_id": [(0, "完全不同的一句话问问价格"), (1, "好的")],           # same session id
    "t_whole": [(0, "这个包邮吗?"), (1, "亲,包邮的哦!")],                 # same after normalising
    "t_utt": [(0, "在吗"), (0, "我买的吹风机用了两天就坏了怎么办！"), (1, "稍等")],  # shared utterance
    "t_keep": [(0, "能便宜点吗，有券吗"), (1, "亲，今天有满减")],
    "t_short": [(0, "在吗"), (0, "好的"), (1, "您好")],                  # fewer than 4 CJK chars
    "t_robot": [(0, "用户发起转人工"), (1, "您好")],                       # the platform's words
    "t_noagent": [(0, "这个还有货吗我想买两件")],                          # nobody answered
    "t_keep2": [(0, "[数字x]码的鞋还有货吗"), (1, "有的亲")],
}


@pytest.fixture()
def files(tmp_path):
    return _tsv(tmp_path / "mine.txt", MINE), _tsv(tmp_path / "other.txt", OTHER)


def test_overlaps_are_dropped_by_id_whole_conversation_and_shared_utterance(files):
    mine, other = files
    ids = [c.session_id for c in rc.jddc_test2(mine, other)]
    assert ids == ["jddc2:t_keep", "jddc2:t_short", "jddc2:t_robot", "jddc2:t_noagent",
                   "jddc2:t_keep2"]


def test_selection_rule_needs_an_agent_and_a_buyer_saying_something(files):
    mine, other = files
    kept = [c.session_id for c in rc.jddc_test2(mine, other) if rc.raises_something(c)]
    assert kept == ["jddc2:t_keep", "jddc2:t_keep2"]


def test_the_draw_is_seeded_and_a_prefix_of_the_full_shuffle(files):
    mine, other = files
    full = [c.session_id for c in rc.test2_sample(mine, other, n=10)]
    assert sorted(full) == ["jddc2:t_keep", "jddc2:t_keep2"]
    assert [c.session_id for c in rc.test2_sample(mine, other, n=10)] == full
    assert [c.session_id for c in rc.test2_sample(mine, other, n=1)] == full[:1]


def test_committed_test2_labels_are_ids_only_and_valid():
    with open(ROOT / "benchmarks" / "labels" / "lost_real_test2.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["source", "session_id", "label", "part"]
    assert len(rows) == 300
    assert len({r["session_id"] for r in rows}) == 300
    assert all(r["source"] == "jddc2" and r["part"] == "test2" for r in rows)
    # JDDC session ids: 32 hex digits or a UUID
    assert all(re.fullmatch(r"jddc2:([0-9a-f]{32}|[0-9a-f-]{36})", r["session_id"]) for r in rows)
    assert {r["label"] for r in rows} <= VALID


def test_eval_real_scores_the_test2_set(files, tmp_path, capsys):
    mine, other = files
    labels = tmp_path / "labels.csv"
    labels.write_text("source,session_id,label,part\n"
                      "jddc2,jddc2:t_keep,price,test2\n"
                      "jddc2,jddc2:t_keep2,stock,test2\n", encoding="utf-8")
    dev = tmp_path / "dev_labels.csv"
    dev.write_text("source,session_id,label,part\n", encoding="utf-8")
    assert eval_real.main(["--jddc", str(other), "--labels", str(dev), "--test2", str(mine),
                           "--test2-labels", str(labels), "--parts"]) == 0
    out = capsys.readouterr().out
    assert "== test2 (untouched second JDDC sample): 2 conversations · primary accuracy" in out
    assert "== tune part" not in out and "== report part" not in out
