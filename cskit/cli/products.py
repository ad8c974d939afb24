"""`cskit products`: per product, inquiries, purchases, lost reasons and the change on the
period before (询单分析 per item).  The library is :mod:`cskit.products`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import (Fmt, check_excel,
                               period_of)
from cskit.products.report import COLUMNS, product_notes
from cskit.render import emit

__all__ = ["PRODUCT_TABLE_COLUMNS", "run_products"]

#: `cskit products` (keys: cskit.products.table.PRODUCT_COLUMNS; docs/products.md)
PRODUCT_TABLE_COLUMNS = COLUMNS


class SortKey(str, Enum):
    inquiring_buyers = "inquiring_buyers"
    paid_buyers = "paid_buyers"
    inquiry_conversion = "inquiry_conversion"
    lost_buyers = "lost_buyers"
    sales = "sales"
    paid_orders = "paid_orders"
    inquiring_change = "inquiring_change"


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
    view = frame
    if fmt in ("table", "xlsx") and "title" in frame.columns and "product_id" in frame.columns:
        # a product known only by its id (no title in the exports) is shown by its id, so
        # every row of a table says which product it is (CSV/JSON keep the empty title)
        view = frame.assign(title=frame["title"].where(frame["title"].notna()
                                                       & (frame["title"].astype(str) != ""),
                                                       frame["product_id"]))
    with output_file(output, fmt) as handle:
        emit(view, PRODUCT_TABLE_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta,
             wide=wide, excel=excel)
    return frame


@app.command("products")
@boundary
@shared_options
def products_cmd(
    top: Annotated[Optional[int], typer.Option("--top", min=1, metavar="N", help="Only the first N products after sorting.")] = None,
    sort: Annotated[SortKey, typer.Option("--sort", help="Sort products by this column, largest first (unknown last).")] = SortKey.inquiring_buyers,
    lexicon: Annotated[Optional[Path], typer.Option("--lexicon", help="Lost-reason lexicon TOML replacing the packaged one (docs/text.md).")] = None,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """Per product: inquiring buyers, purchases, conversion, lost reasons, change on the period before. 商品询单分析"""
    check_excel(excel, fmt)
    run_products(open_store(store), shops=shop, period=period_of(since, until, week, last_week),
                 top=top, sort=sort.value, lexicon=lexicon, fmt=fmt.value, lang=lang.value,
                 output=output, wide=wide, excel=excel)
