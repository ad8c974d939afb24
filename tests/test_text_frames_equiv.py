"""The fast store path of `cskit lost` / `cskit qc` (cskit/text/frames.py: categorical reads,
integer keys, the annotation of lost buyers only, each distinct text classified once) gives
exactly what a plain reference path gives: every message read as ordinary strings, the
public library functions called the straightforward way (issue 14, item 6).

The reference below is deliberately simple and slow; it uses the same rules, so it stays
valid when the lexicon or the QC rules change."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cskit import schema
from cskit.ingest import ingest
from cskit.kpi import Period, data_ends, explain_unknown, read_excluded, select_shops
from cskit.metrics import annotate, get_rule
from cskit.metrics.conversion import lost_buyers
from cskit.metrics.coverage import shop_unknown
from cskit.sample import generate_messages_bulk, write_canonical_csv
from cskit.store import Store
from cskit.text import frames
from cskit.text.lexicon import load_lost_lexicon
from cskit.text.lost import _distinct_rows, classify, reason_summary, score_texts, service_signals
from cskit.text.qc import inspect
from cskit.text._regex import distinct

PLAIN_COLUMNS = ["shop", "platform", "conversation_id", "buyer_id", "agent_id", "sender",
                 "sent_at", "content", "msg_type", "source_file", "source_row"]
KEYS = ["shop", "buyer_id", "date"]


@pytest.fixture(scope="module")
def gen_store(tmp_path_factory) -> Store:
    """~2·10^4 generated messages in 3 shops, with orders for a third of the buyer-days."""
    d = tmp_path_factory.mktemp("equiv")
    msgs = generate_messages_bulk(20_000, seed=11, shops=3, days=30)
    write_canonical_csv(msgs, d / "chats.csv")
    store = Store(d / "store")
    ingest([d / "chats.csv"], store)
    b = msgs[msgs["sender"] == "buyer"].copy()
    b["date"] = pd.to_datetime(b["sent_at"]).dt.date
    first = b.groupby(["shop", "buyer_id", "date"], sort=True)["sent_at"].min().reset_index()
    rng = np.random.default_rng(3)
    u = rng.random(len(first))
    o = first[u < 0.35].copy()
    paid = u[u < 0.35] < 0.3
    o["created_at"] = pd.to_datetime(o["sent_at"]) + pd.Timedelta(minutes=10)
    o["paid_at"] = o["created_at"].where(paid, pd.NaT) + pd.Timedelta(minutes=1)
    o["status"] = np.where(paid, "paid", "unpaid")
    o["amount"] = 59.0
    o["order_id"] = [f"o{i:06d}" for i in range(len(o))]
    o[["shop", "order_id", "buyer_id", "created_at", "paid_at", "amount", "status"]].to_csv(
        d / "orders.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
    ingest([d / "orders.csv"], store, kind="orders")
    return store


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory) -> Store:
    """The bundled samples: shops left out (orders without buyer ids), robots, transfers."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "sample_data"
    store = Store(tmp_path_factory.mktemp("equiv_s") / "store")
    ingest([root], store)
    return store


# -------------------------------------------------------------------- the reference path
def _plain_messages(store, shop, period, slack):
    since = None if period.since is None else period.since - dt.timedelta(days=7)
    return store.read(schema.MESSAGES, shops=[shop], since=since, until=period.until,
                      columns=PLAIN_COLUMNS, time_slack=slack)


def _plain_signals(ann: pd.DataFrame, threshold_s: float) -> pd.DataFrame:
    """slow: some counted message of the buyer-day waited > threshold; unanswered: its
    first counted message never got a reply (a groupby, no integer tricks)."""
    c = ann[ann["counted"].astype(bool)].copy()
    c["_slow"] = c["wait_s"] > threshold_s
    c = c.sort_values(KEYS + ["sent_at"], kind="stable")
    first = c.drop_duplicates(KEYS, keep="first").set_index(KEYS)["wait_s"].isna()
    slow = c.groupby(KEYS, sort=False)["_slow"].any()
    return pd.DataFrame({"slow": slow, "unanswered": first.reindex(slow.index)}).reset_index()


