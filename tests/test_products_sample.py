"""Issue 16 item 4 (products): `cskit products` on the generated sample shows the numbers
the generator planned (truth["product_refs"], computed here from the plan and the planned
orders, never copied)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cskit.ingest import ingest
from cskit.sample import generate, write_sample
from cskit.store import Store
from tests.chatlog import run

WEEK = ("2026-11-16", "2026-11-22")  # 2026-W47, the sample's second week
PAID = ("paid", "shipped", "completed")
W = pd.Timedelta(days=3)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("psample")
    data = generate()
    write_sample(d / "in", data)
    st = Store(d / "store")
    ingest([d / "in"], st)
    r = run("products", "--store", st.root, "--week", "2026-W47", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = {(x["shop"], x["product_id"]): x for x in json.loads(r.stdout)["rows"]}
    return data, rows


def _expected(data) -> pd.DataFrame:
    """Per planted buyer-day of the week: product, paid (a paid order of the product in the
    72-hour window), paid_any, window closed at the shop's data end."""
    refs = data.truth["product_refs"]
    refs = refs[(refs["date"] >= pd.Timestamp(WEEK[0])) & (refs["date"] <= pd.Timestamp(WEEK[1]))]
    o = data.orders
    m = data.messages
    end = pd.concat([m.groupby("shop")["sent_at"].max(), o.groupby("shop")["created_at"].max(),
                     o.groupby("shop")["paid_at"].max()], axis=1).max(axis=1)
    paid = o[o["status"].isin(PAID)][["shop", "buyer_id", "created_at", "item_id"]]
    x = refs.reset_index(drop=True).reset_index().merge(paid, on=["shop", "buyer_id"],
                                                        how="left")
    f = pd.to_datetime(x["first_msg_at"])
    inwin = (x["created_at"] >= f) & (x["created_at"] <= f + W)
    x["any"] = inwin
    x["own"] = inwin & (x["item_id"] == x["product"])
    g = x.groupby("index").agg(any=("any", "any"), own=("own", "any"))
    out = refs.reset_index(drop=True).join(g)
    out["closed"] = (pd.to_datetime(out["first_msg_at"]) + W
                     <= out["shop"].map(end).to_numpy())
    return out


def test_every_planted_product_and_only_those(sample):
    data, rows = sample
    exp = _expected(data)
    asked = {(s, p) for (s, p), r in rows.items() if r["inquiring_buyers"]}
    assert asked == set(zip(exp["shop"], exp["product"]))
    # every way of referring to a product was planted and is read back
    assert set(data.truth["product_refs"]["how"]) == {"link", "card", "title", "sku"}


def test_inquiring_paid_and_lost_buyers_are_the_plans(sample):
    data, rows = sample
    exp = _expected(data)
    known = {"花语家居旗舰店", "极客数码京东专营店"}  # orders with buyer ids and order lines
    for (shop, product), e in exp.groupby(["shop", "product"]):
        r = rows[(shop, product)]
        assert r["inquiring_buyers"] == len(e), (shop, product)
        if shop in known:
            assert r["paid_buyers"] == int(e["own"].sum()), (shop, product)
            assert r["lost_buyers"] == int((~e["any"] & e["closed"]).sum()), (shop, product)
            assert r["inquiry_conversion"] == pytest.approx(e["own"].mean(), abs=1e-6)
        else:  # Taobao: no order lines; Douyin: no buyer ids — unknown, never 0
            assert r["paid_buyers"] is None and r["inquiry_conversion"] is None
    # the sample plants enough to matter: both known shops have paying and lost inquiries
    for shop in known:
        mine = [r for (s, _), r in rows.items() if s == shop]
        assert sum(r["paid_buyers"] or 0 for r in mine) > 0
        assert sum(r["lost_buyers"] or 0 for r in mine) > 0


def test_sales_are_the_planned_paid_orders(sample):
    data, rows = sample
    o = data.orders
    o = o[o["status"].isin(PAID) & (o["created_at"] >= pd.Timestamp(WEEK[0]))
          & (o["created_at"] < pd.Timestamp(WEEK[1]) + pd.Timedelta(days=1))]
    for shop in ("花语家居旗舰店", "极客数码京东专营店"):
        for item, g in o[o["shop"] == shop].groupby("item_id"):
            r = rows[(shop, item)]
            assert r["paid_orders"] == len(g)
            assert r["units"] == int(g["quantity"].sum())
            if shop == "花语家居旗舰店":  # PDD: no unit price, one product per order: 实付
                assert r["sales"] == pytest.approx(g["amount"].sum())
            else:
                assert r["sales"] is not None
