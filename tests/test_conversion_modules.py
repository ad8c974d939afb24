"""cskit.metrics.conversion is split by idea (rules / reading the frames / as-of machinery /
KPI tables / slices / buyer lists): every name callers and tests use stays importable from
cskit.metrics.conversion as the same object, and each module stays a size a reader can hold."""

from pathlib import Path

import cskit.metrics.conversion as conv
import cskit.metrics.conversion_data as data
import cskit.metrics.conversion_lists as lists
import cskit.metrics.conversion_rules as rules
import cskit.metrics.conversion_slices as slices
import cskit.metrics.conversion_tables as tables
from cskit.metrics import joins, registry
from tests.modules import assert_one_idea

MODULES = (conv, rules, data, joins, tables, slices, lists)


def test_names_reexported_from_conversion():
    homes = {
        rules: ("BY_CHOICES", "ANCHORS", "PAID_STATUSES", "_NOT_PAID", "_DAY", "_MIN", "_BUYER",
                "_AGENT", "_KEY_COLS", "_KPIS", "_FLOAT_COLS", "output_columns",
                "_check_choice", "_seconds_of_days", "_as_of_seconds", "_Rules"),
        data: ("_Data", "_setup"),
        joins: ("_seconds", "_raw_codes", "_clean", "_clean_log", "_joined", "_shared_codes",
                "_asof", "_group_time_keys", "_take", "_max_into"),
        tables: ("_ConvPart", "_ORDER_CATS", "_conv_partial", "_key_values", "_conv_finish",
                 "_rows", "_group_key", "_empty", "_dates", "_iso_week_codes"),
        slices: ("ConversionSlices", "pooled_results"),
        lists: ("lost_buyers", "inquiry_outcomes", "unpaid_list", "_buyer_day_frame",
                "UNPAID_LIST_COLUMNS", "LOST_BUYERS_COLUMNS"),
    }
    for mod, names in homes.items():
        for name in names:
            assert getattr(conv, name) is getattr(mod, name), (mod.__name__, name)
    for name in conv.__all__:
        assert hasattr(conv, name), name
    assert conv.conversion_kpis.__module__ == "cskit.metrics.conversion"


def test_modules_are_split_by_idea():
    # the rules (what is served, paid, attributed) apart from reading the frames
    assert issubclass(data._Data, rules._Rules)
    for name in ("_buyer_days", "_payments", "last_human_reply", "paid_orders"):
        assert name in vars(rules._Rules) and name not in vars(data._Data), name
    for name in ("__init__", "_from_log", "_orders"):
        assert name in vars(data._Data), name
    assert joins._asof.__module__ == "cskit.metrics.joins"
    assert tables._conv_finish.__module__ == "cskit.metrics.conversion_tables"
    assert slices.ConversionSlices.__module__ == "cskit.metrics.conversion_slices"
    assert lists.unpaid_list.__module__ == "cskit.metrics.conversion_lists"
    # the machinery knows no conversion rule
    src = Path(joins.__file__).read_text(encoding="utf-8")
    assert "conversion_rules" not in src.split('"""')[2] and "PAID" not in src
    for mod in MODULES:
        assert_one_idea(mod)


def test_conversion_kpis_registered_once_in_order():
    keys = [k.key for k in rules._KPIS]
    order = [k.key for k in registry.KPIS]
    assert [order.index(k) for k in keys] == sorted(order.index(k) for k in keys)
    rules._register_all()  # registering again is a no-op
    assert [k.key for k in registry.KPIS] == order
    assert conv.output_columns("agent")[:2] == ["shop", "agent_id"]
