"""Tables for people at 80, 120 and 160 columns (issue 12 point 1): key cells (店铺, 客服,
日期) are never cut, what does not fit is dropped with one note line, a shop shared by
several rows is printed once, agents are named within their shop."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

from cskit.naming import agent_name, agent_names
from cskit.render import (Column, display_frame, dropped_note, header_text, header_width, layout,
                          print_table, table_width)

LONG_SHOP = "花语家居生活用品官方旗舰店"  # 13 CJK characters, 26 cells
SHOPS = [LONG_SHOP, LONG_SHOP, LONG_SHOP, "潮流服饰专营店", "潮流服饰专营店"]
AGENTS = [f"{LONG_SHOP}:婷婷", f"{LONG_SHOP}:欧阳小雨", "未分配", "潮流服饰专营店:阿强",
          "潮流服饰专营店:糖糖"]
NUMERIC = [Column(f"m{i}", f"平均首次响应{i}(秒)", f"metric {i} (s)", "seconds") for i in range(12)]
COLS = [Column("shop", "店铺", "Shop"), Column("agent_id", "客服", "Agent"),
        Column("date", "日期", "Date", "date")] + NUMERIC


def frame() -> pd.DataFrame:
    f = pd.DataFrame({"shop": SHOPS, "agent_id": AGENTS,
                      "date": pd.to_datetime(["2026-11-16"] * 5)})
    for i, c in enumerate(NUMERIC):
        f[c.key] = [1234.5 + i, 2.0, None, 98765.4, 0.5]
    return f


def render(f, cols, width, **kw) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False)
    print_table(console, f, cols, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("width", [80, 120, 160])
def test_key_cells_are_whole_and_the_table_fits(width):
    out = render(frame(), COLS, width, title="客服绩效")
    lines = out.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert "…" not in out
    for name in ("婷婷", "欧阳小雨", "未分配", "阿强", "糖糖", "2026-11-16"):
        assert any(f"│ {name} " in line for line in lines), name
    # each shop once, as a heading; agents without their shop prefix
    assert out.count(LONG_SHOP) == 1 and out.count("潮流服饰专营店") == 1
    assert f"店铺: {LONG_SHOP}" in out and ":婷婷" not in out and ":阿强" not in out


def test_what_does_not_fit_is_dropped_from_the_right_with_one_note():
    f = display_frame(frame(), COLS)
    lay = layout(f, COLS, 80)
    assert lay.group == "shop"
    assert lay.dropped and lay.dropped == NUMERIC[-len(lay.dropped):]  # rightmost numbers go
    assert [c.key for c in lay.shown[:2]] == ["agent_id", "date"]
    out = render(frame(), COLS, 80)
    n = len(lay.dropped)
    flat = out.replace("\n", "")
    assert f"(另有 {n} 列未显示: 平均首次响应{12 - n}(秒)、" in flat
    assert flat.endswith("用 --wide 或 -f csv 查看全部)")
    assert out.count("另有") == 1
    # every shown number is whole: the widest value appears once per shown numeric column
    assert out.count("98765.4") == len(lay.shown) - 2
    at160 = layout(f, COLS, 160)
    assert len(at160.dropped) < n  # a wider terminal shows more


def test_wide_shows_every_column_and_no_note():
    out = render(frame(), COLS, 80, wide=True)
    assert "另有" not in out
    assert out.count("98765.4") == 12 and "1245.5" in out  # m11 = 1234.5 + 11


def test_english_note_and_commands_without_wide():
    dropped = NUMERIC[:2]
    assert dropped_note(dropped, "en") == \
        "(2 more columns not shown: metric 0 (s), metric 1 (s); use --wide or -f csv to see them all)"
    assert "--wide" not in dropped_note(dropped, "zh", wide_option=False)


def test_key_columns_wider_than_the_console_print_wide_rather_than_cut():
    f = pd.DataFrame({"buyer_id": ["b" * 70], "sent_at": pd.to_datetime(["2026-11-16 09:00:01"]),
                      "wait_s": [12.0]})
    cols = [Column("buyer_id", "买家", "buyer"), Column("sent_at", "发送时间", "sent at", "time"),
            Column("wait_s", "等待(秒)", "wait (s)", "seconds")]
    out = render(f, cols, 80)
    assert "b" * 70 in out and "2026-11-16 09:00:01" in out  # whole, on a longer line
    assert "等待" not in out.split("另有")[0]  # the number went first


def test_a_table_with_one_row_per_shop_keeps_the_shop_column():
    f = pd.DataFrame({"shop": [LONG_SHOP, "潮流服饰专营店"], "consult_buyers": [3, 4]})
    cols = [Column("shop", "店铺", "Shop"), Column("consult_buyers", "咨询人数", "n", "count")]
    out = render(f, cols, 80)
    assert "店铺: " not in out and f"│ {LONG_SHOP} │" in out


def test_total_row_lines_up_under_the_groups():
    f = frame()
    out = render(f, COLS[:4], 80, total_row={"agent_id": "合计", "m0": 99999.9})
    lines = out.splitlines()
    total = next(line for line in lines if "合计" in line)
    first = next(line for line in lines if "婷婷" in line)
    assert cell_len(total) == cell_len(first) and "99999.9" in total


def test_numeric_headers_fold_to_two_lines_at_most():
    assert header_width("平均首次响应(秒)") <= 10
    assert (header_width("咨询人数"), header_text("咨询人数", 4)) == (4, "咨询\n人数")
    assert (header_width("平均响应(秒)"), header_text("平均响应(秒)", 8)) == (8, "平均响应\n(秒)")
    assert header_text("平均响应(秒)", 12) == "平均响应(秒)"  # room: one line
    assert header_width("更新") == 4 and header_text("更新", 4) == "更新"  # too short to fold
    assert header_text("Unreplied buyers", header_width("Unreplied buyers")) == "Unreplied\nbuyers"
    assert table_width([1, 2]) == 1 + 2 + 3 * 2 + 1


def test_agent_names_within_their_shop():
    assert agent_name("店A", "店A:小美") == "小美"
    assert agent_name("店A", "店B:小美") == "店B:小美"  # another shop's account keeps its prefix
    assert agent_name("店A", "未分配") == "未分配"
    assert agent_name("店A", "店A:") == "店A:"
    got = agent_names(pd.Series(["店A", "店A", "店B", "店B"], dtype="category"),
                      pd.Series(["店A:小美", None, "店B:小美", "阿强"]))
    assert got.tolist() == ["小美", None, "小美", "阿强"]


def test_fold_without_a_console_is_richs_wrap():
    """cskit.render._fold wraps a header as rich's Text.wrap on a Console does (the console
    only justifies, and the default justification does nothing), for every registry label."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.text import Text

    from cskit.metrics.registry import KPIS
    from cskit.render import _fold

    labels = [lab for k in KPIS for lab in (k.label_zh, k.label_en)]
    labels += ["首次响应中位数(秒)", "Unreplied buyers", "a  b", " 前后 空格 ", "表情😀很长很长"]
    for label in labels:
        probe = Console(width=cell_len(label) + 8)
        for w in range(1, cell_len(label) + 2):
            want = [str(line).strip() for line in Text(label).wrap(probe, w, overflow="fold")]
            assert _fold(label, w) == want, (label, w)
