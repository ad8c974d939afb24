"""Order exports: Pinduoduo, Taobao/Tmall, JD, Douyin (抖店) and a generic table.

One table-driven implementation (:func:`read_orders`) serves every platform; a
platform is described by an :class:`OrderFormat` — header synonyms per field, a
status map and the headers that identify it.  Each format is registered as its
own reader (``orders-pdd``, ``orders-taobao``, ``orders-jd``, ``orders-douyin``,
``orders-generic``).  See docs/formats-orders.md for the rules in prose.

Only the columns listed in a format are ever read into the result: personal
data (收货人, 手机, 地址, 身份证, 支付宝账号 …) has no field and cannot leak into
the frame; a mapping that points a field at such a column is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.errors import MAPPING_HINT, InputFileError, UsageError
from cskit.i18n import Msg
from cskit.readers import Probe, Reader, register
from cskit.readers.common import (
    ReadOptions,
    ReadResult,
    Table,
    clean_id,
    clean_str,
    is_summary_row,
    norm_header,
    parse_amount,
    parse_datetime,
)
from cskit.readers.order_items import items_from_lines
from cskit.schema import ORDERS, columns

__all__ = ["OrderFormat", "FORMATS", "read_orders", "sniff_orders", "normalise_status",
           "collapse_lines", "OUTPUT_COLUMNS", "FIELDS", "PERSONAL_DATA"]

#: columns of the frame a reader returns (``source_file`` is added by ingest)
OUTPUT_COLUMNS = [c for c in columns(ORDERS) if c != "source_file"]

#: fields a format (or a ``--mapping`` file) can name; refund_status, close_reason and
#: sub_order_id only influence ``status`` / line collapsing and never reach the frame;
#: the item_sku/attributes/price fields only reach the order_items frame
FIELDS = ("shop", "order_id", "buyer_id", "created_at", "paid_at", "amount", "status",
          "item_id", "item_title", "quantity", "refund_status", "close_reason", "sub_order_id",
          "item_sku", "item_attributes", "item_price")
#: platforms whose rows are order lines: they also feed the order_items table
LINE_PLATFORMS = ("pdd", "jd", "douyin")

#: header fragments that mark personal data; such a column is never read
PERSONAL_DATA = re.compile(r"收货人|收件人|手机|电话|地址|身份证|支付宝|姓名|邮箱|联系人|街道")

_SHOP = ("店铺名称", "店铺", "店铺名", "shop")


@dataclass(frozen=True)
class OrderFormat:
    name: str
    platform: str
    #: field -> header synonyms, best first
    columns: dict[str, tuple[str, ...]]
    #: exact status text (normalised by :func:`_status_key`) -> canonical status
    statuses: dict[str, str]
    #: the file is this format only if one of these header sets is fully present
    gates: tuple[tuple[str, ...], ...]
    #: headers typical of the format; the share present sets the confidence
    signature: tuple[str, ...]
    description: str
    #: score range: platform formats 50..99, generic 20..40 (always below)
    base: int = 50
    span: int = 49


# --------------------------------------------------------------------------- statuses

_PDD_STATUS = {
    "待支付": "unpaid", "未支付": "unpaid", "待付款": "unpaid",
    "待发货": "paid", "已支付": "paid", "待成团": "paid", "已成团,待发货": "paid",
    "已发货": "shipped", "已发货,待收货": "shipped", "已发货,待签收": "shipped",
    "待收货": "shipped", "待签收": "shipped",
    "已签收": "completed", "已收货": "completed", "交易成功": "completed", "已完成": "completed",
    "已取消": "closed", "交易关闭": "closed", "未成团": "closed", "已关闭": "closed",
    "未发货,退款成功": "refunded", "已发货,退款成功": "refunded", "已签收,退款成功": "refunded",
    "退款成功": "refunded",
}
_TAOBAO_STATUS = {
    "等待买家付款": "unpaid",
    "买家已付款,等待卖家发货": "paid", "等待卖家发货": "paid",
    "卖家已发货,等待买家确认": "shipped", "卖家部分发货": "shipped", "等待买家确认收货": "shipped",
    "交易成功": "completed",
    "交易关闭": "closed", "交易被淘宝关闭": "closed", "交易被天猫关闭": "closed",
}
_JD_STATUS = {
    "等待付款": "unpaid", "等待付款确认": "unpaid",
    "等待出库": "paid", "等待发货": "paid", "等待打印": "paid", "等待拣货": "paid",
    "等待确认收货": "shipped", "已发货": "shipped", "配送中": "shipped",
    "完成": "completed", "已完成": "completed",
    "(删除)": "closed", "删除": "closed", "已取消": "closed", "锁定": "closed", "取消": "closed",
}
_DOUYIN_STATUS = {
    "待支付": "unpaid", "待付款": "unpaid",
    "待发货": "paid", "备货中": "paid", "已支付": "paid", "部分发货": "shipped",
    "已发货": "shipped", "待收货": "shipped",
    "已完成": "completed", "已签收": "completed",
    "已关闭": "closed", "已取消": "closed", "交易关闭": "closed",
}
_ENGLISH_STATUS = {s: s for s in ("unpaid", "paid", "shipped", "completed", "closed", "refunded")}
_ENGLISH_STATUS.update({"pending": "unpaid", "cancelled": "closed", "canceled": "closed",
                        "delivered": "completed", "refund": "refunded"})

#: keyword guesses for status text no map knows, tried in this order
_STATUS_KEYWORDS = (
    (r"关闭|取消|删除|未成团|cancel|close", "closed"),
    (r"退款|refund", "refunded"),
    (r"未付款|未支付|(?:待|等待).*(?:付款|支付)", "unpaid"),
    (r"(?:待|等待).*(?:发货|出库)|备货", "paid"),
    (r"(?:待|等待).*(?:收货|签收|确认)", "shipped"),
    (r"完成|成功|已签收|已收货|complete", "completed"),
    (r"发货|配送|运输|ship", "shipped"),
    (r"已付款|已支付|paid", "paid"),
)

#: "most advanced live status first" — used when lines of one order disagree
_STATUS_RANK = {"completed": 0, "shipped": 1, "paid": 2, "unpaid": 3, "refunded": 4, "closed": 5}


def _status_key(s: pd.Series) -> pd.Series:
    return (s.str.replace(r"\s+", "", regex=True)
             .str.replace("，", ",", regex=False)
             .str.replace("（", "(", regex=False)
             .str.replace("）", ")", regex=False)
             .str.lower())


def normalise_status(raw: pd.Series, table: dict[str, str]) -> pd.Series:
    """Map status text to ``unpaid|paid|shipped|completed|closed|refunded``.

    Exact matches in ``table`` first (spaces and full-width punctuation
    ignored), then keyword guesses (关闭/取消 → closed, 退款 → refunded,
    待…付款 → unpaid, 待…发货 → paid, 待…收货 → shipped, 完成/成功 → completed,
    发货 → shipped, 已付款 → paid); anything else → <NA>.
    """
    key = _status_key(pd.Series(raw, dtype="string"))
    lookup = {k: v for k, v in zip(_status_key(pd.Series(list(table), dtype="string")),
                                   table.values())}
    out = key.map(lookup).astype("string")
    todo = out.isna() & key.notna()
    if todo.any():
        sub = key[todo]
        conds = [sub.str.contains(p, regex=True).fillna(False).to_numpy(dtype=bool)
                 for p, _ in _STATUS_KEYWORDS]
        guess = np.select(conds, [v for _, v in _STATUS_KEYWORDS], default="")
        guess = pd.Series(guess, index=sub.index, dtype="string").replace("", pd.NA)
        out.loc[todo] = guess
    return out


# --------------------------------------------------------------------------- formats

PDD = OrderFormat(
    name="orders-pdd", platform="pdd",
    columns={
        "order_id": ("订单号",),
        "buyer_id": ("用户ID", "买家ID", "用户昵称", "买家昵称", "buyer", "buyer_id"),
        # newer files: 订单成交时间; older ones: the first non-empty of the others (per cell)
        "created_at": ("订单成交时间", "拼单成功时间", "订单确认时间", "支付时间"),
        "paid_at": ("支付时间",),
        "amount": ("用户实付金额(元)", "用户实付金额"),
        "status": ("订单状态",),
        "refund_status": ("售后状态",),
        "item_id": ("商品id", "商品ID"),
        "item_title": ("商品", "商品名称"),
        "quantity": ("商品数量(件)", "商品数量"),
        "item_sku": ("商家编码-SKU维度", "商家编码-商品维度", "商家编码"),
        "item_attributes": ("商品规格",),
        "shop": _SHOP,
    },
    statuses=_PDD_STATUS,
    gates=(("订单号", "用户实付金额(元)"), ("订单号", "订单成交时间"), ("订单号", "拼单成功时间")),
    signature=("订单号", "订单状态", "商品", "用户实付金额(元)", "商品总价(元)", "支付时间",
               "拼单成功时间", "订单确认时间", "订单成交时间", "商家实收金额(元)", "商品id",
               "商品数量(件)", "售后状态", "承诺发货时间"),
    description="Pinduoduo order export (订单查询 → 导出)",
)

TAOBAO = OrderFormat(
    name="orders-taobao", platform="taobao",
    columns={
        "order_id": ("订单编号",),
        "buyer_id": ("买家会员名",),
        "created_at": ("订单创建时间",),
        "paid_at": ("订单付款时间",),
        "amount": ("买家实际支付金额", "买家实付金额", "总金额"),
        "status": ("订单状态",),
        "close_reason": ("订单关闭原因",),
        "item_id": ("宝贝ID", "商品ID"),
        "item_title": ("宝贝标题", "商品标题"),
        "quantity": ("宝贝总数量", "宝贝数量", "购买数量"),
        "shop": _SHOP,
    },
    statuses=_TAOBAO_STATUS,
    gates=(("订单编号", "买家会员名"), ("订单编号", "订单创建时间")),
    signature=("订单编号", "买家会员名", "买家实际支付金额", "买家实付金额", "订单状态",
               "订单创建时间", "订单付款时间", "宝贝标题", "宝贝总数量", "店铺名称", "订单关闭原因",
               "买家应付货款", "总金额"),
    description="Taobao/Tmall ExportOrderList (千牛 已卖出的宝贝 → 批量导出)",
)

JD = OrderFormat(
    name="orders-jd", platform="jd",
    columns={
        "order_id": ("订单号",),
        "buyer_id": ("下单帐号", "下单账号"),
        "created_at": ("下单时间",),
        "paid_at": ("付款确认时间",),
        "amount": ("应付金额", "订单金额", "结算金额"),
        "status": ("订单状态",),
        "item_id": ("商品ID", "商品编号"),
        "item_title": ("商品名称",),
        "quantity": ("订购数量",),
        "item_price": ("京东价",),
        "shop": _SHOP,
    },
    statuses=_JD_STATUS,
    gates=(("订单号", "下单帐号"), ("订单号", "下单账号"), ("订单号", "京东价")),
    signature=("订单号", "商品ID", "商品名称", "订购数量", "下单时间", "京东价", "订单金额",
               "结算金额", "应付金额", "订单状态", "下单帐号", "下单账号", "付款确认时间",
               "订单完成时间", "订单类型"),
    description="JD order export (京麦/商家后台 订单导出)",
)

DOUYIN = OrderFormat(
    name="orders-douyin", platform="douyin",
    columns={
        "order_id": ("主订单编号",),
        "sub_order_id": ("子订单编号",),
        # 达人 columns name the streamer who sold the item, not the buyer: never used
        "buyer_id": ("买家昵称", "用户ID", "买家ID", "用户昵称"),
        "created_at": ("订单提交时间", "下单时间"),
        "paid_at": ("支付完成时间", "支付时间"),
        "amount": ("订单应付金额", "应付金额"),
        "status": ("订单状态",),
        "refund_status": ("售后状态",),
        "close_reason": ("取消原因",),
        "item_id": ("商品ID", "商品id"),
        "item_title": ("选购商品", "商品名称"),
        "quantity": ("商品数量",),
        "item_sku": ("商家编码",),
        "item_attributes": ("商品规格",),
        "item_price": ("商品单价",),
        "shop": _SHOP,
    },
    statuses=_DOUYIN_STATUS,
    gates=(("主订单编号",),),
    signature=("主订单编号", "子订单编号", "选购商品", "商品规格", "商品数量", "商家编码",
               "订单应付金额", "运费", "订单提交时间", "支付完成时间", "订单完成时间", "订单状态",
               "售后状态", "取消原因"),
    description="Douyin 抖店 order export (订单管理 → 批量导出)",
)

GENERIC = OrderFormat(
    name="orders-generic", platform="generic",
    columns={
        "order_id": ("order_id", "订单号", "订单编号", "订单id"),
        "buyer_id": ("buyer_id", "买家", "买家id", "买家昵称", "买家会员名", "buyer"),
        "created_at": ("created_at", "下单时间", "创建时间", "订单创建时间"),
        "paid_at": ("paid_at", "付款时间", "支付时间"),
        "amount": ("amount", "实付金额", "金额"),
        "status": ("status", "订单状态", "状态"),
        "status_raw": ("status_raw",),
        "refund_status": ("售后状态", "refund_status"),
        "close_reason": ("关闭原因", "close_reason"),
        "item_id": ("item_id", "商品id"),
        "item_title": ("item_title", "商品", "商品名称", "商品标题"),
        "quantity": ("quantity", "数量", "商品数量"),
        "shop": ("shop",) + _SHOP,
    },
    statuses={**_PDD_STATUS, **_TAOBAO_STATUS, **_JD_STATUS, **_DOUYIN_STATUS,
              **_ENGLISH_STATUS},
    gates=(),  # computed: an order-id column and a creation-time column
    signature=("order_id", "buyer_id", "created_at", "paid_at", "amount", "status"),
    description="Any order table with canonical or common Chinese headers (or --mapping)",
    base=20, span=20,
)

FORMATS = (PDD, TAOBAO, JD, DOUYIN, GENERIC)


# --------------------------------------------------------------------------- columns

def _mapped(opts: ReadOptions) -> dict[str, str]:
    """The user's mapping restricted to order fields, headers normalised."""
    if not opts.mapping:
        return {}
    return {k: norm_header(v) for k, v in opts.mapping.items() if k in FIELDS and v}


