"""Which product a chat or an order is about (docs/products.md, "Linking").

A link is made only where the data says so; nothing is guessed:

* ``sku``   — the message row's own ``item_id`` (JD's SKU / 商品编号 column);
* ``link``  — a product link or goods card in the text with the item id
  (``cskit/data/product_refs.toml``), of the shop's own platform;
* ``title`` — a buyer message that *is* a product title of the shop, or quotes one in
  「」/“”/【】…, equal after :func:`normalise_titles` to a title in the shop's
  ``order_items`` (a title two different item ids share links to nothing).

Orders are linked through ``order_items`` (:func:`order_products`).  A product is the
platform's item id; a title that no order line gives an id for is its own product
(``product_id`` empty, keyed by the normalised title).  The links are computed when a
command reads the store, so they follow the order items ingested so far and old stores
read unchanged.  Vectorised: texts are matched in Arrow, distinct values once.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["RefRules", "load_ref_rules", "normalise_titles", "catalogue", "message_links",
           "order_products", "LINK_COLUMNS", "HOWS"]

#: how a chat was linked, in order of precedence (one reason per buyer-day and product)
HOWS = ("sku", "link", "title")
LINK_COLUMNS = ["shop", "buyer_id", "day", "product", "how"]
#: a product keyed by a title (no item id known) starts with this (never a digit)
TITLE_KEY = "title:"

# punctuation and spaces dropped when comparing titles (after NFKC and lower-casing)
_STRIP = r"[\s\p{P}\p{S}]+"


@dataclass(frozen=True)
class RefRules:
    links: tuple[tuple[str, str, str], ...]  # (platform, hint, pattern)
    pairs: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def load_ref_rules() -> RefRules:
    data = tomllib.loads(resources.files("cskit.data").joinpath("product_refs.toml")
                         .read_text("utf-8"))
    links = tuple((d["platform"], d.get("hint", ""), d["pattern"]) for d in data.get("link", []))
    pairs = tuple(p for p in data.get("quote", {}).get("pairs", []) if len(p) == 2)
    return RefRules(links, pairs)


def _arrow(s) -> pa.Array:
    """Text values as one Arrow string array (an Arrow-backed Series without a copy of
    Python objects; None/NaN become null)."""
    if isinstance(s, pa.ChunkedArray):
        a = s.combine_chunks()
    elif isinstance(s, pa.Array):
        a = s
    elif isinstance(s, pd.Series) and hasattr(s.array, "__arrow_array__") \
            and s.dtype.kind not in "iufcbM":
        a = pa.array(s.array)
    else:
        a = pa.array(pd.Series(s, dtype=object), type=pa.string(), from_pandas=True)
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if pa.types.is_dictionary(a.type):
        a = a.cast(a.type.value_type)
    return a.cast(pa.string()) if a.type != pa.string() else a


def normalise_titles(values) -> pa.Array:
    """NFKC, lower case, without spaces and punctuation: ``【新款】T恤 黑色`` and
    ``[新款]t恤黑色`` compare equal.  Empty results become null."""
    a = _arrow(values)
    a = pc.utf8_normalize(a, "NFKC")
    a = pc.utf8_lower(a)
    a = pc.replace_substring_regex(a, _STRIP, "")
    return pc.if_else(pc.equal(pc.utf8_length(a), 0), pa.scalar(None, pa.string()), a)


def catalogue(items: pd.DataFrame) -> pd.DataFrame:
    """Products of ``order_items`` (shop, item_id, title): one row per (shop, title_norm)
    with the product it names (``product``: the one item id its lines give, else
    ``title:<normalised title>``; null when the title has two or more item ids) and one row
    per (shop, item id) — columns shop, product, product_id, title, title_norm."""
    cols = ["shop", "product", "product_id", "title", "title_norm"]
    if items is None or items.empty:
        return pd.DataFrame(columns=cols)
    f = pd.DataFrame({"shop": items["shop"].astype(object).to_numpy(),
                      "item_id": items["item_id"].astype(object).where(
                          items["item_id"].notna(), None).to_numpy(),
                      "title": items["title"].astype(object).where(items["title"].notna(),
                                                                   None).to_numpy()})
    f["item_id"] = _ids(f["item_id"])
    f["title_norm"] = normalise_titles(f["title"]).to_pandas()
    # lines per distinct (shop, id, title): the display title is the most frequent one
    f = f.groupby(["shop", "item_id", "title_norm", "title"], dropna=False, sort=False) \
        .size().rename("n").reset_index()
    # ids per title: exactly one → the title names it; none → the title is its own product
    by_title = f[f["title_norm"].notna()].groupby(["shop", "title_norm"], sort=False,
                                                  dropna=False)
    n_ids = by_title["item_id"].nunique()
    one_id = by_title["item_id"].first()
    t = n_ids.rename("n").to_frame().join(one_id.rename("id")).reset_index()
    t["product"] = np.where(t["n"] == 1, t["id"].astype(object),
                            np.where(t["n"] == 0, TITLE_KEY + t["title_norm"].astype(str), None))
    # display title: the most frequent raw title of the product
    f = f.merge(t[["shop", "title_norm", "product"]], on=["shop", "title_norm"], how="left")
    f["product"] = f["item_id"].where(f["item_id"].notna(), f["product"])
    f = f[f["product"].notna()]
    shown = (f[f["title"].notna()].sort_values(["n", "title"], ascending=[False, True],
                                                kind="stable")
             .drop_duplicates(["shop", "product"]).set_index(["shop", "product"])["title"])
    t = t[t["product"].notna()]
    out = pd.concat([t[["shop", "product", "title_norm"]],
                     f.loc[f["item_id"].notna(), ["shop", "product"]].drop_duplicates()
                     .assign(title_norm=None)], ignore_index=True)
    out["product_id"] = out["product"].where(~out["product"].astype(str).str.startswith(TITLE_KEY),
                                             None)
    out = out.merge(shown.rename("title").reset_index(), on=["shop", "product"], how="left") \
        if len(shown) else out.assign(title=None)
    return out[cols].reset_index(drop=True)


def _distinct(s) -> tuple[pa.Array, np.ndarray]:
    """(distinct values, code per row; -1 = null) of a text column: a categorical's own
    categories, else a dictionary encoding in Arrow."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return (_arrow(pd.Series(s.cat.categories, dtype=object)),
                s.cat.codes.to_numpy(dtype=np.int64))
    enc = pc.dictionary_encode(_arrow(s))
    return enc.dictionary, enc.indices.fill_null(-1).to_numpy(zero_copy_only=False) \
        .astype(np.int64)


