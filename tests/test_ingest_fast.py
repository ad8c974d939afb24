"""The fast ingest path gives exactly what the general path gives.

Ingest reads UTF-8 files straight from their bytes (no decode/encode round trip), cleans
columns in arrow (once per distinct value for low-cardinality columns, several columns at
a time on large files), hashes text as UTF-8 bytes in blocks, and writes partitions from
one arrow table on a thread pool.  Each shortcut is checked here against the slow, obvious
formulation it replaces (the ``ref_*`` oracles below are the pre-optimisation code), on
small files full of messy cells: ``="123"``, tab/apostrophe-prefixed ids, ``-``, blank
lines, summary rows, ``1.23E+18`` ids, full-width colons, epoch and Chinese timestamps,
GB18030, BOMs, title rows, ragged rows.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from cskit.readers import cells
import cskit.readers.chats_tabular as chats
import cskit.readers.common as common
import cskit.store as store_mod
import cskit.store_keys as store_keys
from cskit import schema
from cskit.errors import InputFileError
from cskit.ingest import ingest
from cskit.memory import no_huge_pages
from cskit.readers import ReadOptions, read_file
from cskit.readers.chats_tabular import content_text, first_reason, normalise_agent, shop_prefix
from cskit.readers.common import (
    NotFast,
    clean_id,
    clean_str,
    file_is_utf8,
    is_summary_row,
    table_from_text,
    table_from_utf8,
)
from cskit.store import Store, add_keys, conform, hash_rows

HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id"
MESSY = [
    '店A,pdd,c1,b1,店A:小王,buyer,2026-05-03 10:00:00,你好,text,1001',
    '店A,pdd,c1,="600123",店A:小王,agent,2026-05-03 10:00:05,在的,text,="1002"',
    '店A,pdd,c1,"\t600124",店A:小王,agent,2026-05-03 10:00:06,"  有空格  ",text,1003',
    "店A,pdd,c1,'600125,店A:小王,bot,2026-05-03 10:00:07,自动,text,1004",
    '店A,pdd,c1,1.23E+18,店A:小王,buyer,2026-05-03 10:00:08,科学,text,1005',
    '店A,pdd,c1,12345.0,店A:小王,buyer,2026-05-03 10:00:09,点零,text,1006.0',
    '店A,pdd,c1,b2,店A:小王,buyer,2026-05-03 10:00:10,msgsci,text,7.36E+18',
    '-,pdd,c2,b3,店B：小李,agent,2026-05-03 10:01:00,-,text,1007',
    ',pdd,c2,b3,店B : 小李,agent,2026-05-03 10:01:01,全角,,1008',
    'null,taobao,c3,b4,,Buyer ,2026/5/3 9:10,斜杠,text,1009',
    '店C,拼多多,c3,b4,店C:甲,客服,2026年5月3日 09:05:07,年月日,text,1010',
    '店C,ebay,c3,b4,店C:甲,客服,2026-05-03 09:06:00,坏平台,text,1011',
    '店C,,c3,b4,店C:甲,访客,2026-05-03 09:07:00,坏角色,text,1012',
    '店C,TMALL,c3,b4,b4,,2026-05-03 09:08:00,无角色账号是买家,text,1013',
    '店C,jd,c3,b4,店C:乙,,2026-05-03 09:09:00,无角色账号是客服,text,1014',
    '店C,jd,c3,b4,,,2026-05-03 09:10:00,谁也不是,text,1015',
    '店C,jd,c4,b5,店C:乙,agent,1714712345,epoch,text,1016',
    '店C,jd,c4,b5,店C:乙,agent,2026-05-03T10:00:00,iso,text,1018',
    '店C,jd,c4,b5,店C:乙,agent,2026-05-03 25:00:00,坏时间,text,1019',
    '店C,jd,c4,b5,店C:乙,agent,,无时间,text,1020',
    '',
    ',,,,,,,,,',
    '店C,jd,c4,,店C:乙,agent,2026-05-03 10:02:00,无买家,text,1022',
    '店C,jd,c4,b5,店C:乙,agent,2026-05-03 10:03:00,"多行\n内容",text,1023',
    '店C,jd,c4,b5,店C:乙,buyer,2026-05-03 10:04:00,重复,text,',
    '店C,jd,c4,b5,店C:乙,buyer,2026-05-03 10:04:00,重复,text,',
    '店C,jd,c4,b5,,buyer,2026-05-03 10:05:00,"   ",text,1024',
    ',,c6,b7,,buyer,2026-05-03 10:07:00,无店无平台,text,1026',
    ',,c6,b7,店E:丁,agent,2026-05-03 10:07:30,同会话,text,1027',
    '  店F  , PDD ,  c7 , b8 , 店F:戊 , Agent ,2026-06-01 00:00:00,跨月,Image,1028',
    "店F,douyin,c7,b8,'店F:戊,agent,2026-06-01 00:00:01,引号,text,1029",
    '店F,抖店,c7,b8,N/A,人工客服,2026-04-30 23:59:59,na客服,text,N/A',
    '合计,,,,,,,,,',
    '  汇总 ,,,,,,,,,',
]


def normal_rows(n: int, seed: int = 5) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        shop = rnd.choice(["店A", "店B", "店C"])
        buyer = f"b{rnd.randint(1, 60)}"
        role = rnd.choice(["buyer", "agent", "bot"])
        agent = "" if role == "buyer" else f"{shop}:客服{rnd.randint(1, 4)}"
        out.append(f"{shop},pdd,{shop}-{buyer},{buyer},{agent},{role},"
                   f"2026-{rnd.choice([4, 5, 6]):02d}-{rnd.randint(1, 28):02d} "
                   f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d},"
                   f"{rnd.choice(['在吗', '好的', '谢谢', '亲'])},text,{20000 + i}")
    return out


def write(path, lines, *, encoding="utf-8", newline="\n", bom=b"", header=HEADER):
    path.write_bytes(bom + (newline.join([header] + lines) + newline).encode(encoding))
    return path


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch):
    """Let the tiny test files take the large-file code paths too (per-value cleaning,
    threads, per-value hashing, hashing in blocks)."""
    monkeypatch.setattr(cells, "DICT_SAMPLE", 16)
    monkeypatch.setattr(cells, "DICT_MAX", 8)
    monkeypatch.setattr(chats, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(store_keys, "_SAMPLE", 16)
    monkeypatch.setattr(store_keys, "_FEW", 8)
    monkeypatch.setattr(store_keys, "_HASH_BLOCK", 37)


def assert_same_frame(a: pd.DataFrame, b: pd.DataFrame):
    assert list(a.columns) == list(b.columns)
    assert [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes]
    pd.testing.assert_frame_equal(a, b, check_exact=True)


# --------------------------------------------------------------------------- reading bytes

def assert_same_table(a, b):
    assert_same_frame(a.frame, b.frame)
    assert (a.raw_headers, a.header_row, a.encoding) == (b.raw_headers, b.header_row, b.encoding)
    assert np.array_equal(a.rows().to_numpy(), b.rows().to_numpy())


@pytest.mark.parametrize("variant", ["plain", "crlf", "bom", "two_boms", "title", "tsv", "long_cell"])
def test_utf8_bytes_parse_as_the_decoded_text(tmp_path, variant):
    lines = MESSY + normal_rows(300)
    kw = {}
    if variant == "crlf":
        kw["newline"] = "\r\n"
    elif variant == "bom":
        kw["bom"] = b"\xef\xbb\xbf"
    elif variant == "two_boms":
        kw["bom"] = b"\xef\xbb\xbf" * 2
    elif variant == "title":
        lines = [HEADER] + lines
        kw["header"] = "聊天记录导出（2026-05-03）,,,"
    elif variant == "tsv":
        lines = [ln.replace(",", "\t") for ln in lines if '"' not in ln]
        kw["header"] = HEADER.replace(",", "\t")
    elif variant == "long_cell":  # the first row runs far past the 64K-character head
        lines = ["店A,pdd,c1,b1,,buyer,2026-05-03 10:00:00," + "长" * 90000 + ",text,1"] + lines
    path = write(tmp_path / "x.csv", lines, **kw)
    known = chats.KNOWN_HEADERS
    text = path.read_bytes().decode("utf-8-sig")
    assert_same_table(table_from_utf8(path, known, None), table_from_text(text, path, known, "utf-8-sig"))


@pytest.mark.parametrize("tail", [
    "店A,pdd,c1,b1,,buyer,2026-05-03 10:00:00,你好,text,9\n".encode("gb18030"),  # GB18030 late
    b"\xff\xfe,x\n",  # not text at all
    "店".encode()[:2],  # a cut character at the very end
    "店A,pdd,c1\n".encode(),  # a ragged row: the csv module's job
])
def test_fast_path_steps_aside_for_anything_unusual_past_the_head(tmp_path, tail):
    head = "\n".join([HEADER] + normal_rows(6000)).encode() + b"\n"  # > 256 KB of clean UTF-8
    path = tmp_path / "late.csv"
    path.write_bytes(head + tail)
    with pytest.raises(NotFast):
        table_from_utf8(path, chats.KNOWN_HEADERS, None)


def test_a_header_past_the_head_takes_the_general_path(tmp_path):
    # the parser skips title rows unchecked: they must lie inside the strictly decoded head
    title = ("x" * 300_000 + "店").encode("gb18030")
    path = tmp_path / "t.csv"
    path.write_bytes(title + b"\n" + "\n".join(["你好"] * 50).encode() + b"\n")
    with pytest.raises(NotFast):
        table_from_utf8(path, chats.KNOWN_HEADERS, None)


def test_gb18030_and_utf8_files_read_the_same(tmp_path):
    lines = MESSY + normal_rows(200)
    utf8 = read_file(write(tmp_path / "u.csv", lines), ReadOptions())
    gb = read_file(write(tmp_path / "g.csv", lines, encoding="gb18030"), ReadOptions())
    assert_same_frame(utf8.frame, gb.frame)
    assert utf8.rejects == gb.rejects and utf8.rows_read == gb.rows_read
    assert ("buyer id mangled to scientific notation" in {why for _, why in utf8.rejects})


@pytest.mark.parametrize("encoding, error", [("gb18030", "cannot decode as gb18030"),
                                             ("utf-8", None), ("latin-1", None)])
def test_forced_encodings_behave_as_before(tmp_path, encoding, error):
    path = write(tmp_path / "u.csv", MESSY + normal_rows(50))
    if error:
        with pytest.raises(InputFileError, match=error):
            read_file(path, ReadOptions(encoding=encoding))
        return
    text = path.read_bytes().decode(encoding)
    fast = read_file(path, ReadOptions(encoding=encoding)).frame
    slow = chats.read(path, ReadOptions(encoding=encoding), _probe_with_text(path, text, encoding))
    assert_same_frame(fast, slow.frame)


def _probe_with_text(path, text, encoding):
    from cskit.readers import Probe

    probe = Probe(path, ReadOptions(encoding=encoding))
    probe.__dict__["text"] = text.lstrip("\ufeff")  # forces the general (decoding) path
    return probe


def test_blank_and_invalid_files_keep_their_errors(tmp_path):
    (tmp_path / "ws.csv").write_bytes("\u3000 \n".encode())
    with pytest.raises(InputFileError, match="the file is empty"):
        read_file(tmp_path / "ws.csv", ReadOptions())
    (tmp_path / "bad.csv").write_bytes(HEADER.encode() + b"\n\xff\xfe\xfa,pdd\n")
    with pytest.raises(InputFileError, match="not valid UTF-8 or GB18030"):
        read_file(tmp_path / "bad.csv", ReadOptions())


def test_file_is_utf8_agrees_with_python_across_block_edges(tmp_path):
    rnd = random.Random(3)
    pieces = ["a", "店", "😀", "é", "\n", ","]
    for i in range(200):
        data = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40))).encode()
        if i % 3 == 0 and data:  # damage one byte
            k = rnd.randrange(len(data))
            data = data[:k] + bytes([rnd.choice([0x80, 0xc3, 0xe5, 0xf0, 0xff])]) + data[k + 1:]
        (tmp_path / "f").write_bytes(data)
        try:
            data.decode("utf-8")
            expected = True
        except UnicodeDecodeError:
            expected = False
        assert file_is_utf8(tmp_path / "f", block=5) is expected, data


# --------------------------------------------------------------------------- cleaning

def ref_clean_str(s: pd.Series) -> pd.Series:
    arr = common.to_arrow_str(s)
    arr = pc.utf8_trim_whitespace(arr)
    if pc.any(pc.starts_with(arr, '="')).as_py():
        arr = pc.replace_substring_regex(arr, r'^="(.*)"$', r"\1")
    if pc.any(pc.match_substring_regex(arr, r"^[\t']")).as_py():
        arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"^[\t']+", ""))
    empty = pc.is_in(arr, value_set=pa.array(sorted(common.EMPTY_MARKERS), type=arr.type))
    arr = pc.if_else(empty, pa.scalar(None, arr.type), arr)
    return common.from_arrow_str(arr, s.index)


def ref_clean_id(s: pd.Series):
    arr = common.to_arrow_str(ref_clean_str(s))
    if pc.any(pc.ends_with(arr, ".0")).as_py():
        arr = pc.replace_substring_regex(arr, r"\.0$", "")
    bad = pc.fill_null(pc.match_substring_regex(arr, r"^\d(\.\d+)?[eE]\+?\d+$"), False)
    return common.from_arrow_str(arr, s.index), pd.Series(bad.to_numpy(zero_copy_only=False),
                                                          index=s.index)


def ref_is_summary_row(frame: pd.DataFrame) -> pd.Series:
    first = frame.iloc[:, -1]
    for i in range(frame.shape[1] - 2, -1, -1):
        col = frame.iloc[:, i]
        first = col.where(col.notna(), first)
    first = first.astype("string").str.strip()
    return first.str.startswith(common.SUMMARY_WORDS).fillna(False).astype(bool)


def ref_content_text(s: pd.Series) -> pd.Series:
    t = pd.Series(s.astype("object").where(s.notna(), None), dtype="string").str.strip()
    return t.mask(t == "")


def ref_normalise_agent(s: pd.Series) -> pd.Series:
    arr = common.to_arrow_str(s)
    if pc.any(pc.match_substring_regex(arr, r"：|\s:|:\s")).as_py():
        arr = pc.replace_substring_regex(arr, r"\s*[:：]\s*", ":")
    return common.from_arrow_str(arr, s.index)


def ref_first_reason(index, checks):
    conds = [np.asarray(pd.Series(c, index=index).fillna(False), dtype=bool) for c, _ in checks]
    out = pd.Series(np.select(conds, [r for _, r in checks], default=""), index=index,
                    dtype="string")
    return out.mask(out == "")


def messy_table(tmp_path):
    path = write(tmp_path / "m.csv", MESSY * 3 + normal_rows(100))
    return table_from_utf8(path, chats.KNOWN_HEADERS, None)


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_column_cleaning_matches_the_plain_formulation(tmp_path, dtype):
    frame = messy_table(tmp_path).frame
    if dtype == "object":
        frame = frame.astype(object).where(frame.notna(), None)
    for col in frame.columns:
        s = frame[col]
        assert_same_series(clean_str(s), ref_clean_str(s))
        ids, bad = clean_id(s)
        ref_ids, ref_bad = ref_clean_id(s)
        assert_same_series(ids, ref_ids)
        assert bad.tolist() == ref_bad.tolist()
        assert_same_series(normalise_agent(clean_str(s)), ref_normalise_agent(ref_clean_str(s)))
        assert_same_series(content_text(s), ref_content_text(s))
        if dtype == "str":
            assert_same_series(shop_prefix(s), chats.from_arrow_str(
                chats._shop_prefix(common.to_arrow_str(s)), s.index))
    assert is_summary_row(frame).tolist() == ref_is_summary_row(frame).tolist()
    assert is_summary_row(frame).sum() == 6


def assert_same_series(a: pd.Series, b: pd.Series):
    assert str(a.dtype) == str(b.dtype)
    pd.testing.assert_series_equal(a, b, check_exact=True, check_names=False)


def test_first_reason_codes_match_string_choices():
    idx = pd.RangeIndex(6)
    checks = [(pd.Series([True, False, None, False, False, True]), "a"),
              (np.array([False, True, True, False, False, True]), "b"),
              (pa.array([False, None, True, True, False, True]), "c")]
    ref_checks = [(pd.Series(np.asarray(common.to_bool(c))), r) for c, r in checks]
    assert_same_series(first_reason(idx, checks), ref_first_reason(idx, ref_checks))


@pytest.mark.parametrize("parallel_rows, dict_sample", [(0, 16), (10**9, 16), (0, 10**9)])
def test_reader_output_does_not_depend_on_threads_or_per_value_cleaning(
        tmp_path, monkeypatch, parallel_rows, dict_sample):
    path = write(tmp_path / "m.csv", MESSY * 3 + normal_rows(300))
    expected = read_file(path, ReadOptions(shop="店Z"))
    monkeypatch.setattr(chats, "PARALLEL_ROWS", parallel_rows)
    monkeypatch.setattr(cells, "DICT_SAMPLE", dict_sample)
    got = read_file(path, ReadOptions(shop="店Z"))
    assert_same_frame(got.frame, expected.frame)
    assert got.rejects == expected.rejects and got.platform == expected.platform


# --------------------------------------------------------------------------- keys and writing

def ref_hash_rows(frame, cols, key):
    h = np.zeros(len(frame), dtype="uint64")
    for c in cols:
        values = store_mod._col_array(frame[c])
        if values is None:
            arr = common.to_arrow_str(frame[c]).fill_null("\x00")
            values = arr.to_numpy(zero_copy_only=False).astype(object)
        part = pd.util.hash_array(values, hash_key=key, categorize=False)
        with np.errstate(over="ignore"):
            h = (h * np.uint64(1000003)) ^ part
    return h


def ref_add_keys(kind, frame):
    ident = list(schema.IDENTITY[kind])
    out = frame.copy()
    if kind == schema.MESSAGES:
        base = ref_hash_rows(out, ident, store_mod._K1)
        src = out["source_file"] if "source_file" in out else pd.Series("", index=out.index)
        occ = pd.DataFrame({"s": src.to_numpy(), "b": base}).groupby(["s", "b"], sort=False).cumcount()
        out["_occ"] = occ.to_numpy()
        ident = ident + ["_occ"]
    out["_k1"] = ref_hash_rows(out, ident, store_mod._K1)
    out["_k2"] = ref_hash_rows(out, ident, store_mod._K2)
    content = [c for c in schema.columns(kind) if c not in ("source_file", "source_row")]
    out["_h"] = ref_hash_rows(out, content, store_mod._K1) if kind in store_mod.VERSIONED \
        else np.uint64(0)
    return out.drop(columns=["_occ"], errors="ignore")


def messages_frame(tmp_path):
    a = read_file(write(tmp_path / "a.csv", MESSY * 2 + normal_rows(200)), ReadOptions(shop="S"))
    b = read_file(write(tmp_path / "b.csv", MESSY + normal_rows(100, seed=9)), ReadOptions(shop="S"))
    return pd.concat([a.frame.assign(source_file="a.csv"), b.frame.assign(source_file="b.csv"),
                      a.frame.iloc[:40].assign(source_file="a.csv")], ignore_index=True)


@pytest.mark.parametrize("sources", ["two", "one", "missing", "none"])
def test_keys_match_the_three_pass_formulation(tmp_path, sources):
    frame = messages_frame(tmp_path)
    if sources == "one":
        frame["source_file"] = "a.csv"
    elif sources == "missing":
        frame.loc[frame.index[::7], "source_file"] = None
    elif sources == "none":
        frame = frame.drop(columns=["source_file"])
    frame = conform("messages", frame)
    assert_same_frame(add_keys("messages", frame), ref_add_keys("messages", frame))
    for col in frame.columns:
        assert np.array_equal(hash_rows(frame, [col], store_mod._K2),
                              ref_hash_rows(frame, [col], store_mod._K2))


def test_appended_part_files_are_what_the_groupby_writer_wrote(tmp_path):
    frame = conform("messages", messages_frame(tmp_path))
    st = Store(tmp_path / "st")
    with st.transaction() as tx:
        stats = tx.append("messages", frame)
    keyed = ref_add_keys("messages", frame).drop_duplicates(["_k1", "_k2", "_h"], keep="first")
    assert stats.added == len(keyed) and stats.duplicates == len(frame) - len(keyed)
    keyed["_month"] = keyed["sent_at"].dt.strftime("%Y-%m")
    full = pq.read_schema(tmp_path / "st" / st.manifest().files[0].path)
    groups = list(keyed.groupby(["shop", "_month"], sort=True, dropna=False))
    assert [(f.shop, f.month, f.rows) for f in st.manifest().files] == \
        [(shop, month, len(part)) for (shop, month), part in groups]
    for f, (_, part) in zip(st.manifest().files, groups):
        rows = part.drop(columns=["_month"]).assign(_batch=np.int64(1))
        expected = pa.Table.from_pandas(rows[full.names], schema=full, preserve_index=False)
        expected = expected.sort_by([("sent_at", "ascending")])
        got = pq.read_table(tmp_path / "st" / f.path)
        assert got.equals(expected) and got.schema.metadata == expected.schema.metadata


def test_ingest_twice_adds_nothing_and_a_bad_file_writes_nothing(tmp_path):
    good = write(tmp_path / "good.csv", MESSY + normal_rows(400))
    st = Store(tmp_path / "st")
    first = ingest([good], st).totals()
    assert first["rows_added"] > 0 and first["rejected"] == 7
    assert ingest([good], st).totals()["rows_added"] == 0
    files = sorted(p.name for p in (tmp_path / "st").rglob("*.parquet"))
    bad = write(tmp_path / "bad.csv", MESSY)  # 7 of 30 rows rejected: over the 5% threshold
    with pytest.raises(Exception, match="rows cannot be parsed"):
        ingest([write(tmp_path / "new.csv", normal_rows(50, seed=11)), bad], st, strict=True)
    assert sorted(p.name for p in (tmp_path / "st").rglob("*.parquet")) == files


@pytest.mark.skipif(not re.match("linux", __import__("sys").platform), reason="Linux prctl")
def test_huge_pages_are_switched_off_only_while_ingesting():
    import ctypes

    prctl = ctypes.CDLL(None).prctl
    before = prctl(42, 0, 0, 0, 0)
    with no_huge_pages():
        assert prctl(42, 0, 0, 0, 0) == 1
    assert prctl(42, 0, 0, 0, 0) == before


@pytest.mark.skipif(not re.match("linux", __import__("sys").platform), reason="glibc mallopt")
def test_reuse_freed_memory_sets_the_system_pool_and_glibc_trim(tmp_path):
    import subprocess
    import sys

    code = ("import pyarrow as pa; from cskit.memory import reuse_freed_memory as r; "
            "print(pa.default_memory_pool().backend_name != 'system', r(), "
            "pa.default_memory_pool().backend_name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "system"]


@pytest.mark.skipif(not re.match("linux", __import__("sys").platform), reason="glibc mallopt")
def test_reuse_freed_memory_keeps_mid_sized_blocks_on_the_heap():
    """After reuse_freed_memory an 8 MB block comes from the heap, not from a mapping of its
    own (glibc's mallinfo2: hblkhd = bytes in such mappings); by default it would be mapped,
    unmapped when freed and faulted in again next time (slices of about 500 k messages make
    arrays of this size)."""
    import subprocess
    import sys

    code = ("import ctypes\n"
            "class MI(ctypes.Structure):\n"
            "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena ordblks smblks hblks hblkhd "
            "usmblks fsmblks uordblks fordblks keepcost').split()]\n"
            "libc = ctypes.CDLL(None)\n"
            "f = getattr(libc, 'mallinfo2', None)\n"
            "if f is None: print('skip'); raise SystemExit\n"
            "f.restype = MI\n"
            "from cskit.memory import reuse_freed_memory as r\n"
            "import sys\n"
            "if sys.argv[1] == 'tuned': r()\n"
            "before = f().hblkhd\n"
            "block = bytearray(8 << 20)\n"
            "print(f().hblkhd - before >= 8 << 20)\n")
    out = {mode: subprocess.run([sys.executable, "-c", code, mode], capture_output=True,
                                text=True, check=True).stdout.strip()
           for mode in ("default", "tuned")}
    if "skip" in out.values():
        pytest.skip("no mallinfo2 (glibc < 2.33)")
    assert out == {"default": "True", "tuned": "False"}


def test_byte_prechecks_find_marks_and_line_breaks_in_any_layout():
    """The ingest fast path searches a column's cells for the not-UTF-8 / mixed-encoding
    marks and for line breaks only when its bytes hold them: the byte check must never
    miss one (chunked, sliced, at the very end of the buffer, next to look-alike bytes)."""
    import pyarrow as pa

    from cskit.readers.csvcheck import (INVALID_MARK, MIXED_MARK, _marks_in,
                                        _may_hold_newline)

    clean = pa.array(["在吗，亲", "￥12", None, "ok"], type=pa.large_string())  # EF BC 8C, EF BF A5
    assert _marks_in(clean) == set() and not _may_hold_newline(clean)
    end = pa.array(["a", "b" + INVALID_MARK])
    assert _marks_in(end) == {INVALID_MARK}
    mixed = pa.chunked_array([pa.array(["x"]), pa.array(["y", MIXED_MARK + "z\nw"])])
    assert _marks_in(mixed) == {MIXED_MARK} and _may_hold_newline(mixed)
    sliced = pa.array(["a\n" + INVALID_MARK, "b", "c"]).slice(1)
    assert _may_hold_newline(sliced)  # bytes outside the slice: a closer look, never a miss
    assert _marks_in(pa.array([None, None], type=pa.string())) == set()
    assert _marks_in(pa.array([1, 2])) == {INVALID_MARK, MIXED_MARK}  # not text: search it


@pytest.mark.parametrize("piece", [1, 2, 3, 4, 5, 7])
def test_byte_prechecks_scan_in_pieces_without_missing_a_mark_on_an_edge(monkeypatch, piece):
    """The byte checks scan a column a piece at a time (the temporaries stay in the CPU
    cache): a 3-byte mark or a line break across every possible piece edge is still found."""
    import pyarrow as pa

    import cskit.readers.csvcheck as cc

    monkeypatch.setattr(cc, "_PIECE", piece)
    for lead in range(9):
        for mark in (cc.INVALID_MARK, cc.MIXED_MARK):
            arr = pa.array(["x" * lead + mark + "yz", "ok"], type=pa.large_string())
            assert cc._marks_in(arr) == {mark}, (lead, mark)
        nl = pa.array(["x" * lead + "\n", "ok"], type=pa.large_string())
        assert cc._may_hold_newline(nl)
        assert cc._marks_in(pa.array(["x" * lead + "￥在吗，", "ok"])) == set()
        assert not cc._may_hold_newline(pa.array(["x" * lead, "ok"]))


@pytest.mark.parametrize("threshold", [1, 10**9])
def test_one_chunk_on_threads_gives_the_same_table(monkeypatch, threshold):
    """The parsed CSV's columns are combined on several threads for a large table: the same
    table (values, types, missing cells) as one column at a time."""
    import pyarrow as pa

    from cskit.readers import common, tabular

    monkeypatch.setattr(tabular, "PARALLEL_COMBINE", threshold)
    a = pa.chunked_array([pa.array(["x", None], pa.large_string()), pa.array(["在吗"], pa.large_string())])
    b = pa.chunked_array([pa.array([1, 2]), pa.array([None], pa.int64())])
    c = pa.chunked_array([pa.array(["k", "l", "m"])])  # one chunk already
    table = pa.table({"a": a, "b": b, "c": c})
    want = table.combine_chunks()
    held = [table]
    del table
    got = common.one_chunk(held)
    assert held == [] and got.equals(want)
    assert all(col.num_chunks == 1 for col in got.columns)
