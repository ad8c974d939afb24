"""Deterministic synthetic data: the committed ``sample_data/`` and benchmark files.

Two entry points:

* :func:`generate` plans a small but realistic fortnight for four shops (a
  Pinduoduo and a Taobao shop with a few thousand buyers, plus tiny JD and
  Douyin shops), returning a :class:`SampleData` of canonical frames *and* the
  truth that was planted (who was answered late or never, who ordered/paid,
  which agent served, the intended lost-sale reason).  :func:`write_sample`
  renders it into the real export formats (PDD API JSONL, Qianniu text
  transcripts, browser-extension XLSX/CSV, canonical CSV, PDD / Taobao / JD /
  Douyin order exports, 黑名单 lists) with a ``MANIFEST.json`` that states how
  many canonical rows each file holds.
* :func:`generate_messages_bulk` builds *n* canonical messages fully
  vectorised (10 M rows in well under a minute) and :func:`write_canonical_csv`
  writes them, for the benchmarks.

Everything is a pure function of the seed: the same seed gives identical
frames and byte-identical files.  Times are shop-local (Asia/Shanghai) naive
``datetime64[s]``; the PDD JSON ``ts`` is the UTC epoch (local time − 8 h).

Regenerate the committed sample with ``python -m cskit.sample sample_data``; a
benchmark file with ``python -m cskit.sample OUT_DIR --messages 1000000``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "DEFAULT_SEED", "DEFAULT_START", "MESSAGE_COLUMNS", "ORDER_COLUMNS", "EXCLUDED_COLUMNS",
    "ShopSpec", "SampleData", "generate", "write_sample", "generate_messages_bulk",
    "write_canonical_csv", "main",
]

DEFAULT_SEED = 20261116
DEFAULT_START = date(2026, 11, 9)  # a Monday: the fortnight is 2026-W46 and 2026-W47
UTC_OFFSET = 8 * 3600  # Asia/Shanghai, no DST
WINDOW = (8 * 3600, 23 * 3600)  # PDD reply-rate window [08:00, 23:00)
DAY = 86400

MESSAGE_COLUMNS = ["shop", "platform", "conversation_id", "buyer_id", "agent_id", "sender",
                   "sent_at", "content", "msg_type", "msg_id"]
ORDER_COLUMNS = ["shop", "platform", "order_id", "buyer_id", "created_at", "paid_at", "amount",
                 "status", "status_raw", "item_id", "item_title", "quantity"]
EXCLUDED_COLUMNS = ["shop", "buyer_id", "reason", "since"]

BUYER, AGENT, BOT, SYSTEM = 0, 1, 2, 3
SENDER_NAMES = np.array(["buyer", "agent", "bot", "system"], dtype=object)

# =============================================================================== shops


@dataclass(frozen=True)
class ShopSpec:
    """One simulated shop.  Agent and robot ids are ``店铺名:子账号``."""

    name: str
    platform: str  #: pdd | taobao | jd | douyin
    slug: str  #: ASCII folder name under sample_data/
    category: str  #: home | apparel | digital | tea (phrases and products)
    agents: tuple[str, ...]  #: sub-account names (display names)
    robot: str  #: robot sub-account name
    share: float = 1.0  #: relative chat traffic
    bot_rate: float = 0.35  #: share of conversations greeted by the robot

    def agent_ids(self) -> list[str]:
        return [f"{self.name}:{a}" for a in self.agents]

    @property
    def robot_id(self) -> str:
        return f"{self.name}:{self.robot}"


_AGENT_POOL = {
    "pdd": ("小雨", "阿杰", "婷婷", "小林", "佳佳", "阿伟"),
    "taobao": ("小美", "阿强", "糖糖", "小七", "若曦", "大宝"),
    "jd": ("小智", "阿凯", "思思", "小安"),
    "douyin": ("茶茶", "阿山", "小禾", "青青"),
}

_MAIN = (
    ("花语家居旗舰店", "pdd", "pdd_huayu", "home", "智能助手", 0.42, 0.45),
    ("潮流服饰专营店", "taobao", "taobao_chaoliu", "apparel", "店小蜜", 0.58, 0.30),
)
_TINY = (
    ("极客数码京东专营店", "jd", "jd_jike", "digital", "京小智", 0.035, 0.30),
    ("山野茶铺抖音小店", "douyin", "douyin_shanye", "tea", "飞鸽助手", 0.03, 0.40),
)
_BULK_NAMES = {
    "pdd": ("花语家居旗舰店", "优选百货拼购店", "乐享生活馆", "田园果蔬直供"),
    "taobao": ("潮流服饰专营店", "森系女装小铺", "运动户外旗舰店", "母婴好物店"),
    "jd": ("极客数码京东专营店", "家电优品京东店"),
    "douyin": ("山野茶铺抖音小店", "美妆好物抖音店"),
}
_BULK_CATEGORY = {"pdd": "home", "taobao": "apparel", "jd": "digital", "douyin": "tea"}
_ROBOT = {"pdd": "智能助手", "taobao": "店小蜜", "jd": "京小智", "douyin": "飞鸽助手"}


def _spec(row, n_agents: int) -> ShopSpec:
    name, platform, slug, cat, robot, share, bot_rate = row
    pool = _AGENT_POOL[platform]
    return ShopSpec(name, platform, slug, cat, tuple(pool[: max(1, min(n_agents, len(pool)))]),
                    robot, share, bot_rate)


def bulk_shops(n: int, agents_per_shop: int = 4) -> list[ShopSpec]:
    """``n`` shops cycling pdd, taobao, jd, douyin (names reused with a number if needed)."""
    cycle = ("pdd", "taobao", "jd", "douyin")
    out = []
    for i in range(n):
        platform = cycle[i % 4]
        names = _BULK_NAMES[platform]
        j = i // 4
        name = names[j % len(names)] + (str(j // len(names) + 1) if j >= len(names) else "")
        out.append(_spec((name, platform, f"{platform}_{i:02d}", _BULK_CATEGORY[platform],
                          _ROBOT[platform], 1.0, 0.35), agents_per_shop))
    return out


# =============================================================================== phrases
# Buyer and agent phrase lists (shared by the sample and the bulk generator).

PRE_TOPICS = ("price", "shipping", "size", "stock", "logistics", "quality", "returns",
              "payment", "compare")
PRE_TOPIC_WEIGHTS = (0.21, 0.11, 0.15, 0.07, 0.14, 0.12, 0.07, 0.05, 0.08)
AFTER_TOPICS = ("where", "damaged", "exchange", "wrong")
AFTER_TOPIC_WEIGHTS = (0.4, 0.2, 0.25, 0.15)

#: intended lost-sale reason (询单流失原因) per pre-sale topic
LOST_REASON = {"price": "价格", "shipping": "运费/不包邮", "size": "尺码/规格", "stock": "缺货/断码",
               "logistics": "物流时效", "quality": "质量顾虑/正品", "returns": "售后政策",
               "payment": "支付方式", "compare": "货比三家/再看看"}
SERVICE_LATE, SERVICE_NONE = "回复慢", "未回复"

#: base order probability of an inquiring buyer per topic (before service effects)
ORDER_P = {"price": 0.36, "shipping": 0.44, "size": 0.42, "stock": 0.30, "logistics": 0.48,
           "quality": 0.40, "returns": 0.42, "payment": 0.45, "compare": 0.16}

GREETINGS = ("在吗", "你好", "亲在吗", "老板在吗", "有人吗", "您好", "在不在", "客服在吗")

ASK = {
    "price": ("能便宜点吗", "最低多少", "有优惠券吗", "能不能少点", "两件能便宜点吗", "有没有满减",
              "老顾客有优惠吗", "再便宜5块我就拍了", "现在下单有什么活动"),
    "shipping": ("包邮吗", "偏远地区包邮吗", "有运费险吗", "送运费险吗", "新疆能发吗", "运费多少",
                 "包邮吗？运费险有没有"),
    "logistics": ("几天能到", "发什么快递", "今天能发货吗", "可以发顺丰吗", "到广州要几天",
                  "什么时候发货", "发货地是哪里", "48小时内能发吗"),
    "quality": ("正品吗", "质量怎么样", "质量好不好", "用久了会坏吗", "和图片一样吗"),
    "returns": ("七天无理由吗", "不合适能退换吗", "退货运费谁出", "能换货吗", "收到不喜欢可以退吗"),
    "payment": ("可以花呗分期吗", "能用信用卡吗", "支持先用后付吗", "花呗能分三期吗", "可以货到付款吗"),
    "compare": ("别家比你们便宜", "货比三家再说", "别家同款才卖一半", "跟其他家有什么区别",
                "为什么比别家贵"),
}
ASK_BY_CATEGORY = {
    ("size", "apparel"): ("有没有XL", "尺码偏大还是偏小", "165cm 110斤穿什么码", "平时穿M这个拍什么码",
                          "裤长多少", "胸围多少", "180斤能穿吗"),
    ("size", "home"): ("1.8米的床能用吗", "尺寸是多少的", "有没有大号的", "能放进60cm的柜子吗",
                       "是单人的还是双人的", "有几种颜色"),
    ("size", "digital"): ("苹果手机能用吗", "支持快充吗", "是Type-C接口吗", "续航多久", "能连电脑吗"),
    ("size", "tea"): ("一罐多少克", "有小份装吗", "能泡几次", "适合送礼吗", "是散装还是罐装"),
    ("stock", "apparel"): ("黑色L还有货吗", "这个断码了吗", "白色M码什么时候补货", "XXL还有吗",
                           "卡其色还有吗"),
    ("stock", "home"): ("灰色还有吗", "什么时候补货", "这款还有库存吗", "蓝色的断货了吗"),
    ("stock", "digital"): ("白色还有货吗", "什么时候到货", "黑色的没货了吗"),
    ("stock", "tea"): ("明前的还有吗", "什么时候有新货", "礼盒装还有吗"),
    ("quality", "apparel"): ("会不会掉色", "起球吗", "是纯棉的吗", "洗了会缩水吗"),
    ("quality", "home"): ("有异味吗", "甲醛超标吗", "是什么材质的", "会掉毛吗"),
    ("quality", "digital"): ("保修多久", "是原装的吗", "会不会发烫"),
    ("quality", "tea"): ("是今年的新茶吗", "有农残检测吗", "保质期多久"),
}
FOLLOW = {
    "price": ("那有券吗", "能再少点吗", "包邮的话我就拍", "两件呢"),
    "shipping": ("那运费险是送的吗", "偏远地区要补多少", "好的"),
    "size": ("那我拍L可以吗", "还有别的颜色吗", "好的，我量一下"),
    "stock": ("那大概什么时候有货", "其他颜色呢", "能预定吗"),
    "logistics": ("能帮我备注尽快发吗", "那明天能到吗", "可以发邮政吗"),
    "quality": ("真的假的", "有质检报告吗", "那我放心了"),
    "returns": ("退货要自己寄吗", "运费险能赔多少", "好的"),
    "payment": ("怎么分期", "手续费多少", "好的"),
    "compare": ("你们有什么优势", "那质量有保障吗", "嗯嗯"),
}
CLOSE_YES = ("好的，拍了", "已拍，麻烦尽快发货", "好的我下单了", "拍下了，记得备注哦", "那我拍了",
             "好的，一会儿就拍")
CLOSE_NO = {
    "price": ("太贵了，我再看看", "算了，等活动再买", "那我再想想"),
    "shipping": ("不包邮就算了", "运费有点贵，我再看看"),
    "size": ("那我再想想", "尺码不太合适，算了"),
    "stock": ("没货就算了", "那等补货再说"),
    "logistics": ("太慢了，等不及了", "那算了"),
    "quality": ("我再考虑一下", "好吧，我再看看评价"),
    "returns": ("那我再考虑一下", "好的，我想想"),
    "payment": ("不能分期就算了", "那我再想想"),
    "compare": ("我再看看", "货比三家再说吧", "我去别家看看"),
}
AS_ASK = {
    "where": ("我的快递怎么还没到", "物流好几天没动了", "怎么还不发货", "能帮我催一下快递吗",
              "订单显示已发货但是查不到物流"),
    "damaged": ("收到的有破损", "东西坏了怎么办", "质量有问题", "收到有一股味道"),
    "exchange": ("怎么申请退货", "尺码不合适能换吗", "退货地址发我一下", "我已经寄回了，什么时候退款"),
    "wrong": ("颜色发错了", "少发了一件", "收到的跟图片不一样"),
}
AS_FOLLOW = ("好的，麻烦快点", "已经拍照了", "那什么时候能处理好", "好的，等你们消息", "单号发我一下")
AS_CLOSE = ("好的谢谢", "麻烦快点处理", "好的，等你们消息", "行吧")

A_OPEN = ("亲，在的", "您好，在的亲", "亲亲在的哦", "在的呢亲", "您好亲，很高兴为您服务")
A_ANSWER = {
    "price": ("亲，这款已经是活动价了哦", "亲亲可以领取店铺优惠券，下单立减5元", "亲，两件以上打九五折哦",
              "亲，现在下单有赠品的哦", "亲，这是最低价了，质量有保证的"),
    "shipping": ("这款是包邮的哦", "亲，我们赠送运费险的", "亲，偏远地区（新疆、西藏）需要补运费哦",
                 "全国包邮的亲（港澳台除外）"),
    "stock": ("亲，这个颜色暂时断码了，预计下周补货", "亲亲这边给您查一下库存", "还有少量现货的哦，喜欢的话尽快拍",
              "亲，这款已经补货了哦"),
    "logistics": ("亲，默认发中通或圆通哦", "下午4点前拍下当天发货哦", "一般3-5天就能到的亲",
                  "亲亲这边给您查一下", "顺丰需要补差价哦"),
    "quality": ("亲，我们是官方正品，支持专柜验货", "可以放心的亲，质量有保证的", "亲，这款回购率很高的哦"),
    "returns": ("支持七天无理由退换的亲", "亲，我们赠送运费险，退换不用您出运费",
                "可以的亲，不影响二次销售就可以退换"),
    "payment": ("可以的亲，支持花呗分期", "支持花呗分期的，下单时选择分期就行", "亲，支持信用卡的哦"),
    "compare": ("亲，我们家是正品，质量有保障的哦", "亲可以对比一下，我们的用料是最好的",
                "好的亲，有需要随时联系我们哦"),
}
A_ANSWER_BY_CATEGORY = {
    ("size", "apparel"): ("亲，平时穿M拍M就可以的", "亲亲可以参考详情页的尺码表哦", "165/110斤建议拍L码哦",
                          "这款偏大半码，建议拍小一码"),
    ("size", "home"): ("亲，1.8米的床可以用的", "尺寸详情页有标注哦，亲亲可以看一下", "有大中小三个尺寸的哦"),
    ("size", "digital"): ("支持的亲，苹果安卓都可以用", "是Type-C接口的哦", "支持22.5W快充的亲"),
    ("size", "tea"): ("一罐是250克的哦", "有小份装的，可以看看店铺首页", "一般可以泡五六次的亲"),
}
A_FOLLOW = ("可以的亲", "好的亲，稍等哦", "亲亲这边给您查一下", "已经为您备注", "亲，还有其他问题吗",
            "嗯嗯，好的呢", "亲，放心拍就可以的")
A_CLOSE_YES = ("好的亲，已经为您备注尽快发货", "感谢亲的支持，会尽快为您安排发货的",
               "已经为您备注啦，有问题随时联系哦")
A_CLOSE_NO = ("好的亲，有需要随时联系我们哦", "好的呢，期待您的光临", "亲亲可以先收藏一下哦，有活动会通知您")
A_AS = ("亲亲这边给您查一下物流", "非常抱歉给您带来不便，麻烦拍个照片给我们看一下", "亲可以直接在订单页申请退换哦",
        "已经为您登记，会尽快处理的", "亲，已经帮您催促快递了", "退款会在收到退货后24小时内处理哦")
A_AS_CLOSE = ("好的亲，处理好了会第一时间通知您", "非常抱歉，给您添麻烦了", "好的亲，有问题随时联系")
BOT_PHRASES = ("您好，欢迎光临{shop}，有什么可以帮您的吗？", "亲，客服小妹正在火速赶来，请稍等哦~",
       "您好，现在咨询人数较多，请耐心等待哦", "亲，本店下午4点前下单当天发货，请放心购买")

# message kinds (rows of the phrase table)
(K_GREET, K_ASK, K_FOLLOW, K_CLOSE_YES, K_CLOSE_NO, K_AS_ASK, K_AS_FOLLOW, K_AS_CLOSE,
 K_A_OPEN, K_A_ANSWER, K_A_FOLLOW, K_A_CLOSE_YES, K_A_CLOSE_NO, K_A_AS, K_A_AS_CLOSE,
 K_BOT) = range(16)
N_KINDS = 16


def _phrases(kind: int, shop: ShopSpec, topic: int) -> tuple[str, ...]:
    cat = shop.category
    pre = PRE_TOPICS[topic] if topic < len(PRE_TOPICS) else PRE_TOPICS[0]
    after = AFTER_TOPICS[topic] if topic < len(AFTER_TOPICS) else AFTER_TOPICS[0]
    if kind == K_GREET:
        return GREETINGS
    if kind == K_ASK:
        return ASK_BY_CATEGORY.get((pre, cat), ()) + ASK.get(pre, ())
    if kind == K_FOLLOW:
        return FOLLOW[pre]
    if kind == K_CLOSE_YES:
        return CLOSE_YES
    if kind == K_CLOSE_NO:
        return CLOSE_NO[pre]
    if kind == K_AS_ASK:
        return AS_ASK[after]
    if kind == K_AS_FOLLOW:
        return AS_FOLLOW
    if kind == K_AS_CLOSE:
        return AS_CLOSE
    if kind == K_A_OPEN:
        return A_OPEN
    if kind == K_A_ANSWER:
        return A_ANSWER_BY_CATEGORY.get((pre, cat)) or A_ANSWER.get(pre) or A_FOLLOW
    if kind == K_A_FOLLOW:
        return A_FOLLOW
    if kind == K_A_CLOSE_YES:
        return A_CLOSE_YES
    if kind == K_A_CLOSE_NO:
        return A_CLOSE_NO
    if kind == K_A_AS:
        return A_AS
    if kind == K_A_AS_CLOSE:
        return A_AS_CLOSE
    if kind == K_BOT:
        prefix = "[自动回复]" if shop.platform == "taobao" else ""
        return tuple(prefix + p.format(shop=shop.name) for p in BOT_PHRASES)
    raise ValueError(kind)


def _phrase_table(shops: Sequence[ShopSpec]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """All phrases in one Arrow array plus (kind, shop, topic) → offset / length tables."""
    n_topics = len(PRE_TOPICS)
    pool: list[str] = []
    seen: dict[tuple[str, ...], int] = {}
    offset = np.zeros((N_KINDS, len(shops), n_topics), dtype=np.int64)
    length = np.zeros((N_KINDS, len(shops), n_topics), dtype=np.int64)
    for k in range(N_KINDS):
        for s, shop in enumerate(shops):
            for t in range(n_topics):
                ph = _phrases(k, shop, t)
                if ph not in seen:
                    seen[ph] = len(pool)
                    pool.extend(ph)
                offset[k, s, t] = seen[ph]
                length[k, s, t] = len(ph)
    return pa.array(pool, type=pa.string()), offset, length


# =============================================================================== helpers


def _starts(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts), dtype=np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=out[1:])
    return out


def _pos_in_group(counts: np.ndarray) -> np.ndarray:
    n = int(counts.sum())
    return np.arange(n, dtype=np.int64) - np.repeat(_starts(counts), counts)


def _group_excl_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Exclusive cumulative sum of ``values`` restarting at each group."""
    cs = np.cumsum(values, dtype=np.int64)
    excl = cs - values
    first = np.r_[excl, 0][_starts(counts)]
    return excl - np.repeat(first, counts)


