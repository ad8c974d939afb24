"""`cskit products`: per product, inquiries, purchases, lost reasons and the change on the
period before (询单分析 per item).  The library is :mod:`cskit.products`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import (ExcelOpt, Fmt, FormatOpt, LangOpt, LastWeekOpt, OutputOpt, ShopOpt,
                               SinceOpt, StoreOpt, UntilOpt, WeekOpt, WideOpt, check_excel,
                               period_of)
from cskit.render import Column, emit

__all__ = ["PRODUCT_TABLE_COLUMNS", "run_products", "product_notes"]

#: `cskit products` (keys: cskit.products.table.PRODUCT_COLUMNS; docs/products.md)
PRODUCT_TABLE_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("title", "商品", "product", wrap=True),
    Column("product_id", "商品ID", "item id", optional=2),
    Column("inquiring_buyers", "询单人数", "inquiring buyers", "count"),
    Column("paid_buyers", "询单→付款人数", "inquiries that paid", "count"),
    Column("inquiry_conversion", "询单转化率", "inquiry conversion", "rate"),
    Column("pending_buyers", "窗口未结束", "window open", "count", optional=True),
    Column("lost_buyers", "流失人数", "lost buyers", "count"),
    Column("lost_reasons", "流失原因", "lost reasons", wrap=True),
    Column("paid_orders", "付款订单数", "paid orders", "count"),
    Column("units", "件数", "units", "count", optional=True),
    Column("sales", "销售额", "sales", "yuan"),
    Column("inquiring_buyers_prev", "上期询单人数", "inquiring (prev.)", "count", optional=True),
    Column("inquiring_change", "询单环比", "inquiring vs prev.", "rate"),
    Column("inquiry_conversion_prev", "上期转化率", "conversion (prev.)", "rate", optional=True),
    Column("conversion_change", "转化率变化", "conversion change", "rate", optional=True),
    Column("lost_reason_ids", "流失原因代码", "lost reason ids", optional=3),
    Column("product", "商品键", "product key", optional=3),
]


class SortKey(str, Enum):
    inquiring_buyers = "inquiring_buyers"
    paid_buyers = "paid_buyers"
    inquiry_conversion = "inquiry_conversion"
    lost_buyers = "lost_buyers"
    sales = "sales"
    paid_orders = "paid_orders"
    inquiring_change = "inquiring_change"


def product_notes(notes: list, lang: str) -> list[str]:
    """One line per shop whose product purchases cannot be known."""
    from cskit.i18n import tr
    from cskit.metrics.coverage import unknown_note

    out = []
    for shop, kind, info in notes:
        if kind == "orders":
            out.append(unknown_note(shop, info, lang))
        else:
            out.append(tr("{shop}: the store has no order lines (order_items): which products "
                          "were bought is unknown, purchases and sales left empty", lang,
                          shop=shop))
    return out


def run_products(store, *, shops=None, period, top=None, sort="inquiring_buyers", lexicon=None,
                 fmt="table", lang="zh", output=None, wide=False, excel=False):
    from cskit.products.table import previous_period, products_table, sort_top
    from cskit.render import stderr_console

    notes: list = []
    frame = sort_top(products_table(store, shops=shops, period=period, lexicon=lexicon, lang=lang,
                                    notes=notes), sort, top)
    prev = previous_period(period)
    lines = product_notes(notes, lang)
    con = stderr_console()
    for line in lines:
        con.print("note: " + line, markup=False)
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "previous": None if prev is None else [prev.since.isoformat(), prev.until.isoformat()],
            "sort": sort, "top": top, "notes": lines}
    title = f"商品询单分析 · {period.label(lang)}" if lang == "zh" else \
        f"Products: inquiries and purchases · {period.label(lang)}"
    with output_file(output, fmt) as handle:
        emit(frame, PRODUCT_TABLE_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta,
             wide=wide, excel=excel)
    return frame


@app.command("products")
@boundary
def products_cmd(
    store: StoreOpt = None,
    shop: ShopOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    week: WeekOpt = None,
    last_week: LastWeekOpt = False,
    top: Annotated[Optional[int], typer.Option("--top", min=1, metavar="N", help="Only the first N products after sorting.")] = None,
    sort: Annotated[SortKey, typer.Option("--sort", help="Sort products by this column, largest first (unknown last).")] = SortKey.inquiring_buyers,
    lexicon: Annotated[Optional[Path], typer.Option("--lexicon", help="Lost-reason lexicon TOML replacing the packaged one (docs/text.md).")] = None,
    wide: WideOpt = False,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = None,
    output: OutputOpt = None,
    excel: ExcelOpt = False,
) -> None:
    """Per product: inquiring buyers, purchases, conversion, lost reasons, change on the period before. 商品询单分析"""
    check_excel(excel, fmt)
    run_products(open_store(store), shops=shop, period=period_of(since, until, week, last_week),
                 top=top, sort=sort.value, lexicon=lexicon, fmt=fmt.value, lang=lang.value,
                 output=output, wide=wide, excel=excel)