def _mask(s, value: str) -> np.ndarray:
    return (s == value).to_numpy(dtype=bool, na_value=False)


def _link_refs(values: pa.Array, codes: np.ndarray, platform: pd.Series,
               rules: RefRules) -> pd.DataFrame:
    """(row, item_id) for product links / cards of the row's own platform (``codes``: the
    rows' text codes into ``values``, -1 for rows not looked at)."""
    rows, ids = [], []
    for plat, hint, pattern in rules.links:
        sel = np.flatnonzero((codes >= 0) & _mask(platform, plat))
        if len(sel) == 0:
            continue
        uniq = np.unique(codes[sel])
        texts = values.take(pa.array(uniq))
        found = np.full(len(uniq), None, dtype=object)
        look = np.ones(len(uniq), dtype=bool) if not hint else \
            pc.fill_null(pc.match_substring(texts, hint), False).to_numpy(zero_copy_only=False)
        if look.any():
            at = np.flatnonzero(look)
            found[at] = _extract(texts.take(pa.array(at)), pattern) \
                .to_numpy(zero_copy_only=False)
        ok = pd.notna(found)
        if not ok.any():
            continue
        lookup = pd.Series(found[ok], index=uniq[ok])
        hit = sel[np.isin(codes[sel], uniq[ok])]
        rows.append(hit)
        ids.append(lookup.reindex(codes[hit]).to_numpy(dtype=object))
    if not rows:
        return pd.DataFrame({"row": np.zeros(0, np.int64), "product": np.zeros(0, object)})
    return pd.DataFrame({"row": np.concatenate(rows), "product": np.concatenate(ids)})


