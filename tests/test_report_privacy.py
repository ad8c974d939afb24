"""The weekly report's page masks long digit runs (phones, order numbers) in the buyer
messages it quotes, as every quote cskit shows does."""

from __future__ import annotations

import cskit.cli  # noqa: F401
from chatlog import chat_store, run

CHATS = [
    "店A,pdd,,b1,,buyer,2026-11-17 10:00:00,在吗 我电话13812345678,,",  # never answered
    "店A,pdd,,b2,,buyer,2026-11-17 11:00:00,有货吗,,",
    "店A,pdd,,b2,店A:小美,agent,2026-11-17 11:00:20,有的亲,,",
]


def test_unreplied_quotes_on_the_page_are_masked(tmp_path):
    store = chat_store(tmp_path, CHATS)
    out = tmp_path / "r"
    r = run("report", "--store", store, "--week", "2026-W47", "--out", out, "--no-charts")
    assert r.exit_code == 0, r.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "电话***" in page and "13812345678" not in page
