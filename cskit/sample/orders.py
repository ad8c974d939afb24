"""Products, 黑名单 planning, order planning and the planted lost-sale reasons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from .base import (
    DAY,
    EXCLUDED_COLUMNS,
    _cat,
    _choice,
    _digits,
    _epoch,
    _to_dt,
    _uniform,
)
from .ids import _unique
from .phrases import LOST_REASON, ORDER_P, PRE_TOPICS, SERVICE_LATE, SERVICE_NONE, TEXTS
from .shops import ShopSpec
from .simulation import HOUR_WEIGHTS, _day_weights, _Sim

# ---- products

DOUYIN_GIFT = "【赠品】竹制茶则"
#: (title, price) per category and SKU specs per category (cskit/data/sample_phrases.toml)
CATALOGUE = {cat: tuple((title, float(price)) for title, price in items)
             for cat, items in TEXTS["products"]["catalogue"].items()}
SPECS = {cat: tuple(v) for cat, v in TEXTS["products"]["specs"].items()}
ITEM_ID_BASE = {"pdd": 612_345_678_000, "taobao": 0, "jd": 100_012_345_000,
                "douyin": 3_612_345_678_901_234_000}

STATUS_RAW = {
    "pdd": {"unpaid": "待支付", "paid": "待发货", "shipped": "已发货，待签收", "completed": "已签收",
            "closed": "已取消", "refunded": "未发货，退款成功"},
    "taobao": {"unpaid": "等待买家付款", "paid": "买家已付款，等待卖家发货",
               "shipped": "卖家已发货，等待买家确认", "completed": "交易成功", "closed": "交易关闭"},
    "jd": {"unpaid": "等待付款", "paid": "等待出库", "shipped": "等待确认收货", "completed": "完成",
           "closed": "已取消"},
    "douyin": {"unpaid": "待支付", "paid": "备货中", "shipped": "已发货", "completed": "已完成",
               "closed": "已关闭"},
}
_SURNAMES = np.array(list(TEXTS["names"]["surnames"]), dtype=object)
_PLACES = tuple(tuple(p) for p in TEXTS["names"]["places"])


def _plan_excluded(rng: np.random.Generator, specs: Sequence[ShopSpec], bd: pd.DataFrame,
                   start: date, spare: list[np.ndarray]) -> pd.DataFrame:
    rows = []
    base = _epoch(start)
    for s, spec in enumerate(specs):
        cand = bd[(bd["shop"] == spec.name) & bd["late"] & bd["special"].isna()
                  & ~bd["after_sale"]]
        cand = cand.drop_duplicates("buyer_id")
        n_buyers = bd.loc[bd["shop"] == spec.name, "buyer_id"].nunique()
        k = max(1, int(round(n_buyers * 0.01)))
        pick = cand.iloc[np.sort(rng.choice(len(cand), min(k, len(cand)), replace=False))]
        first = bd[bd["buyer_id"].isin(pick["buyer_id"]) & (bd["shop"] == spec.name)].groupby(
            "buyer_id")["first_msg_at"].min()
        since = first.reindex(pick["buyer_id"]).to_numpy().astype("datetime64[s]").astype(
            np.int64) - _uniform(rng, 1, 10, len(pick)) * DAY - _uniform(rng, 0, 36000, len(pick))
        reason = np.where(rng.random(len(pick)) < 0.5, "reported", "blacklisted")
        rows.append(pd.DataFrame({"shop": spec.name, "buyer_id": pick["buyer_id"].to_numpy(),
                                  "reason": reason, "since": _to_dt(since)}))
        # one old entry for a buyer who did not chat in the period
        old = spare[s][-1:]
        rows.append(pd.DataFrame({"shop": spec.name, "buyer_id": old, "reason": ["blacklisted"],
                                  "since": _to_dt([base - 40 * DAY + 3600 * (10 + s)])}))
    out = pd.concat(rows, ignore_index=True)
    out["since"] = out["since"].astype("datetime64[s]")
    return out[EXCLUDED_COLUMNS]


def _is_excluded(bd: pd.DataFrame, excluded: pd.DataFrame) -> np.ndarray:
    key = bd["shop"] + "\x1f" + bd["buyer_id"]
    ex = set(excluded["shop"] + "\x1f" + excluded["buyer_id"])
    return key.isin(ex).to_numpy()


def _order_ids(rng: np.random.Generator, platform: str, created: np.ndarray) -> np.ndarray:
    """Distinct order numbers in the platform's style."""
    n = len(created)
    if platform == "pdd":  # 260517-607198974342268
        ymd = pd.Series(_to_dt(created)).dt.strftime("%y%m%d").to_numpy(dtype=object)
        return _cat(ymd, "-", np.asarray(_digits(_unique(rng, n, 9 * 10**14) + 10**14, 15)))
    if platform == "taobao":  # mostly 19 digits, some 18
        tail = np.asarray(_digits(_unique(rng, n, 10**17), 17), dtype=object)
        head = np.where(rng.random(n) < 0.85, _cat(rng.integers(2, 5, n), "0"), "3")
        return _cat(head, tail)
    if platform == "jd":  # 12 digits
        return _cat("3", np.asarray(_digits(_unique(rng, n, 10**11), 11)))
    return _cat("69", np.asarray(_digits(_unique(rng, n, 10**17), 17)))  # Douyin, 19 digits


