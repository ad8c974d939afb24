"""Order export writers per platform and the 黑名单 list."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from .base import DAY, _cat, _digits
from .ids import _unique
from .orders import DOUYIN_GIFT
from .shops import ShopSpec
from .write_chats import _csv_bytes, _fmt_dt

# ---- order writers

def _money(a) -> np.ndarray:
    return np.char.mod("%.2f", np.asarray(a, dtype=float)).astype(object)


def _write_pdd_orders(path: Path, o: pd.DataFrame, x: pd.DataFrame) -> None:
    paid = x["paid_at_s"].to_numpy()
    ship = x["ship_at"].to_numpy()
    recv = x["recv_at"].to_numpy()
    st = o["status"].to_numpy()
    df = pd.DataFrame({
        "订单成交时间": _fmt_dt(o["created_at"].to_numpy()),
        "商品": o["item_title"].to_numpy(),
        "订单号": o["order_id"].to_numpy(),
        "订单状态": o["status_raw"].to_numpy(),
        "商品总价(元)": _money(x["goods"]),
        "店铺优惠折扣(元)": _money(x["discount"]),
        "平台优惠折扣(元)": _money(np.zeros(len(o))),
        "多多支付立减金额(元)": _money(np.zeros(len(o))),
        "邮费(元)": _money(np.zeros(len(o))),
        "用户实付金额(元)": _money(o["amount"]),
        "商家实收金额(元)": _money(o["amount"]),
        "商品数量(件)": o["quantity"].to_numpy(),
        "用户ID": o["buyer_id"].to_numpy(),
        "收货人": x["name"].to_numpy(),
        "手机": x["phone"].to_numpy(),
        "省": x["province"].to_numpy(), "市": x["city"].to_numpy(), "区": x["district"].to_numpy(),
        "街道": "****",
        "支付时间": _fmt_dt(paid),
        "拼单成功时间": _fmt_dt(np.where(paid >= 0, paid + 1, -1)),
        "订单确认时间": _fmt_dt(np.where(paid >= 0, paid + 2, -1)),
        "承诺发货时间": _fmt_dt(np.where(paid >= 0, paid + 2 * DAY, -1)),
        "发货时间": _fmt_dt(ship),
        "确认收货时间": _fmt_dt(recv),
        "商品id": o["item_id"].to_numpy(),
        "商品规格": x["spec"].to_numpy(),
        "快递单号": x["tracking"].fillna("").to_numpy(),
        "快递公司": np.where(ship >= 0, "圆通速递", ""),
        "售后状态": np.where(st == "refunded", "退款成功", "无售后或售后取消"),
        "买家留言": "",
    })
    path.write_bytes(_csv_bytes(df, "utf-8", eol="\n"))


def _write_taobao_orders(path: Path, o: pd.DataFrame, x: pd.DataFrame, shop: ShopSpec) -> None:
    """ExportOrderList: GB18030, CRLF, headers with trailing spaces, ="…" ids, no quoting."""
    st = o["status"].to_numpy()
    paid = x["paid_at_s"].to_numpy()
    amt = _money(o["amount"])
    cols = {
        "订单编号": _cat('="', o["order_id"].to_numpy(), '"'),
        "买家会员名": o["buyer_id"].to_numpy(),
        "买家支付宝账号": x["phone"].to_numpy(),
        "买家应付货款": amt, "买家应付邮费": "0.00", "买家支付积分": "0", "总金额": amt,
        "返点积分": "0", "买家实际支付金额": amt,
        "买家实际支付积分": "0",
        "订单状态": o["status_raw"].to_numpy(),
        "买家留言": "",
        "收货人姓名": x["name"].to_numpy(),
        "收货地址": _cat(x["province"].to_numpy(), " ", x["city"].to_numpy(), " ",
                     x["district"].to_numpy(), " ****"),
        "运送方式": "快递", "联系电话": "", "联系手机": _cat("'", x["phone"].to_numpy()),
        "订单创建时间": _fmt_dt(o["created_at"].to_numpy()),
        "订单付款时间": _fmt_dt(paid),
        "宝贝标题": o["item_title"].to_numpy(),
        "宝贝种类": "1",
        "物流单号": np.where(x["ship_at"].to_numpy() >= 0,
                         _cat("No:", x["tracking"].fillna("").to_numpy()), ""),
        "物流公司": np.where(x["ship_at"].to_numpy() >= 0, "圆通速递", ""),
        "订单备注": "",
        "宝贝总数量": o["quantity"].astype(str).to_numpy(),
        "店铺Id": "0", "店铺名称": shop.name,
        "订单关闭原因": np.where(st == "closed", "买家未付款", "订单未关闭"),
        "卖家服务费": "0", "买家服务费": "0", "发票抬头": "", "是否手机订单": "手机订单",
        "退款金额": "0.00",
        "确认收货时间": _fmt_dt(x["recv_at"].to_numpy()),
    }
    n = len(o)
    lines = [",".join(f"{h} " for h in cols)]
    body = None
    for v in cols.values():
        col = pd.Series(np.asarray(v, dtype=object) if not isinstance(v, str) else [v] * n,
                        dtype=object).astype(str)
        body = col if body is None else body + "," + col
    if body is not None and n:
        lines.extend(body.tolist())
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))


def _write_jd_orders(path: Path, o: pd.DataFrame, x: pd.DataFrame) -> None:
    amt = _money(o["amount"])
    paid = x["paid_at_s"].to_numpy()
    df = pd.DataFrame({
        "订单号": o["order_id"].to_numpy(), "商品ID": o["item_id"].to_numpy(),
        "商品名称": o["item_title"].to_numpy(), "订购数量": o["quantity"].to_numpy(),
        "支付方式": "在线支付", "下单时间": _fmt_dt(o["created_at"].to_numpy()),
        "京东价": _money(x["goods"] / o["quantity"].to_numpy()), "订单金额": amt, "结算金额": amt,
        "应付金额": amt, "订单状态": o["status_raw"].to_numpy(), "订单类型": "普通订单",
        "下单帐号": o["buyer_id"].to_numpy(), "客户姓名": x["name"].to_numpy(),
        "客户地址": _cat(x["province"].to_numpy(), x["city"].to_numpy(), x["district"].to_numpy(),
                     "****"),
        "联系电话": x["phone"].to_numpy(), "运费金额": "0.00", "付款确认时间": _fmt_dt(paid),
        "订单完成时间": _fmt_dt(x["recv_at"].to_numpy()), "订单来源": "京东APP", "订单备注": "",
    })
    path.write_bytes(_csv_bytes(df, "gb18030"))


def _write_douyin_orders(path: Path, o: pd.DataFrame, x: pd.DataFrame,
                         rng: np.random.Generator) -> int:
    """UTF-8 with BOM, every cell quoted, ids as "\\t…", '-' for empty, ##-encrypted
    personal data; one order has a second line (a free gift).  Returns data lines."""
    n = len(o)
    paid = x["paid_at_s"].to_numpy()
    sub = _cat("69", np.asarray(_digits(_unique(rng, n, 10**17), 17)))
    # base64-looking ciphertext without digits (so no run of digits can look like a phone)
    letters = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/", dtype=np.uint8)
    codes = letters[rng.integers(0, len(letters), (n * 3, 24))]
    enc = (codes.view("S24").ravel().astype(str).astype(object).reshape(n, 3) if n
           else np.empty((0, 3), dtype=object))
    st = o["status"].to_numpy()

    def dash(a):
        a = np.asarray(a, dtype=object)
        return np.where((a == "") | pd.isna(a), "-", a)

    df = pd.DataFrame({
        "主订单编号": _cat("\t", o["order_id"].to_numpy()),
        "子订单编号": _cat("\t", sub),
        "选购商品": x["main_title"].to_numpy(),
        "商品规格": x["spec"].to_numpy(),
        "商品数量": x["main_qty"].astype(str).to_numpy(),
        "商品ID": _cat("\t", o["item_id"].to_numpy()),
        "商家编码": "-",
        "商品单价": _money(x["goods"] / x["main_qty"].to_numpy()),
        "订单应付金额": _money(o["amount"]),
        "运费": "0.00",
        "收件人": _cat("##", enc[:, 0]),
        "收件人手机号": _cat("$$", enc[:, 1]),
        "省": x["province"].to_numpy(), "市": x["city"].to_numpy(), "区": x["district"].to_numpy(),
        "详细地址": _cat("##", enc[:, 2]),
        "买家留言": "-",
        "订单提交时间": _fmt_dt(o["created_at"].to_numpy()),
        "支付完成时间": dash(_fmt_dt(paid)),
        "订单完成时间": dash(_fmt_dt(x["recv_at"].to_numpy())),
        "订单状态": o["status_raw"].to_numpy(),
        "售后状态": "-",
        "取消原因": np.where(st == "closed", "超时未支付", "-"),
        "支付方式": np.where(paid >= 0, "抖音支付", "-"),
    })
    # the planned free gift: a second line of the same 主订单编号
    gift_at = np.flatnonzero(x["gift"].to_numpy())
    if len(gift_at):
        g = df.iloc[[gift_at[0]]].copy()
        g["子订单编号"] = _cat(pd.Series(g["子订单编号"]).str[:-1].to_numpy(dtype=object), "9")
        g["选购商品"] = DOUYIN_GIFT
        g["商品规格"] = "默认"
        g["商品数量"] = "1"
        g["商品ID"] = "\t3612345678901299999"
        g["商品单价"] = "0.00"
        g["订单应付金额"] = "0.00"
        df = pd.concat([df.iloc[: gift_at[0] + 1], g, df.iloc[gift_at[0] + 1:]], ignore_index=True)
    path.write_bytes(b"\xef\xbb\xbf" + _csv_bytes(df, "utf-8", quoting=csv.QUOTE_ALL, eol="\n"))
    return len(df)


def _write_excluded(path: Path, e: pd.DataFrame) -> None:
    df = pd.DataFrame({"买家ID": e["buyer_id"].to_numpy(),
                       "原因": np.where(e["reason"].to_numpy() == "reported", "举报", "拉黑"),
                       "时间": _fmt_dt(e["since"].to_numpy())})
    path.write_bytes(b"\xef\xbb\xbf" + _csv_bytes(df, "utf-8"))
