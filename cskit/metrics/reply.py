"""Reply rate and response times (issue #3): the public functions on one frame.

Pure functions, frames in, frames out; nothing prints.  Everything is vectorised:
messages are sorted once by (shop, buyer, sent_at, tie-break); "the next human
agent message to the same buyer" is a reverse running minimum of row positions;
per-group figures are ``np.bincount`` over a dense (shop × day / week / agent /
hour) index.  No Python loop ever runs over messages and there is no
``groupby.apply``.  The rules are documented in docs/metrics.md.

Tie order (messages of one buyer with the same ``sent_at`` second): by
``(source_file, source_row)`` when those columns exist (missing values last),
then input order (the sort is stable).  A reply must come *after* the buyer
message in this order: an agent message at the same second that sorts after the
buyer message is a 0-second reply; one that sorts before it is not a reply to it.

This module holds :func:`annotate`, :func:`late_annotation`, :func:`unreplied_list` and
:func:`reply_kpis` (one frame in, one frame out) and re-exports the names callers import
from it.  The work is split by idea:

* :mod:`cskit.metrics.reply_log`: the sorted, coded message log (sort, tie-break, codes);
* :mod:`cskit.metrics.reply_rule`: the reply rule per buyer message (reply, wait, late,
  window, exclusions, robots, attribution, rounds and sessions);
* :mod:`cskit.metrics.reply_sums`: per-message facts to per-group partial sums and
  response-time histograms;
* :mod:`cskit.metrics.reply_table`: the sums to the KPI table (columns, rates, quantiles);
* :mod:`cskit.metrics.reply_slices`: :class:`ReplySlices`, one shop slice by slice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.common import day_number
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.reply_log import (  # noqa: F401  (re-exported)
    _AGENT,
    _ALWAYS,
    _BIG,
    _BOT,
    _BUYER,
    _DAY,
    _EPOCH,
    _NEVER,
    _SENDERS,
    BOT_AGENT,
    UNASSIGNED,
    _closing_rows,
    _exclusion_days,
    _factorize,
    _joined,
    _Log,
    _prepare,
    _sender_codes,
    _sort_order,
    _sorted,
    _stable_order,
    _time_ordered_blocks,
)
from cskit.metrics.reply_rule import (  # noqa: F401  (re-exported)
    FAST_ANSWER_S,
    RuleConfig,
    _Ann,
    _annotate_core,
    _annotation_frame,
    _around,
    _bounded,
    _in_window,
    _next_at,
    _resolve_rule,
    _session_keys,
    _take,
    _unit_starts,
)
from cskit.metrics.reply_slices import (  # noqa: F401  (re-exported)
    _FLUSH_ROWS,
    _SHOPS,
    _UNREPLIED_COLUMNS,
    ReplySlices,
    pooled_results,
    slice_log,
)
from cskit.metrics.reply_sums import (  # noqa: F401  (re-exported)
    _DENSE_CELLS,
    _Acc,
    _buyer_days,
    _Events,
    _events,
    _Part,
    _partial,
)
from cskit.metrics.reply_table import (  # noqa: F401  (re-exported)
    _FLOAT_COLUMNS,
    _HOUR_COLUMNS,
    _KEY_COLS,
    _MEANS,
    _NULLABLE_COLUMNS,
    _OTHER_COLUMNS,
    _QUANTILES,
    BY_CHOICES,
    _empty_kpis,
    _finish,
    _headline_columns,
    _hist_quantiles,
    _part_rows,
    output_columns,
)

__all__ = ["annotate", "reply_kpis", "unreplied_list", "output_columns", "ReplySlices",
           "pooled_results", "slice_log",
           "UNASSIGNED",
           "BOT_AGENT", "BY_CHOICES", "FAST_ANSWER_S"]


def annotate(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
             excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per buyer message, with the rule's verdict.

    Columns: shop, buyer_id, sent_at, date (``datetime.date``), in_window (the
    buyer message's time is inside the rule's window), excluded (buyer excluded
    on that day), counted (counts for the headline: in window, not excluded and —
    pdd3 — not in a robot-only buyer-day), reply_at (the rule's reply: next human
    agent message, or robot message with count_bot_replies; NaT if none),
    reply_agent (its agent label, None if none), wait_s (float seconds, NaN if
    none), late (no reply, or wait > threshold, or — taobao — a reply on a later
    day; judged for every message, ``counted`` says whether it matters), agent
    (the attributed agent: the replier, else the agent who last sent the buyer a
    human message before it, else 未分配).

    Rows are in processing order (shop, buyer, sent_at, tie-break); the index
    holds the input frame's index labels.  Rows without shop, buyer_id or a valid
    sent_at, and system messages, are left out.
    """
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded, closing=False)
    a = _annotate_core(log, rule)
    return _annotation_frame(log, a, np.ones(len(a.rows), dtype=bool))


def late_annotation(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
                    excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of :func:`annotate` that are ``counted`` and ``late`` (late or never
    answered), with its columns, row order and index — without building the frame of
    every buyer message (`cskit qc`'s 长时间未回复 flags need only these)."""
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded, closing=False)
    a = _annotate_core(log, rule)
    return _annotation_frame(log, a, a.counted & a.late)


def unreplied_list(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
                   excluded: pd.DataFrame | None = None, since=None, until=None) -> pd.DataFrame:
    """One row per counted buyer message that was late or never answered.

    Columns: shop, buyer_id, date, sent_at, wait_s (NaN = never answered),
    reply_at (NaT = never), agent (attributed agent).  ``since``/``until`` are
    inclusive and apply to the buyer message's date.  Sorted by shop, sent_at,
    buyer_id.
    """
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded, closing=False)
    a = _annotate_core(log, rule)
    sel = a.counted & a.late & _in_range(a.day, day_number(since, "since"),
                                         day_number(until, "until"))
    out = _annotation_frame(log, a, sel)[["shop", "buyer_id", "date", "sent_at", "wait_s",
                                          "reply_at", "agent"]]
    return out.sort_values(["shop", "sent_at", "buyer_id"], kind="stable").reset_index(drop=True)


def reply_kpis(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
               excluded: pd.DataFrame | None = None, by: str = "day", since=None, until=None,
               slow_threshold_s: int = 100) -> pd.DataFrame:
    """Reply-rate and response-time KPIs, one row per group.

    ``by``: ``day`` (shop, date), ``week`` (shop, ISO week; buyer counts are sums
    of buyer-days), ``shop``, ``agent`` (shop, agent_id; per attribution — agent
    rows need not add up to the shop), ``hour`` (shop, hour 0-23: message counts
    for shift planning).  ``since``/``until`` (inclusive) filter on the date of
    the buyer message (agent/robot message counts: their own date); messages
    after ``until`` still serve as replies, so pass a frame reaching a little
    beyond it.  Group key columns first, then KPI columns in registry order;
    sorted by the keys.  Rates are fractions in [0, 1]; NaN only where a
    denominator is 0.  An empty input gives an empty frame with the same columns.
    """
    rule = _resolve_rule(rule)
    columns = output_columns(rule, by)
    slow_threshold_s = int(slow_threshold_s)
    lo, hi = day_number(since, "since"), day_number(until, "until")
    log = _prepare(messages, excluded)
    if log.n == 0:
        return _empty_kpis(columns)
    a = _annotate_core(log, rule)
    return _finish([_partial(_events(log, a, rule, lo, hi), by, rule, slow_threshold_s)], by, rule)
