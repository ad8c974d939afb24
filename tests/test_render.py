"""Machine output of cskit.render: a column at a time gives what value by value gives."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cskit.render import UNITS, Column, machine_column, machine_value, write_csv, write_json

floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-10**6, 10**6).map(float),
                   st.sampled_from([0.1 + 0.2, 1 / 3, 2.675, 1e-7, 0.8461538461538461, -0.0]))


@settings(max_examples=300, deadline=None)
@given(st.lists(floats, max_size=30), st.sampled_from(UNITS))
def test_float_column_equals_value_by_value(values, unit):
    s = pd.Series(values, dtype=float)
    got = machine_column(s, unit)
    ref = [machine_value(v, unit) for v in s.tolist()]
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert type(g) is type(r) and (g == r or (g != g and r != r)), (g, r)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-2**40, 2**40), max_size=20), st.sampled_from(UNITS))
def test_int_and_bool_columns_equal_value_by_value(values, unit):
    for s in (pd.Series(values, dtype=np.int64), pd.Series([v % 2 == 0 for v in values], dtype=bool)):
        got = machine_column(s, unit)
        ref = [machine_value(v, unit) for v in s.tolist()]
        assert got == ref and [type(v) for v in got] == [type(v) for v in ref]


def test_time_text_and_date_columns_equal_value_by_value():
    times = pd.Series(pd.to_datetime(["2026-11-09 08:00:01", None, "2026-11-22 23:59:59"]))
    cases = [(times, "time"), (times, "date"),
             (pd.Series([dt.date(2026, 11, 9), None, dt.date(2026, 11, 10)], dtype=object), "date"),
             (pd.Series(["店A", None, "=1+1"], dtype=object), "text"),
             (pd.Series(["店A", None, "b"]), "text"),
             (pd.Series([1.5, None, 2.0], dtype="Float64"), "count"),
             (pd.Series([1, None], dtype="Int64"), "count")]
    for s, unit in cases:
        assert machine_column(s, unit) == [machine_value(v, unit) for v in s.tolist()], (s, unit)
    assert machine_column(times, "time") == ["2026-11-09 08:00:01", None, "2026-11-22 23:59:59"]


def test_csv_and_json_of_a_mixed_frame():
    frame = pd.DataFrame({"shop": ["店A", "-店B"], "date": [dt.date(2026, 11, 9), None],
                          "consult_buyers": [12.0, np.nan], "reply_rate": [1 / 3, np.nan],
                          "pending": [True, False]})
    cols = [Column("shop", "店铺", "Shop"), Column("date", "日期", "Date", "date"),
            Column("consult_buyers", "咨询人数", "Consult buyers", "count"),
            Column("reply_rate", "回复率", "Reply rate", "rate"),
            Column("pending", "待定", "Pending", "int"), Column("absent", "无", "Absent", "count")]
    buf = io.StringIO()
    write_csv(frame, cols, buf)
    assert buf.getvalue() == ("shop,date,consult_buyers,reply_rate,pending,absent\n"
                              "店A,2026-11-09,12,0.333333,True,\n"
                              "-店B,,,,False,\n")
    buf = io.StringIO()
    write_csv(frame, cols, buf, excel=True)
    assert buf.getvalue().splitlines()[2] == "'-店B,,,,False,"
    assert buf.getvalue().startswith("\ufeff店铺,日期,")
    buf = io.StringIO()
    write_json(frame, cols, buf)
    assert '"consult_buyers": 12,' in buf.getvalue() and '"reply_rate": null' in buf.getvalue()


@pytest.mark.parametrize("text", [
    "note: 仓库里没有 店A 覆盖统计期的订单（请先 cskit ingest 订单导出），询单转化与销售额留空",
    "note: shop A has no orders covering the period",
    "note: 茶:tea: 店",  # an emoji code rich replaces
    " note: leading space", "note: trailing space ", "note:\ta tab", "note: \x1b[31mred",
    "note: " + "很长" * 70,  # wider than the console: rich wraps it
    "note: [bold]not markup[/bold]", "", "note: 全角\u3000空格",
])
def test_print_line_prints_what_rich_prints(text, monkeypatch):
    """A note written without rich (cskit.render.print_line) is byte for byte rich's."""
    import io

    from cskit.render import _console, print_line

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    ours, theirs = io.StringIO(), io.StringIO()
    print_line(text, ours)
    _console(theirs).print(text, markup=False)
    assert ours.getvalue() == theirs.getvalue()
