"""Order lines (one product / SKU bought) into the ``order_items`` table.

Two sources (docs/formats-orders.md, "Order items"):

* Taobao/Tmall's companion file ``ExportOrderDetailList`` (宝贝报表, reader
  ``order-items-taobao``): 订单编号, 标题, 价格, 购买数量, 外部系统编号, 商品属性, 套餐信息,
  备注, 订单状态, 商家编码 — GB18030, ids as ``="…"``, usually no shop column (the
  shop is then taken from the orders of the same ids, see :func:`fill_item_shops`);
* the line-level rows of PDD, JD and Douyin order exports (:func:`items_from_lines`,
  called by the order readers).

备注 is never read (sellers write names and phone numbers there); neither is any
personal-data column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cskit.errors import MAPPING_HINT, InputFileError
from cskit.readers import Probe, Reader, register
from cskit.readers.common import (
    ReadOptions,
    ReadResult,
    clean_id,
    clean_str,
    is_summary_row,
    norm_header,
    parse_amount,
)
from cskit.schema import ORDER_ITEMS, columns

__all__ = ["OUTPUT_COLUMNS", "TAOBAO_DETAIL", "fill_item_shops", "items_from_lines", "quantity",
           "read_items", "sniff_items"]

#: columns of the frame a reader returns (``source_file`` is added by ingest)
OUTPUT_COLUMNS = [c for c in columns(ORDER_ITEMS) if c != "source_file"]


@dataclass(frozen=True)
class ItemFormat:
    name: str
    platform: str
    #: field -> header synonyms, best first (a field may be read from the first non-empty)
    columns: dict[str, tuple[str, ...]]
    #: the file is this format only if all of these headers are present
    gate: tuple[str, ...]
    #: headers typical of the format; the share present sets the confidence
    signature: tuple[str, ...]
    description: str


TAOBAO_DETAIL = ItemFormat(
    name="order-items-taobao", platform="taobao",
    columns={
        "order_id": ("订单编号",),
        "item_id": ("宝贝ID", "商品ID"),
        "title": ("标题", "宝贝标题", "商品标题"),
        "price": ("价格", "单价"),
        "quantity": ("购买数量", "宝贝数量"),
        "sku": ("商家编码", "外部系统编号"),
        "attributes": ("商品属性",),
        "package": ("套餐信息",),
        "shop": ("店铺名称", "店铺", "店铺名", "shop"),
    },
    gate=("订单编号", "标题", "购买数量"),
    signature=("订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息",
               "备注", "订单状态", "商家编码"),
    description="Taobao/Tmall ExportOrderDetailList (宝贝报表: one row per item of an order)",
)


def sniff_items(fmt: ItemFormat, path: Path, probe: Probe) -> int:
    """Confidence 0..99 that ``path`` is an item report of ``fmt``."""
    headers = set(probe.headers)
    if not headers or not all(norm_header(h) in headers for h in fmt.gate):
        return 0
    sig = {norm_header(h) for h in fmt.signature}
    return 60 + int(round(39 * len(sig & headers) / len(sig)))


def quantity(s: pd.Series) -> pd.Series:
    """'2件' → 2; non-integers and text → <NA>."""
    t = clean_str(s).str.replace(r"[件个,，\s]", "", regex=True)
    num = pd.to_numeric(t.astype(object), errors="coerce")
    num = num.where(num == np.floor(num))
    return num.astype("Int64")


def read_items(fmt: ItemFormat, path: Path, opts: ReadOptions, probe: Probe) -> ReadResult:
    """Read an item report into the canonical order_items frame (one row per line)."""
    table = probe.table
    if table is None:
        if probe._table_error is not None:
            raise probe._table_error
        raise InputFileError("{path}: not a table of order items", hint=MAPPING_HINT, path=path)
    frame = table.frame
    present = set(frame.columns)
    cols = {f: [norm_header(h) for h in syns if norm_header(h) in present]
            for f, syns in fmt.columns.items()}
    cols = {f: hs for f, hs in cols.items() if hs}
    rows = table.rows()
    keep = ~frame.isna().all(axis=1) & ~is_summary_row(frame)
    frame, rows = frame[keep], rows[keep]
    idx = frame.index

    def text(field: str) -> pd.Series:
        out = pd.Series(pd.NA, index=idx, dtype="string")
        for h in cols.get(field, []):  # first non-empty of the synonyms, cell by cell
            out = out.where(out.notna(), clean_str(frame[h]))
        return out

    order_id, damaged = clean_id(frame[cols["order_id"][0]])
    item_id = text("item_id")
    price = parse_amount(frame[cols["price"][0]]) if "price" in cols \
        else pd.Series(np.nan, index=idx, dtype="float64")
    qty = quantity(frame[cols["quantity"][0]])
    shop = text("shop")
    if opts.shop:
        shop = shop.fillna(opts.shop)
    out = pd.DataFrame({
        "shop": shop, "platform": pd.Series(fmt.platform, index=idx, dtype="string"),
        "order_id": order_id, "item_id": item_id, "title": text("title"), "sku": text("sku"),
        "attributes": text("attributes"), "package": text("package"),
        "quantity": qty, "price": price, "source_row": rows.astype("int64"),
    }, index=idx)
    missing = out["order_id"].isna()
    damaged = damaged & ~missing
    oid_col = fmt.columns["order_id"][0]
    rejects = [(int(r), f"order id missing (column {oid_col})")
               for r in out.loc[missing, "source_row"]]
    rejects += [(int(r), "order id damaged by Excel (scientific notation)")
                for r in out.loc[damaged, "source_row"]]
    out = out[~(missing | damaged)].reset_index(drop=True)
    return ReadResult(kind=ORDER_ITEMS, platform=fmt.platform, frame=out[OUTPUT_COLUMNS],
                      rows_read=int(len(frame)), rejects=sorted(rejects))


def items_from_lines(lines: pd.DataFrame) -> pd.DataFrame | None:
    """The order_items frame of a line-level order export (one row per item), or None
    when the lines name no item.  ``lines`` has ``shop, platform, order_id, item_id,
    item_title, quantity, source_row`` and, when the export has them, ``_sku``,
    ``_attributes``, ``_price``."""
    if lines.empty or (lines["item_title"].isna().all() and lines["item_id"].isna().all()):
        return None
    na = pd.Series(pd.NA, index=lines.index, dtype="string")
    out = pd.DataFrame({
        "shop": lines["shop"], "platform": lines["platform"], "order_id": lines["order_id"],
        "item_id": lines["item_id"], "title": lines["item_title"],
        "sku": lines.get("_sku", na),
        "attributes": lines.get("_attributes", na),
        "package": na, "quantity": lines["quantity"],
        "price": lines["_price"] if "_price" in lines
        else pd.Series(np.nan, index=lines.index, dtype="float64"),
        "source_row": lines["source_row"].astype("int64"),
    }, index=lines.index)
    return out.sort_values("source_row", kind="stable").reset_index(drop=True)[OUTPUT_COLUMNS]


def fill_item_shops(items: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Fill a missing ``shop`` of item rows from ``orders`` (``shop, platform, order_id``)
    of the same platform and order id, when those name exactly one shop for it."""
    todo = items["shop"].isna()
    if not todo.any() or orders.empty:
        return items
    known = orders[["platform", "order_id", "shop"]].dropna().drop_duplicates()
    known = known[~known.duplicated(["platform", "order_id"], keep=False)]
    found = items.loc[todo, ["platform", "order_id"]].merge(known, on=["platform", "order_id"],
                                                           how="left")["shop"]
    out = items.copy()
    out.loc[todo, "shop"] = found.to_numpy()
    return out


register(Reader(
    name=TAOBAO_DETAIL.name, kind=ORDER_ITEMS, platform=TAOBAO_DETAIL.platform,
    sniff=lambda path, probe: sniff_items(TAOBAO_DETAIL, path, probe),
    read=lambda path, opts, probe: read_items(TAOBAO_DETAIL, path, opts, probe),
    known_headers=frozenset({h for syns in TAOBAO_DETAIL.columns.values() for h in syns}
                            | set(TAOBAO_DETAIL.signature)),
    description=TAOBAO_DETAIL.description,
))
