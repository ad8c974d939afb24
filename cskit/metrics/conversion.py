"""Conversion and sales attribution (issue #4).

Pure functions, frames in, frames out; nothing prints.  Every shop is computed
independently (buyers are matched by ``(shop, buyer_id)``, the data end is per
shop).  Vectorised: messages and orders share one integer (shop, buyer) code;
buyer-days come from one sort; "the first human reply", "an order in the
lookback", "an order in the window" and "the last human reply before the
order" are each one as-of search (:func:`_asof`, ``np.searchsorted`` on a dense
(buyer, time-rank) key — ``pd.merge_asof(by=…)`` semantics without its fixed
cost); rows are ``np.bincount`` sums.  No Python loop runs over messages or
orders.  The rules are documented in docs/metrics.md, "Conversion and sales
attribution".

This module is the public face: :func:`conversion_kpis`, and every name callers use,
re-exported from where it lives, split by idea:

* :mod:`cskit.metrics.conversion_rules` — the rules: the KPI registry entries, argument
  rules, paid statuses, and the buyer-day / payment / attribution rules over the arrays;
* :mod:`cskit.metrics.conversion_data` — reading messages and orders into shared codes,
  the data end (``_Data``, ``_setup``);
* :mod:`cskit.metrics.joins` — the machinery: shared id codes and the as-of search;
* :mod:`cskit.metrics.conversion_tables` — per-group sums and the finished KPI table;
* :mod:`cskit.metrics.conversion_slices` — :class:`ConversionSlices`, one time slice at a time;
* :mod:`cskit.metrics.conversion_lists` — lost buyers, inquiry outcomes, the 催付 list.

Vocabulary
----------
* **buyer-day** — (shop, buyer, calendar day) with ≥1 buyer message; ``f`` is
  the time of the buyer's first message that day.
* **served** — a human ``agent`` message to the buyer at or after ``f`` on the
  same calendar day (the first such message is the *first human reply*).
* **after-sale** — a served buyer-day with an order of the buyer (any status)
  created in ``[f − lookback, f)``; otherwise it is an **inquiry**.
* **window** of an inquiry — ``[f, f + window]``, both ends inclusive.
* **paid order** — status paid/shipped/completed, or no known status but a
  payment time; never closed or refunded; paid no later than the data end.
"""

from __future__ import annotations

import pandas as pd

from cskit.i18n import Msg
from cskit.metrics.common import day_number

# the names callers and tests import from here, re-exported where they now live
from cskit.metrics.conversion_data import _Data, _setup  # noqa: F401
from cskit.metrics.conversion_lists import (  # noqa: F401
    LOST_BUYERS_COLUMNS,
    UNPAID_LIST_COLUMNS,
    _buyer_day_frame,
    inquiry_outcomes,
    lost_buyers,
    unpaid_list,
)
from cskit.metrics.conversion_rules import (  # noqa: F401
    _AGENT,
    _BOT,
    _BUYER,
    _COUNT_COLS,
    _DAY,
    _FLOAT_COLS,
    _KEY_COLS,
    _KPIS,
    _MIN,
    _NOT_PAID,
    ANCHORS,
    BY_CHOICES,
    PAID_STATUSES,
    _as_of_seconds,
    _check_choice,
    _register_all,
    _Rules,
    _seconds_of_days,
    output_columns,
)
from cskit.metrics.conversion_slices import ConversionSlices, pooled_results  # noqa: F401
from cskit.metrics.conversion_tables import (  # noqa: F401
    _BUYER_FLAGS,
    _ORDER_CATS,
    _conv_finish,
    _conv_partial,
    _ConvPart,
    _dates,
    _empty,
    _group_key,
    _iso_week_codes,
    _key_values,
    _rows,
)
from cskit.metrics.joins import (  # noqa: F401
    _asof,
    _clean,
    _clean_log,
    _group_time_keys,
    _joined,
    _max_into,
    _raw_codes,
    _seconds,
    _shared_codes,
    _take,
)

__all__ = ["conversion_kpis", "unpaid_list", "lost_buyers", "output_columns", "BY_CHOICES",
           "ANCHORS", "PAID_STATUSES", "UNPAID_LIST_COLUMNS", "LOST_BUYERS_COLUMNS",
           "ConversionSlices", "inquiry_outcomes"]


def conversion_kpis(messages: pd.DataFrame, orders: pd.DataFrame | None, by: str = "day",
                    since=None, until=None, window_days: float = 3, lookback_days: float = 15,
                    anchor: str = "order", as_of=None, excluded=None) -> pd.DataFrame:
    """Conversion (询单转化) and sales-attribution KPIs, one row per group.

    ``by``: ``day`` (shop, date), ``week`` (shop, ISO week ``YYYY-Www``), ``shop``,
    ``agent`` (shop, agent_id).  Buyer counts are buyer-days grouped by the date
    of the buyer's messages (a week/shop row sums buyer-days; by agent, the
    agent of the buyer-day's first human reply).  Order counts and amounts are
    grouped by the date of the order's anchor (creation time with
    ``anchor="order"``, payment time with ``"pay"``); by agent, the agent who
    gets the credit, and 未分配 for unattributed, silent and unmatched orders.
    ``since``/``until`` (inclusive dates) filter both by those dates; pass
    messages from ``since − window`` and orders from ``since − lookback`` to
    ``until + window`` so that lookbacks and windows see their data.

    ``as_of`` (default: per shop, the latest message, order or payment time in
    the input) is the data end: later events are ignored, and rows with an
    inquiry whose window ends after it are ``pending``.  A bare date means the
    end of that day.  Group keys first, then KPIs in registry order, sorted by
    the keys; rates are NaN where the denominator is 0.
    """
    _check_choice(by, BY_CHOICES, Msg("grouping"))
    lo, hi = day_number(since, "since"), day_number(until, "until")
    d = _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded)
    end = dict(zip(d.shop_names, d.end_of_shop[:len(d.shop_names)].tolist()))
    return _conv_finish([_conv_partial(d, by, lo, hi)], by, end, d.window_s)