def _plan_orders(rng: np.random.Generator, sim: _Sim, specs: Sequence[ShopSpec],
                 buyer_id: np.ndarray, bd: pd.DataFrame, start: date, days: int,
                 spare: list[np.ndarray]):
    """Orders of chatting buyers (after their last pre-sale chat), after-sale buyers'
    earlier orders and silent orders.  Returns (orders, extra, truth_orders, ordered_conv)."""
    base = _epoch(start)
    export_at = base + days * DAY  # the exports were taken at midnight after the last day
    C = len(bd)
    conv = bd["_conv"].to_numpy()
    buyer = sim.c_buyer[conv]
    # the buyer's last conversation
    last_of_buyer = pd.Series(conv).groupby(buyer).transform("max").to_numpy() == conv
    pre = ~bd["after_sale"].to_numpy()
    topic = sim.c_topic[conv]
    p = np.array([ORDER_P[t] for t in PRE_TOPICS])[np.minimum(topic, len(PRE_TOPICS) - 1)]
    p = p * np.where(bd["never_answered"], 0.35, np.where(bd["late"], 0.65, 1.0))
    n_visits = np.bincount(buyer, minlength=len(buyer_id))[buyer]
    p = np.minimum(p * np.where(n_visits > 1, 1.3, 1.0), 0.9)
    want = last_of_buyer & pre & (rng.random(C) < p)
    delay_kind = rng.random(C)
    delay = np.select([delay_kind < 0.55, delay_kind < 0.8],
                      [_uniform(rng, 60, 3600, C), _uniform(rng, 3600, DAY, C)],
                      _uniform(rng, DAY, 3 * DAY, C))
    last_msg = bd["last_msg_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    created = last_msg + delay
    ordered_conv = want & (created < export_at - 60)
    kinds = []
    # chat orders
    co = np.flatnonzero(ordered_conv)
    kinds.append(pd.DataFrame({"kind": "chat", "shop_idx": sim.c_shop[conv[co]],
                               "buyer": buyer[co], "created": created[co], "conv": conv[co],
                               "topic": topic[co]}))
    # after-sale buyers: an earlier, paid order before their first chat
    first_conv = pd.Series(conv).groupby(buyer).transform("min").to_numpy() == conv
    asb = np.flatnonzero(first_conv & ~pre)
    first_msg = bd["first_msg_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    kinds.append(pd.DataFrame({"kind": "after_sale", "shop_idx": sim.c_shop[conv[asb]],
                               "buyer": buyer[asb],
                               "created": first_msg[asb] - _uniform(rng, 2 * DAY, 20 * DAY, len(asb)),
                               "conv": -1, "topic": -1}))
    frame = pd.concat(kinds, ignore_index=True)
    frame["buyer_id"] = buyer_id[frame["buyer"].to_numpy()]
    # silent orders: buyers without any chat
    silent = []
    for s, spec in enumerate(specs):
        n_chat = int((frame["shop_idx"] == s).sum())
        n = min(max(2, int(round(n_chat * 0.2))), len(spare[s]) - 1)
        day = rng.choice(days, n, p=_day_weights(start, days))
        hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
        t = base + day * DAY + hour * 3600 + rng.integers(0, 3600, n)
        ids = spare[s][:n]
        silent.append(pd.DataFrame({"kind": "silent", "shop_idx": s, "buyer": -1, "created": t,
                                    "conv": -1, "topic": -1, "buyer_id": ids}))
    frame = pd.concat([frame] + silent, ignore_index=True)
    frame = frame[frame["created"] < export_at - 60]
    frame = frame.sort_values(["shop_idx", "created"], kind="stable").reset_index(drop=True)
    n = len(frame)

    # ---- status by age
    age = export_at - frame["created"].to_numpy()
    u = rng.random(n)
    shop_idx = frame["shop_idx"].to_numpy()
    platform = np.array([s.platform for s in specs], dtype=object)[shop_idx]
    kind = frame["kind"].to_numpy()
    unpaid_intent = (u < 0.13) & (kind != "after_sale")
    refund_intent = (u >= 0.13) & (u < 0.16) & (platform == "pdd") & (kind != "after_sale")
    v = rng.random(n)
    paid_status = np.select([age < 20 * 3600, (age < 36 * 3600) & (v < 0.3), age < 4 * DAY, v < 0.3],
                            ["paid", "paid", "shipped", "shipped"], "completed")
    status = np.where(unpaid_intent, np.where(age < DAY, "unpaid", "closed"),
                      np.where(refund_intent, "refunded", paid_status))
    paid = np.isin(status, ["paid", "shipped", "completed", "refunded"])
    paid_at = np.where(paid, frame["created"].to_numpy() + _uniform(rng, 5, 300, n), -1)
    paid_at = np.minimum(paid_at, export_at - 1)
    shipped = np.isin(status, ["shipped", "completed"])
    ship_at = np.where(shipped, paid_at + ((export_at - paid_at) * rng.uniform(0.1, 0.4, n)
                                           ).astype(np.int64), -1)
    recv_at = np.where(status == "completed",
                       ship_at + ((export_at - ship_at) * rng.uniform(0.3, 0.9, n)).astype(np.int64),
                       -1)

    # ---- items and amounts
    item_title = np.empty(n, dtype=object)
    item_id = np.empty(n, dtype=object)
    item_spec = np.empty(n, dtype=object)
    price = np.zeros(n)
    for s, spec in enumerate(specs):
        sel = np.flatnonzero(frame["shop_idx"].to_numpy() == s)
        cat = CATALOGUE[spec.category]
        j = rng.integers(0, len(cat), len(sel))
        item_title[sel] = np.array([c[0] for c in cat], dtype=object)[j]
        price[sel] = np.array([c[1] for c in cat])[j]
        if spec.platform == "taobao":
            item_id[sel] = None  # ExportOrderList has no item id
        else:
            item_id[sel] = np.asarray(_digits(ITEM_ID_BASE[spec.platform] + j * 7919 + 11,
                                              len(str(ITEM_ID_BASE[spec.platform] + 1))))
        sp = SPECS[spec.category]
        item_spec[sel] = np.array(sp, dtype=object)[rng.integers(0, len(sp), len(sel))]
    qty = _choice(rng, [1, 2, 3], [0.82, 0.14, 0.04], n)
    qty = np.where(price * qty > 399, 1, qty)
    goods = np.round(price * qty, 2)
    discount = np.where((frame["topic"].to_numpy() == PRE_TOPICS.index("price")) & (price >= 39.9)
                        & (platform == "pdd"), np.where(rng.random(n) < 0.5, 3.0, 5.0), 0.0)
    amount = np.round(goods - discount, 2)

    shop_names = np.array([s.name for s in specs], dtype=object)
    raw_of = {f"{pl}|{st}": v for pl, m in STATUS_RAW.items() for st, v in m.items()}
    status_raw = pd.Series(_cat(platform, "|", status)).map(raw_of).to_numpy(dtype=object)
    created_dt = _to_dt(frame["created"].to_numpy())
    oid = np.empty(n, dtype=object)
    for s, spec in enumerate(specs):
        sel = np.flatnonzero(frame["shop_idx"].to_numpy() == s)
        oid[sel] = _order_ids(rng, spec.platform, frame["created"].to_numpy()[sel])
    # Douyin exports carry no buyer column: the order cannot be linked to a chat
    file_buyer = np.where(platform == "douyin", None, frame["buyer_id"].to_numpy())
    orders = pd.DataFrame({
        "shop": shop_names[frame["shop_idx"]], "platform": platform, "order_id": oid,
        "buyer_id": file_buyer, "created_at": created_dt,
        "paid_at": np.where(paid_at >= 0, paid_at, np.iinfo(np.int64).min).astype("datetime64[s]"),
        "amount": amount, "status": status, "status_raw": status_raw, "item_id": item_id,
        "item_title": item_title, "quantity": qty.astype(np.int64),
    })
    # Douyin: the first paid order also got a free gift, exported as a second line of the
    # same 主订单编号; canonical = one order, quantities summed, titles joined with "；"
    main_qty = orders["quantity"].to_numpy().copy()
    main_title = orders["item_title"].to_numpy().copy()
    gift = np.zeros(n, dtype=bool)
    dy_paid = np.flatnonzero((platform == "douyin") & (paid_at >= 0))
    if len(dy_paid):
        gift[dy_paid[0]] = True
        orders.loc[dy_paid[0], "quantity"] += 1
        orders.loc[dy_paid[0], "item_title"] = f"{main_title[dy_paid[0]]}；{DOUYIN_GIFT}"
    orders["paid_at"] = orders["paid_at"].where(paid_at >= 0)
    orders["paid_at"] = orders["paid_at"].astype("datetime64[s]")
    # masked / fake personal data for the order files (never real-looking)
    place = rng.integers(0, len(_PLACES), n)
    extra = pd.DataFrame({
        "goods": goods, "discount": discount, "spec": item_spec,
        "ship_at": np.where(ship_at >= 0, ship_at, -1), "recv_at": recv_at,
        "paid_at_s": paid_at,
        "name": _cat(_SURNAMES[rng.integers(0, len(_SURNAMES), n)], "**"),
        "phone": _cat("1", rng.integers(30, 99, n).astype(str), "*****", "000",
                      rng.integers(0, 10, n).astype(str)),
        "province": np.array([p[0] for p in _PLACES], dtype=object)[place],
        "city": np.array([p[1] for p in _PLACES], dtype=object)[place],
        "district": np.array([p[2] for p in _PLACES], dtype=object)[place],
        "tracking": _cat("YT75", np.asarray(_digits(_unique(rng, n, 10**11), 11))),
        "buyer_true": frame["buyer_id"].to_numpy(),
        "gift": gift, "main_qty": main_qty, "main_title": main_title,
    })
    extra["tracking"] = extra["tracking"].where(shipped)
    # truth per order
    conv_of = frame["conv"].to_numpy()
    tconv = bd.set_index("_conv")
    t_orders = pd.DataFrame({
        "shop": orders["shop"], "platform": platform, "order_id": oid,
        "buyer_id": frame["buyer_id"].to_numpy(), "kind": kind,
        "created_at": created_dt, "paid": paid, "status": status, "amount": amount,
        "chat_date": tconv["date"].reindex(conv_of).to_numpy(),
        "hours_after_chat": np.where(
            conv_of >= 0,
            (frame["created"].to_numpy() - tconv["last_msg_at"].reindex(conv_of).to_numpy()
             .astype("datetime64[s]").astype(np.int64)) / 3600.0, np.nan),
    })
    return orders, extra, t_orders, _ordered_by_conv(len(sim.c_shop), conv_of)