def _uniform(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    """Integers in [lo, hi] inclusive."""
    return rng.integers(lo, hi + 1, n, dtype=np.int64)


def _choice(rng: np.random.Generator, values, p, n: int) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.asarray(values)[rng.choice(len(p), n, p=p / p.sum())]


def _digits(x: np.ndarray, width: int) -> pa.Array:
    """Non-negative ints → zero-padded decimal strings (vectorised)."""
    x = np.asarray(x, dtype=np.int64)
    cols = np.empty((len(x), width), dtype=np.uint8)
    v = x.copy()
    for j in range(width - 1, -1, -1):
        cols[:, j] = 48 + (v % 10)
        v //= 10
    return pa.array(cols.view(f"S{width}").ravel().astype(str) if len(x) else [], pa.string())


def _base36(x: np.ndarray, width: int) -> np.ndarray:
    alphabet = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    v = np.asarray(x, dtype=np.int64).copy()
    cols = np.empty((len(v), width), dtype=np.uint8)
    for j in range(width - 1, -1, -1):
        cols[:, j] = alphabet[v % 36]
        v //= 36
    return cols.view(f"S{width}").ravel().astype(str) if len(v) else np.array([], dtype=str)


def _cat(*parts) -> np.ndarray:
    """Element-wise string concatenation of arrays/scalars → object ndarray."""
    n = max(len(p) for p in parts if not isinstance(p, str))
    out = pd.Series([""] * n, dtype=object)
    for p in parts:
        if isinstance(p, str):
            out = out + p
        else:
            out = out + pd.Series(np.asarray(p, dtype=object).astype(str), dtype=object)
    return out.to_numpy(dtype=object)


def _epoch(d: date) -> int:
    return int(np.datetime64(d, "s").astype(np.int64))


def _to_dt(secs) -> np.ndarray:
    return np.asarray(secs, dtype=np.int64).astype("datetime64[s]")


# =============================================================================== simulation


HOUR_WEIGHTS = np.array([0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.35, 0.9, 2.2, 4.0, 6.5, 6.6, 4.2,
                         3.8, 4.2, 4.4, 4.2, 3.8, 3.7, 4.6, 6.5, 7.0, 5.8, 1.6])
# agent shifts [start, end) by local index; profile = P(fast), P(medium), P(slow) per round
SHIFTS = ((8, 17), (14, 24), (10, 20), (8, 24), (12, 22), (9, 18))
PROFILES = ((0.80, 0.15, 0.05), (0.62, 0.23, 0.15), (0.90, 0.08, 0.02), (0.74, 0.17, 0.09),
            (0.85, 0.11, 0.04), (0.70, 0.20, 0.10))


def _day_weights(start: date, days: int) -> np.ndarray:
    w = np.ones(days)
    for i in range(days):
        d = start + timedelta(days=i)
        if d.weekday() >= 5:
            w[i] = 1.25
        if (d.month, d.day) in ((11, 11), (6, 18), (12, 12)):
            w[i] = 1.9  # 双十一 / 618 / 双十二
    return w / w.sum()


@dataclass
class _Sim:
    """Arrays of one simulation (conversation, round and message level)."""

    shops: list[ShopSpec]
    start: date
    days: int
    # agents (global index)
    agent_shop: np.ndarray
    agent_local: np.ndarray
    agent_ids: np.ndarray  # object
    # buyers
    buyer_shop: np.ndarray
    buyer_after_sale: np.ndarray
    # conversations
    c_shop: np.ndarray
    c_buyer: np.ndarray
    c_day: np.ndarray
    c_start: np.ndarray  # absolute local epoch seconds
    c_topic: np.ndarray
    c_after_sale: np.ndarray
    c_agent1: np.ndarray
    c_agent2: np.ndarray
    c_transfer: np.ndarray  # bool (effective)
    c_transfer_round: np.ndarray
    c_bot: np.ndarray
    c_never: np.ndarray
    c_greet: np.ndarray
    c_rounds: np.ndarray  # effective number of rounds
    c_special: np.ndarray  # -1 or index into SPECIALS
    # rounds
    r_conv: np.ndarray
    r_k: np.ndarray
    r_start: np.ndarray
    r_reply: np.ndarray  # absolute reply time, -1 when unanswered
    r_agent: np.ndarray  # serving agent (global index)
    r_class: np.ndarray  # 0 fast, 1 medium, 2 slow, 3 night, 4 fixed
    r_last: np.ndarray
    r_sys: np.ndarray  # absolute time of the transfer notice, -1 if none
    # messages (construction order: buyers, bots, systems, agents)
    m_conv: np.ndarray
    m_round: np.ndarray
    m_sender: np.ndarray
    m_time: np.ndarray
    m_pos: np.ndarray  # position among the same sender's messages in the round
    m_agent: np.ndarray  # global agent index, -1 for buyer, -2 for bot


#: planted edge cases (start second-of-day, buyer-message offsets, reply after the last
#: buyer message or None = never, robot greeting) — each applied to one conversation per
#: main shop on day ``SPECIAL_DAY``
SPECIALS = (
    ("exactly_300s", 10 * 3600, (0,), 300, False),
    ("301s", 10 * 3600 + 1800, (0,), 301, False),
    ("2258_reply_2302", 22 * 3600 + 58 * 60, (0,), 240, False),
    ("2258_reply_2304", 22 * 3600 + 58 * 60 + 30, (0,), 360, False),
    ("at_2300_never", 23 * 3600, (0,), None, False),
    ("at_0759_never", 8 * 3600 - 1, (0,), None, False),
    ("at_0800_400s", 8 * 3600, (0,), 400, False),
    ("bot_only", 15 * 3600, (0,), None, True),
    ("first_of_three_waits_320s", 16 * 3600, (0, 150, 290), 30, False),
)
SPECIAL_DAY = 9  # 2026-11-18 with the default start


def _simulate(rng: np.random.Generator, shops: Sequence[ShopSpec], n_buyers: np.ndarray,
              start: date, days: int, *, after_sale_rate: float = 0.035,
              specials: bool = False) -> _Sim:
    S = len(shops)
    shops = list(shops)
    base = _epoch(start)

    # ---- agents
    n_ag = np.array([len(s.agents) for s in shops])
    agent_shop = np.repeat(np.arange(S), n_ag)
    agent_local = _pos_in_group(n_ag)
    agent_ids = np.array([a for s in shops for a in s.agent_ids()], dtype=object)
    A = len(agent_shop)
    hours = np.arange(24)
    eff = np.clip(hours, 8, 23)
    lo = np.array([SHIFTS[i % len(SHIFTS)][0] for i in agent_local])
    hi = np.array([SHIFTS[i % len(SHIFTS)][1] for i in agent_local])
    single = n_ag[agent_shop] == 1
    lo = np.where(single, 0, lo)
    hi = np.where(single, 24, hi)
    on = (eff[:, None] >= lo[None, :]) & (eff[:, None] < hi[None, :])  # (24, A)
    W = (agent_shop[None, None, :] == np.arange(S)[:, None, None]) & on[None, :, :]  # (S,24,A)
    empty = ~W.any(-1)  # fallback: everyone of the shop
    W[empty] = np.broadcast_to((agent_shop[None, :] == np.arange(S)[:, None])[:, None, :],
                               (S, 24, A))[empty]
    # candidates on shift per (shop, hour): count and the agents in a padded table
    n_cand = W.sum(-1)  # (S, 24)
    cand = np.argsort(~W, axis=-1, kind="stable")  # on-shift agents first, in index order
    prof = np.array([PROFILES[i % len(PROFILES)] for i in agent_local])  # (A, 3)

    # ---- buyers and their visits (≥ 2 days apart, so conversations never touch)
    B = int(n_buyers.sum())
    buyer_shop = np.repeat(np.arange(S), n_buyers)
    buyer_after_sale = rng.random(B) < after_sale_rate
    visits = _choice(rng, [1, 2, 3], [0.80, 0.15, 0.05], B)
    first_day = rng.choice(days, B, p=_day_weights(start, days))
    c_buyer = np.repeat(np.arange(B), visits)
    gap = _uniform(rng, 2, 5, len(c_buyer))
    gap[_pos_in_group(visits) == 0] = 0
    c_day = first_day[c_buyer] + np.cumsum(gap) - np.repeat(
        np.cumsum(gap)[_starts(visits)], visits)
    keep = c_day < days
    c_buyer, c_day = c_buyer[keep], c_day[keep]
    C = len(c_buyer)
    c_shop = buyer_shop[c_buyer]
    hour = rng.choice(24, C, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    # second of day; the last two minutes are left free so a burst of buyer messages
    # never runs past midnight (every buyer message belongs to its conversation's day)
    sod = np.minimum(hour * 3600 + rng.integers(0, 3600, C), DAY - 120)

    # order conversations by (shop, day, start)
    order = np.lexsort((sod, c_day, c_shop))
    c_buyer, c_day, c_shop, sod, hour = (c_buyer[order], c_day[order], c_shop[order],
                                         sod[order], hour[order])

    c_after_sale = buyer_after_sale[c_buyer]
    c_topic = np.where(c_after_sale,
                       rng.choice(len(AFTER_TOPICS), C, p=np.array(AFTER_TOPIC_WEIGHTS)),
                       rng.choice(len(PRE_TOPICS), C, p=np.array(PRE_TOPIC_WEIGHTS)))
    # agents on shift at the start hour
    u = rng.random(C)
    c_agent1 = cand[c_shop, hour, (u * n_cand[c_shop, hour]).astype(np.int64)]
    n_loc = n_ag[c_shop]
    other = (agent_local[c_agent1] + rng.integers(1, np.maximum(n_loc, 2), C)) % n_loc
    c_agent2 = _starts(n_ag)[c_shop] + other

    early = sod < WINDOW[0]
    late_night = sod >= WINDOW[1]
    night = early | late_night
    c_rounds = np.where(night, 1, _choice(rng, [1, 2, 3], [0.55, 0.30, 0.15], C))
    bot_rate = np.array([s.bot_rate for s in shops])[c_shop]
    c_bot = rng.random(C) < np.where(night, np.minimum(1.0, bot_rate * 2.2), bot_rate)
    never_p = np.where(early, 0.45, np.where(late_night, 0.5, 0.03))
    c_never = rng.random(C) < never_p
    c_transfer = (rng.random(C) < 0.035) & ~night & (n_loc > 1)
    c_transfer_round = (rng.random(C) * c_rounds).astype(np.int64)
    c_greet = rng.random(C) < 0.35
    c_special = np.full(C, -1, dtype=np.int64)

    if specials and days > SPECIAL_DAY:
        for s in range(min(S, 2)):
            cand = np.flatnonzero((c_shop == s) & (c_day == SPECIAL_DAY) & ~c_after_sale)
            # one conversation per special, buyers with a single visit
            single_visit = np.bincount(c_buyer, minlength=B)[c_buyer[cand]] == 1
            cand = cand[single_visit][: len(SPECIALS)]
            for j, ci in enumerate(cand):
                at, bot = SPECIALS[j][1], SPECIALS[j][4]
                sod[ci] = at
                c_special[ci] = j
                c_rounds[ci] = 1
                c_bot[ci] = bot
                c_never[ci] = SPECIALS[j][3] is None
                c_transfer[ci] = False
                c_greet[ci] = False
        # keep the (shop, day, start) order after moving the special conversations
        order = np.lexsort((sod, c_day, c_shop))
        (c_buyer, c_day, c_shop, sod, hour, c_after_sale, c_topic, c_agent1, c_agent2, c_rounds,
         c_bot, c_never, c_transfer, c_transfer_round, c_greet, c_special) = (
            a[order] for a in (c_buyer, c_day, c_shop, sod, hour, c_after_sale, c_topic, c_agent1,
                               c_agent2, c_rounds, c_bot, c_never, c_transfer, c_transfer_round,
                               c_greet, c_special))
        early = sod < WINDOW[0]
        late_night = sod >= WINDOW[1]
    c_transfer_round = np.minimum(c_transfer_round, c_rounds - 1)
    c_start = base + c_day * DAY + sod

    # ---- rounds
    R = int(c_rounds.sum())
    r_conv = np.repeat(np.arange(C), c_rounds)
    r_k = _pos_in_group(c_rounds)
    r_nb = _choice(rng, [1, 2, 3, 4], [0.45, 0.30, 0.17, 0.08], R)
    spec_r = c_special[r_conv]
    is_spec = spec_r >= 0
    if is_spec.any():
        r_nb[is_spec] = [len(SPECIALS[j][2]) for j in spec_r[is_spec]]
    r_transfer_here = c_transfer[r_conv] & (r_k == c_transfer_round[r_conv])
    r_agent = np.where(c_transfer[r_conv] & (r_k >= c_transfer_round[r_conv]),
                       c_agent2[r_conv], c_agent1[r_conv])
    u = rng.random(R)
    p = prof[r_agent]
    r_class = (u >= p[:, 0]).astype(np.int64) + (u >= p[:, 0] + p[:, 1])
    d = np.select([r_class == 0, r_class == 1],
                  [_uniform(rng, 3, 40, R), _uniform(rng, 60, 200, R)],
                  _uniform(rng, 320, 1500, R))
    sys_off = np.where(r_transfer_here, _uniform(rng, 8, 30, R), -1)
    # buyer messages of each round
    NB = int(r_nb.sum())
    b_round = np.repeat(np.arange(R), r_nb)
    b_pos = _pos_in_group(r_nb)
    b_gap = _uniform(rng, 4, 25, NB)
    b_gap[b_pos == 0] = 0
    b_off = np.cumsum(b_gap) - np.repeat(np.cumsum(b_gap)[_starts(r_nb)], r_nb)
    if is_spec.any():
        rows = np.flatnonzero(is_spec[b_round])
        b_off[rows] = [SPECIALS[spec_r[b_round[i]]][2][b_pos[i]] for i in rows]
    span_b = b_off[_starts(r_nb) + r_nb - 1]
    # reply offset from the round start
    reply_off = span_b + np.where(r_transfer_here, sys_off, 0) + d
    r_early = early[r_conv] & (r_k == 0)
    night_reply = np.maximum(WINDOW[0] - (sod[r_conv] + span_b), 0) + _uniform(rng, 30, 1200, R)
    reply_off = np.where(r_early, span_b + night_reply, reply_off)
    r_class = np.where(r_early, 3, r_class)
    if is_spec.any():
        fixed = np.array([SPECIALS[j][3] if SPECIALS[j][3] is not None else 0
                          for j in spec_r[is_spec]], dtype=np.int64)
        reply_off[is_spec] = span_b[is_spec] + fixed
        r_class[is_spec] = 4
    r_na = _choice(rng, [1, 2, 3], [0.6, 0.33, 0.07], R)
    r_na = np.where(c_greet[r_conv] & (r_k == 0), np.maximum(r_na, 2), r_na)  # hello + answer
    NA = int(r_na.sum())
    a_gap = _uniform(rng, 4, 30, NA)
    a_gap[_pos_in_group(r_na) == 0] = 0
    a_off = np.cumsum(a_gap) - np.repeat(np.cumsum(a_gap)[_starts(r_na)], r_na)
    span_a = a_off[_starts(r_na) + r_na - 1]
    cont = _uniform(rng, 15, 240, R)
    comeback = _uniform(rng, 900, 7200, R)
    next_gap = np.where((rng.random(R) < 0.3) & (sod[r_conv] < 15 * 3600), comeback, cont)
    length = reply_off + span_a
    r_start = c_start[r_conv] + _group_excl_cumsum(length + next_gap, c_rounds)

    # drop rounds that would start after the conversation's day ends
    day_end = base + (c_day[r_conv] + 1) * DAY
    keep_r = r_start < day_end - 120
    keep_r[r_k == 0] = True
    c_rounds = np.bincount(r_conv[keep_r], minlength=C).astype(np.int64)
    c_transfer = c_transfer & (c_transfer_round < c_rounds)
    r_last = r_k == (c_rounds[r_conv] - 1)
    never_round = c_never[r_conv] & r_last
    # a transfer into an unanswered round is dropped (keeps the plan simple)
    c_transfer &= ~np.bincount(r_conv[never_round & r_transfer_here & keep_r], minlength=C
                               ).astype(bool)
    r_transfer_here = c_transfer[r_conv] & (r_k == c_transfer_round[r_conv])
    r_agent = np.where(c_transfer[r_conv] & (r_k >= c_transfer_round[r_conv]),
                       c_agent2[r_conv], c_agent1[r_conv])
    r_reply = np.where(never_round, -1, r_start + reply_off)
    r_sys = np.where(r_transfer_here, r_start + span_b + sys_off, -1)

    # ---- messages
    b_keep = keep_r[b_round]
    bm_round = b_round[b_keep]
    bm_time = r_start[bm_round] + b_off[b_keep]
    bm_pos = b_pos[b_keep]
    bot_r = np.flatnonzero(keep_r & (r_k == 0) & c_bot[r_conv])
    bot_time = r_start[bot_r] + _uniform(rng, 1, 3, len(bot_r))
    sys_r = np.flatnonzero(keep_r & r_transfer_here)
    ag_r_mask = keep_r & ~never_round
    a_round = np.repeat(np.arange(R), r_na)
    a_keep = ag_r_mask[a_round]
    am_round = a_round[a_keep]
    am_time = r_reply[am_round] + a_off[a_keep]
    am_pos = _pos_in_group(r_na)[a_keep]

    m_round = np.concatenate([bm_round, bot_r, sys_r, am_round])
    m_sender = np.concatenate([np.full(len(bm_round), BUYER), np.full(len(bot_r), BOT),
                               np.full(len(sys_r), SYSTEM), np.full(len(am_round), AGENT)]
                              ).astype(np.int8)
    m_time = np.concatenate([bm_time, bot_time, r_sys[sys_r], am_time])
    m_pos = np.concatenate([bm_pos, np.zeros(len(bot_r), np.int64), np.zeros(len(sys_r), np.int64),
                            am_pos])
    m_agent = np.concatenate([np.full(len(bm_round), -1), np.full(len(bot_r), -2),
                              c_agent2[r_conv[sys_r]], r_agent[am_round]])
    m_conv = r_conv[m_round]

    # compact the round arrays to the kept rounds
    idx = np.flatnonzero(keep_r)
    remap = np.full(R, -1, dtype=np.int64)
    remap[idx] = np.arange(len(idx))
    m_round = remap[m_round]
    return _Sim(
        shops=shops, start=start, days=days,
        agent_shop=agent_shop, agent_local=agent_local, agent_ids=agent_ids,
        buyer_shop=buyer_shop, buyer_after_sale=buyer_after_sale,
        c_shop=c_shop, c_buyer=c_buyer, c_day=c_day, c_start=c_start, c_topic=c_topic,
        c_after_sale=c_after_sale, c_agent1=c_agent1, c_agent2=c_agent2, c_transfer=c_transfer,
        c_transfer_round=c_transfer_round, c_bot=c_bot, c_never=c_never, c_greet=c_greet,
        c_rounds=c_rounds, c_special=c_special,
        r_conv=r_conv[idx], r_k=r_k[idx], r_start=r_start[idx], r_reply=r_reply[idx],
        r_agent=r_agent[idx], r_class=r_class[idx], r_last=r_last[idx], r_sys=r_sys[idx],
        m_conv=m_conv, m_round=m_round, m_sender=m_sender, m_time=m_time, m_pos=m_pos,
        m_agent=m_agent,
    )


def _conversation_ids(sim: _Sim) -> np.ndarray:
    """Plan conversation ids ``<folder>-YYYYMMDD-NNNN`` (numbered per shop and day)."""
    slugs = np.array([s.slug for s in sim.shops], dtype=object)[sim.c_shop]
    day_str = pd.Series(np.datetime64(sim.start, "D") + sim.c_day).dt.strftime("%Y%m%d").to_numpy(
        dtype=object)
    conv_no = pd.Series(np.ones(len(sim.c_shop), np.int64)).groupby(
        [sim.c_shop, sim.c_day]).cumsum().to_numpy()
    return _cat(slugs, "-", day_str, "-", np.asarray(_digits(conv_no, 4)))


def _content_index(rng: np.random.Generator, sim: _Sim, offset: np.ndarray, length: np.ndarray,
                   ordered_conv: np.ndarray) -> np.ndarray:
    """Index into the phrase pool for every message (systems get -1)."""
    conv = sim.m_conv
    rnd = sim.m_round
    k = sim.r_k[rnd]
    last = sim.r_last[rnd]
    multi = sim.c_rounds[conv] > 1
    after = sim.c_after_sale[conv]
    ordered = ordered_conv[conv]
    sender = sim.m_sender
    pos = sim.m_pos
    first_round = k == 0
    closing = last & multi & ~first_round
    b = sender == BUYER
    a = sender == AGENT
    kind = np.full(len(conv), K_A_FOLLOW, dtype=np.int64)
    # buyers
    kind = np.where(b & first_round & (pos == 0) & sim.c_greet[conv], K_GREET, kind)
    kind = np.where(b & first_round & ~((pos == 0) & sim.c_greet[conv]),
                    np.where(after, K_AS_ASK, K_ASK), kind)
    kind = np.where(b & ~first_round & ~closing, np.where(after, K_AS_FOLLOW, K_FOLLOW), kind)
    kind = np.where(b & closing, np.where(after, K_AS_CLOSE,
                                          np.where(ordered, K_CLOSE_YES, K_CLOSE_NO)), kind)
    # agents
    kind = np.where(a & first_round & (pos == 0) & sim.c_greet[conv] & ~after, K_A_OPEN, kind)
    kind = np.where(a & first_round & ~((pos == 0) & sim.c_greet[conv] & ~after),
                    np.where(after, K_A_AS, K_A_ANSWER), kind)
    kind = np.where(a & ~first_round & ~closing,
                    np.where(after, K_A_AS, np.where(pos == 0, K_A_FOLLOW, K_A_ANSWER)), kind)
    kind = np.where(a & closing, np.where(after, K_A_AS_CLOSE,
                                          np.where(ordered, K_A_CLOSE_YES, K_A_CLOSE_NO)), kind)
    kind = np.where(sender == BOT, K_BOT, kind)
    topic = sim.c_topic[conv]
    shop = sim.c_shop[conv]
    off = offset[kind, shop, topic]
    ln = length[kind, shop, topic]
    # consecutive messages of a round walk through the list (no immediate repeats)
    r0 = rng.integers(0, 1 << 20, len(sim.r_conv))[rnd] + 7 * sender
    idx = off + (r0 + pos) % ln
    return np.where(sender == SYSTEM, -1, idx)


# =============================================================================== ids

def _unique(rng: np.random.Generator, n: int, modulus: int) -> np.ndarray:
    """``n`` distinct random integers in [0, modulus)."""
    return rng.choice(modulus, n, replace=False).astype(np.int64)


def _buyer_ids(rng: np.random.Generator, shop: ShopSpec, n: int, nicknames: bool) -> np.ndarray:
    """``n`` distinct buyer ids in the platform's style (one call per shop, so no clashes)."""
    if shop.platform == "pdd":  # numeric uid
        return np.asarray(_digits(1_000_000_000 + _unique(rng, n, 9_000_000_000), 10),
                          dtype=object)
    if shop.platform == "taobao":
        tb = _cat("tb", np.asarray(_digits(_unique(rng, n, 10**10), 10), dtype=object))
        if not nicknames:
            return tb
        words = np.array(["快乐的小熊", "sunny", "晴天", "木子李", "阿狸", "summer", "橙子味",
                          "小鱼儿", "追风少年", "momo", "糖果屋", "lucky", "一只猫", "星星点灯",
                          "lemon", "奶茶不加糖", "小太阳", "ada", "苏小暖", "kk"], dtype=object)
        w = words[rng.integers(0, len(words), n)]
        num = np.asarray(_digits(_unique(rng, n, 10**6), 6), dtype=object)
        return np.where(rng.random(n) < 0.55, tb, _cat(w, "_", num))
    prefix = "jd_" if shop.platform == "jd" else "dy_"
    return _cat(prefix, _base36(_unique(rng, n, 36**10), 10))


_NICK_A = np.array(["爱吃鱼的", "快乐", "安静的", "会飞的", "小小", "温柔", "元气", "懒洋洋的"], dtype=object)
_NICK_B = np.array(["猫", "小兔", "向日葵", "橘子", "小熊", "饭团", "麦穗", "云朵"], dtype=object)


# =============================================================================== sample data


@dataclass
class SampleData:
    """Canonical frames of the sample, the planted truth and the file layout.

    ``messages``/``orders``/``excluded`` hold exactly what a faithful reader of the
    files written by :func:`write_sample` yields: one row per message / order /
    excluded buyer; ``conversation_id`` only in the canonical CSV files; ``msg_id``
    where the format carries one (PDD ``msg_id``, the tabular 消息序号, canonical);
    ``msg_type`` as carried (PDD type code, ``transfer`` for Qianniu/canonical transfer
    notices, else ``text``/``image``); ``agent_id`` of a transfer notice = the agent it
    went to; Douyin orders have no ``buyer_id`` (the export has no buyer column) and the
    gift-line order has quantities summed and titles joined with "；".

    ``truth["buyer_days"]`` — one row per buyer and calendar day with a conversation:
    shop, platform, buyer_id, date, conversation_id (plan id), first/last_msg_at,
    in_window, after_sale, excluded, late (PDD default rule), never_answered,
    planned_slow, max_wait_s, first_response_s, agent_id (first human replier),
    last_agent_id, n_rounds, n_buyer_msgs, bot_replied, transferred, topic, special
    (planted edge case), buyer_ordered/buyer_paid (any chat order of the buyer),
    ordered/paid/order_id (the order that followed this day's chat), lost_reason.
    ``truth["orders"]`` — one row per order: kind (chat | after_sale | silent), the
    real buyer (also for Douyin), created_at, paid, status, amount, chat_date and
    hours_after_chat.
    """

    seed: int
    start: date
    days: int
    shops: list[ShopSpec]
    messages: pd.DataFrame
    orders: pd.DataFrame
    excluded: pd.DataFrame
    truth: dict[str, pd.DataFrame]
    #: Qianniu transcript noise lines (recalls, 当前用户来自 …): not messages
    notes: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    #: relative file path of every message / order / excluded row (index-aligned)
    message_files: pd.Series = field(repr=False, default_factory=lambda: pd.Series(dtype=str))
    #: per-message rendering extras (buyer nickname, plan conversation number)
    message_extra: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    order_files: pd.Series = field(repr=False, default_factory=lambda: pd.Series(dtype=str))
    excluded_files: pd.Series = field(repr=False, default_factory=lambda: pd.Series(dtype=str))
    #: per-order rendering extras (discounts, shipping times, masked personal data)
    order_extra: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)


# ---- message formats per (shop, day)

FMT_PDD_JSON = "pdd_json"
FMT_QIANNIU = "qianniu_text"
FMT_XLSX = "tabular_xlsx"
FMT_GBK_CSV = "tabular_csv_gb18030"
FMT_CANONICAL = "canonical_csv"


def _taobao_formats(days: int) -> list[str]:
    """Week 1 as Qianniu text, then XLSX, the last day as GB18030 CSV."""
    if days <= 1:
        return [FMT_QIANNIU] * days
    n_text = min(7, max(1, days - 2))
    fmts = [FMT_QIANNIU] * n_text + [FMT_XLSX] * (days - n_text - 1) + [FMT_GBK_CSV]
    return fmts


def _message_file(shop: ShopSpec, fmt: str, conv_day: date, days: int, start: date) -> str:
    if fmt == FMT_PDD_JSON:
        wk = (conv_day - start).days // 7
        a = start + timedelta(days=7 * wk)
        b = min(a + timedelta(days=6), start + timedelta(days=days - 1))
        return f"{shop.slug}/chats_{a:%Y%m%d}-{b:%Y%m%d}.jsonl"
    if fmt == FMT_QIANNIU:
        return f"{shop.slug}/qianniu_{conv_day:%Y-%m-%d}.txt"
    if fmt == FMT_XLSX:
        fmts = _taobao_formats(days)
        xs = [i for i, f in enumerate(fmts) if f == FMT_XLSX]
        a, b = start + timedelta(days=xs[0]), start + timedelta(days=xs[-1])
        return f"{shop.slug}/聊天记录_{a:%Y%m%d}-{b:%Y%m%d}.xlsx"
    if fmt == FMT_GBK_CSV:
        return f"{shop.slug}/聊天记录_{conv_day:%Y%m%d}.csv"
    return f"{shop.slug}/chats_canonical.csv"


def _day_format(shop: ShopSpec, day: int, days: int) -> str:
    if shop.platform == "pdd":
        return FMT_PDD_JSON
    if shop.platform == "taobao":
        return _taobao_formats(days)[day]
    return FMT_CANONICAL


# ---- products

DOUYIN_GIFT = "【赠品】竹制茶则"
CATALOGUE = {
    "home": (("北欧风抱枕套 45x45cm", 19.9), ("加厚珊瑚绒四件套 1.8m床", 129.0), ("三层桌面收纳盒", 39.9),
             ("纯棉毛巾 3条装", 29.9), ("静音挂钟 客厅简约", 59.0), ("实木落地置物架", 199.0),
             ("乳胶枕 一对装", 89.9), ("羽丝绒被 200x230cm", 159.0)),
    "apparel": (("加绒连帽卫衣 男女同款", 89.0), ("高腰直筒牛仔裤", 129.0), ("短款白鸭绒羽绒服", 399.0),
                ("纯棉长袖T恤 2件装", 59.0), ("针织开衫 慵懒风", 109.0), ("工装休闲裤", 99.0),
                ("摇粒绒外套", 149.0)),
    "digital": (("无线蓝牙耳机 降噪款", 199.0), ("20000毫安充电宝 22.5W快充", 129.0),
                ("Type-C数据线 1.5米 2条装", 19.9), ("氮化镓充电器 65W", 99.0), ("机械键盘 青轴", 239.0)),
    "tea": (("2026年明前龙井 250g罐装", 298.0), ("云南普洱熟茶 357g饼", 168.0), ("正山小种红茶 礼盒装", 238.0),
            ("茉莉花茶 袋泡 30包", 39.9), ("便携旅行茶具套装", 69.0)),
}
SPECS = {"home": ("灰色", "米白", "浅蓝", "默认"), "apparel": ("黑色 M", "黑色 L", "白色 XL", "卡其 M"),
         "digital": ("白色", "黑色", "标准版"), "tea": ("罐装", "礼盒装", "默认")}
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
_SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"), dtype=object)
_PLACES = (("浙江省", "杭州市", "西湖区"), ("广东省", "广州市", "天河区"), ("江苏省", "南京市", "鼓楼区"),
           ("四川省", "成都市", "武侯区"), ("湖北省", "武汉市", "洪山区"), ("山东省", "济南市", "历下区"),
           ("北京市", "北京市", "朝阳区"), ("上海市", "上海市", "浦东新区"), ("河南省", "郑州市", "金水区"),
           ("福建省", "厦门市", "思明区"))


def generate(seed: int = DEFAULT_SEED, *, shops: int = 2, agents_per_shop: int = 3,
             days: int = 14, start: date = DEFAULT_START, buyers: int = 3000,
             tiny_shops: bool = True) -> SampleData:
    """Plan ``days`` days of chats, orders and excluded buyers (fully deterministic).

    ``shops`` (1 or 2) main shops — 花语家居旗舰店 (pdd) and 潮流服饰专营店 (taobao) —
    share ``buyers`` chatting buyers; ``tiny_shops`` adds a small JD and a small
    Douyin shop (about 3 % of that traffic each) so every supported format appears.
    """
    if not 1 <= shops <= len(_MAIN):
        raise ValueError(f"shops must be 1..{len(_MAIN)}")
    if days < 1 or buyers < 10 or agents_per_shop < 1:
        raise ValueError("days ≥ 1, buyers ≥ 10 and agents_per_shop ≥ 1 are required")
    rng = np.random.default_rng(seed)
    specs = [_spec(r, agents_per_shop) for r in _MAIN[:shops]]
    if tiny_shops:
        specs += [_spec(r, 2) for r in _TINY]
    main_share = np.array([s.share for s in specs[:shops]])
    n_main = np.round(buyers * main_share / main_share.sum()).astype(np.int64)
    n_tiny = [max(12, int(round(buyers * s.share))) for s in specs[shops:]]
    n_buyers = np.concatenate([n_main, np.array(n_tiny, dtype=np.int64)])
    sim = _simulate(rng, specs, n_buyers, start, days, specials=True)

    # ---- buyer ids (chatting buyers first, then silent buyers per shop)
    B = len(sim.buyer_shop)
    buyer_id = np.empty(B, dtype=object)
    nick = np.empty(B, dtype=object)
    spare = []  # ids for silent buyers and old 黑名单 entries, drawn with the chat buyers'
    for s, spec in enumerate(specs):
        sel = np.flatnonzero(sim.buyer_shop == s)
        ids = _buyer_ids(rng, spec, len(sel) + len(sel) // 2 + 20, nicknames=True)
        buyer_id[sel] = ids[: len(sel)]
        spare.append(ids[len(sel):])
        nick[sel] = _cat(_NICK_A[rng.integers(0, len(_NICK_A), len(sel))],
                         _NICK_B[rng.integers(0, len(_NICK_B), len(sel))])

    truth_bd = _truth_buyer_days(sim, buyer_id)
    excluded = _plan_excluded(rng, specs, truth_bd, start, spare)
    truth_bd["excluded"] = _is_excluded(truth_bd, excluded)
    orders, order_extra, truth_orders, ordered_conv = _plan_orders(rng, sim, specs, buyer_id,
                                                                   truth_bd, start, days, spare)
    truth_bd = _lost_reasons(truth_bd, truth_orders)

    # ---- messages
    pool, offset, length = _phrase_table(specs)
    cidx = _content_index(rng, sim, offset, length, ordered_conv)
    messages, notes, files, mextra = _sample_messages(rng, sim, specs, buyer_id, nick, pool,
                                                      cidx, start, days)
    truth_bd = truth_bd.drop(columns=["_conv"])
    order_files = _order_files(orders, specs)
    slug_of = {s.name: s.slug for s in specs}
    excl_files = (excluded["shop"].map(slug_of) + "/黑名单.csv").astype(object)
    return SampleData(seed=seed, start=start, days=days, shops=specs, messages=messages,
                      orders=orders, excluded=excluded,
                      truth={"buyer_days": truth_bd, "orders": truth_orders},
                      notes=notes, message_files=files, message_extra=mextra,
                      order_files=order_files,
                      excluded_files=excl_files, order_extra=order_extra)


def _truth_buyer_days(sim: _Sim, buyer_id: np.ndarray) -> pd.DataFrame:
    """Per conversation (= buyer-day): the PDD-rule outcome computed from the plan."""
    b = sim.m_sender == BUYER
    conv = sim.m_conv[b]
    t = sim.m_time[b]
    reply = sim.r_reply[sim.m_round[b]]
    tod = t % DAY
    in_win = (tod >= WINDOW[0]) & (tod < WINDOW[1])
    wait = np.where(reply >= 0, reply - t, -1)
    C = len(sim.c_shop)
    late_msg = in_win & ((reply < 0) | (wait > 300))
    f = pd.DataFrame({"conv": conv, "in_win": in_win, "late": late_msg,
                      "wait": np.where(in_win & (reply >= 0), wait, np.nan),
                      "t": t})
    g = f.groupby("conv")
    in_window = g["in_win"].any().reindex(range(C), fill_value=False).to_numpy()
    late = g["late"].any().reindex(range(C), fill_value=False).to_numpy()
    max_wait = g["wait"].max().reindex(range(C)).to_numpy()
    n_buyer_msgs = g.size().reindex(range(C), fill_value=0).to_numpy()
    first_t = g["t"].min().reindex(range(C)).to_numpy()
    # first human reply of the conversation and who gave it; last agent
    ag = sim.m_sender == AGENT
    fa = pd.DataFrame({"conv": sim.m_conv[ag], "t": sim.m_time[ag], "agent": sim.m_agent[ag]})
    fa = fa.sort_values(["conv", "t"], kind="stable")
    ga = fa.groupby("conv")
    first_agent = ga["agent"].first().reindex(range(C), fill_value=-1).to_numpy()
    last_agent = ga["agent"].last().reindex(range(C), fill_value=-1).to_numpy()
    first_reply = ga["t"].first().reindex(range(C), fill_value=-1).to_numpy()
    last_msg = pd.Series(sim.m_time).groupby(sim.m_conv).max().reindex(range(C)).to_numpy()
    rounds_slow = pd.Series(sim.r_class == 2).groupby(sim.r_conv).any().reindex(
        range(C), fill_value=False).to_numpy()
    aid = np.append(sim.agent_ids, None)
    names = np.array([s.name for s in sim.shops], dtype=object)
    platforms = np.array([s.platform for s in sim.shops], dtype=object)
    topics = np.where(sim.c_after_sale, np.array(AFTER_TOPICS, dtype=object)[
        np.minimum(sim.c_topic, len(AFTER_TOPICS) - 1)],
        np.array(PRE_TOPICS, dtype=object)[sim.c_topic])
    special = np.where(sim.c_special >= 0,
                       np.array([s[0] for s in SPECIALS] + [""], dtype=object)[sim.c_special], None)
    return pd.DataFrame({
        "shop": names[sim.c_shop], "platform": platforms[sim.c_shop],
        "buyer_id": buyer_id[sim.c_buyer],
        "date": (np.datetime64(sim.start, "D") + sim.c_day).astype("datetime64[s]"),
        "conversation_id": _conversation_ids(sim),
        "first_msg_at": _to_dt(first_t),
        "last_msg_at": _to_dt(last_msg),
        "in_window": in_window,
        "after_sale": sim.c_after_sale,
        "excluded": False,
        "late": late,  # PDD default rule: an in-window message waited > 300 s or got no reply
        "never_answered": sim.c_never.copy(),
        "planned_slow": rounds_slow,
        "max_wait_s": max_wait,
        "first_response_s": np.where(first_reply >= 0, first_reply - first_t, np.nan),
        "agent_id": aid[np.where(first_agent >= 0, first_agent, len(aid) - 1)],
        "last_agent_id": aid[np.where(last_agent >= 0, last_agent, len(aid) - 1)],
        "n_rounds": sim.c_rounds, "n_buyer_msgs": n_buyer_msgs,
        "bot_replied": sim.c_bot.copy(), "transferred": sim.c_transfer.copy(),
        "topic": topics, "special": special,
        "_conv": np.arange(C),
    })


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


def _sample_messages(rng: np.random.Generator, sim: _Sim, specs: Sequence[ShopSpec],
                     buyer_id: np.ndarray, nick: np.ndarray, pool: pa.Array, cidx: np.ndarray,
                     start: date, days: int):
    """Canonical messages (as the files carry them), Qianniu noise notes, file layout."""
    n = len(sim.m_conv)
    shop_idx = sim.c_shop[sim.m_conv]
    conv_day = sim.c_day[sim.m_conv]
    fmt_table = np.array([[_day_format(s, d, days) for d in range(days)] for s in specs],
                         dtype=object)
    file_table = np.array([[_message_file(s, fmt_table[i, d], start + timedelta(days=d), days,
                                          start) for d in range(days)]
                           for i, s in enumerate(specs)], dtype=object)
    fmt = fmt_table[shop_idx, conv_day]
    # a transfer notice in a Qianniu transcript carries the time of the header above it
    t = sim.m_time.copy()
    sys_q = (sim.m_sender == SYSTEM) & (fmt == FMT_QIANNIU)
    if sys_q.any():
        bsel = sim.m_sender == BUYER
        last_b = pd.Series(sim.m_time[bsel]).groupby(sim.m_round[bsel]).max()
        t[sys_q] = last_b.reindex(sim.m_round[sys_q]).to_numpy()
    # sort: shop, time, then construction order (buyer < bot < system < agent)
    order = np.lexsort((np.arange(n), t, shop_idx))
    conv = sim.m_conv[order]
    sender = sim.m_sender[order]
    t = t[order]
    shop_idx = shop_idx[order]
    fmt = fmt[order]
    agent = sim.m_agent[order]
    files = file_table[shop_idx, conv_day[order]]
    content = np.asarray(pool.take(pa.array(np.maximum(cidx[order], 0))), dtype=object)
    aid = np.append(sim.agent_ids, None)
    agent_id = aid[np.where(agent >= 0, agent, len(aid) - 1)]
    robots = np.array([s.robot_id for s in specs], dtype=object)
    agent_id = np.where(agent == -2, robots[shop_idx], agent_id)
    sysm = sender == SYSTEM
    if sysm.any():
        content[sysm] = _cat("由 ", sim.agent_ids[sim.c_agent1[conv[sysm]]], " 转交给 ",
                             sim.agent_ids[sim.c_agent2[conv[sysm]]])
    platform = np.array([s.platform for s in specs], dtype=object)[shop_idx]
    pdd = fmt == FMT_PDD_JSON
    can = fmt == FMT_CANONICAL
    # images: a few buyer messages on PDD (a picture URL) and in the canonical CSV ("[图片]")
    img = (sender == BUYER) & (rng.random(n) < 0.04) & (pdd | can)
    img &= ~np.isin(content, np.array(GREETINGS, dtype=object)) & ~(sim.c_special[conv] >= 0)

    # ids the formats carry: PDD msg_id, 消息序号 of the tabular exports, canonical ids
    msg_id = np.full(n, None, dtype=object)
    for s, spec in enumerate(specs):
        sel = np.flatnonzero(shop_idx == s)
        if spec.platform == "pdd":
            ids = 7_301_234_000_000_000_000 + np.arange(len(sel), dtype=np.int64) * 1000 + \
                rng.integers(0, 1000, len(sel))
            msg_id[sel] = np.asarray(pa.array(ids).cast(pa.string()), dtype=object)
        elif spec.platform in ("jd", "douyin"):
            msg_id[sel] = _cat(spec.platform, "-", np.asarray(_digits(np.arange(len(sel)) + 1, 7)))
    tab = np.isin(fmt, [FMT_XLSX, FMT_GBK_CSV])
    seq = pd.Series(np.ones(n, dtype=np.int64)).groupby(conv).cumsum().to_numpy()
    msg_id = np.where(tab, seq.astype(str).astype(object), msg_id)
    conversation_id = np.where(can, _conversation_ids(sim)[conv], None)

    msg_type = np.full(n, "text", dtype=object)
    msg_type[pdd] = "0"
    msg_type[pdd & img] = "1"
    msg_type[pdd & sysm] = "31"
    msg_type[(fmt == FMT_QIANNIU) & sysm] = "transfer"
    msg_type[can & img] = "image"
    msg_type[can & sysm] = "transfer"
    if (pdd & img).any():
        day_of = pd.Series(_to_dt(t[pdd & img])).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
        content[pdd & img] = _cat("https://img.pddpic.com/mms-material-img/", day_of, "/",
                                  msg_id[pdd & img], ".jpeg")
    content[can & img] = "[图片]"

    names = np.array([s.name for s in specs], dtype=object)
    messages = pd.DataFrame({
        "shop": names[shop_idx], "platform": platform, "conversation_id": conversation_id,
        "buyer_id": buyer_id[sim.c_buyer[conv]], "agent_id": agent_id,
        "sender": SENDER_NAMES[sender], "sent_at": _to_dt(t), "content": content,
        "msg_type": msg_type, "msg_id": msg_id,
    })
    files = pd.Series(files, index=messages.index, dtype=object)
    extra = pd.DataFrame({"nick": nick[sim.c_buyer[conv]], "conv": conv}, index=messages.index)

    # Qianniu noise lines (not messages): recalls after a buyer message, 当前用户来自 before
    # the first message of a conversation
    q = fmt == FMT_QIANNIU
    recall = np.flatnonzero(q & (sender == BUYER) & (rng.random(n) < 0.03))
    first = np.flatnonzero(q & ~pd.Series(conv).duplicated().to_numpy() & (rng.random(n) < 0.2))
    notes = pd.DataFrame({
        "file": np.concatenate([files.to_numpy()[recall], files.to_numpy()[first]]),
        "row": np.concatenate([recall, first]),
        "where": ["after"] * len(recall) + ["before"] * len(first),
        "text": np.concatenate([
            _cat(buyer_id[sim.c_buyer[conv[recall]]], " 撤回了一条消息") if len(recall) else
            np.array([], dtype=object),
            np.where(rng.random(len(first)) < 0.7, "当前用户来自 手机淘宝", "当前用户来自 淘宝网页版")
            .astype(object)]),
    })
    return messages, notes, files, extra


# =============================================================================== writers


def _fmt_dt(secs_or_dt, none_as: str = "") -> np.ndarray:
    """datetime64 / epoch seconds (-1 or NaT = missing) → 'YYYY-MM-DD HH:MM:SS'."""
    a = np.asarray(secs_or_dt)
    if a.dtype.kind == "M":
        s = pd.Series(a.astype("datetime64[s]"))
    else:
        s = pd.Series(np.where(a >= 0, a, np.iinfo(np.int64).min).astype("datetime64[s]"))
    return s.dt.strftime("%Y-%m-%d %H:%M:%S").fillna(none_as).to_numpy(dtype=object)


def _qianniu_time(dt: np.ndarray) -> np.ndarray:
    """'2026-11-9 9:05:07' — month, day and hour not zero-padded."""
    s = pd.Series(np.asarray(dt).astype("datetime64[s]"))
    return _cat(s.dt.year.to_numpy(), "-", s.dt.month.to_numpy(), "-", s.dt.day.to_numpy(), " ",
                s.dt.hour.to_numpy(), ":", s.dt.strftime("%M:%S").to_numpy(dtype=object))


def _json_str(a: np.ndarray) -> pd.Series:
    """Strings → JSON string literals (vectorised; None → null)."""
    s = pd.Series(a, dtype=object)
    missing = s.isna()
    t = s.fillna("").astype(str)
    for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        t = t.str.replace(old, new, regex=False)
    out = '"' + t + '"'
    return out.where(~missing, "null")


def _write_pdd_json(path: Path, m: pd.DataFrame, extra: pd.DataFrame, shop: ShopSpec) -> None:
    sender = m["sender"].to_numpy()
    buyer = m["buyer_id"].to_numpy()
    agent = m["agent_id"].to_numpy()
    is_buyer = sender == "buyer"
    from_role = np.where(is_buyer, "user", "mall_cs")
    to_role = np.where(is_buyer, "mall_cs", "user")
    mall_uid = str(100_000_000 + sum(map(ord, shop.name)) * 1009)
    from_uid = np.where(is_buyer, buyer, agent)
    to_uid = np.where(is_buyer, mall_uid, buyer)
    agent_name = pd.Series(agent, dtype=object).fillna("").str.split(":").str[-1].to_numpy()
    nickname = np.where(is_buyer, extra["nick"].to_numpy(),
                        np.where(sender == "system", "", agent_name))
    is_aut = np.where(sender == "bot", "1", "0")
    cs_uid = np.where(is_buyer, "", agent)
    template = np.where(sender == "bot", "欢迎语", "")
    ts = (m["sent_at"].to_numpy().astype("datetime64[s]").astype(np.int64) - UTC_OFFSET)
    line = ('{"msg_id":' + _json_str(m["msg_id"].to_numpy())
            + ',"type":' + m["msg_type"].astype(str)
            + ',"content":' + _json_str(m["content"].to_numpy())
            + ',"ts":' + pd.Series(ts).astype(str).to_numpy()
            + ',"from":{"role":' + _json_str(from_role) + ',"uid":' + _json_str(from_uid)
            + '},"to":{"role":' + _json_str(to_role) + ',"uid":' + _json_str(to_uid)
            + '},"nickname":' + _json_str(nickname)
            + ',"is_aut":' + is_aut
            + ',"cs_uid":' + _json_str(cs_uid)
            + ',"template_name":' + _json_str(template) + "}")
    path.write_bytes(("\n".join(line.tolist()) + "\n").encode("utf-8"))


def _write_qianniu(path: Path, m: pd.DataFrame, extra: pd.DataFrame, notes: pd.DataFrame,
                   rng: np.random.Generator) -> None:
    """One transcript per day: conversations one after the other, CRLF, UTF-8."""
    sender = m["sender"].to_numpy()
    name = np.where(sender == "buyer", m["buyer_id"].to_numpy(), m["agent_id"].to_numpy())
    header = _cat(name, " ", _qianniu_time(m["sent_at"].to_numpy()))
    u = rng.random(len(m))
    status = np.where(np.isin(sender, ["agent", "bot"]),
                      np.where(u < 0.85, "\r\n已读", np.where(u < 0.95, "\r\n未读", "")), "")
    block = np.where(sender == "system", m["content"].to_numpy(),
                     _cat(header, "\r\n", m["content"].to_numpy(), status))
    conv = extra["conv"].to_numpy()
    rows = np.arange(len(m))
    el = pd.DataFrame({"conv": conv, "key": rows * 3 + 1, "text": block})
    if len(notes):
        pos = notes["row"].to_numpy()  # positions are rows of this file's frame
        key = np.where(notes["where"].to_numpy() == "after", pos * 3 + 2, pos * 3)
        el = pd.concat([el, pd.DataFrame({"conv": conv[pos], "key": key,
                                          "text": notes["text"].to_numpy()})], ignore_index=True)
    el = el.sort_values(["conv", "key"], kind="stable")
    new_conv = np.array(el["conv"].ne(el["conv"].shift()).to_numpy(), dtype=bool)
    new_conv[0] = False
    text = np.where(new_conv, _cat("\r\n", el["text"].to_numpy()), el["text"].to_numpy())
    path.write_bytes(("\r\n".join(text.tolist()) + "\r\n").encode("utf-8"))


TABULAR_HEADERS = ["客户名", "消息序号", "发送时间", "发送内容", "发送账号", "账号类型"]
ROLE_ZH = {"buyer": "买家", "agent": "客服", "bot": "机器人", "system": "系统"}


def _tabular_frame(m: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    sender = m["sender"].to_numpy()
    df = pd.DataFrame({
        "客户名": m["buyer_id"].to_numpy(),
        "消息序号": m["msg_id"].astype(int).to_numpy(),
        "发送时间": _fmt_dt(m["sent_at"].to_numpy()),
        "发送内容": m["content"].to_numpy(),
        "发送账号": np.where(sender == "buyer", m["buyer_id"].to_numpy(), m["agent_id"].to_numpy()),
        "账号类型": pd.Series(sender).map(ROLE_ZH).to_numpy(),
        "_conv": extra["conv"].to_numpy(), "_row": np.arange(len(m)),
    })
    # browser-extension exports list each customer's conversation in one block
    return df.sort_values(["_conv", "_row"], kind="stable").drop(columns=["_conv", "_row"])


def _xml_escape(a) -> np.ndarray:
    s = pd.Series(a, dtype=object).fillna("").astype(str)
    return (s.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False)
            .str.replace(">", "&gt;", regex=False)).to_numpy(dtype=object)


def _col_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


_FIXED_ZIP_TIME = (2026, 11, 23, 9, 30, 0)


def _write_xlsx(path: Path, sheet: str, rows_before: list[list[str]], df: pd.DataFrame) -> None:
    """A minimal, deterministic XLSX (inline strings, numbers as numbers), no openpyxl."""
    ncol = len(df.columns)
    letters = [_col_letter(i) for i in range(ncol)]
    xml_rows = []
    r = 0
    for row in rows_before + [list(df.columns)]:
        r += 1
        cells = "".join(f'<c r="{letters[j]}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                        for j, v in enumerate(_xml_escape(row)) if v != "")
        xml_rows.append(f'<row r="{r}">{cells}</row>')
    first = r + 1
    rn = np.arange(first, first + len(df)).astype(str).astype(object)
    parts = [_cat('<row r="', rn, '">')]
    for j, col in enumerate(df.columns):
        v = df[col].to_numpy()
        ref = _cat(letters[j], rn)
        if np.issubdtype(np.asarray(v).dtype, np.number):
            parts.append(_cat('<c r="', ref, '"><v>', np.asarray(v).astype(str), "</v></c>"))
        else:
            parts.append(_cat('<c r="', ref, '" t="inlineStr"><is><t>', _xml_escape(v),
                              "</t></is></c>"))
    parts.append(np.full(len(df), "</row>", dtype=object))
    body = pd.Series(parts[0])
    for p in parts[1:]:
        body = body + pd.Series(p)
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 f'<dimension ref="A1:{letters[-1]}{first + len(df) - 1}"/><sheetData>'
                 + "".join(xml_rows) + "".join(body.tolist()) + "</sheetData></worksheet>")
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    path.write_bytes(buf.getvalue())


def _csv_bytes(df: pd.DataFrame, encoding: str, *, quoting: int = csv.QUOTE_MINIMAL,
               header: list[str] | None = None, eol: str = "\r\n") -> bytes:
    text = df.to_csv(index=False, header=header if header is not None else True,
                     lineterminator=eol, quoting=quoting)
    return text.encode(encoding)


def write_canonical_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write canonical messages as UTF-8 CSV (header = the canonical column names,
    ``sent_at`` as ``YYYY-MM-DD HH:MM:SS``, missing values empty).  Fast (Arrow)."""
    import pyarrow.csv as pacsv

    path = Path(path)
    cols = [c for c in MESSAGE_COLUMNS if c in df.columns]
    data = {}
    for c in cols:
        s = df[c]
        if c == "sent_at":
            data[c] = pa.array(s.to_numpy().astype("datetime64[s]"), type=pa.timestamp("s"))
        else:
            data[c] = pa.array(s.astype(object).where(s.notna(), None).to_numpy(dtype=object)
                               if s.dtype == object else s, type=pa.string()) \
                if not isinstance(s.dtype, pd.StringDtype) else pa.array(s, type=pa.string())
    table = pa.table(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write((",".join(cols) + "\n").encode("utf-8"))
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False,
                                                      batch_size=1 << 16))
    return path


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


# ---- the whole sample

_CARRIES_MSG = {
    FMT_PDD_JSON: ["buyer_id", "agent_id", "sender", "sent_at", "content", "msg_type", "msg_id"],
    FMT_QIANNIU: ["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"],
    FMT_XLSX: ["buyer_id", "agent_id", "sender", "sent_at", "content", "msg_id"],
    FMT_GBK_CSV: ["buyer_id", "agent_id", "sender", "sent_at", "content", "msg_id"],
    FMT_CANONICAL: list(MESSAGE_COLUMNS),
}
_FMT_OF_FILE = {".jsonl": FMT_PDD_JSON, ".txt": FMT_QIANNIU, ".xlsx": FMT_XLSX}


def _message_format(spec: ShopSpec, rel: str) -> str:
    ext = Path(rel).suffix
    if ext in _FMT_OF_FILE:
        return _FMT_OF_FILE[ext]
    return FMT_CANONICAL if spec.platform in ("jd", "douyin") else FMT_GBK_CSV


def write_sample(directory: str | Path, data: SampleData) -> dict:
    """Write every file of the sample under ``directory`` (one folder per shop with a
    ``cskit.toml``), plus ``MANIFEST.json`` and ``README.md``.  Returns the manifest."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    specs = {s.name: s for s in data.shops}
    entries: list[dict] = []
    wrng = np.random.default_rng([data.seed, 7])  # rendering noise (status lines, hex)

    for spec in data.shops:
        d = root / spec.slug
        d.mkdir(parents=True, exist_ok=True)
        (d / "cskit.toml").write_bytes(
            f'# defaults for files in this folder (used by `cskit ingest`)\n'
            f'shop = "{spec.name}"\nplatform = "{spec.platform}"\n'.encode("utf-8"))

    m, files = data.messages, data.message_files
    for rel in sorted(files.unique()):
        sel = (files == rel).to_numpy()
        part = m[sel].reset_index(drop=True)
        extra = data.message_extra[sel].reset_index(drop=True)
        spec = specs[part["shop"].iloc[0]]
        fmt = _message_format(spec, rel)
        path = root / rel
        enc = "utf-8"
        if fmt == FMT_PDD_JSON:
            _write_pdd_json(path, part, extra, spec)
        elif fmt == FMT_QIANNIU:
            notes = data.notes[data.notes["file"] == rel].copy()
            # note rows refer to positions in the whole frame: make them file-local
            pos = np.flatnonzero(sel)
            notes["row"] = np.searchsorted(pos, notes["row"].to_numpy())
            _write_qianniu(path, part, extra, notes, wrng)
        elif fmt == FMT_XLSX:
            days = sorted(set(part["sent_at"].dt.strftime("%Y-%m-%d")))
            title = f"聊天记录导出（{days[0]} 至 {days[-1]}）"
            _write_xlsx(path, "聊天记录", [[title]], _tabular_frame(part, extra))
        elif fmt == FMT_GBK_CSV:
            enc = "gb18030"
            path.write_bytes(_csv_bytes(_tabular_frame(part, extra), "gb18030"))
        else:
            write_canonical_csv(part, path)
        entries.append({"path": rel, "kind": "messages", "format": fmt,
                        "platform": spec.platform, "shop": spec.name, "rows": int(sel.sum()),
                        "encoding": enc, "carries": _CARRIES_MSG[fmt]})

    o, ofiles = data.orders, data.order_files
    for rel in sorted(ofiles.unique()):
        sel = (ofiles == rel).to_numpy()
        part = o[sel].reset_index(drop=True)
        x = data.order_extra[sel].reset_index(drop=True)
        spec = specs[part["shop"].iloc[0]]
        path = root / rel
        lines = len(part)
        if spec.platform == "pdd":
            _write_pdd_orders(path, part, x)
            fmt, enc = "orders_pdd_csv", "utf-8"
        elif spec.platform == "taobao":
            _write_taobao_orders(path, part, x, spec)
            fmt, enc = "orders_taobao_exportorderlist", "gb18030"
        elif spec.platform == "jd":
            _write_jd_orders(path, part, x)
            fmt, enc = "orders_jd_csv", "gb18030"
        else:
            lines = _write_douyin_orders(path, part, x, wrng)
            fmt, enc = "orders_douyin_csv", "utf-8-sig"
        entries.append({"path": rel, "kind": "orders", "format": fmt, "platform": spec.platform,
                        "shop": spec.name, "rows": int(sel.sum()), "lines": int(lines),
                        "encoding": enc,
                        "buyer_column": spec.platform != "douyin"})

    e, efiles = data.excluded, data.excluded_files
    for rel in sorted(efiles.unique()):
        sel = (efiles == rel).to_numpy()
        part = e[sel].reset_index(drop=True)
        spec = specs[part["shop"].iloc[0]]
        _write_excluded(root / rel, part)
        entries.append({"path": rel, "kind": "excluded", "format": "excluded_csv",
                        "platform": spec.platform, "shop": spec.name, "rows": int(sel.sum()),
                        "encoding": "utf-8-sig"})

    manifest = _manifest(data, entries)
    (root / "MANIFEST.json").write_bytes(
        (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    (root / "README.md").write_bytes(_readme(data, manifest).encode("utf-8"))
    return manifest


def _manifest(data: SampleData, entries: list[dict]) -> dict:
    bd = data.truth["buyer_days"]
    shops = []
    for spec in data.shops:
        m = data.messages[data.messages["shop"] == spec.name]
        shops.append({
            "shop": spec.name, "platform": spec.platform, "folder": spec.slug,
            "agents": spec.agent_ids(), "robot": spec.robot_id,
            "messages": int(len(m)),
            "chat_buyers": int(m["buyer_id"].nunique()),
            "buyer_days": int((bd["shop"] == spec.name).sum()),
            "orders": int((data.orders["shop"] == spec.name).sum()),
            "excluded": int((data.excluded["shop"] == spec.name).sum()),
        })
    totals = {k: int(sum(e["rows"] for e in entries if e["kind"] == k))
              for k in ("messages", "orders", "excluded")}
    return {
        "generator": "cskit.sample", "seed": data.seed, "start": data.start.isoformat(),
        "days": data.days, "end_exclusive": data.end.isoformat(),
        "timezone": "Asia/Shanghai (times are shop-local; PDD JSON ts = UTC epoch)",
        "totals": totals, "shops": shops, "files": entries,
    }


def _readme(data: SampleData, manifest: dict) -> str:
    t = manifest["totals"]
    bd = data.truth["buyer_days"]
    lines = [
        "# cskit sample data",
        "",
        "Synthetic, deterministic data for trying cskit and for its tests. **Nothing here is",
        "real**: shops, buyers, agents, chats and orders are generated by `cskit/sample.py`;",
        "names, phones and addresses in the order files are masked fakes (`王**`,",
        "`13x*****000x`, `##…`).",
        "",
        f"* seed `{data.seed}`, {data.days} days from {data.start.isoformat()} "
        f"(a Monday) to {(data.end - timedelta(days=1)).isoformat()}, shop-local time",
        f"* {t['messages']} messages, {t['orders']} orders, {t['excluded']} excluded buyers, "
        f"{bd['buyer_id'].nunique()} chatting buyers in {len(bd)} buyer-days",
        "",
        "Regenerate (byte-identical for the same seed):",
        "",
        "```sh",
        "python -m cskit.sample sample_data            # this folder",
        "python -m cskit.sample OUT --seed 7           # another seed",
        "python -m cskit.sample OUT --messages 1000000 # a benchmark file OUT/messages_1000000.csv",
        "```",
        "",
        "Then: `cskit ingest sample_data/*/` (each folder's `cskit.toml` gives the default",
        "`--shop` / `--platform` for the files in it).",
        "",
        "## Shops",
        "",
        "| folder | shop | platform | agents | messages | orders | excluded |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in manifest["shops"]:
        lines.append(f"| `{s['folder']}/` | {s['shop']} | {s['platform']} | "
                     f"{', '.join(a.split(':')[1] for a in s['agents'])} | {s['messages']} | "
                     f"{s['orders']} | {s['excluded']} |")
    lines += [
        "",
        "## Files",
        "",
        "`MANIFEST.json` lists every file with its kind, format, platform, shop and the exact",
        "number of canonical rows a reader must produce from it (`rows`; for order files",
        "after collapsing line rows — `lines` is the number of data lines). Every message,",
        "order and excluded buyer is in exactly one file. `carries` names the canonical",
        "columns a file really has: `conversation_id` exists only in the canonical CSVs,",
        "`msg_id` is the PDD msg_id, the tabular 消息序号 or the canonical id.",
        "",
        "| file | kind | format | rows |",
        "|---|---|---|---|",
    ]
    for e in manifest["files"]:
        lines.append(f"| `{e['path']}` | {e['kind']} | {e['format']} ({e['encoding']}) | "
                     f"{e['rows']} |")
    lines += [
        "",
        "## Formats",
        "",
        "* **PDD chats** — PDD message-API JSON Lines, one file per week: `msg_id, type, content,",
        "  ts, from{role,uid}, to{role,uid}, nickname, is_aut, cs_uid, template_name`. `ts` is",
        "  the UTC epoch (= local time − 8 h). Buyers are `from.role = user` with a numeric uid;",
        "  agents `mall_cs` with `from.uid = cs_uid = 店铺:子账号`; robot replies have `is_aut = 1`;",
        "  `type` 0 text, 1 image (URL content), 31 system (a transfer notice `由 A 转交给 B`,",
        "  `cs_uid` = B).",
        "* **Taobao chats, week 1** — Qianniu transcripts, one `.txt` per day (UTF-8, CRLF):",
        "  header `nick 2026-11-9 9:05:07` (not zero-padded), content line, optional 已读/未读",
        "  after seller messages; conversations one after another separated by a blank line;",
        "  agents are `潮流服饰专营店:小美`; robot replies are `潮流服饰专营店:店小蜜` with content",
        "  starting `[自动回复]`; a transfer notice line `由 A 转交给 B` is a system message",
        "  stamped with the header time above it; noise lines (`… 撤回了一条消息`,",
        "  `当前用户来自 …`) are not messages.",
        "* **Taobao chats, week 2** — browser-extension tables `客户名, 消息序号, 发送时间, 发送内容,",
        "  发送账号, 账号类型` (账号类型 买家/客服/机器人/系统): an XLSX with a title row above the",
        "  header, and the last day as a GB18030 CSV. 消息序号 numbers each customer's messages.",
        "* **JD and Douyin chats** — canonical CSV (header = canonical column names).",
        "* **Orders** — PDD `订单查询 → 导出` (UTF-8, newer layout starting with 订单成交时间; this",
        "  sample adds a `用户ID` column equal to the chat uid so orders link to chats — real files",
        "  may lack it); Taobao `ExportOrderList` (GB18030, headers with trailing spaces, `=\"…\"`",
        "  order ids, 买家会员名 = the chat nick); JD (GB18030, 下单帐号 = the chat buyer); Douyin",
        "  抖店 (UTF-8 with BOM, `\"\\t…\"` ids, `-` for empty, `##…`/`$$…` encrypted personal data,",
        "  one order with a second line for a free gift at 0.00; **no buyer column**, so Douyin",
        "  orders cannot be linked to chats).",
        "* **Excluded buyers** — `黑名单.csv` per shop: `买家ID, 原因 (举报/拉黑), 时间`.",
        "",
        "Status mapping used by the plan: PDD 待支付/待发货/已发货，待签收/已签收/已取消/未发货，退款成功;",
        "Taobao 等待买家付款/买家已付款，等待卖家发货/卖家已发货，等待买家确认/交易成功/交易关闭;",
        "JD 等待付款/等待出库/等待确认收货/完成/已取消; Douyin 待支付/备货中/已发货/已完成/已关闭 →",
        "unpaid/paid/shipped/completed/closed(/refunded).",
        "",
        "## What was planted",
        "",
        "Buyers arrive mostly 10–11h and 20–22h, some before 08:00 and after 23:00; each",
        "conversation has 1–3 rounds of 1–4 buyer messages, a robot greeting sometimes",
        "(robot replies are not replies), human replies mostly within a minute, some after 1–3",
        "minutes, some after more than 5 minutes, about 3 % never (the last round), a few",
        "transferred to another agent; 2–5 % are after-sale buyers with an earlier order.",
        "About a third of inquiring buyers order within 0–3 days of their last chat; 20 % more",
        "orders are silent (no chat). On 2026-11-18 each main shop has edge cases: a reply after",
        "exactly 300 s (on time) and 301 s (late), 22:58 answered at 23:02 (on time) and 23:04",
        "(late), a message at 23:00:00 and one at 07:59:59 never answered (outside the window),",
        "08:00:00 answered after 400 s, a robot-only conversation, and three messages where only",
        "the first waited more than 300 s. `generate()` returns the plan (`truth`) for tests.",
        "",
    ]
    return "\n".join(lines)


# =============================================================================== bulk


def generate_messages_bulk(n_messages: int, seed: int = DEFAULT_SEED, *,
                           shops: int | Sequence[ShopSpec] = 8, start: date = DEFAULT_START,
                           days: int = 90) -> pd.DataFrame:
    """Exactly ``n_messages`` canonical messages (all columns filled), fully vectorised.

    Same conversation model as :func:`generate` (arrival peaks, robot greetings,
    human delays, transfers, multi-round chats, night messages), spread over ``days``
    days and ``shops`` shops; sorted by shop then time.  ~10 M rows take well under a
    minute.  Deterministic for a given seed.
    """
    import pyarrow.compute as pc

    if n_messages < 0:
        raise ValueError("n_messages must be ≥ 0")
    specs = bulk_shops(shops) if isinstance(shops, int) else list(shops)
    if not specs:
        raise ValueError("at least one shop is needed")
    if n_messages == 0:
        return _empty_messages()
    share = np.array([s.share for s in specs])
    per_msg = 6.6  # messages per buyer (≈ 1.24 conversations of ≈ 5.8 messages)
    factor = 1.0
    for attempt in range(8):
        rng = np.random.default_rng([seed, attempt])
        n_buyers = np.maximum(1, np.round(n_messages / per_msg * factor * share / share.sum())
                              ).astype(np.int64)
        sim = _simulate(rng, specs, n_buyers, start, days, after_sale_rate=0.03)
        if len(sim.m_conv) >= n_messages:
            break
        factor *= 1.05 * n_messages / max(1, len(sim.m_conv))
    else:  # pragma: no cover - the estimate converges in one or two attempts
        raise RuntimeError("could not reach the requested number of messages")

    ordered_conv = rng.random(len(sim.c_shop)) < 0.35
    pool, offset, length = _phrase_table(specs)
    # transfer notices: one pool entry per (agent, agent) pair
    A = len(sim.agent_ids)
    pairs = [f"由 {a} 转交给 {b}" for a in sim.agent_ids for b in sim.agent_ids]
    sys_base = len(pool)
    pool = pa.concat_arrays([pool, pa.array(pairs + ["[图片]"], pa.string())])
    img_idx = len(pool) - 1
    cidx = _content_index(rng, sim, offset, length, ordered_conv)
    sysm = sim.m_sender == SYSTEM
    conv_all = sim.m_conv
    cidx = np.where(sysm, sys_base + sim.c_agent1[conv_all] * A + sim.c_agent2[conv_all], cidx)
    img = (sim.m_sender == BUYER) & (rng.random(len(cidx)) < 0.03) & ~(
        (sim.m_pos == 0) & (sim.r_k[sim.m_round] == 0))
    cidx = np.where(img, img_idx, cidx)

    # keep the first n messages in time order, then order by shop and time
    t = sim.m_time
    keep = np.argsort(t, kind="stable")[:n_messages]
    shop_of = sim.c_shop[conv_all[keep]]
    keep = keep[np.lexsort((np.arange(len(keep)), t[keep], shop_of))]
    conv = conv_all[keep]
    shop_idx = sim.c_shop[conv]
    sender = sim.m_sender[keep]
    agent = sim.m_agent[keep]

    # strings via Arrow takes (no Python loop over rows)
    S = len(specs)
    names = pa.array([s.name for s in specs], pa.string())
    platforms = pa.array([s.platform for s in specs], pa.string())
    # buyer ids per shop
    B = len(sim.buyer_shop)
    buyer_pool = np.empty(B, dtype=object)
    for s, spec in enumerate(specs):
        sel = np.flatnonzero(sim.buyer_shop == s)
        buyer_pool[sel] = _buyer_ids(rng, spec, len(sel), nicknames=False)
    buyer_arr = pa.array(buyer_pool, pa.string())
    slugs = pa.array([s.slug for s in specs], pa.string()).take(pa.array(sim.c_shop))
    day_str = pa.array(pd.Series(np.datetime64(start, "D") + np.arange(days)).dt.strftime("%Y%m%d")
                       .to_numpy(dtype=object), pa.string()).take(pa.array(sim.c_day))
    conv_no = pd.Series(np.ones(len(sim.c_shop), np.int64)).groupby(
        [sim.c_shop, sim.c_day]).cumsum().to_numpy()
    conv_ids = pc.binary_join_element_wise(slugs, day_str, _digits(conv_no, 5), "-")
    agent_pool = pa.array(list(sim.agent_ids) + [s.robot_id for s in specs] + [None], pa.string())
    a_idx = np.where(agent >= 0, agent, np.where(agent == -2, A + shop_idx, A + S))
    msg_type_pool = pa.array(["text", "image", "transfer"], pa.string())
    mt = np.where(sysm[keep], 2, np.where(img[keep], 1, 0))
    # msg ids: per shop, increasing with time
    rank = _pos_in_group(np.bincount(shop_idx, minlength=S))
    msg_id = pa.array(shop_idx.astype(np.int64) * 10**12 + 10**14 + rank).cast(pa.string())
    table = pa.table({
        "shop": names.take(pa.array(shop_idx)),
        "platform": platforms.take(pa.array(shop_idx)),
        "conversation_id": conv_ids.take(pa.array(conv)),
        "buyer_id": buyer_arr.take(pa.array(sim.c_buyer[conv])),
        "agent_id": agent_pool.take(pa.array(a_idx)),
        "sender": pa.array(["buyer", "agent", "bot", "system"], pa.string()).take(
            pa.array(sender.astype(np.int64))),
        "sent_at": pa.array(t[keep].astype("datetime64[s]"), pa.timestamp("s")),
        "content": pool.take(pa.array(cidx[keep])),
        "msg_type": msg_type_pool.take(pa.array(mt)),
        "msg_id": msg_id,
    })
    return table.to_pandas()


def _empty_messages() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in MESSAGE_COLUMNS})
    df["sent_at"] = pd.Series(dtype="datetime64[s]")
    return df


# =============================================================================== CLI


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cskit.sample OUT_DIR [--seed N] [--messages N] [--shops N] [--days N]``.

    Without ``--messages`` the full sample is written to OUT_DIR; with it, one
    canonical CSV ``OUT_DIR/messages_<N>.csv`` of N bulk messages.  Prints nothing.
    """
    ap = argparse.ArgumentParser(prog="python -m cskit.sample",
                                 description="Write cskit's deterministic sample data.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--messages", type=int, default=None,
                    help="write N bulk canonical messages instead of the sample")
    ap.add_argument("--shops", type=int, default=None, help="bulk: number of shops (8)")
    ap.add_argument("--days", type=int, default=None, help="days (sample 14, bulk 90)")
    args = ap.parse_args(argv)
    if args.messages is not None:
        df = generate_messages_bulk(args.messages, args.seed, shops=args.shops or 8,
                                    days=args.days or 90)
        write_canonical_csv(df, args.out_dir / f"messages_{args.messages}.csv")
        return 0
    data = generate(args.seed, days=args.days or 14)
    write_sample(args.out_dir, data)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
