"""Simulated shops: :class:`ShopSpec`, the sample's main/tiny shops and :func:`bulk_shops`."""

from __future__ import annotations

from dataclasses import dataclass

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
