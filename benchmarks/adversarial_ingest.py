"""Adversarial corpus for issue 13 items 2/3/4/7 (encodings, CSV structure, timestamps,
time-only cells). Run: python benchmarks/adversarial_ingest.py <checkout>   (prints one line
per input and the counts; "wrong" must be 0).

Each case = (name, file bytes, expected
stored [(sent_at, content)], options). Outcome per case:
  rejected  - whole file refused with a clear (catalogued) message, or all bad rows rejected
  right     - stored exactly the expected rows (bad rows rejected with a reason)
  wrong     - anything else stored"""
import datetime as dt, shutil, subprocess, sys, os
from pathlib import Path
import openpyxl
import tempfile
ROOT = Path(tempfile.mkdtemp(prefix="cskit-adversarial-"))
H = "发送时间,客户名,发送内容,账号类型,店铺\n"
def row(t, c, who="买家"): return f"{t},b1,{c},{who},好店\n"
cases = []
def add(name, data, expect, *opts, enc="utf-8"):
    if isinstance(data, str): data = data.encode(enc)
    cases.append((name, data, expect, list(opts)))
T = "2026-05-01 10:00:00"
# --- timestamps
add("feb30_nosec.csv", H + row("2026-02-30 10:00", "a") + row("2026-02-28 10:00", "b"), [("2026-02-28 10:00:00", "b")])
add("feb30_sec.csv", H + row("2026-02-30 10:00:00", "a") + row(T, "b"), [(T, "b")])
add("apr31.csv", H + row("2026-04-31 10:00:00", "a") + row(T, "b"), [(T, "b")])
add("leap2028.csv", H + row("2028-02-29 10:00:00", "a"), [("2028-02-29 10:00:00", "a")])
add("feb29_2026_slash.csv", H + row("2026/2/29 10:00", "a") + row(T, "b"), [(T, "b")])
add("feb30_cn.csv", H + row("2026年2月30日 10:00:00", "a") + row(T, "b"), [(T, "b")])
add("z.csv", H + row("2026-05-01T02:00:00Z", "a"), [(T, "a")])
add("plus8.csv", H + row("2026-05-01 10:00:00+08:00", "a"), [(T, "a")])
add("minus5.csv", H + row("2026-04-30 21:00:00-05:00", "a"), [(T, "a")])
add("plus0530.csv", H + row("2026-05-01T07:30+0530", "a"), [(T, "a")])
add("space_zone.csv", H + row("2026-05-01 02:00:00 +00:00", "a"), [(T, "a")])
add("frac_z.csv", H + row("2026-05-01T02:00:00.999Z", "a"), [(T, "a")])
add("t_nosec.csv", H + row("2026-05-01T10:00", "a"), [(T, "a")])
add("lower_z.csv", H + row("2026-05-01T02:00:00z", "a") + row(T, "b"), [(T, "b")])
add("utc_word.csv", H + row("2026-05-01 02:00:00 UTC", "a") + row(T, "b"), [(T, "b")])
add("year1.csv", H + row("0001-01-01 00:00:00", "a") + row(T, "b"), [(T, "b")])
add("year9999.csv", H + row("9999-12-31 23:59:59", "a") + row(T, "b"), [(T, "b")])
add("year1999.csv", H + row("1999-12-31 23:59:59", "a") + row(T, "b"), [(T, "b")])
add("year2101.csv", H + row("2101-01-01 00:00", "a") + row(T, "b"), [(T, "b")])
add("epoch_s.csv", H + row("1777600800", "a"), [(T, "a")])
add("epoch_ms.csv", H + row("1777600800000", "a"), [(T, "a")])
add("epoch_1973.csv", H + row("123456789", "a") + row(T, "b"), [(T, "b")])
add("hour24.csv", H + row("2026-05-01 24:00:00", "a") + row(T, "b"), [(T, "b")])
add("offset25.csv", H + row("2026-05-01 10:00:00+25:00", "a") + row(T, "b"), [(T, "b")])
add("tz_tokyo.csv", H + row("2026-05-01T01:00:00Z", "a") + row(T, "b"), [(T, "a"), (T, "b")], "--timezone", "Asia/Tokyo")
add("tz_bad.csv", H + row(T, "a"), None, "--timezone", "Asia/Nowhere")
# --- time only
EH = "客户名,消息序号,发送时间,发送内容,发送账号,账号类型\n"
add("dateline.csv", EH + "2026-11-20\nb1,1,20:57:11,a,b1,买家\n2026年11月21日,,,,,\nb1,2,9:01,b,b1,买家\n",
    [("2026-11-20 20:57:11", "a"), ("2026-11-21 09:01:00", "b")], "--shop", "好店")
add("聊天记录_2026-11-20.csv", EH + "b1,1,20:57:11,a,b1,买家\n", [("2026-11-20 20:57:11", "a")], "--shop", "好店")
add("nodate.csv", EH + "b1,1,20:57:11,a,b1,买家\n", [], "--shop", "好店")
add("range_2026-11-01_2026-11-20.csv", EH + "b1,1,20:57:11,a,b1,买家\n", [], "--shop", "好店")
add("badname_2026-02-30.csv", EH + "b1,1,20:57:11,a,b1,买家\n", [], "--shop", "好店")
add("dateline_bad_time.csv", EH + "2026-11-20\nb1,1,25:61:00,a,b1,买家\nb1,2,10:00:00,b,b1,买家\n",
    [("2026-11-20 10:00:00", "b")], "--shop", "好店")
