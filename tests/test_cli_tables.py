"""Every command's table names an agent the same way (its own name, the shop once as a
heading or column) while CSV keeps the id as exported (issue 12 point 1)."""

from __future__ import annotations

import csv
import io

import pytest

from chatlog import chat_store, run

CHATS = [
    "店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
    "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:05:00,亲在的,,",
    "店A,pdd,,b2,,buyer,2026-11-16 10:00:00,包邮吗,,",
    "店A,pdd,,b2,店A:阿强,agent,2026-11-16 10:07:01,滚,,",
    "店B,taobao,,c1,,buyer,2026-11-17 12:00:00,有XL吗,,",
    "店B,taobao,,c1,店B:阿强,agent,2026-11-17 12:20:00,有的,,",
]
ORDERS = ("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
          "3051379325746235879,b1,2026-11-16 11:00:00,,19.90,等待付款,店A\n")
DAY = ("--since", "2026-11-16", "--until", "2026-11-17")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("tables"), CHATS, ORDERS)


@pytest.mark.parametrize("args", [("kpi", "--by", "agent"), ("kpi", "--list", "unreplied"),
                                  ("qc",), ("qc", "--list"), ("unpaid",)])
def test_agents_named_within_their_shop_in_every_table(store, args):
    r = run(*args, "--store", store, *DAY)
    assert r.exit_code == 0, r.stderr
    assert "店A:" not in r.stdout and "店B:" not in r.stdout, r.stdout
    assert "阿强" in r.stdout or "小美" in r.stdout
    c = run(*args, "--store", store, *DAY, "-f", "csv")
    agents = {v for row in csv.DictReader(io.StringIO(c.stdout))
              for k, v in row.items() if k in ("agent_id", "agent") and v}
    assert agents and all(a.startswith(("店A:", "店B:")) for a in agents)  # machine ids unchanged


def test_each_shop_printed_once_as_a_heading(store):
    r = run("kpi", "--by", "agent", "--store", store, *DAY)
    assert r.stdout.count("店铺: 店A") == 1 and r.stdout.count("店铺: 店B") == 1
    assert r.stdout.count("店A") == 1  # not in every row


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args", [("kpi", "--by", "agent"), ("kpi", "--by", "shop"), ("kpi",),
                                  ("kpi", "--list", "unreplied"), ("unpaid",), ("qc",)])
def test_commands_fit_a_terminal_of_this_width(store, args, width, monkeypatch):
    from rich.cells import cell_len
    from rich.console import Console

    import cskit.render as render

    monkeypatch.setattr(render, "_console", lambda file: Console(
        file=file, width=width, no_color=True, highlight=False, soft_wrap=False))
    monkeypatch.setattr(render, "_plain_file", lambda file: False)  # a terminal, not a pipe
    r = run(*args, "--store", store, *DAY)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(cell_len(x) for x in lines) <= width
    assert "…" not in r.stdout
    if args[:2] == ("kpi", "--by") and args[2] == "shop":
        assert any("│ 店A " in x for x in lines) and any("│ 店B " in x for x in lines)
    if args == ("kpi",):
        assert any("│ 2026-11-16 " in x for x in lines)  # dates whole, not 202…


@pytest.mark.parametrize("width", [80, 120])
def test_narrow_agent_table_keeps_rate_median_conversion_and_sales(store, width, monkeypatch):
    """Details (答问比, 30秒应答率, message counts, P90s) go first: at 80 and 120 columns the
    agent table still shows the reply rate, the median first response, 询单转化率 and sales."""
    from rich.console import Console

    import cskit.render as render

    monkeypatch.setattr(render, "_console", lambda file: Console(
        file=file, width=width, no_color=True, highlight=False, soft_wrap=False))
    monkeypatch.setattr(render, "_plain_file", lambda file: False)  # a terminal, not a pipe
    r = run("kpi", "--by", "agent", "--store", store, *DAY)
    assert r.exit_code == 0, r.stderr
    flat = r.stdout.replace("\n", "")
    for label in ("5分钟", "首次响应中", "询单转", "售额"):  # headers may fold
        assert label in flat, (label, r.stdout)
    assert "答问比" in r.stdout.split("未显示")[-1]  # dropped, and named in the note


def test_qc_list_severity_in_chinese_for_people_codes_for_machines(store):
    r = run("qc", "--list", "--store", store, *DAY)
    assert r.exit_code == 0, r.stderr
    assert "严重" in r.stdout and "high" not in r.stdout  # 滚 is abuse (high)
    c = run("qc", "--list", "--store", store, *DAY, "-f", "csv")
    sev = {row["severity"] for row in csv.DictReader(io.StringIO(c.stdout))}
    assert "high" in sev and not sev & {"严重", "中等", "轻微"}
