"""Shared by the CLI tests: the canonical chat CSV header, a store ingested from a few chat
rows (and order / other export texts), and the CLI runner."""

from __future__ import annotations

from pathlib import Path

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
