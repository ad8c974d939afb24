"""A tiny store for the chart and report tests (hand-checkable numbers).

店A, pdd5 rule (08:00-23:00, 300 s):

* 2026-W46: b4 Mon 11-09 09:00 answered 09:01 by 小美 → 1 consulting buyer, 0 unreplied.
* 2026-W47:
  - b1 Mon 11-16 09:00 answered 09:02 by 小美 (on time); b1 orders and pays 59.00 at 09:30.
  - b2 Mon 11-16 10:00 "=1+1" (a formula-like chat line) never answered → unreplied.
  - b3 Tue 11-17 14:00 "包邮吗", a robot greeting at 14:00:05, 阿强 answers 14:10 (600 s: late).
  - b5 Sun 11-22 20:00 answered 20:01 by 小美.
  By day: 11-16 2 buyers / 1 unreplied (50%), 11-17 1 / 1 (0%), 11-22 1 / 0 (100%);
  the week: 4 buyers, 2 unreplied → 50.0%; W46 100.0% → -50.0 percentage points.

Also the chart-test helpers: :func:`glyph_problems` (matplotlib's missing-glyph complaints,
from warnings and logging) and :func:`png_ok` (a real, non-trivial PNG).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from pathlib import Path

import numpy as np

CHAT_HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
CHATS = [
    "店A,pdd,,b4,,buyer,2026-11-09 09:00:00,你好,,",
    "店A,pdd,,b4,店A:小美,agent,2026-11-09 09:01:00,在的亲,,",
    "店A,pdd,,b1,,buyer,2026-11-16 09:00:00,这个多少钱,,",
    "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:02:00,亲，59元,,",
    "店A,pdd,,b2,,buyer,2026-11-16 10:00:00,=1+1,,",
    "店A,pdd,,b3,,buyer,2026-11-17 14:00:00,包邮吗,,",
    "店A,pdd,,b3,店A:店小蜜,bot,2026-11-17 14:00:05,您好，欢迎光临,,",
    "店A,pdd,,b3,店A:阿强,agent,2026-11-17 14:10:00,包邮的,,",
    "店A,pdd,,b5,,buyer,2026-11-22 20:00:00,有现货吗,,",
    "店A,pdd,,b5,店A:小美,agent,2026-11-22 20:01:00,有的,,",
]
ORDER_HEADER = "shop,order_id,buyer_id,created_at,paid_at,amount,status\n"
ORDERS = ["店A,260516-000000000001,b1,2026-11-16 09:30:00,2026-11-16 09:31:00,59.00,paid"]


GLYPH = re.compile(r"Glyph \d+ .*missing from|findfont: Font family .* not found", re.I)


@contextlib.contextmanager
def glyph_problems():
    """Collect matplotlib's missing-glyph / missing-font complaints (warnings and logging)."""
    found: list[str] = []

    class H(logging.Handler):
        def emit(self, record):
            found.append(record.getMessage())

    h = H(level=logging.DEBUG)
    log = logging.getLogger("matplotlib")
    log.addHandler(h)
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            yield found
            found.extend(str(x.message) for x in w)
    finally:
        log.removeHandler(h)
    found[:] = [m for m in found if GLYPH.search(m)]


def png_ok(data: bytes, min_w: int = 400, min_h: int = 200, ink: float = 0.005) -> np.ndarray:
    """Assert ``data`` is a real, non-trivial PNG; its pixels."""
    import matplotlib.image as mpimg

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000
    img = mpimg.imread(io.BytesIO(data), format="png")
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h, (w, h)
    rgb = (img[..., :3].reshape(-1, 3) * 255).astype(np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    assert len(np.unique(packed)) > 20  # not a single colour
    assert (rgb < 230).any(axis=1).mean() > ink  # something is drawn on the white
    return img


def make_store(tmp_path: Path, *, orders: bool = True) -> Path:
    """Ingest the tiny data into ``tmp_path/store``; the store directory."""
    from cskit.ingest import ingest
    from cskit.store import Store

    src = tmp_path / "exports"
    src.mkdir()
    chats = src / "chats.csv"
    chats.write_text(CHAT_HEADER + "".join(r + "\n" for r in CHATS), encoding="utf-8")
    paths = [chats]
    if orders:
        o = src / "orders.csv"
        o.write_text(ORDER_HEADER + "".join(r + "\n" for r in ORDERS), encoding="utf-8")
        paths.append(o)
    root = tmp_path / "store"
    ingest(paths, Store(root))
    return root