def _resolve(fmt: OrderFormat, headers: list[str], opts: ReadOptions,
             path: Path) -> dict[str, list[str]]:
    """field -> present headers to read it from (mapping first, then synonyms)."""
    present = set(headers)
    mapping = _mapped(opts)
    for field, header in mapping.items():
        if header in present and PERSONAL_DATA.search(header):
            raise UsageError(
                "{path}: the mapping points {field} at a personal-data column ({header})",
                hint="cskit never reads names, phones, addresses or ID numbers", path=path, field=field, header=header,
            )
    out: dict[str, list[str]] = {}
    for field in FIELDS:
        cands = []
        if field in mapping and mapping[field] in present:
            cands.append(mapping[field])
        for syn in fmt.columns.get(field, ()):
            h = norm_header(syn)
            if h in present and h not in cands and not PERSONAL_DATA.search(h):
                cands.append(h)
        if cands:
            out[field] = cands
    return out


def _gate_ok(fmt: OrderFormat, headers: set[str], opts: ReadOptions) -> bool:
    if fmt.gates:
        return any(all(norm_header(h) in headers for h in gate) for gate in fmt.gates)
    mapping = _mapped(opts)

    def has(field: str) -> bool:
        if mapping.get(field) in headers:
            return True
        return any(norm_header(s) in headers for s in fmt.columns[field])

    return has("order_id") and has("created_at")


