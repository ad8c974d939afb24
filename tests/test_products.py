"""Issue 16 items 1-2: chats and orders linked to products, and `cskit products`.

A JD shop, week 2026-W19 (05-04 … 05-10), products A = 100012345678 (洗衣液 2kg, ¥39.90)
and B = 100012345679 (柔顺剂, ¥29.90).  Hand-computed expectations in each test."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from cskit.ingest import ingest
from cskit.products.link import catalogue, message_links, normalise_titles, order_products
from cskit.store import Store
from tests.chatlog import run

SHOP = "京东店"
A, B = "100012345678", "100012345679"
CHAT_HEADER = "shop,platform,buyer_id,agent_id,sender,sent_at,content,sku\n"


def _chat(buyer, day, content, sku="", reply=True, t="10:00:00"):
    rows = [f"{SHOP},jd,{buyer},,buyer,2026-{day} {t},{content},{sku}"]
    if reply:
        rows.append(f"{SHOP},jd,{buyer},{SHOP}:小王,agent,2026-{day} {t[:3]}01:00,您好 在的,")
    return rows


CHATS = [
    *_chat("b1", "05-05", "这个有货吗", sku=A),                       # A by the SKU column
    *_chat("b2", "05-05", "看看 https://item.jd.com/100012345679.html"),  # B by a link
    *_chat("b3", "05-06", "「洗衣液 2KG」还有吗 太贵了 便宜点"),         # A by a quoted title
    *_chat("b4", "05-06", "https://item.taobao.com/item.htm?id=123456789"),  # other platform
    *_chat("b5", "05-06", "洗衣液有货吗"),                             # not a title: unlinked
    *_chat("b6", "04-28", "在吗", sku=A),                              # A, the week before
    *_chat("b7", "05-07", "这款呢", sku=B, reply=False),                # not served: no inquiry
]
JD_HEADER = ("订单号,商品ID,商品名称,订购数量,支付方式,下单时间,京东价,订单金额,结算金额,应付金额,"
             "订单状态,订单类型,下单帐号,运费金额,付款确认时间,订单完成时间,订单来源\n")
ORDERS = [
    f"285000000001,{A},洗衣液 2kg,1,在线支付,2026-05-05 11:00:00,39.90,39.90,39.90,39.90,完成,一般订单,b1,0,2026-05-05 11:01:00,,京东商城",
    # b2 asked about B and bought A
    f"285000000002,{A},洗衣液 2kg,1,在线支付,2026-05-05 12:00:00,39.90,39.90,39.90,39.90,完成,一般订单,b2,0,2026-05-05 12:01:00,,京东商城",
    # a later order: the data end is past every window
    f"285000000003,{B},柔顺剂,2,在线支付,2026-05-12 09:00:00,29.90,59.80,59.80,59.80,完成,一般订单,b9,0,2026-05-12 09:01:00,,京东商城",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("products")
    (d / "chats.csv").write_text(CHAT_HEADER + "".join(r + "\n" for r in CHATS), encoding="utf-8")
    (d / "jd_orders.csv").write_text(JD_HEADER + "".join(r + "\n" for r in ORDERS),
                                     encoding="utf-8")
    st = Store(d / "store")
    ingest([d / "chats.csv"], st)
    ingest([d / "jd_orders.csv"], st, shop=SHOP)
    return st


def test_the_sku_column_is_stored_and_ingest_stays_idempotent(store, tmp_path):
    msgs = store.read("messages", columns=["buyer_id", "sender", "item_id"])
    got = msgs[msgs["item_id"].notna()][["buyer_id", "item_id"]].values.tolist()
    assert sorted(got) == [["b1", A], ["b6", A], ["b7", B]]
    rep = ingest([store.root.parent / "chats.csv"], store)
    assert rep.totals()["rows_added"] == 0


def test_an_old_part_file_without_item_id_reads_as_empty(tmp_path):
    import pyarrow.parquet as pq

    d = tmp_path
    (d / "c.csv").write_text(CHAT_HEADER + "".join(r + "\n" for r in CHATS[:2]), encoding="utf-8")
    st = Store(d / "s")
    ingest([d / "c.csv"], st)
    for f in st.manifest().files:  # rewrite the part files as a store from before the column
        p = st.root / f.path
        pq.write_table(pq.read_table(p).drop_columns(["item_id"]), p)
    msgs = st.read("messages", columns=["buyer_id", "item_id"])
    assert len(msgs) == 2 and msgs["item_id"].isna().all()


def test_titles_compare_after_normalisation():
    got = normalise_titles(["【新款】T恤 黑色", "[新款]t恤黑色", "  ", None]).to_pylist()
    assert got == ["新款t恤黑色", "新款t恤黑色", None, None]


def test_links_come_only_from_what_the_data_says(store):
    items = store.read("order_items")
    cat = catalogue(items)
    msgs = store.read("messages")
    links = message_links(msgs, cat)
    got = sorted(zip(links["buyer_id"], links["product"], links["how"]))
    assert got == [("b1", A, "sku"), ("b2", B, "link"), ("b3", A, "title"), ("b6", A, "sku"),
                   ("b7", B, "sku")]


def test_a_title_shared_by_two_item_ids_links_nothing():
    items = pd.DataFrame({"shop": ["s", "s"], "order_id": ["1", "2"], "item_id": ["11", "22"],
                          "title": ["同名商品", "同名商品"], "quantity": [1, 1],
                          "price": [1.0, 2.0]})
    cat = catalogue(items)
    msgs = pd.DataFrame({"shop": ["s"], "platform": ["jd"], "buyer_id": ["x"],
                         "sender": ["buyer"], "sent_at": pd.to_datetime(["2026-05-05 10:00"]),
                         "content": ["同名商品"]})
    assert message_links(msgs, cat).empty
    # order lines keep their own ids
    assert sorted(order_products(items, cat)["product"]) == ["11", "22"]


def test_order_lines_without_a_price_have_unknown_value():
    items = pd.DataFrame({"shop": ["s", "s"], "order_id": ["1", "1"], "item_id": [None, None],
                          "title": ["裙子", "裙子 "], "quantity": [1, 2], "price": [10.0, None]})
    op = order_products(items, catalogue(items))
    assert op["product"].tolist() == ["title:裙子"] and op["units"].tolist() == [3.0]
    assert op["value"].isna().all()


def _json(*args):
    r = run("products", *args, "-f", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_products_week_numbers(store):
    rows = {r["product_id"]: r for r in _json("--store", store.root, "--week", "2026-W19")["rows"]}
    a, b = rows[A], rows[B]
    # A: b1 (sku, paid A) and b3 (quoted title, no order: lost, price)
    assert (a["inquiring_buyers"], a["paid_buyers"], a["lost_buyers"]) == (2, 1, 1)
    assert a["inquiry_conversion"] == pytest.approx(0.5)
    # paid orders created in the week with a line of A: b1's and b2's
    assert (a["paid_orders"], a["units"], a["sales"]) == (2, 2, pytest.approx(79.8))
    assert a["title"] == "洗衣液 2kg"
    # the week before: b6 asked about A and did not buy → +100 %, +50 points
    assert a["inquiring_buyers_prev"] == 1 and a["inquiring_change"] == pytest.approx(1.0)
    assert a["conversion_change"] == pytest.approx(0.5)
    assert a["lost_reason_ids"].startswith("price:1")
    # B: b2 asked (link) and bought A instead: not paid for B, not lost either; b7 was
    # never served (no inquiry)
    assert (b["inquiring_buyers"], b["paid_buyers"], b["lost_buyers"]) == (1, 0, 0)
    assert b["inquiry_conversion"] == 0 and b["paid_orders"] == 0
    assert b["inquiring_change"] is None  # nothing the week before: no ratio


def test_products_sort_and_top(store):
    rows = _json("--store", store.root, "--week", "2026-W19", "--sort", "lost_buyers",
                 "--top", "1")["rows"]
    assert [r["product_id"] for r in rows] == [A]


def test_products_unknown_without_order_lines(tmp_path):
    d = tmp_path
    (d / "chats.csv").write_text(CHAT_HEADER + "".join(r + "\n" for r in CHATS), encoding="utf-8")
    # an order list without lines: the generic order reader has no item lines
    (d / "orders.csv").write_text(
        "shop,order_id,buyer_id,created_at,paid_at,amount,status\n"
        f"{SHOP},o1,b1,2026-05-05 11:00:00,2026-05-05 11:01:00,39.9,paid\n"
        f"{SHOP},o9,b9,2026-05-12 09:00:00,2026-05-12 09:01:00,59.8,paid\n", encoding="utf-8")
    st = Store(d / "s")
    ingest([d / "chats.csv", d / "orders.csv"], st)
    r = run("products", "--store", st.root, "--week", "2026-W19", "-f", "json", "--lang", "en")
    assert r.exit_code == 0, r.output
    rows = {x["product_id"]: x for x in json.loads(r.stdout)["rows"]}
    # no titles to compare with: b3's quote links nothing, the SKU column still does
    assert rows[A]["inquiring_buyers"] == 1
    assert rows[A]["paid_buyers"] is None and rows[A]["inquiry_conversion"] is None
    assert rows[A]["sales"] is None
    assert "no order lines" in r.stderr


@pytest.mark.parametrize("width", [80, 120])
def test_products_table_fits(store, width):
    from rich.console import Console

    from cskit.cli.products import PRODUCT_TABLE_COLUMNS
    from cskit.kpi import parse_week
    from cskit.products.table import products_table, sort_top
    from cskit.render import print_table

    frame = sort_top(products_table(store, period=parse_week("2026-W19")))
    buf = io.StringIO()
    print_table(Console(file=buf, width=width, no_color=True), frame, PRODUCT_TABLE_COLUMNS,
                lang="zh", title="商品")
    from rich.cells import cell_len

    text = buf.getvalue()
    assert max(cell_len(line) for line in text.splitlines()) <= width, text
    assert "洗衣液 2kg" in text and "价格 1" in text and "50.0%" in text, text


def test_products_csv_and_xlsx(store, tmp_path):
    r = run("products", "--store", store.root, "--week", "2026-W19", "-f", "csv")
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("shop,title,product_id,inquiring_buyers,")
    out = tmp_path / "p.xlsx"
    r = run("products", "--store", store.root, "--week", "2026-W19", "-f", "xlsx", "-o", out)
    assert r.exit_code == 0 and out.stat().st_size > 0


def test_lost_reasons_are_cskit_lost_s(store):
    """The reason mix of a product is `cskit lost --list`'s primary reason of its lost
    buyer-days (the same classification, only restricted to the linked buyers)."""
    r = run("lost", "--store", store.root, "--week", "2026-W19", "--list", "-f", "json")
    assert r.exit_code == 0, r.output
    lost = {x["buyer_id"]: x["reason_id"] for x in json.loads(r.stdout)["rows"]}
    rows = {x["product_id"]: x for x in _json("--store", store.root, "--week", "2026-W19")["rows"]}
    # b3 is A's only lost buyer (b4, b5 are lost too but linked to no product)
    assert set(lost) == {"b3", "b4", "b5"}
    assert rows[A]["lost_reason_ids"] == f"{lost['b3']}:1"


def test_weekly_report_has_the_products_section(store, tmp_path):
    out = tmp_path / "rep"
    r = run("report", "--store", store.root, "--week", "2026-W19", "--out", out, "--no-charts")
    assert r.exit_code == 0, r.output
    rows = pd.read_csv(out / "products.csv", dtype={"product_id": str})
    a = rows[rows["product_id"] == A].iloc[0]
    assert (a["inquiring_buyers"], a["paid_buyers"], a["lost_buyers"]) == (2, 1, 1)
    page = (out / "index.html").read_text("utf-8")
    section = page[page.index("<h2>商品询单分析"):page.index("<h2>文件")]
    assert "洗衣液 2kg" in section and "50.0%" in section and "products.csv" in section
