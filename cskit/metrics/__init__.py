"""Metrics: pure functions, frames in, frames out (docs/metrics.md).

Reply rate and response times (issue #3) live in :mod:`cskit.metrics.reply`,
the rules and presets in :mod:`cskit.metrics.rules`, and the one KPI registry
(keys, zh/en labels, units) that renderers use in :mod:`cskit.metrics.registry`.
"""

from cskit.metrics.registry import (
    GROUP_KEYS,
    KPI,
    KPIS,
    GroupKey,
    column_order,
    kpi,
    label,
    register,
)
from cskit.metrics.reply import (
    BOT_AGENT,
    BY_CHOICES,
    FAST_ANSWER_S,
    UNASSIGNED,
    annotate,
    output_columns,
    reply_kpis,
    unreplied_list,
)
from cskit.metrics.rules import (
    DEFAULT_RULE,
    PRESETS,
    RuleConfig,
    format_threshold,
    get_rule,
    parse_threshold,
    parse_window,
)

__all__ = [
    "RuleConfig", "PRESETS", "DEFAULT_RULE", "get_rule", "parse_threshold", "parse_window",
    "format_threshold", "annotate", "reply_kpis", "unreplied_list", "output_columns",
    "BY_CHOICES", "UNASSIGNED", "BOT_AGENT", "FAST_ANSWER_S", "KPI", "KPIS", "GroupKey",
    "GROUP_KEYS", "kpi", "label", "register", "column_order",
]

# the conversion family registers its KPIs in the same registry on import
from cskit.metrics import conversion  # noqa: E402,F401