def sniff_orders(fmt: OrderFormat, path: Path, probe: Probe) -> int:
    """Confidence 0..99 that ``path`` is an order export of ``fmt``."""
    headers = set(probe.headers)
    if not headers or not _gate_ok(fmt, headers, probe.opts):
        return 0
    sig = {norm_header(h) for h in fmt.signature}
    share = len(sig & headers) / len(sig)
    return fmt.base + int(round(fmt.span * share))


# --------------------------------------------------------------------------- reading

def _display(table: Table, header: str) -> str:
    raw = dict(zip(table.frame.columns, table.raw_headers))
    return (raw.get(header) or header).strip()


def _coalesce(frame: pd.DataFrame, cols: list[str], parse) -> pd.Series:
    out = parse(frame[cols[0]])
    for c in cols[1:]:
        out = out.where(out.notna(), parse(frame[c]))
    return out


def _null_str(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")


def read_orders(fmt: OrderFormat, path: Path, opts: ReadOptions, probe: Probe) -> ReadResult:
    """Read an order export into the canonical orders frame (one row per order)."""
    table = probe.table
    if table is None:
        if probe._table_error is not None:
            raise probe._table_error
        raise InputFileError("{path}: not a table of orders", hint=MAPPING_HINT, path=path)
    frame = table.frame
    cols = _resolve(fmt, list(frame.columns), opts, path)
    for field, what in (("order_id", Msg("order-number")), ("created_at", Msg("order-time"))):
        if field not in cols:
            looked = ", ".join(fmt.columns[field])
            raise InputFileError("{path}: no {what} column found (looked for {looked})",
                                 hint=MAPPING_HINT, path=path, what=what, looked=looked)

    rows = table.rows()
    blank = frame.isna().all(axis=1)
    keep = ~blank & ~is_summary_row(frame)
    frame, rows = frame[keep], rows[keep]
    idx = frame.index
    rows_read = int(len(frame)) + len(table.rejects)  # (rows the CSV structure lost too)

    def text(field: str) -> pd.Series:
        return clean_str(frame[cols[field][0]]) if field in cols else _null_str(idx)

    def ident(field: str) -> tuple[pd.Series, pd.Series]:
        if field not in cols:
            return _null_str(idx), pd.Series(False, index=idx)
        return clean_id(frame[cols[field][0]])

    order_id, damaged = ident("order_id")
    buyer_id, buyer_bad = ident("buyer_id")
    # encrypted personal data (抖店 ##…, $$…$) and Excel-damaged ids are no ids
    buyer_id = buyer_id.mask(buyer_bad | buyer_id.str.match(r"^(##|\$\$)").fillna(False))
    item_id, item_bad = ident("item_id")
    item_id = item_id.mask(item_bad)
    sub_id, _ = ident("sub_order_id")

    created_at = _coalesce(frame, cols["created_at"], lambda s: parse_datetime(s, opts.timezone))
    paid_at = (parse_datetime(frame[cols["paid_at"][0]], opts.timezone) if "paid_at" in cols
               else pd.Series(pd.NaT, index=idx, dtype="datetime64[s]"))
    amount = (parse_amount(frame[cols["amount"][0]]) if "amount" in cols
              else pd.Series(np.nan, index=idx, dtype="float64"))
    quantity = _quantity(frame[cols["quantity"][0]]) if "quantity" in cols \
        else pd.Series(pd.NA, index=idx, dtype="Int64")

    status_raw = text("status")
    if "status" not in cols and "status_raw" in cols:
        status_raw = text("status_raw")
    status = normalise_status(status_raw, fmt.statuses)
    refund = text("refund_status")
    status = status.mask(refund.str.contains("退款成功", regex=False).fillna(False), "refunded")
    closed_by_refund = (status == "closed").fillna(False) & \
        text("close_reason").str.contains("退款", regex=False).fillna(False)
    status = status.mask(closed_by_refund, "refunded")
    # a payment time is a fact; a stale 待支付 label is not: paid_at wins
    status = status.mask((status == "unpaid").fillna(False) & paid_at.notna(), "paid")

    shop = text("shop")
    if opts.shop:
        shop = shop.fillna(opts.shop)

    out = pd.DataFrame({
        "shop": shop, "platform": pd.Series(fmt.platform, index=idx, dtype="string"),
        "order_id": order_id, "buyer_id": buyer_id,
        "created_at": created_at, "paid_at": paid_at, "amount": amount,
        "status": status, "status_raw": status_raw,
        "item_id": item_id, "item_title": text("item_title"), "quantity": quantity,
        "source_row": rows.astype("int64"),
        "_sub": sub_id,
    }, index=idx)

    rejects: list[tuple[int, str]] = list(table.rejects)
    oid_col = _display(table, cols["order_id"][0])
    missing = out["order_id"].isna()
    damaged = damaged & ~missing
    rejects += [(int(r), f"order id missing (column {oid_col})")
                for r in out.loc[missing, "source_row"]]
    rejects += [(int(r), "order id damaged by Excel (scientific notation)")
                for r in out.loc[damaged, "source_row"]]
    out = out[~(missing | damaged)]

    items = None
    if fmt.platform in LINE_PLATFORMS:  # each row is one line of an order
        extra = {f"_{f[5:]}": text(f)[out.index] for f in ("item_sku", "item_attributes")
                 if f in cols}
        if "item_price" in cols:
            extra["_price"] = parse_amount(frame.loc[out.index, cols["item_price"][0]])
        items = items_from_lines(out.assign(**extra))

    out = collapse_lines(out)

    no_time = out["created_at"].isna()
    if no_time.any():
        ts_col = _display(table, cols["created_at"][0])
        rejects += [(int(r), f"order time missing or not a date/time (column {ts_col})")
                    for r in out.loc[no_time, "source_row"]]
        out = out[~no_time]

    out = out.sort_values("source_row", kind="stable").reset_index(drop=True)
    if items is not None:  # the lines of orders kept (not of rejected ones)
        items = items[items["order_id"].isin(out["order_id"])].reset_index(drop=True)
    rejects.sort()
    return ReadResult(kind=ORDERS, platform=fmt.platform, frame=out[OUTPUT_COLUMNS],
                      rows_read=rows_read, rejects=rejects, items=items)


def _quantity(s: pd.Series) -> pd.Series:
    t = clean_str(s).str.replace(r"[件个,，\s]", "", regex=True)
    num = pd.to_numeric(t.astype(object), errors="coerce")
    num = num.where(num == np.floor(num))
    return num.astype("Int64")


def collapse_lines(df: pd.DataFrame) -> pd.DataFrame:
    """One row per ``order_id`` from a line-level file (one row per item).

    Rules for an order spread over several rows (exact duplicate lines are
    dropped first):

    * ``amount``: if every non-empty line amount is the same value it is the
      order amount repeated on each line and is taken once; if they differ
      they are per-line amounts and are summed.
    * ``quantity``: summed.  ``item_title``: distinct titles joined with "；".
      ``item_id``, ``buyer_id``, ``shop``: first non-empty.
    * ``created_at`` / ``paid_at``: earliest non-empty (continuation lines may
      leave them blank).  ``source_row``: the first line.
    * ``status`` / ``status_raw``: the most advanced live status among the
      lines (completed > shipped > paid > unpaid > refunded > closed), so an
      order is refunded/closed only if all its lines are.

    ``df`` has the output columns plus ``_sub`` (sub-order id or <NA>);
    the result has the output columns only.
    """
    multi_mask = df["order_id"].duplicated(keep=False)
    if not multi_mask.any():
        return df[OUTPUT_COLUMNS]
    single = df.loc[~multi_mask, OUTPUT_COLUMNS]
    multi = df[multi_mask]
    content = [c for c in multi.columns if c != "source_row"]
    multi = multi.drop_duplicates(subset=content, keep="first")
    g = multi.groupby("order_id", sort=False)
    agg = g.agg(shop=("shop", "first"), platform=("platform", "first"),
                buyer_id=("buyer_id", "first"), created_at=("created_at", "min"),
                paid_at=("paid_at", "min"), item_id=("item_id", "first"),
                source_row=("source_row", "min"))
    n_amounts = g["amount"].nunique()
    agg["amount"] = g["amount"].first().where(n_amounts <= 1, g["amount"].sum(min_count=1))
    agg["quantity"] = g["quantity"].sum(min_count=1).astype("Int64")
    agg["item_title"] = _join_titles(multi[["order_id", "item_title"]])
    rank = multi["status"].map(_STATUS_RANK).astype("float64").fillna(len(_STATUS_RANK))
    best = (multi.assign(_rank=rank)
                 .sort_values(["_rank", "source_row"], kind="stable")
                 .drop_duplicates("order_id")
                 .set_index("order_id"))
    agg["status"] = best["status"]
    agg["status_raw"] = best["status_raw"]
    agg = agg.reset_index()
    for c in ("shop", "platform", "order_id", "buyer_id", "item_id", "item_title", "status",
              "status_raw"):
        agg[c] = agg[c].astype("string")
    agg["created_at"] = agg["created_at"].astype("datetime64[s]")
    agg["paid_at"] = agg["paid_at"].astype("datetime64[s]")
    agg["amount"] = agg["amount"].astype("float64")
    agg["source_row"] = agg["source_row"].astype("int64")
    return pd.concat([single, agg[OUTPUT_COLUMNS]], ignore_index=True)


def _join_titles(df: pd.DataFrame) -> pd.Series:
    """Distinct titles per order, in file order, joined with "；" (index = order_id)."""
    titles = df.dropna().drop_duplicates()
    if titles.empty:
        return pd.Series(dtype="string")
    tbl = pa.Table.from_pandas(titles.astype(object), preserve_index=False)
    grouped = tbl.group_by("order_id", use_threads=False).aggregate([("item_title", "list")])
    joined = pc.binary_join(grouped["item_title_list"], "；")
    return pd.Series(joined.to_numpy(zero_copy_only=False),
                     index=pd.Index(grouped["order_id"].to_numpy(zero_copy_only=False),
                                    dtype="string", name="order_id"),
                     dtype="string")


# --------------------------------------------------------------------------- registry

def _make(fmt: OrderFormat) -> Reader:
    known = {h for syns in fmt.columns.values() for h in syns} | set(fmt.signature)
    return Reader(
        name=fmt.name, kind=ORDERS, platform=fmt.platform,
        sniff=lambda path, probe: sniff_orders(fmt, path, probe),
        read=lambda path, opts, probe: read_orders(fmt, path, opts, probe),
        known_headers=frozenset(known),
        description=fmt.description,
    )


for _fmt in FORMATS:
    register(_make(_fmt))
