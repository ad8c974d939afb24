"""The products section of the weekly report (`cskit report`): products.csv and a table of
the most asked-about products in index.html.  The columns are those of `cskit products`."""

from __future__ import annotations

import html

from cskit.render import Column

__all__ = ["COLUMNS", "LABELS", "HTML_KEYS", "collect_products", "product_notes", "products_html"]

#: `cskit products` and products.csv (keys: cskit.products.table.PRODUCT_COLUMNS;
#: docs/products.md)
COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("title", "商品", "product", wrap=True),
    Column("product_id", "商品ID", "item id", optional=2),
    Column("inquiring_buyers", "询单人数", "inquiring buyers", "count"),
    Column("paid_buyers", "询单→付款人数", "inquiries that paid", "count"),
    Column("inquiry_conversion", "询单转化率", "inquiry conversion", "rate"),
    Column("pending_buyers", "窗口未结束", "window open", "count", optional=True),
    Column("lost_buyers", "流失人数", "lost buyers", "count"),
    Column("lost_reasons", "流失原因", "lost reasons", wrap=True),
    Column("paid_orders", "付款订单(全部)", "paid orders (all)", "count"),
    Column("units", "件数", "units", "count", optional=True),
    Column("sales", "销售额", "sales", "yuan"),
    Column("inquiring_buyers_prev", "上期询单人数", "inquiring (prev.)", "count", optional=True),
    Column("inquiring_change", "询单环比", "inquiring vs prev.", "rate"),
    Column("inquiry_conversion_prev", "上期转化率", "conversion (prev.)", "rate", optional=True),
    Column("conversion_change", "转化率变化", "conversion change", "rate", optional=True),
    Column("lost_reason_ids", "流失原因代码", "lost reason ids", optional=3),
    Column("product", "商品键", "product key", optional=3),
]
#: key → (zh, en, unit), for the report's column lookup
LABELS = {c.key: (c.label_zh, c.label_en, c.unit) for c in COLUMNS}
#: what index.html shows of each product
HTML_KEYS = ("shop", "title", "product_id", "inquiring_buyers", "paid_buyers",
             "inquiry_conversion", "lost_buyers", "lost_reasons", "sales", "inquiring_change")


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


def collect_products(store, data, strict: bool = False) -> None:
    """``data.products`` (every product of the period, most asked-about first) and a note
    per shop whose purchases are unknown; a failure is a note unless ``strict``."""
    from cskit.report import Note
    from cskit.products.table import products_table, sort_top

    notes: list = []
    try:
        data.products = sort_top(products_table(store, shops=data.shops, period=data.period,
                                                lang="zh", notes=notes))
    except Exception as exc:  # an optional section: the rest of the report still stands
        if strict:
            raise
        from cskit.i18n import tr

        data.notes.append(Note("products", tr("product analysis failed ({error})",
                                              error=type(exc).__name__), warning=True))
        return
    data.notes.extend(Note("products", line) for line in product_notes(notes, "zh"))


def products_html(data, top_n: int, table) -> str:
    """The index.html section: the ``top_n`` most asked-about products (``table``: the
    report's HTML table function)."""
    out = ["<h2>商品询单分析 (询单最多的商品)</h2>"]
    frame = getattr(data, "products", None)
    if frame is None or frame.empty or not (frame["inquiring_buyers"].fillna(0) > 0).any():
        why = next((n.text for n in data.notes if n.section == "products"), None)
        out.append(f'<p class="nodata">无数据{("：" + html.escape(why)) if why else ""}</p>')
        return "\n".join(out)
    top = frame[frame["inquiring_buyers"].fillna(0) > 0].head(top_n)
    out.append("<p>询单人数 = 聊天中带商品链接/卡片/SKU/商品标题的询单 (买家·天); 询单→付款 = "
               "其中在转化窗口内付款买了该商品的; 流失原因同 cskit lost. 全部商品见 "
               '<a href="products.csv">products.csv</a> (定义见 docs/products.md).</p>')
    cols = [c for c in COLUMNS if c.key in HTML_KEYS]
    out.append(table(top[[c.key for c in cols]], cols))
    return "\n".join(out)
