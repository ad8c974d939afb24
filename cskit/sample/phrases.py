"""Topics and the phrase table of the simulated conversations (texts in ``cskit/data/sample_phrases.toml``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from .shops import ShopSpec

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
