"""cskit.kpi and cskit.readers.common are split by idea (issue 17's developers' guide):

* cskit.kpi — the KPI tables; cskit.period — the period options; cskit.kpi_store — the
  store's facts around a computation; cskit.kpi_slices — reading the store by shop-month;
* cskit.readers.common — a reader's options and result; cskit.readers.encoding — bytes and
  encodings; cskit.readers.tabular — files as tables of strings; cskit.readers.cells —
  cleaning columns.

Every name callers, tests and benchmarks import from the old modules stays importable
there as the same object; the tuning knobs are not re-exported (setting them on the old
module would change nothing, so it must fail); each module is a size a reader can hold."""


import pytest

from cskit import kpi, kpi_slices, kpi_store, period
from cskit.readers import cells, common, encoding, tabular
from tests.modules import assert_one_idea

KPI_HOMES = {
    period: ("Period", "parse_date", "parse_week", "last_week", "resolve_period"),
    kpi_store: ("no_messages", "select_shops", "read_excluded", "data_ends", "last_order_at",
                "pa_strings", "explain_unknown"),
    kpi_slices: ("MESSAGE_COLUMNS", "REPLY_SLACK", "LEAD_DAYS", "message_columns",
                 "closing_column", "_ts", "Slice", "_month_bounds", "_Plan", "_plans",
                 "month_slices", "packed_slice", "prefetched", "_small", "shop_groups",
                 "_shops_slices", "_logged"),
}
KPI_OWN = ("_reply_end", "_reply_results", "reply_sums", "_in_shop_order", "reply_report",
           "unreplied_report", "Attribution", "_shifted", "read_shop", "agent_report",
           "_BY_KEYS", "active_agent_rows", "kpi_report", "_unknown_of", "_reply_conversion",
           "reply_conversion_sums", "merge_kpi_frames", "merge_agent_frames", "_RATIOS",
           "total_row", "sort_frame", "unpaid_report")

COMMON_HOMES = {
    encoding: ("ENCODINGS", "read_bytes", "read_text", "UTF8_BOM", "HEAD_CHARS", "NotFast",
               "NotUtf8", "may_be_utf8", "open_file", "file_start", "utf8_head", "file_is_utf8",
               "decode_bytes", "no_invalid_bytes"),
    tabular: ("CSV_BLOCK", "norm_header", "find_column", "TABULAR_EXT", "EXCEL_EXT", "Table",
              "_drop_blank_rows", "all_missing", "_cell_to_str", "load_table", "table_from_text",
              "table_from_utf8", "one_chunk"),
    cells: ("EMPTY_MARKERS", "SUMMARY_WORDS", "arrow_str", "to_arrow_str", "from_arrow_str",
            "to_bool", "per_value", "run_jobs", "clean_arrow", "clean_str", "sci_mangled",
            "clean_id_arrow", "clean_id", "parse_amount", "parse_datetime",
            "parse_clean_datetime", "is_summary_row"),
}


@pytest.mark.parametrize("old, homes", [(kpi, KPI_HOMES), (common, COMMON_HOMES)],
                         ids=["kpi", "readers.common"])
def test_names_reexported_as_the_same_objects(old, homes):
    for home, names in homes.items():
        for name in names:
            assert getattr(old, name) is getattr(home, name), (home.__name__, name)


def test_definitions_live_in_their_new_modules():
    assert kpi.Period.__module__ == "cskit.period"
    assert kpi.select_shops.__module__ == "cskit.kpi_store"
    assert kpi.month_slices.__module__ == "cskit.kpi_slices"
    assert kpi.Slice.__module__ == "cskit.kpi_slices"
    for name in KPI_OWN:
        obj = getattr(kpi, name)
        if callable(obj):
            assert obj.__module__ == "cskit.kpi", name
    assert common.decode_bytes.__module__ == "cskit.readers.encoding"
    assert common.Table.__module__ == "cskit.readers.tabular"
    assert common.clean_str.__module__ == "cskit.readers.cells"
    assert common.ReadResult.__module__ == common.ReadOptions.__module__ == "cskit.readers.common"


def test_knobs_are_set_where_they_are_read():
    """SLICE_ROWS, DICT_SAMPLE, DICT_MAX, THREADS and PARALLEL_COMBINE are read by the module
    that defines them; the old modules do not carry a copy that a monkeypatch (or the Dask
    engine) could set to no effect."""
    assert kpi_slices.SLICE_ROWS == 500_000 and not hasattr(kpi, "SLICE_ROWS")
    for name in ("DICT_SAMPLE", "DICT_MAX", "THREADS"):
        assert hasattr(cells, name) and not hasattr(common, name), name
    assert hasattr(tabular, "PARALLEL_COMBINE") and not hasattr(common, "PARALLEL_COMBINE")


def test_shop_groups_follow_slice_rows_in_kpi_slices(monkeypatch):
    plan = kpi._Plan("x", {}, [], [(None, None)], False, 60, None, None)
    plans = {"a": plan, "b": plan}
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 100)
    assert kpi.shop_groups(plans) == [["a"], ["b"]]
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 120)
    assert kpi.shop_groups(plans) == [["a", "b"]]


@pytest.mark.parametrize("mod", [kpi, kpi_slices, kpi_store, period, common, encoding, tabular,
                                 cells], ids=lambda m: m.__name__)
def test_modules_are_one_idea_of_a_readable_size(mod):
    assert_one_idea(mod, min_doc=300)  # says what it holds and what it does not


@pytest.mark.parametrize("threads, pooled", [(1, False), (2, True)])
def test_one_chunk_follows_the_threads_knob_in_cells(monkeypatch, threads, pooled):
    """tabular.one_chunk reads cells.THREADS when called (the readers' one thread knob), not
    a copy taken at import: setting it there decides whether columns combine on a pool."""
    import pyarrow as pa

    used = []

    class Pool:
        def __init__(self, max_workers):
            used.append(max_workers)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, items):
            return map(fn, items)

    monkeypatch.setattr(tabular, "ThreadPoolExecutor", Pool)
    monkeypatch.setattr(tabular, "PARALLEL_COMBINE", 0)
    monkeypatch.setattr(cells, "THREADS", threads)
    a = pa.chunked_array([pa.array(["x"]), pa.array(["y"])])
    b = pa.chunked_array([pa.array([1]), pa.array([2])])
    got = common.one_chunk(pa.table({"a": a, "b": b}))
    assert [c.num_chunks for c in got.columns] == [1, 1]
    assert got.column("a").to_pylist() == ["x", "y"] and got.column("b").to_pylist() == [1, 2]
    assert used == ([threads] if pooled else [])
