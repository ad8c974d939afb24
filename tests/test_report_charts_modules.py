"""cskit.report and cskit.charts are split by idea (report: the data / the labels / the page /
writing the bundle; charts: fonts / figure plumbing / one module per chart family): every
name callers and tests use stays importable from the old module as the same object, and
each module stays a size a reader can hold."""


import pytest

import cskit.chart_agents as chart_agents
import cskit.chart_figure as chart_figure
import cskit.chart_fonts as chart_fonts
import cskit.chart_load as chart_load
import cskit.chart_lost as chart_lost
import cskit.chart_reply as chart_reply
import cskit.charts as charts
import cskit.report as report
import cskit.report_data as report_data
import cskit.report_html as report_html
import cskit.report_labels as report_labels
from tests.modules import assert_one_idea

REPORT_NAMES = {
    report_data: ("ReportData", "Note", "collect", "collect_shops", "previous_period",
                  "period_words", "headline", "PARTS", "ALL_PARTS", "WINDOW_DAYS",
                  "LOOKBACK_DAYS", "_UNREPLIED", "_row_values", "_lost_reasons",
                  "_conversion_for_shop", "_reply_for_shop"),
    report_labels: ("FILES", "EXTRA_COLUMNS", "table_columns", "_unit"),
    report_html: ("HEADLINE", "TOP_N", "WORST_AGENTS", "CONTENT_CHARS", "_html", "_table",
                  "_clip", "_e", "_delta", "_label"),
}
CHART_NAMES = {
    chart_fonts: ("CJKFont", "FontMissingError", "FONT_HINT", "find_cjk_font", "_covers",
                  "_from_packages", "_undrawable", "PREFERRED_FAMILIES", "FONT_PACKAGES"),
    chart_figure: ("no_data", "save", "to_png", "_build", "_new_figure", "_rc", "NO_DATA",
                   "agent_label", "shop_heading", "is_heading", "_with_headings", "_MAX_BARS"),
    chart_reply: ("Threshold", "DEFAULT_THRESHOLDS", "headline_counts", "rolling_rate",
                  "agent_rate_matrix", "reply_rate", "_as_thresholds"),
    chart_load: ("WEEKDAYS", "load_matrix", "load"),
    chart_agents: ("AGENT_PANELS", "agents"),
    chart_lost: ("reason_shares", "lost"),
}
MODULES = [report, charts, *REPORT_NAMES, *CHART_NAMES]


@pytest.mark.parametrize("old,homes", [(report, REPORT_NAMES), (charts, CHART_NAMES)],
                         ids=["report", "charts"])
def test_names_reexported_as_the_same_objects(old, homes):
    for home, names in homes.items():
        for name in names:
            assert getattr(old, name) is getattr(home, name), f"{old.__name__}.{name}"
    for name in old.__all__:
        assert hasattr(old, name), name


def test_extra_columns_is_one_dict():
    # cskit.report_score extends EXTRA_COLUMNS in place: the labels must see its entries
    assert report.EXTRA_COLUMNS is report_labels.EXTRA_COLUMNS
    assert report_html.EXTRA_COLUMNS is report_labels.EXTRA_COLUMNS


def test_modules_are_split_by_idea():
    assert report.collect.__module__ == "cskit.report_data"
    assert report.table_columns.__module__ == "cskit.report_labels"
    assert report._html.__module__ == "cskit.report_html"
    assert report.write_report.__module__ == "cskit.report"
    assert charts.find_cjk_font.__module__ == "cskit.chart_fonts"
    assert charts.save.__module__ == "cskit.chart_figure"
    for fn, home in ((charts.reply_rate, chart_reply), (charts.load, chart_load),
                     (charts.agents, chart_agents), (charts.lost, chart_lost)):
        assert fn.__module__ == home.__name__
    for mod in MODULES:
        assert_one_idea(mod, max_lines=500)
