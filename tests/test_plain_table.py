"""The plain-text table (cskit.plain_table) draws exactly what rich draws, or declines."""

from __future__ import annotations

import io
import random

import pandas as pd
import pytest
from rich.console import Console

from cskit.plain_table import plain_text
from cskit.render import Column, display_frame, layout, print_table

COLS = [Column("shop", "店铺", "shop"), Column("date", "日期", "date", "date"),
        Column("agent_id", "客服", "agent"),
        Column("n", "咨询人数", "consult buyers", "count"),
        Column("r", "5分钟回复率", "5-min reply rate", "rate"),
        Column("s", "首次响应中位数(秒)", "first response median (s)", "seconds"),
        Column("t", "内容", "text", wrap=True), Column("y", "销售额", "sales", "yuan", optional=True)]


def _frame(rng: random.Random, rows: int, shops: int) -> pd.DataFrame:
    words = ["在吗", "亲，发货了吗", "好的", "x", "Ok thanks", "￥99 包邮吗？", "\x1b[31m红", "表情😀",
             "很长很长的一段买家留言，说明了退款的原因和经过，还要再长一些才会折行"]
    return pd.DataFrame({
        "shop": [f"店{rng.randrange(shops)}" for _ in range(rows)],
        "date": pd.to_datetime([f"2026-11-{rng.randrange(1, 29):02d}" for _ in range(rows)]),
        "agent_id": [rng.choice(["a1", "a2", None]) for _ in range(rows)],
        "n": [rng.choice([0, 1, 12, 123456789]) for _ in range(rows)],
        "r": [rng.choice([0.5, None, 1.0, 0.123]) for _ in range(rows)],
        "s": [rng.choice([1.0, None, 12345.6]) for _ in range(rows)],
        "t": [rng.choice(words) for _ in range(rows)],
        "y": [rng.choice([0.0, 1234567.891, None]) for _ in range(rows)],
    })


def _print(frame, cols, width, *, record, **kw) -> str:
    buf = io.StringIO()
    con = Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False,
                  markup=False, record=record)  # record=True: rich draws (the reference)
    print_table(con, frame, cols, **kw)
    return buf.getvalue()


CASES = [(seed, width, lang, title, total, wide)
         for seed in range(6) for width in (80, 120, 240) for lang in ("zh", "en")
         for title, total, wide in ((None, False, False), ("5分钟回复率 · 全部日期", True, False),
                                    ("a title far wider than any table could be " * 6, True, True))]


@pytest.mark.parametrize("seed,width,lang,title,total,wide", CASES)
def test_plain_table_equals_rich(seed, width, lang, title, total, wide):
    rng = random.Random(seed)
    frame = _frame(rng, rows=rng.choice([0, 1, 7, 40]), shops=rng.choice([1, 3]))
    cols = rng.sample(COLS, k=rng.randrange(2, len(COLS) + 1))
    total_row = {"n": 999, "r": 0.5, "y": 10.0} if total else None
    kw = {"lang": lang, "title": title, "total_row": total_row, "wide": wide}
    assert _print(frame, cols, width, record=False, **kw) == _print(frame, cols, width, record=True, **kw)


def test_plain_table_draws_the_common_case_and_declines_a_fold():
    """A kpi-like table is drawn here (not by rich); a cell that must fold is left to rich."""
    frame = pd.DataFrame({"shop": ["店A", "店B", "店C"], "n": [1, 22, 333], "r": [0.5, None, 1.0]})
    cols = [COLS[0], COLS[3], COLS[4]]
    lay = layout(display_frame(frame, cols), cols, 120)
    heads = [c.label("zh") for c in lay.shown]
    text = plain_text(lay, "zh", "标题", 120, None, heads, None)
    assert text is not None and text.splitlines()[1].startswith("┏")
    assert "│ 店A  │        1 │       50.0% │" in text.splitlines()
    lay.cells["n"][0] = "1" * 40  # wider than its column: rich folds it
    assert plain_text(lay, "zh", "标题", 120, None, heads, None) is None


PIPE_CASES = [(seed, lang, title, total, wide) for seed in range(8) for lang in ("zh", "en")
              for title, total, wide in ((None, False, False), ("5分钟回复率 · 全部日期", True, False),
                                         ("a title far wider than any table could be " * 6, True,
                                          True), ("标题", False, False))]


@pytest.mark.parametrize("seed,lang,title,total,wide", PIPE_CASES)
def test_emit_to_a_pipe_equals_rich(seed, lang, title, total, wide, monkeypatch):
    """A table emitted to a pipe or a file goes through cskit.render._PipeConsole (no rich
    Console unless a part needs rich): the same characters as a rich Console of 240 columns
    without styles, narrow-column notes included."""
    from cskit.render import emit

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    rng = random.Random(100 + seed)
    many = COLS + [Column(f"c{i}", f"很长的一个指标名称第{i}项(秒)", f"a long metric name number {i} (s)",
                          "seconds", optional=i % 2) for i in range(12)]
    frame = _frame(rng, rows=rng.choice([0, 1, 7, 40]), shops=rng.choice([1, 3]))
    for i in range(12):
        frame[f"c{i}"] = [rng.choice([1.5, None, 123456.0]) for _ in range(len(frame))]
    cols = rng.sample(many, k=rng.randrange(2, len(many) + 1))
    total_row = {"n": 999, "r": 0.5, "y": 10.0} if total else None
    kw = {"lang": lang, "title": title, "total_row": total_row, "wide": wide}
    ours = io.StringIO()
    emit(frame, cols, "table", out=ours, **kw)
    assert ours.getvalue() == _print(frame, cols, 240, record=False, **kw)