def _ordered_by_conv(C: int, conv_of: np.ndarray) -> np.ndarray:
    out = np.zeros(C, dtype=bool)
    out[conv_of[conv_of >= 0]] = True
    return out


def _lost_reasons(bd: pd.DataFrame, t_orders: pd.DataFrame) -> pd.DataFrame:
    """ordered / paid flags per buyer-day and the intended lost-sale reason of inquiries."""
    chat = t_orders[t_orders["kind"] == "chat"]
    key = bd["shop"] + "\x1f" + bd["buyer_id"]
    okey = chat["shop"] + "\x1f" + chat["buyer_id"]
    ordered_b = set(okey)
    paid_b = set(okey[chat["paid"].to_numpy()])
    bd = bd.copy()
    bd["buyer_ordered"] = key.isin(ordered_b).to_numpy()
    bd["buyer_paid"] = key.isin(paid_b).to_numpy()
    # the order follows the buyer's last conversation
    last = bd.groupby(["shop", "buyer_id"])["date"].transform("max") == bd["date"]
    bd["ordered"] = bd["buyer_ordered"] & last
    bd["paid"] = bd["buyer_paid"] & last
    order_of = dict(zip(okey, chat["order_id"]))
    bd["order_id"] = np.where(bd["ordered"], key.map(order_of), None)
    reason = bd["topic"].map(LOST_REASON).astype(object).to_numpy()
    reason = np.where(bd["never_answered"], SERVICE_NONE, np.where(bd["late"], SERVICE_LATE, reason))
    inquiry = ~bd["after_sale"] & ~bd["buyer_paid"]
    bd["lost_reason"] = np.where(inquiry, reason, None)
    return bd


def _order_files(orders: pd.DataFrame, specs: Sequence[ShopSpec]) -> pd.Series:
    fn = {"pdd": "orders_pdd_export.csv", "taobao": "ExportOrderList202611230930.csv",
          "jd": "jd_orders_export.csv", "douyin": "douyin_orders_export.csv"}
    path_of = {s.name: f"{s.slug}/{fn[s.platform]}" for s in specs}
    return orders["shop"].map(path_of).astype(object)