add("dateline_2026-11-19.csv", EH + "b1,0,23:59:00,z,b1,买家\n2026-11-20\nb1,1,00:01:00,a,b1,买家\n",
    [("2026-11-19 23:59:00", "z"), ("2026-11-20 00:01:00", "a")], "--shop", "好店")
wb = openpyxl.Workbook(); ws = wb.active; ws.title = "2026-11-20"
ws.append(EH.strip().split(",")); ws.append(["b1", 1, dt.time(20, 57, 11), "a", "b1", "买家"])
xl = ROOT / "_x.xlsx"; wb.save(xl); add("sheetdate.xlsx", xl.read_bytes(), [("2026-11-20 20:57:11", "a")], "--shop", "好店")
wb = openpyxl.Workbook(); ws = wb.active; ws.title = "Sheet1"
ws.append(EH.strip().split(",")); ws.append([dt.datetime(2026, 11, 20), None, None, None, None, None])
ws.append(["b1", 1, "20:57:11", "a", "b1", "买家"])
wb.save(xl); add("xl_dateline.xlsx", xl.read_bytes(), [("2026-11-20 20:57:11", "a")], "--shop", "好店")
# --- CSV structure
add("quote_mid.csv", H + '2026-05-01 10:00:00,b1,"您好,在的,客服,好店\n2026-05-01 10:01:00,b1,退货",买家,好店\n' + row("2026-05-01 10:02:00", "ok", "客服"),
    [("2026-05-01 10:02:00", "ok")])
add("quote_eof.csv", H + row(T, "ok") + '2026-05-01 10:01:00,b1,"x,买家,好店\n' + row("2026-05-01 10:02:00", "y"), [(T, "ok")])
add("quote_crlf.csv", (H + '2026-05-01 10:00:00,b1,"您好,客服,好店\n2026-05-01 10:01:00,b1,退货",买家,好店\n' + row("2026-05-01 10:02:00", "ok")).replace("\n", "\r\n"),
    [("2026-05-01 10:02:00", "ok")])
add("quote_three_lines.csv", H + '2026-05-01 10:00:00,b1,"a\n' + row("2026-05-01 10:01:00", "b") + '2026-05-01 10:02:00,b1,c",买家,好店\n' + row("2026-05-01 10:03:00", "d"),
    [("2026-05-01 10:03:00", "d")])
add("extra_comma.csv", H + row(T, "a,b") + row("2026-05-01 10:01:00", "c"), [("2026-05-01 10:01:00", "c")])
add("short.csv", H + "2026-05-01 10:00:00,b1,a\n" + row("2026-05-01 10:01:00", "c"), [("2026-05-01 10:01:00", "c")])
add("trailing_empty.csv", H + row(T, "a").rstrip("\n") + ",,\n", [(T, "a")])
add("tsv_extra_tab.tsv", (H + row(T, "a\tb") + row("2026-05-01 10:01:00", "c")).replace(",", "\t"), [("2026-05-01 10:01:00", "c")])
add("multiline_ok.csv", H + '2026-05-01 10:00:00,b1,"第一行\n第二行，还有",买家,好店\n', [(T, "第一行\n第二行，还有")])
add("multiline_commas.csv", H + '2026-05-01 10:00:00,b1,"地址:\n省,市,区,街道,门牌",买家,好店\n' + row("2026-05-01 10:01:00", "c"),
    [(T, "地址:\n省,市,区,街道,门牌"), ("2026-05-01 10:01:00", "c")])
add("summary_short.csv", H + row(T, "a") + "合计,1\n", [(T, "a")])
# --- encodings
hE = "sent_at,buyer_id,content,sender,shop\n"
add("utf8_one_gbk.csv", hE.encode() + "2026-05-01 10:00:00,b1,你好,买家,好店\n".encode() + "2026-05-01 10:01:00,b1,".encode() + "坏掉".encode("gbk") + ",买家,好店\n".encode()
    + "2026-05-01 10:02:00,b1,再见,买家,好店\n".encode(), [(T, "你好"), ("2026-05-01 10:02:00", "再见")])
add("utf8_gbk_shop.csv", hE.encode() + "2026-05-01 10:00:00,b1,你好,买家,好店\n".encode() + "2026-05-01 10:01:00,b1,你好,买家,".encode() + "好店".encode("gbk") + b"\n",
    [(T, "你好")])
add("gbk.csv", H + row(T, "你好呀") + row("2026-05-01 10:01:00", "在的", "客服"), [(T, "你好呀"), ("2026-05-01 10:01:00", "在的")], enc="gbk")
add("gbk_one_utf8.csv", (H + row(T, "你好呀")).encode("gbk") + row("2026-05-01 10:01:00", "在的呀").encode() + (row("2026-05-01 10:02:00", "好的")).encode("gbk"),
    [(T, "你好呀"), ("2026-05-01 10:02:00", "好的")])
