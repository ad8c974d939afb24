"""Shared by the CLI tests: the canonical chat CSV header, a store ingested from a few chat
rows (and order / other export texts), and the CLI runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from cskit.cli import app
from cskit.ingest import ingest
from cskit.store import Store

HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"


def chat_store(directory: Path, chats: list[str], orders: str | None = None, *,
               extra: tuple[tuple[str, str], ...] | list = (), orders_kind: str | None = None) -> Path:
    """Write ``chats.csv`` (HEADER + rows), ``orders.csv`` and the ``extra`` (name, text)
    files into ``directory`` and ingest them into ``directory/store`` in one ingest
    (with ``orders_kind``: the orders in a second ingest of that kind); the store root."""
    texts = [("chats.csv", HEADER + "".join(r + "\n" for r in chats))]
    if orders is not None and not orders_kind:
        texts.append(("orders.csv", orders))
    for name, text in [*texts, *extra]:
        (directory / name).write_text(text, encoding="utf-8")
    store = Store(directory / "store")
    ingest([directory / name for name, _ in [*texts, *extra]], store)
    if orders is not None and orders_kind:
        (directory / "orders.csv").write_text(orders, encoding="utf-8")
        ingest([directory / "orders.csv"], store, kind=orders_kind)
    return store.root


def run(*args):
    """The CLI with ``args`` (paths and numbers as text)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def bulk_orders(m: pd.DataFrame) -> pd.DataFrame:
    """An order 10 minutes after the first message of every third buyer, two in three paid."""
    first = m[m["sender"] == "buyer"].groupby(["shop", "buyer_id"], as_index=False).first()
    first = first.iloc[::3].reset_index(drop=True)
    n = len(first)
    created = first["sent_at"] + pd.Timedelta(minutes=10)
    paid = created.where(np.arange(n) % 3 != 0) + pd.Timedelta(minutes=5)
    return pd.DataFrame({
        "shop": first["shop"], "platform": first["platform"],
        "order_id": [f"o{i:06d}" for i in range(n)], "buyer_id": first["buyer_id"],
        "created_at": created, "paid_at": paid, "amount": 50.0 + np.arange(n) % 7,
        "status": np.where(paid.notna(), "paid", "unpaid"), "status_raw": "",
        "item_id": "", "item_title": "", "quantity": 1, "source_file": "orders.csv",
        "source_row": np.arange(n) + 2})


def bulk_store(directory: Path, *, shops: int, big: int, big_rows: int, small_rows: int) -> Store:
    """A generated many-shop store over 62 days with orders: the first ``big`` of ``shops``
    bulk shops get ``big_rows`` messages (several month slices each), the others share
    ``small_rows`` (packed in groups) — the local-pool and Dask engine tests' store."""
    from cskit.sample import bulk_shops, generate_messages_bulk

    specs = bulk_shops(shops)
    m = pd.concat([generate_messages_bulk(big_rows, seed=7, shops=specs[:big], days=62),
                   generate_messages_bulk(small_rows, seed=8, shops=specs[big:], days=62)],
                  ignore_index=True)
    m["source_file"] = "chats.csv"
    m["source_row"] = np.arange(len(m)) + 2
    st = Store(directory / "store")
    with st.transaction() as tx:
        tx.append("messages", m)
        tx.append("orders", bulk_orders(m))
    return st