def reference_lost(store: Store, period: Period):
    lex = load_lost_lexicon()
    rule = get_rule("pdd5")
    out, texts = [], []
    for shop in select_shops(store, None):
        msgs = _plain_messages(store, shop, period, dt.timedelta(days=4))
        if msgs.empty:
            continue
        since = period.since - dt.timedelta(days=16) if period.since else None
        orders = store.read(schema.ORDERS, shops=[shop], since=since, until=period.until,
                            time_slack=dt.timedelta(days=4))
        lost = lost_buyers(msgs, orders, period.since, period.until, window_days=3,
                           lookback_days=15, anchor="order", as_of=data_ends(store, [shop])[shop],
                           excluded=read_excluded(store, shop))
        lost = lost[~lost["pending"].astype(bool)].reset_index(drop=True)
        unknown = shop_unknown(msgs, orders, shop, period.since, period.until)
        if unknown is not None and explain_unknown(store, {shop: unknown}).get(shop) is not None:
            continue
        if lost.empty:
            continue
        sig = _plain_signals(annotate(msgs, rule, read_excluded(store, shop)), rule.threshold_s)
        lost = lost[KEYS + ["agent_id", "had_unpaid_order"]].merge(sig, on=KEYS, how="left")
        lost = lost.rename(columns={"had_unpaid_order": "unpaid_order"})
        for c in ("slow", "unanswered", "unpaid_order"):
            lost[c] = lost[c].fillna(False).astype(bool)
        lost["outcome"] = np.where(lost["unpaid_order"], "unpaid_order", "no_order").astype(object)
        chat = msgs[msgs["sender"].isin(["buyer", "agent"])].copy()
        chat["date"] = pd.to_datetime(chat["sent_at"]).dt.date
        on_lost_day = pd.MultiIndex.from_frame(chat[KEYS]).isin(
            pd.MultiIndex.from_frame(lost[KEYS]))
        chat = chat[on_lost_day]
        out.append(classify(chat[KEYS + ["sender", "content"]], lost, lexicon=lex))
        texts.append(chat.loc[chat["sender"] == "buyer", ["shop", "buyer_id", "sent_at", "content"]])
    return pd.concat(out, ignore_index=True), pd.concat(texts, ignore_index=True)


def reference_qc(store: Store, period: Period):
    rule = get_rule("pdd5")
    flags = []
    for shop in select_shops(store, None):
        msgs = _plain_messages(store, shop, period, dt.timedelta(days=3))
        inside = frames._in_period(msgs["sent_at"], period)
        ann = annotate(msgs, rule, read_excluded(store, shop))
        sel = ann["counted"].to_numpy(dtype=bool) & ann["late"].to_numpy(dtype=bool) & \
            frames._in_period(ann["sent_at"], period)
        late = ann[sel][["shop", "buyer_id", "sent_at", "wait_s", "agent"]]
        late = late.assign(content=msgs.loc[late.index, "content"].to_numpy())
        flags.append(inspect(msgs[inside], late=late))
    return pd.concat(flags, ignore_index=True)


def _canon(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    f = frame.copy()
    for c in f.columns:
        if not pd.api.types.is_numeric_dtype(f[c]) and not pd.api.types.is_datetime64_any_dtype(f[c]):
            f[c] = f[c].astype(object).where(f[c].notna(), None)
    return f.sort_values(by, kind="stable").reset_index(drop=True)


PERIODS = [Period(None, None), Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))]


@pytest.mark.parametrize("period", PERIODS, ids=["all", "week"])
@pytest.mark.parametrize("which", ["gen_store", "sample_store"])
def test_lost_frames_equal_the_plain_reference(which, period, request):
    store = request.getfixturevalue(which)
    cl, texts, method = frames.lost_frames(store, period=period)
    ref_cl, ref_texts = reference_lost(store, period)
    assert method == "conversion" and len(cl) > 20
    pd.testing.assert_frame_equal(_canon(cl, KEYS), _canon(ref_cl, KEYS)[list(cl.columns)],
                                  check_dtype=False)
    by = ["shop", "buyer_id", "sent_at", "content"]
    pd.testing.assert_frame_equal(_canon(texts, by), _canon(ref_texts, by), check_dtype=False)


@pytest.mark.parametrize("period", PERIODS, ids=["all", "week"])
@pytest.mark.parametrize("which", ["gen_store", "sample_store"])
def test_qc_frames_equal_the_plain_reference(which, period, request):
    store = request.getfixturevalue(which)
    flags, _ = frames.qc_frames(store, period=period)
    ref = reference_qc(store, period)
    assert len(flags) > 10
    pd.testing.assert_frame_equal(flags.astype({"shop": object}).reset_index(drop=True),
                                  ref.astype({"shop": object}).reset_index(drop=True),
                                  check_dtype=False)


# ------------------------------------------------------------------ the pieces changed
def test_distinct_of_a_categorical_equals_the_plain_encoding():
    vals = ["包邮吗", None, "太贵了", "包邮吗", "", "太贵了", None]
    cat = pd.Series(pd.Categorical(vals, categories=["没用到", "太贵了", "", "包邮吗"]))
    for s in (cat, pd.Series(vals, dtype=object)):
        codes, texts = distinct(s)
        got = [texts[i].as_py() for i in codes]
        assert got == [v if v is not None else "" for v in vals]
        assert len(set(texts.to_pylist())) == len(texts)
    assert "没用到" not in distinct(cat)[1].to_pylist()  # unused categories are not classified
    plain = score_texts(pd.Series(vals, dtype=object), np.arange(7), 7)
    np.testing.assert_array_equal(score_texts(cat, np.arange(7), 7), plain)


