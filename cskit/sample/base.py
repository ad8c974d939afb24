"""Constants and small vectorised helpers shared by the sample generator modules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

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
