"""The sample's service ratings (服务评价): planned from the simulated chats, written as each
platform's rating export.  Douyin gets none, so the sample shows an unknown 满意率.

Plan (own random stream, so nothing else of the sample changes): every served buyer-day (a
buyer-day with a human agent message) is rated with the probability of the agent who wrote the
day's last agent message (cskit/data/sample_ratings.toml, by the agent's position in the shop),
5–30 minutes after that message, with a score drawn from the agent's weights; PDD's 客服评价 has
only 满意 / 不满意 (scores 4–5 become 4, 1–3 become 2).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["plan_ratings", "write_ratings", "RATING_FILES"]

_CFG = tomllib.loads(resources.files("cskit").joinpath("data/sample_ratings.toml")
                     .read_text(encoding="utf-8"))
#: platform → (file name, encoding, headers: agent, buyer, time, rating, comment)
RATING_FILES = {
    "taobao": ("服务评价_2026-11.csv", "gb18030", ("被评价客服", "买家昵称", "评价时间", "评价结果", "评价内容")),
    "jd": ("满意度评价.csv", "gb18030", ("客服账号", "用户", "评价时间", "满意度", "评价内容")),
    "pdd": ("客服评价.csv", "utf-8-sig", ("客服", "买家", "评价时间", "评价", "评价内容")),
}
_WORDS = {5: "很满意", 4: "满意", 3: "一般", 2: "不满意", 1: "很不满意"}
_PDD = {5: "满意", 4: "满意", 3: "不满意", 2: "不满意", 1: "不满意"}


def plan_ratings(data) -> pd.DataFrame:
    """shop, platform, agent_id, buyer_id, rated_at, score (as stored), comment."""
    rng = np.random.default_rng([data.seed, 18])
    plat = {s.name: s.platform for s in data.shops}
    pos = {a: i for s in data.shops for i, a in enumerate(s.agent_ids())}
    m = data.messages
    a = m[(m["sender"] == "agent").to_numpy() & m["agent_id"].notna().to_numpy()]
    a = a[a["shop"].map(plat).isin(list(RATING_FILES)).to_numpy()]
    a = a.assign(date=a["sent_at"].dt.date).sort_values("sent_at", kind="stable")
    last = a.groupby(["shop", "buyer_id", "date"], sort=True).tail(1)
    last = last.sort_values(["shop", "sent_at", "buyer_id"], kind="stable").reset_index(drop=True)
    cfg = _CFG["agents"]
    k = np.minimum(last["agent_id"].map(pos).to_numpy(dtype=int), len(cfg) - 1)
    rated = rng.random(len(last)) < np.array([c["rate"] for c in cfg])[k]
    u = rng.random(len(last))
    cum = np.cumsum(np.array([c["scores"] for c in cfg]), axis=1)[k]
    score = 5 - (u[:, None] > cum).sum(axis=1)  # index 0 → 5, 1 → 4 …
    delay = rng.integers(300, 1801, len(last))
    pick = rng.random(len(last))
    out = last[rated].reset_index(drop=True)
    score, delay, pick = score[rated], delay[rated], pick[rated]
    pdd = (out["shop"].map(plat) == "pdd").to_numpy()
    score = np.where(pdd, np.where(score >= 4, 4, 2), score)
    comments = [_CFG["comments"][str(s)] for s in score]
    comment = [c[int(p * len(c))] for c, p in zip(comments, pick)]
    return pd.DataFrame({
        "shop": out["shop"], "platform": out["shop"].map(plat), "agent_id": out["agent_id"],
        "buyer_id": out["buyer_id"],
        "rated_at": (out["sent_at"] + pd.to_timedelta(delay, unit="s")).dt.floor("s"),
        "score": score.astype(int), "comment": comment})


def write_ratings(root: Path, data, specs: dict) -> list[dict]:
    """One rating export per shop of a platform that has one; the manifest entries."""
    plan = plan_ratings(data)
    entries = []
    for spec in data.shops:
        if spec.platform not in RATING_FILES:
            continue
        name, enc, heads = RATING_FILES[spec.platform]
        part = plan[plan["shop"] == spec.name]
        words = _PDD if spec.platform == "pdd" else _WORDS
        rating = part["score"].map(words) if spec.platform != "jd" else part["score"].astype(str)
        frame = pd.DataFrame({heads[0]: part["agent_id"], heads[1]: part["buyer_id"],
                              heads[2]: part["rated_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                              heads[3]: rating, heads[4]: part["comment"]})
        rel = f"{spec.slug}/{name}"
        (root / rel).write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode(enc))
        entries.append({"path": rel, "kind": "ratings", "format": f"ratings_{spec.platform}_csv",
                        "platform": spec.platform, "shop": spec.name, "rows": int(len(part)),
                        "encoding": enc})
    return entries
