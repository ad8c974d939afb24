"""Tests of the deterministic sample generator (the cskit/sample/ package) and sample_data/.

These tests check the files against their own format rules (encodings, headers,
line counts) without using cskit's readers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cskit import sample as S

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_data"
START = datetime(2026, 11, 9)
END = datetime(2026, 11, 23)  # exclusive


@pytest.fixture(scope="module")
def data() -> S.SampleData:
    return S.generate()


@pytest.fixture(scope="module")
def written(data, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    manifest = S.write_sample(out, data)
    return out, manifest


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _entries(manifest: dict, fmt: str) -> list[dict]:
    out = [e for e in manifest["files"] if e["format"] == fmt]
    assert out, f"no {fmt} file in the sample"
    return out


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(data):
    again = S.generate()
    for name in ("messages", "orders", "excluded"):
        pd.testing.assert_frame_equal(getattr(data, name), getattr(again, name))
    for name in ("buyer_days", "orders"):
        pd.testing.assert_frame_equal(data.truth[name], again.truth[name])
    pd.testing.assert_series_equal(data.message_files, again.message_files)


def test_different_seed_gives_different_data(data):
    other = S.generate(S.DEFAULT_SEED + 1)
    assert len(other.messages) != len(data.messages) or \
        not other.messages["content"].equals(data.messages["content"])
    assert not set(other.orders["order_id"]) & set(data.orders["order_id"])


def test_files_are_byte_identical_for_the_same_seed(data, written, tmp_path):
    out, _ = written
    S.write_sample(tmp_path, S.generate())
    assert _files(tmp_path) == _files(out)


def test_committed_sample_data_is_up_to_date(written):
    """sample_data/ must be what `python -m cskit.sample sample_data` writes today."""
    out, _ = written
    committed = _files(SAMPLE_DIR)
    fresh = _files(out)
    missing = sorted(set(fresh) - set(committed))
    assert not missing, f"regenerate: python -m cskit.sample sample_data (missing {missing[:3]})"
    stale = [k for k in fresh if committed[k] != fresh[k]]
    assert not stale, f"regenerate sample_data (stale: {stale[:3]})"


def test_sample_size_budget():
    total = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    assert total < 5_000_000


# ----------------------------------------------------------------------------- manifest


def test_manifest_totals_match_frames_and_every_row_is_in_one_file(data, written):
    _, manifest = written
    totals = {k: sum(e["rows"] for e in manifest["files"] if e["kind"] == k)
              for k in ("messages", "orders", "excluded")}
    assert totals == manifest["totals"]
    assert totals == {"messages": len(data.messages), "orders": len(data.orders),
                      "excluded": len(data.excluded)}
    assert data.message_files.notna().all() and len(data.message_files) == len(data.messages)
    per_file = data.message_files.value_counts().to_dict()
    assert per_file == {e["path"]: e["rows"] for e in manifest["files"]
                        if e["kind"] == "messages"}


def test_every_format_appears(written):
    _, manifest = written
    formats = {e["format"] for e in manifest["files"]}
    assert formats == {"pdd_json", "qianniu_text", "tabular_xlsx", "tabular_csv_gb18030",
                       "canonical_csv", "orders_pdd_csv", "orders_taobao_exportorderlist",
                       "orders_jd_csv", "orders_douyin_csv", "excluded_csv",
                       "ratings_taobao_csv", "ratings_jd_csv", "ratings_pdd_csv"}
    platforms = {e["platform"] for e in manifest["files"] if e["kind"] == "orders"}
    assert platforms == {"pdd", "taobao", "jd", "douyin"}


def test_each_shop_folder_has_cskit_toml(written):
    import tomllib

    out, manifest = written
    for shop in manifest["shops"]:
        cfg = tomllib.loads((out / shop["folder"] / "cskit.toml").read_text("utf-8"))
        assert cfg == {"shop": shop["shop"], "platform": shop["platform"]}
        for e in manifest["files"]:
            if e["path"].startswith(shop["folder"] + "/"):
                assert e["shop"] == shop["shop"]


def test_canonical_csv_matches_manifest(data, written):
    out, manifest = written
    for e in _entries(manifest, "canonical_csv"):
        raw = (out / e["path"]).read_bytes()
        exp = data.messages[data.message_files == e["path"]]
        # a JD export carries the SKU of the buyer's chat (issue 16): an item_id column
        sku = ["item_id"] if exp["item_id"].notna().any() else []
        assert raw.split(b"\n", 1)[0].decode() == ",".join(S.MESSAGE_COLUMNS + sku)
        assert bool(sku) == (e["platform"] == "jd")
        df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
        assert len(df) == e["rows"]
        exp = data.messages[data.message_files == e["path"]]
        assert df["content"].tolist() == exp["content"].tolist()
        assert df["sent_at"].tolist() == exp["sent_at"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
        assert (df["conversation_id"] != "").all()


def test_pdd_jsonl_lines_and_utc_epoch(data, written):
    out, manifest = written
    files = _entries(manifest, "pdd_json")
    assert len(files) == 2  # one per week
    for e in files:
        lines = (out / e["path"]).read_text("utf-8").splitlines()
        assert len(lines) == e["rows"]
        recs = [json.loads(x) for x in lines]
        assert set(recs[0]) == {"msg_id", "type", "content", "ts", "from", "to", "nickname",
                                "is_aut", "cs_uid", "template_name"}
        exp = data.messages[data.message_files == e["path"]]
        local = exp["sent_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
        assert [r["ts"] for r in recs] == (local - 8 * 3600).tolist()
        roles = {(r["from"]["role"], r["is_aut"], r["type"]) for r in recs}
        assert ("user", 0, 0) in roles and ("mall_cs", 1, 0) in roles
        assert ("mall_cs", 0, 31) in roles or e["rows"] < 500
        for r, sender in zip(recs, exp["sender"]):
            assert (r["from"]["role"] == "user") == (sender == "buyer")


def test_pdd_ts_is_the_utc_epoch_of_shanghai_time(data, written):
    from zoneinfo import ZoneInfo

    out, manifest = written
    e = _entries(manifest, "pdd_json")[0]
    recs = [json.loads(x) for x in (out / e["path"]).read_text("utf-8").splitlines()[:50]]
    exp = data.messages[data.message_files == e["path"]].head(50)
    tz = ZoneInfo("Asia/Shanghai")
    for r, t in zip(recs, exp["sent_at"]):
        assert r["ts"] == int(t.to_pydatetime().replace(tzinfo=tz).timestamp())


QIANNIU_HEADER = re.compile(r"^(\S+) (\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})$")


def test_qianniu_transcripts(data, written):
    out, manifest = written
    files = _entries(manifest, "qianniu_text")
    assert len(files) == 7  # one per day of week 1
    seen_noise = seen_status = seen_transfer = seen_unpadded = 0
    for e in files:
        raw = (out / e["path"]).read_bytes()
        assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")  # CRLF only
        lines = raw.decode("utf-8").split("\r\n")
        headers = [QIANNIU_HEADER.match(x) for x in lines]
        transfers = [x for x in lines if re.fullmatch(r"由 \S+ 转交给 \S+", x)]
        assert sum(h is not None for h in headers) + len(transfers) == e["rows"]
        seen_transfer += len(transfers)
        seen_noise += sum("撤回了一条消息" in x or x.startswith("当前用户来自") for x in lines)
        seen_status += sum(x in ("已读", "未读") for x in lines)
        seen_unpadded += sum(h is not None and len(h.group(5)) == 1 for h in headers)
        exp = data.messages[data.message_files == e["path"]]
        agents = {h.group(1) for h in headers if h and ":" in h.group(1)}
        assert agents <= set(exp["agent_id"].dropna())
        assert all(a.startswith("潮流服饰专营店:") for a in agents)
    assert seen_noise > 10 and seen_status > 100 and seen_transfer > 0 and seen_unpadded > 100


def test_xlsx_chat_export(written):
    from python_calamine import CalamineWorkbook

    out, manifest = written
    (e,) = _entries(manifest, "tabular_xlsx")
    wb = CalamineWorkbook.from_path(str(out / e["path"]))
    rows = wb.get_sheet_by_name(wb.sheet_names[0]).to_python()
    assert rows[0][0].startswith("聊天记录导出")  # a title row above the header
    assert rows[1] == S.TABULAR_HEADERS
    body = rows[2:]
    assert len(body) == e["rows"]
    assert {r[5] for r in body} == {"买家", "客服", "机器人", "系统"}
    assert all(isinstance(r[1], (int, float)) for r in body)  # 消息序号 is a number


def test_gb18030_chat_csv(written):
    out, manifest = written
    (e,) = _entries(manifest, "tabular_csv_gb18030")
    raw = (out / e["path"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw.decode("gb18030"))))
    assert rows[0] == S.TABULAR_HEADERS
    assert len(rows) - 1 == e["rows"]


def test_order_files(data, written):
    out, manifest = written
    (pdd,) = _entries(manifest, "orders_pdd_csv")
    df = pd.read_csv(out / pdd["path"], dtype=str, encoding="utf-8")
    assert df.columns[0] == "订单成交时间" and "用户ID" in df.columns and len(df) == pdd["rows"]
    assert df["订单号"].str.fullmatch(r"\d{6}-\d{15}").all()

    (tb,) = _entries(manifest, "orders_taobao_exportorderlist")
    raw = (out / tb["path"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert raw.count(b"\n") == raw.count(b"\r\n")
    header = text.split("\r\n", 1)[0].split(",")
    assert all(h.endswith(" ") for h in header) and "店铺名称 " in header
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert len(rows) == tb["rows"]
    assert all(re.fullmatch(r'="\d{18,19}"', r[0]) for r in rows)
    nicks = set(data.messages.loc[data.messages["platform"] == "taobao", "buyer_id"])
    assert sum(r[1] in nicks for r in rows) > len(rows) // 2  # 买家会员名 = chat nick

    (jd,) = _entries(manifest, "orders_jd_csv")
    df = pd.read_csv(out / jd["path"], dtype=str, encoding="gb18030")
    assert "下单帐号" in df.columns and len(df) == jd["rows"]
    assert df["订单号"].str.fullmatch(r"\d{12}").all()

    (dy,) = _entries(manifest, "orders_douyin_csv")
    raw = (out / dy["path"]).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(raw[3:]), dtype=str, keep_default_na=False)
    assert len(df) == dy["lines"] == dy["rows"] + 1  # one order has a gift line
    assert df["主订单编号"].str.fullmatch(r"\t69\d{17}").all()
    assert df["主订单编号"].nunique() == dy["rows"]
    assert (df == "-").any().any()
    assert df["收件人"].str.startswith("##").all() and df["收件人手机号"].str.startswith("$$").all()


def test_excluded_files(data, written):
    out, manifest = written
    for e in _entries(manifest, "excluded_csv"):
        raw = (out / e["path"]).read_bytes()
        assert e["path"].endswith("/黑名单.csv") and raw.startswith(b"\xef\xbb\xbf")
        df = pd.read_csv(io.BytesIO(raw[3:]), dtype=str)
        assert list(df.columns) == ["买家ID", "原因", "时间"] and len(df) == e["rows"]
        assert set(df["原因"]) <= {"举报", "拉黑"}
    assert set(data.excluded["reason"]) == {"reported", "blacklisted"}


# ----------------------------------------------------------------------------- realism


def test_timestamps_inside_planned_range(data):
    m = data.messages
    buyers = m[m["sender"] == "buyer"]
    assert buyers["sent_at"].min() >= START and buyers["sent_at"].max() < END
    assert m["sent_at"].min() >= START and m["sent_at"].max() < END + timedelta(hours=1)
    assert m["sent_at"].dtype == "datetime64[s]"
    # every buyer message lies on its conversation's calendar day
    bd = data.truth["buyer_days"]
    keys = set(zip(bd["shop"], bd["buyer_id"], bd["date"]))
    assert all(k in keys for k in zip(buyers["shop"], buyers["buyer_id"],
                                      buyers["sent_at"].dt.normalize()))


def test_arrival_peaks_and_out_of_window_messages(data):
    b = data.messages[data.messages["sender"] == "buyer"]["sent_at"]
    per_hour = b.dt.hour.value_counts()
    top = set(per_hour.nlargest(4).index)
    assert top <= {10, 11, 20, 21, 22}
    assert (b.dt.hour < 8).sum() > 50 and (b.dt.hour >= 23).sum() > 50
    assert ((b.dt.hour == 22) & (b.dt.minute >= 55)).sum() > 10


def test_reply_delays_robots_and_transfers(data):
    bd = data.truth["buyer_days"]
    w = bd[bd["in_window"]]
    fr = w["first_response_s"].dropna()
    assert (fr < 60).mean() > 0.55
    assert 0.1 < ((fr >= 120) & (fr <= 300)).mean() < 0.3
    assert 0.03 < (fr > 300).mean() < 0.2
    assert 0.01 < w["never_answered"].mean() < 0.1
    assert 0.02 < bd["after_sale"].mean() < 0.05
    m = data.messages
    sysm = m[m["sender"] == "system"]
    assert len(sysm) > 20 and sysm["content"].str.fullmatch(r"由 \S+ 转交给 \S+").all()
    bots = m[m["sender"] == "bot"]
    assert bots["agent_id"].str.endswith(("智能助手", "店小蜜", "京小智", "飞鸽助手")).all()
    assert (bd["n_rounds"] > 1).mean() > 0.3
    agents = m[m["sender"] == "agent"].groupby("shop")["agent_id"].nunique()
    assert agents.sum() >= 5 and (agents.loc[["花语家居旗舰店", "潮流服饰专营店"]] >= 3).all()


def test_chat_text_looks_real(data):
    text = "\n".join(data.messages["content"].dropna())
    for phrase in ("能便宜点吗", "最低多少", "有优惠券吗", "包邮吗", "运费险", "有没有XL", "断码",
                   "几天能到", "发什么快递", "正品吗", "七天无理由", "花呗", "我再看看", "货比三家",
                   "亲，在的", "亲亲这边给您查一下", "已经为您备注", "可以的亲", "这款是包邮的哦"):
        assert phrase in text, phrase


def test_truth_matches_an_independent_reply_rate_computation(data):
    """Recompute the PDD rule from the messages alone and compare with the plan."""
    m = data.messages
    b = m[m["sender"] == "buyer"].sort_values("sent_at")
    a = (m[m["sender"] == "agent"].sort_values("sent_at")[["shop", "buyer_id", "sent_at"]]
         .rename(columns={"sent_at": "reply_at"}))
    x = pd.merge_asof(b, a, left_on="sent_at", right_on="reply_at", by=["shop", "buyer_id"],
                      direction="forward", allow_exact_matches=False)
    wait = (x["reply_at"] - x["sent_at"]).dt.total_seconds()
    sec = x["sent_at"].dt.hour * 3600 + x["sent_at"].dt.minute * 60 + x["sent_at"].dt.second
    x["in_win"] = (sec >= 8 * 3600) & (sec < 23 * 3600)
    x["late"] = x["in_win"] & (wait.isna() | (wait > 300))
    x["date"] = x["sent_at"].dt.normalize()
    ref = x.groupby(["shop", "buyer_id", "date"]).agg(late_ref=("late", "any"),
                                                       win_ref=("in_win", "any")).reset_index()
    bd = data.truth["buyer_days"].merge(ref, on=["shop", "buyer_id", "date"], how="outer",
                                        indicator=True)
    assert (bd["_merge"] == "both").all()
    assert (bd["late"] == bd["late_ref"]).all()
    assert (bd["in_window"] == bd["win_ref"]).all()
    # late buyers exist, but most are answered in time
    rate = 1 - bd.loc[bd["in_window"], "late"].mean()
    assert 0.75 < rate < 0.95


@pytest.mark.parametrize("name, at, late, in_window", [
    ("exactly_300s", "10:00:00", False, True),
    ("301s", "10:30:00", True, True),
    ("2258_reply_2302", "22:58:00", False, True),
    ("2258_reply_2304", "22:58:30", True, True),
    ("at_2300_never", "23:00:00", False, False),
    ("at_0759_never", "07:59:59", False, False),
    ("at_0800_400s", "08:00:00", True, True),
    ("bot_only", "15:00:00", True, True),
    ("first_of_three_waits_320s", "16:00:00", True, True),
])
def test_planted_edge_cases(data, name, at, late, in_window):
    bd = data.truth["buyer_days"]
    rows = bd[bd["special"] == name]
    assert len(rows) == 2  # one per main shop
    assert (rows["first_msg_at"].dt.strftime("%Y-%m-%d %H:%M:%S") == f"2026-11-18 {at}").all()
    assert (rows["late"] == late).all() and (rows["in_window"] == in_window).all()
    for _, r in rows.iterrows():
        msgs = data.messages[(data.messages["shop"] == r["shop"])
                             & (data.messages["buyer_id"] == r["buyer_id"])]
        if name == "bot_only":
            assert set(msgs["sender"]) == {"buyer", "bot"}
        if name == "2258_reply_2304":
            reply = msgs.loc[msgs["sender"] == "agent", "sent_at"].min()
            assert reply == pd.Timestamp("2026-11-18 23:04:30")


def test_orders_link_to_chats(data):
    o, to = data.orders, data.truth["orders"]
    assert o["order_id"].is_unique
    assert set(o["status"]) <= set(S.STATUS_RAW["pdd"]) and "refunded" in set(o["status"])
    assert o["amount"].between(19.9, 399).all()
    assert (o["paid_at"].isna() == o["status"].isin(["unpaid", "closed"])).all()
    chat_buyers = set(zip(data.messages["shop"], data.messages["buyer_id"]))
    linked = o["platform"] != "douyin"
    pairs = list(zip(o["shop"], o["buyer_id"]))
    kind = to["kind"].to_numpy()
    in_chat = np.array([p in chat_buyers for p in pairs])
    assert in_chat[linked.to_numpy() & (kind != "silent")].all()
    assert not in_chat[kind == "silent"].any()
    assert o.loc[~linked, "buyer_id"].isna().all()  # Douyin exports carry no buyer
    chat = to[to["kind"] == "chat"]
    # the planted 催付 orders (cskit/sample/dunning.py) are created inside the chat: just before
    # its last message; every other chat order comes after it
    dunned = chat["order_id"].isin(data.truth["dunning"]["order_id"])
    assert chat.loc[~dunned, "hours_after_chat"].between(0, 72).all()
    assert chat.loc[dunned, "hours_after_chat"].between(-1, 0).all() and dunned.sum() >= 8
    # ~30-40 % of inquiring buyers order
    bd = data.truth["buyer_days"]
    inq = bd[~bd["after_sale"]].groupby(["shop", "buyer_id"])["buyer_ordered"].max()
    assert 0.28 < inq.mean() < 0.45
    # after-sale buyers had an earlier order, before their chat
    after = to[to["kind"] == "after_sale"].merge(
        bd.groupby(["shop", "buyer_id"])["first_msg_at"].min().reset_index(), on=["shop", "buyer_id"])
    assert len(after) > 20 and (after["created_at"] < after["first_msg_at"]).all()
    assert (to["kind"] == "silent").sum() > 50


def test_order_id_styles(data):
    o = data.orders
    style = {"pdd": r"\d{6}-\d{15}", "taobao": r"\d{18,19}", "jd": r"\d{12}", "douyin": r"69\d{17}"}
    for platform, rx in style.items():
        ids = o.loc[o["platform"] == platform, "order_id"]
        assert len(ids) and ids.str.fullmatch(rx).all(), platform
    pdd = o[o["platform"] == "pdd"]
    assert (pdd["order_id"].str[:6] == pdd["created_at"].dt.strftime("%y%m%d")).all()


def test_excluded_buyers_planned(data):
    bd, ex = data.truth["buyer_days"], data.excluded
    assert set(ex["shop"]) == {s.name for s in data.shops}
    chatted = ex.merge(bd.groupby(["shop", "buyer_id"])["first_msg_at"].min().reset_index(),
                       on=["shop", "buyer_id"])
    assert len(chatted) >= 4 and (chatted["since"] < chatted["first_msg_at"]).all()
    assert bd.loc[bd["excluded"], "late"].any()
    assert bd["excluded"].sum() >= len(chatted)


def test_lost_reasons(data):
    bd = data.truth["buyer_days"]
    inquiry = ~bd["after_sale"] & ~bd["buyer_paid"]
    assert bd.loc[inquiry, "lost_reason"].notna().all()
    assert bd.loc[~inquiry, "lost_reason"].isna().all()
    assert (bd.loc[inquiry & bd["never_answered"], "lost_reason"] == "未回复").all()
    reasons = set(bd["lost_reason"].dropna())
    assert {"价格", "运费/不包邮", "缺货/断码", "回复慢", "未回复", "货比三家/再看看"} <= reasons


MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def test_no_real_looking_personal_data(written):
    out, manifest = written
    for e in manifest["files"]:
        raw = (out / e["path"]).read_bytes()
        if e["path"].endswith(".xlsx"):
            import zipfile

            raw = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml")
            enc = "utf-8"
        else:
            enc = "gb18030" if e["encoding"] == "gb18030" else "utf-8-sig"
        text = raw.decode(enc)
        assert not MOBILE.search(text), e["path"]
    personal = {"收货人", "手机", "街道", "收货人姓名", "收货地址", "联系手机", "买家支付宝账号", "客户姓名",
                "客户地址", "联系电话", "收件人", "收件人手机号", "详细地址"}
    for e in manifest["files"]:
        if e["kind"] != "orders":
            continue
        enc = {"gb18030": "gb18030", "utf-8-sig": "utf-8-sig"}.get(e["encoding"], "utf-8")
        df = pd.read_csv(out / e["path"], dtype=str, encoding=enc, keep_default_na=False)
        df.columns = [c.strip() for c in df.columns]
        for col in personal & set(df.columns):
            vals = df[col][df[col] != ""]
            assert vals.str.contains(r"\*|^##|^\$\$", regex=True).all(), (e["path"], col)
            assert not vals.str.contains(ID_CARD).any()


# ----------------------------------------------------------------------------- bulk


def test_bulk_generator_exact_rows_fast_and_valid():
    t0 = time.perf_counter()
    df = S.generate_messages_bulk(60_000, seed=3)
    assert time.perf_counter() - t0 < 10
    assert len(df) == 60_000 and list(df.columns) == S.MESSAGE_COLUMNS
    assert set(df["sender"]) == {"buyer", "agent", "bot", "system"}
    share = df["sender"].value_counts(normalize=True)
    assert 0.4 < share["buyer"] < 0.6 and 0.3 < share["agent"] < 0.5 and share["bot"] > 0.02
    assert df.groupby("shop")["sent_at"].apply(lambda s: s.is_monotonic_increasing).all()
    assert df["msg_id"].is_unique and df["buyer_id"].notna().all() and df["sent_at"].notna().all()
    assert df.loc[df["sender"] == "buyer", "agent_id"].isna().all()
    assert df.loc[df["sender"] != "buyer", "agent_id"].notna().all()
    assert df["shop"].nunique() == 8 and set(df["platform"]) == {"pdd", "taobao", "jd", "douyin"}
    # realistic delays: most buyer messages get a human reply within a minute
    b = df[df["sender"] == "buyer"].sort_values("sent_at")
    a = df[df["sender"] == "agent"].sort_values("sent_at")[["buyer_id", "sent_at"]].rename(
        columns={"sent_at": "r"})
    x = pd.merge_asof(b, a, left_on="sent_at", right_on="r", by="buyer_id", direction="forward")
    wait = (x["r"] - x["sent_at"]).dt.total_seconds()
    assert 0.4 < (wait <= 60).mean() < 0.9 and (wait > 300).mean() > 0.03


def test_bulk_is_deterministic_and_seeded():
    a = S.generate_messages_bulk(5_000, seed=11, shops=3, days=7)
    b = S.generate_messages_bulk(5_000, seed=11, shops=3, days=7)
    c = S.generate_messages_bulk(5_000, seed=12, shops=3, days=7)
    pd.testing.assert_frame_equal(a, b)
    assert not a["buyer_id"].equals(c["buyer_id"])
    assert a["sent_at"].min() >= pd.Timestamp(S.DEFAULT_START)
    assert a["sent_at"].max() < pd.Timestamp(S.DEFAULT_START + timedelta(days=8))
    assert len(S.generate_messages_bulk(0)) == 0


def test_write_canonical_csv_round_trip(tmp_path):
    df = S.generate_messages_bulk(3_000, seed=5, shops=2)
    path = S.write_canonical_csv(df, tmp_path / "m.csv")
    raw = path.read_bytes()
    assert raw.split(b"\n", 1)[0] == b"shop,platform,conversation_id,buyer_id,agent_id,sender," \
                                     b"sent_at,content,msg_type,msg_id"
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(back) == 3_000
    assert back["sent_at"].tolist() == df["sent_at"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
    assert back["content"].tolist() == df["content"].tolist()
    assert back["msg_id"].tolist() == df["msg_id"].tolist()
    assert (back.loc[df["agent_id"].isna().to_numpy(), "agent_id"] == "").all()


def test_main_writes_bulk_file_and_sample(tmp_path, capsys):
    assert S.main([str(tmp_path / "b"), "--messages", "1500", "--seed", "2"]) == 0
    lines = (tmp_path / "b" / "messages_1500.csv").read_bytes().count(b"\n")
    assert lines == 1501
    assert S.main([str(tmp_path / "s"), "--seed", "9", "--days", "3"]) == 0
    manifest = json.loads((tmp_path / "s" / "MANIFEST.json").read_text("utf-8"))
    assert manifest["seed"] == 9 and manifest["days"] == 3
    assert all((tmp_path / "s" / e["path"]).is_file() for e in manifest["files"])
    assert capsys.readouterr() == ("", "")


def test_small_variants():
    d = S.generate(5, shops=1, tiny_shops=False, days=2, buyers=60, agents_per_shop=1)
    assert {s.platform for s in d.shops} == {"pdd"}
    assert d.messages["sent_at"].min() >= START
    assert d.truth["buyer_days"]["date"].max() < START + timedelta(days=2)
    with pytest.raises(ValueError):
        S.generate(shops=3)
    assert S.DEFAULT_START == date(2026, 11, 9) and S.DEFAULT_START.weekday() == 0  # Monday


def test_sample_texts_come_from_the_data_file_as_tuples():
    """The phrase/product/name catalogues are data (cskit/data/sample_phrases.toml), loaded
    in file order as tuples; each module of the package stays small."""
    import tomllib

    from cskit.sample import ids, orders, phrases

    raw = tomllib.loads((ROOT / "cskit" / "data" / "sample_phrases.toml").read_text("utf-8"))
    assert phrases.GREETINGS == tuple(raw["buyer"]["greetings"])
    assert phrases.ASK_BY_CATEGORY[("size", "apparel")] == tuple(
        raw["buyer"]["ask_by_category"]["size"]["apparel"])
    assert list(phrases.A_ANSWER) == list(raw["agent"]["answer"])  # order kept
    assert all(type(v) is tuple for v in phrases.A_ANSWER.values())
    assert type(phrases.BOT_PHRASES) is tuple and "{shop}" in phrases.BOT_PHRASES[0]
    assert orders.CATALOGUE["tea"][0] == tuple(raw["products"]["catalogue"]["tea"][0])
    assert type(orders.CATALOGUE["tea"][0][1]) is float
    assert orders._PLACES[0] == tuple(raw["names"]["places"][0])
    assert "".join(orders._SURNAMES) == raw["names"]["surnames"]
    assert list(ids._NICK_A) == raw["names"]["nick_a"]
    for py in (ROOT / "cskit" / "sample").glob("*.py"):
        assert len(py.read_text("utf-8").splitlines()) <= 600, py.name


def test_python_dash_m_runs_the_cli(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "cskit.sample", str(tmp_path), "--messages", "50"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout == "" and out.stderr == "", out.stderr
    assert (tmp_path / "messages_50.csv").is_file()
