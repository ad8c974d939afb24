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

Modules: ``shops`` (shop specs), ``phrases`` (topics and the phrase table; the texts live
in ``cskit/data/sample_phrases.toml``), ``simulation`` (conversations), ``ids`` (buyer
ids), ``orders`` (products, order and 黑名单 planning, lost-sale truth), ``plan``
(:func:`generate`), ``layout`` (:class:`SampleData`, file per day), ``write_chats`` /
``write_orders`` (one writer per export format), ``bundle`` (:func:`write_sample`,
manifest, readme), ``bulk`` (:func:`generate_messages_bulk`), ``cli`` (:func:`main`).

Regenerate the committed sample with ``python -m cskit.sample sample_data``; a
benchmark file with ``python -m cskit.sample OUT_DIR --messages 1000000``.
"""

from .base import (
    AGENT,
    BOT,
    BUYER,
    DAY,
    DEFAULT_SEED,
    DEFAULT_START,
    EXCLUDED_COLUMNS,
    MESSAGE_COLUMNS,
    ORDER_COLUMNS,
    SENDER_NAMES,
    SYSTEM,
    UTC_OFFSET,
    WINDOW,
)
from .bulk import generate_messages_bulk
from .bundle import write_sample
from .cli import main
from .layout import (
    FMT_CANONICAL,
    FMT_GBK_CSV,
    FMT_PDD_JSON,
    FMT_QIANNIU,
    FMT_XLSX,
    SampleData,
)
from .orders import CATALOGUE, DOUYIN_GIFT, ITEM_ID_BASE, SPECS, STATUS_RAW
from .phrases import (
    AFTER_TOPICS,
    LOST_REASON,
    ORDER_P,
    PRE_TOPICS,
    SERVICE_LATE,
    SERVICE_NONE,
)
from .plan import generate
from .shops import ShopSpec, bulk_shops
from .simulation import SPECIAL_DAY, SPECIALS
from .write_chats import ROLE_ZH, TABULAR_HEADERS, write_canonical_csv

__all__ = [
    "AFTER_TOPICS",
    "AGENT",
    "BOT",
    "BUYER",
    "CATALOGUE",
    "DAY",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "DOUYIN_GIFT",
    "EXCLUDED_COLUMNS",
    "FMT_CANONICAL",
    "FMT_GBK_CSV",
    "FMT_PDD_JSON",
    "FMT_QIANNIU",
    "FMT_XLSX",
    "ITEM_ID_BASE",
    "LOST_REASON",
    "MESSAGE_COLUMNS",
    "ORDER_COLUMNS",
    "ORDER_P",
    "PRE_TOPICS",
    "ROLE_ZH",
    "SENDER_NAMES",
    "SERVICE_LATE",
    "SERVICE_NONE",
    "SPECIALS",
    "SPECIAL_DAY",
    "SPECS",
    "STATUS_RAW",
    "SYSTEM",
    "TABULAR_HEADERS",
    "UTC_OFFSET",
    "WINDOW",
    "SampleData",
    "ShopSpec",
    "bulk_shops",
    "generate",
    "generate_messages_bulk",
    "main",
    "write_canonical_csv",
    "write_sample",
]