add("utf8_bom_gbk_cell.csv", b"\xef\xbb\xbf" + H.encode() + row(T, "你好").encode() + row("2026-05-01 10:01:00", "x").encode().replace(b"x", "坏".encode("gbk")),
    [(T, "你好")])
add("latin1_junk.csv", H.encode() + b"2026-05-01 10:00:00,b1,caf\xe9,\xff\xfe,x\n", [])
add("json_gbk.json", b'[{"sent_at":"2026-05-01 10:00:00","buyer_id":"b","content":"' + "坏".encode("gbk") + b'","sender":"buyer","shop":"' + "好店".encode() + b'"}]', None)
add("jsonl_gbk.jsonl", ('{"sent_at":"2026-05-01 10:00:00","buyer_id":"b","content":"你好","sender":"buyer","shop":"好店"}\n').encode()
    + b'{"sent_at":"2026-05-01 10:01:00","buyer_id":"b","content":"' + "坏".encode("gbk") + b'","sender":"buyer","shop":"' + "好店".encode() + b'"}\n', [(T, "你好")])

add("dateline_weekday.csv", EH + "2026-11-20 星期五\nb1,1,20:57:11,a,b1,买家\n", [], "--shop", "好店")
add("noncharacter.csv", H + row(T, "a\uffffb") + row("2026-05-01 10:01:00", "c"), [("2026-05-01 10:01:00", "c")])
add("mixed_header_gbk.csv", H.encode("gbk") + row(T, "你好").encode(), [])
add("swallow_id_first.csv", "msg_id,sent_at,buyer_id,content,sender,shop\n1000001,2026-05-01 10:00:00,b1,\"hi,buyer,好店\n1000002,2026-05-01 10:01:00,b1,yo\",agent,好店\n1000003,2026-05-01 10:02:00,b1,ok,buyer,好店\n",
    [("2026-05-01 10:02:00", "ok")])
add("name_first_swallow.csv", "客户名,发送时间,发送内容,账号类型,店铺\n张三,2026-05-01 10:00:00,\"你好,买家,好店\n李四,2026-05-01 10:01:00,在的,客服,好店\n王五,2026-05-01 10:02:00,嗯\",买家,好店\n赵六,2026-05-01 10:03:00,ok,买家,好店\n",
    [("2026-05-01 10:03:00", "ok")])
add("gbk_line_utf8_shop.csv", (H + row(T, "你好呀")).encode("gbk") + "2026-05-01 10:01:00,b1,".encode() + "在的呀".encode("gbk") + ",买家,".encode("gbk") + "好店".encode() + b"\n"
    + row("2026-05-01 10:02:00", "好的").encode("gbk"), [(T, "你好呀"), ("2026-05-01 10:02:00", "好的")])
add("json_gbk_shop_only.json", b'{"sent_at":"2026-05-01 10:00:00","buyer_id":"b","content":"' + "在的呀".encode("gbk") + b'","sender":"buyer","shop":"' + "好店".encode() + b'"}', None)
counts = dict(tried=0, rejected=0, right=0, wrong=0)
if len(sys.argv) < 2:
    sys.argv.append(str(Path(__file__).resolve().parents[1]))
env = dict(os.environ, PYTHONPATH=sys.argv[1])
for name, data, expect, opts in cases:
    f = ROOT / name; f.write_bytes(data); store = ROOT / ("_s_" + name)
    p = subprocess.run([sys.executable, "-m", "cskit", "ingest", str(f), "--store", str(store), "--max-bad-rows", "1", "--shop", "好店", *[o for o in opts if o]], capture_output=True, text=True, env=env, cwd=sys.argv[1])
    counts["tried"] += 1
    if p.returncode != 0:
        ok = p.returncode in (2, 3, 4) and "Traceback" not in p.stderr and p.stderr.strip()
        out = "rejected" if (expect is None or expect == []) and ok else ("rejected" if ok else "wrong")
        if expect: out = "rejected"  # refused as a whole: nothing stored, so not wrong
        counts[out] += 1; print(f"{out:8} {name}: exit {p.returncode}: {p.stderr.strip()[:150]}"); continue
    if expect is None:
        counts["wrong"] += 1; print(f"wrong    {name}: accepted, expected refusal"); continue
    import pandas as pd
    sys.path.insert(0, sys.argv[1]); from cskit.store import Store
    try: df = Store(store).read("messages")
    except Exception: df = pd.DataFrame(columns=["sent_at", "content", "shop"])
    got = sorted((str(t), c) for t, c in zip(df["sent_at"], df["content"]))
    shops = set(df["shop"]) if len(df) else set()
    out = "right" if got == sorted(expect) and shops <= {"好店"} else "wrong"
    if not expect and not got: out = "rejected"
    counts[out] += 1
    print(f"{out:8} {name}: stored {len(got)} {'' if out!='wrong' else got} | {p.stderr.strip()[:160]}")
print(counts)
shutil.rmtree(ROOT, ignore_errors=True)
