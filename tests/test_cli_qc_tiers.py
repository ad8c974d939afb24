"""`cskit qc --all`: the review tier (待复核) is shown and counted only when asked for
(issue 14, QC round 6).  A tiny store made up in the test."""

from __future__ import annotations

import csv
import io
import json

import pytest

from chatlog import chat_store, run

CHATS = [
    # b1: WeChat merely named as where to look (review tier)
    "店A,pdd,,b1,,buyer,2026-11-16 09:00:00,退款到哪了,,",
    "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:01:00,退款已原路退回，您可以在微信里查看账单,,",
    # b2: an invitation to add the agent on WeChat (confident)
    "店A,pdd,,b2,,buyer,2026-11-16 10:00:00,能便宜点吗,,",
    "店A,pdd,,b2,店A:阿强,agent,2026-11-16 10:01:00,加我微信给你便宜,,",
]
DAY = ("--since", "2026-11-16", "--until", "2026-11-16")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("tiers"), CHATS)


def test_default_shows_and_counts_only_confident_flags(store):
    r = run("qc", "--store", store, *DAY, "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {row["agent_id"]: row for row in doc["rows"]}
    assert rows["店A:阿强"]["off_platform"] == 1 and rows["店A:小美"]["off_platform"] == 0
    assert "review" not in rows["店A:小美"] and doc["flags"] == 1
    c = run("qc", "--store", store, *DAY, "--list", "--format", "csv")
    lines = c.stdout.splitlines()
    assert lines[0] == "sent_at,shop,buyer_id,agent_id,rule,severity,content,wait_s,rule_id"
    assert len(lines) == 2 and "加我微信" in lines[1]


def test_all_lists_review_flags_with_their_tier(store):
    r = run("qc", "--store", store, *DAY, "--list", "--all", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert r.stdout.splitlines()[0] == \
        "sent_at,shop,buyer_id,agent_id,rule,severity,tier,content,wait_s,rule_id"
    assert [(x["buyer_id"], x["rule_id"], x["tier"]) for x in rows] == [
        ("b1", "off_platform", "review"), ("b2", "off_platform", "confident")]


def test_all_counts_review_flags_apart(store):
    r = run("qc", "--store", store, *DAY, "--all", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {row["agent_id"]: row for row in doc["rows"]}
    assert (rows["店A:小美"]["flags"], rows["店A:小美"]["review"]) == (0, 1)
    assert (rows["店A:阿强"]["flags"], rows["店A:阿强"]["review"]) == (1, 0)
    assert (doc["flags"], doc["review_flags"]) == (1, 1)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args", [("qc", "--all"), ("qc", "--all", "--list")])
def test_tier_tables_fit_and_say_to_review_in_chinese(store, args, width, monkeypatch):
    from rich.cells import cell_len
    from rich.console import Console

    import cskit.render as render

    monkeypatch.setattr(render, "_console", lambda file: Console(
        file=file, width=width, no_color=True, highlight=False, soft_wrap=False))
    monkeypatch.setattr(render, "_plain_file", lambda file: False)  # a terminal, not a pipe
    r = run(*args, "--store", store, *DAY)
    assert r.exit_code == 0, r.stderr
    assert max(cell_len(x) for x in r.stdout.splitlines()) <= width
    flat = r.stdout.replace("\n", "").replace(" ", "").replace("│", "").replace("┃", "")
    assert "待复核" in flat, r.stdout
    if "--list" in args:
        assert "确定" in flat and "review" not in r.stdout