def _extract(texts: pa.Array, pattern: str) -> pa.Array:
    """The first group of ``pattern`` in each text (null where it does not match)."""
    import re

    n_groups = re.compile(pattern).groups
    # name the first capturing group so extract_regex can return it
    named, i, out = False, 0, []
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "(" and not named and pattern[i + 1:i + 2] != "?":
            out.append("(?P<id>")
            named = True
        else:
            out.append(ch)
        i += 1
    if not named or n_groups < 1:
        return pa.nulls(len(texts), pa.string())
    got = pc.extract_regex(texts, "".join(out))
    return pc.struct_field(got, "id")


def message_links(msgs: pd.DataFrame, cat: pd.DataFrame, rules: RefRules | None = None
                  ) -> pd.DataFrame:
    """Distinct (shop, buyer_id, day, product, how) of the messages ``msgs`` (columns shop,
    platform, buyer_id, sender, sent_at, content, item_id if present; text columns may be
    categoricals).  ``day`` is the calendar day (datetime64[D]).  Links from text come
    from the buyer's own messages; the ``item_id`` column counts on any message of the
    buyer's chat.  ``cat``: :func:`catalogue` of the shop's order items (for title
    matches).  Each distinct text is matched once."""
    rules = rules or load_ref_rules()
    out = []
    if msgs.empty:
        return pd.DataFrame(columns=LINK_COLUMNS)
    if "item_id" in msgs.columns:
        vals, codes = _distinct(msgs["item_id"])
        vals = pc.utf8_trim_whitespace(vals)
        good = pc.fill_null(pc.greater(pc.utf8_length(vals), 0), False) \
            .to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(codes >= 0)
        idx = idx[good[codes[idx]]]
        if len(idx):
            out.append(pd.DataFrame({"row": idx, "product": vals.to_numpy(
                zero_copy_only=False).astype(object)[codes[idx]], "how": "sku"}))
    buyer = _mask(msgs["sender"], "buyer")
    if buyer.any():
        values, codes = _distinct(msgs["content"])
        codes = np.where(buyer, codes, -1)
        lk = _link_refs(values, codes, msgs["platform"], rules)
        if len(lk):
            out.append(lk.assign(how="link"))
        titles = cat[cat["title_norm"].notna()] if len(cat) else cat
        if len(titles):
            tl = _title_refs(values, codes, msgs["shop"], titles, rules)
            if len(tl):
                out.append(tl.assign(how="title"))
    if not out:
        return pd.DataFrame(columns=LINK_COLUMNS)
    ref = pd.concat(out, ignore_index=True)
    rows = ref["row"].to_numpy()
    day = pd.to_datetime(msgs["sent_at"].iloc[rows]).to_numpy().astype("datetime64[D]")
    links = pd.DataFrame({"shop": msgs["shop"].iloc[rows].astype(object).to_numpy(),
                          "buyer_id": msgs["buyer_id"].iloc[rows].astype(object).to_numpy(),
                          "day": day, "product": ref["product"].to_numpy(dtype=object),
                          "how": pd.Categorical(ref["how"], categories=list(HOWS))})
    return (links.sort_values("how", kind="stable")
            .drop_duplicates(["shop", "buyer_id", "day", "product"])
            .sort_values(["shop", "day", "buyer_id", "product"], kind="stable")
            .assign(how=lambda f: f["how"].astype(str))
            .reset_index(drop=True)[LINK_COLUMNS])


