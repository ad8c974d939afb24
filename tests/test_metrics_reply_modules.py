"""cskit.metrics.reply is split by idea (the sorted log / the reply rule / the per-group
sums / the KPI table / slice by slice): every name callers and tests import from
cskit.metrics.reply stays importable from it as the same object, each piece lives in the
module of its idea, and each module stays a size a reader can hold."""

from pathlib import Path

import cskit.metrics.reply as reply
import cskit.metrics.reply_log as log
import cskit.metrics.reply_rule as rule
import cskit.metrics.reply_slices as slices
import cskit.metrics.reply_sums as sums
import cskit.metrics.reply_table as table
from tests.modules import assert_one_idea

HOMES = {
    log: ("UNASSIGNED", "BOT_AGENT", "_Log", "_prepare", "_sorted", "_sort_order",
          "_stable_order", "_time_ordered_blocks", "_factorize", "_sender_codes",
          "_exclusion_days", "_closing_rows", "_joined", "_DAY", "_EPOCH", "_BUYER", "_AGENT",
          "_BOT", "_NEVER", "_ALWAYS", "_BIG"),
    rule: ("FAST_ANSWER_S", "_resolve_rule", "_Ann", "_annotate_core", "_next_at", "_around",
           "_take", "_bounded", "_in_window", "_unit_starts", "_session_keys",
           "_annotation_frame"),
    sums: ("_Events", "_events", "_Part", "_Acc", "_buyer_days", "_partial", "_DENSE_CELLS"),
    table: ("BY_CHOICES", "output_columns", "_finish", "_part_rows", "_hist_quantiles",
            "_empty_kpis", "_headline_columns", "_KEY_COLS", "_MEANS", "_QUANTILES",
            "_OTHER_COLUMNS", "_HOUR_COLUMNS", "_NULLABLE_COLUMNS", "_FLOAT_COLUMNS"),
    slices: ("ReplySlices", "slice_log", "pooled_results", "_UNREPLIED_COLUMNS",
             "_FLUSH_ROWS", "_SHOPS"),
}


def test_names_reexported_from_reply():
    for mod, names in HOMES.items():
        for name in names:
            assert getattr(reply, name) is getattr(mod, name), (mod.__name__, name)
    for name in reply.__all__:
        assert hasattr(reply, name), name
    # what other modules and tests import from cskit.metrics.reply
    from cskit.metrics import (
        BOT_AGENT,
        UNASSIGNED,
        annotate,
        reply_kpis,
        unreplied_list,
    )
    from cskit.metrics.conversion_data import (
        _exclusion_days,
        _sender_codes,
        _sort_order,
    )
    assert (BOT_AGENT, UNASSIGNED) == ("机器人", "未分配")
    assert annotate is reply.annotate and reply_kpis is reply.reply_kpis
    assert unreplied_list is reply.unreplied_list and reply.late_annotation
    assert _exclusion_days is log._exclusion_days and _sender_codes is log._sender_codes
    assert _sort_order is log._sort_order


def test_modules_are_split_by_idea():
    assert log._prepare.__module__ == "cskit.metrics.reply_log"
    assert rule._annotate_core.__module__ == "cskit.metrics.reply_rule"
    assert sums._partial.__module__ == "cskit.metrics.reply_sums"
    assert table._finish.__module__ == "cskit.metrics.reply_table"
    assert slices.ReplySlices.__module__ == "cskit.metrics.reply_slices"
    assert reply.reply_kpis.__module__ == "cskit.metrics.reply"
    # the public one-frame functions stay in reply.py; the machinery is not there
    text = Path(reply.__file__).read_text(encoding="utf-8")
    assert "class ReplySlices" not in text and "def _partial" not in text
    for mod in (reply, log, rule, sums, table, slices):
        assert_one_idea(mod)