def test_distinct_rows_equal_numpy_unique_rows():
    rng = np.random.default_rng(0)
    combo = np.where(rng.random((500, 13)) < 0.7, -1, rng.integers(0, 13, (500, 13)))
    uniq, inv = _distinct_rows(combo)
    np.testing.assert_array_equal(uniq[inv], combo)
    assert len(uniq) == len(np.unique(combo, axis=0))


def test_reason_summary_mentions_equal_a_per_row_count(gen_store):
    cl, _, _ = frames.lost_frames(gen_store, period=PERIODS[0])
    got = reason_summary(cl, by=["shop"]).set_index(["shop", "reason_id"])["mentions"]
    ex = cl.assign(reason_id=cl["reason_ids"].str.split(";")).explode("reason_id")
    want = ex.groupby(["shop", "reason_id"]).size()
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)


def test_service_signals_day_numbers_equal_the_date_column():
    t = pd.to_datetime(["2026-11-16 23:59:00", "2026-11-17 00:01:00", "2026-11-17 00:02:00",
                        "2026-11-16 10:00:00"])
    ann = pd.DataFrame({"shop": "s", "buyer_id": ["b", "b", "b", "c"], "sent_at": t,
                        "date": t.date, "counted": True, "wait_s": [900.0, np.nan, 10.0, 5.0]})
    sig = service_signals(ann, 300).set_index(["buyer_id", "date"])
    assert sig.loc[("b", dt.date(2026, 11, 16)), "slow"]
    assert sig.loc[("b", dt.date(2026, 11, 17)), "unanswered"]
    assert not sig.loc[("b", dt.date(2026, 11, 17)), "slow"]
    assert len(sig) == 3


def test_each_distinct_text_is_scored_once_per_process_with_the_same_scores():
    import pyarrow as pa

    from cskit.text.lost import _compile, _message_scores, _scores_of

    c = _compile(load_lost_lexicon())
    c.memo.clear()
    a = pa.array(["太贵了", "包邮吗", "在吗"], type=pa.large_string())
    b = pa.array(["包邮吗", "质量怎么样,会不会掉色", "太贵了"], type=pa.large_string())
    _scores_of(a, c)
    main, fb = _scores_of(b, c)
    assert sorted(c.memo["texts"].to_pylist()) == sorted(set(a.to_pylist()) | set(b.to_pylist()))
    want_main, want_fb = _message_scores(b, c)
    np.testing.assert_array_equal(main, want_main)
    np.testing.assert_array_equal(fb, want_fb)
    assert main.any()


def test_late_annotation_is_the_counted_late_rows_of_annotate(gen_store):
    from cskit.metrics.reply import late_annotation

    msgs = gen_store.read(schema.MESSAGES, shops=[gen_store.shops()[0]], columns=PLAIN_COLUMNS)
    ann = annotate(msgs, "pdd5")
    want = ann[ann["counted"].astype(bool) & ann["late"].astype(bool)]
    got = late_annotation(msgs, "pdd5")
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("values", [["a", None, "b", np.nan, pd.NA, "", "店A:小美"], ["x", "y"],
                                    [None, np.nan], ["1", 2, None]])
def test_machine_column_of_text_equals_the_per_value_conversion(values):
    from cskit.render import machine_column, machine_value

    for s in (pd.Series(values, dtype=object), pd.Series(values, dtype=object).astype("category")):
        assert machine_column(s, "text") == [machine_value(v, "text") for v in s.tolist()]
    if all(isinstance(v, str) or v is None for v in values):
        s = pd.Series(values, dtype="str")
        assert machine_column(s, "text") == [machine_value(v, "text") for v in s.tolist()]


def test_not_a_quote_equals_the_python_regex():
    from cskit.text._regex import as_arrow
    from cskit.text.lost_quotes import NOT_A_QUOTE as _NOT_A_QUOTE
    from cskit.text.lost_quotes import _not_a_quote

    t = pd.Series(["http://a.b/x", "[图片]", "<img>", "https://a\u3000b", "https://a\xa0b",
                   "hi [图片]", "[一二三四五六七八九]", "", "x", "<一二三四五六七八九十一二三>"],
                  dtype="str")
    assert _not_a_quote(as_arrow(t)).tolist() == t.str.match(_NOT_A_QUOTE).tolist()