def _title_refs(values: pa.Array, codes: np.ndarray, shop: pd.Series, titles: pd.DataFrame,
                rules: RefRules) -> pd.DataFrame:
    """(row, product) for buyer messages that are, or quote, a title of their shop."""
    uniq = np.unique(codes[codes >= 0])
    texts = values.take(pa.array(uniq))
    candidates = [normalise_titles(texts)]
    for pair in rules.pairs:
        o, c = (_re_escape(ch) for ch in pair)
        q = pc.extract_regex(texts, f"{o}(?P<q>[^{c}]+){c}")
        candidates.append(normalise_titles(pc.struct_field(q, "q")))
    wanted = pa.array(titles["title_norm"].astype(str).unique(), type=pa.string())
    rows, prods = [], []
    for cand in candidates:
        hit = pc.fill_null(pc.is_in(cand, value_set=wanted), False).to_numpy(zero_copy_only=False)
        if not hit.any():
            continue
        norm = pd.Series(cand.to_numpy(zero_copy_only=False)[hit], index=uniq[hit])
        sel = np.flatnonzero(codes >= 0)
        sel = sel[np.isin(codes[sel], uniq[hit])]
        f = pd.DataFrame({"row": sel, "shop": shop.iloc[sel].astype(object).to_numpy(),
                          "title_norm": norm.reindex(codes[sel]).to_numpy(dtype=object)})
        f = f.merge(titles[["shop", "title_norm", "product"]], on=["shop", "title_norm"])
        rows.append(f["row"].to_numpy())
        prods.append(f["product"].to_numpy(dtype=object))
    if not rows:
        return pd.DataFrame({"row": np.zeros(0, np.int64), "product": np.zeros(0, object)})
    return pd.DataFrame({"row": np.concatenate(rows), "product": np.concatenate(prods)})


def _re_escape(ch: str) -> str:
    import re

    return re.escape(ch)


def _ids(values) -> np.ndarray:
    """Item ids as trimmed strings, None when empty."""
    a = pc.utf8_trim_whitespace(_arrow(values))
    a = pc.if_else(pc.equal(pc.utf8_length(a), 0), pa.scalar(None, pa.string()), a)
    return a.to_numpy(zero_copy_only=False).astype(object)


def order_products(items: pd.DataFrame, cat: pd.DataFrame) -> pd.DataFrame:
    """(shop, order_id, product, units, value) per order and product: ``units`` the lines'
    quantity, ``value`` their price × quantity (yuan); NaN when a line has no quantity / no
    price (PDD exports no unit price)."""
    cols = ["shop", "order_id", "product", "units", "value"]
    if items is None or items.empty:
        return pd.DataFrame(columns=cols)
    f = pd.DataFrame({"shop": items["shop"].astype(object).to_numpy(),
                      "order_id": items["order_id"].astype(object).to_numpy(),
                      "item_id": _ids(items["item_id"]),
                      "title_norm": normalise_titles(items["title"]).to_pandas().to_numpy()})
    qty = pd.to_numeric(items["quantity"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    price = pd.to_numeric(items["price"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    f["units"] = qty
    f["value"] = price * qty
    by_title = cat[cat["title_norm"].notna()][["shop", "title_norm", "product"]] if len(cat) \
        else pd.DataFrame(columns=["shop", "title_norm", "product"])
    f = f.merge(by_title, on=["shop", "title_norm"], how="left")
    f["product"] = f["item_id"].where(f["item_id"].notna(), f["product"])
    f = f[f["product"].notna()]
    g = f.groupby(["shop", "order_id", "product"], sort=False)
    # a line without a price (or quantity) makes the order's value (units) unknown
    out = pd.DataFrame({"units": g["units"].sum(min_count=1).where(g["units"].count() == g.size()),
                        "value": g["value"].sum(min_count=1).where(g["value"].count() == g.size())})
    return out.reset_index()[cols]
