"""Chat log writers: PDD JSONL, Qianniu text, browser-extension XLSX / GB18030 CSV, canonical CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .base import MESSAGE_COLUMNS, UTC_OFFSET, _cat
from .shops import ShopSpec

# =============================================================================== writers


def _fmt_dt(secs_or_dt, none_as: str = "") -> np.ndarray:
    """datetime64 / epoch seconds (-1 or NaT = missing) → 'YYYY-MM-DD HH:MM:SS'."""
    a = np.asarray(secs_or_dt)
    if a.dtype.kind == "M":
        s = pd.Series(a.astype("datetime64[s]"))
    else:
        s = pd.Series(np.where(a >= 0, a, np.iinfo(np.int64).min).astype("datetime64[s]"))
    return s.dt.strftime("%Y-%m-%d %H:%M:%S").fillna(none_as).to_numpy(dtype=object)


def _qianniu_time(dt: np.ndarray) -> np.ndarray:
    """'2026-11-9 9:05:07' — month, day and hour not zero-padded."""
    s = pd.Series(np.asarray(dt).astype("datetime64[s]"))
    return _cat(s.dt.year.to_numpy(), "-", s.dt.month.to_numpy(), "-", s.dt.day.to_numpy(), " ",
                s.dt.hour.to_numpy(), ":", s.dt.strftime("%M:%S").to_numpy(dtype=object))


def _json_str(a: np.ndarray) -> pd.Series:
    """Strings → JSON string literals (vectorised; None → null)."""
    s = pd.Series(a, dtype=object)
    missing = s.isna()
    t = s.fillna("").astype(str)
    for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        t = t.str.replace(old, new, regex=False)
    out = '"' + t + '"'
    return out.where(~missing, "null")


def _write_pdd_json(path: Path, m: pd.DataFrame, extra: pd.DataFrame, shop: ShopSpec) -> None:
    sender = m["sender"].to_numpy()
    buyer = m["buyer_id"].to_numpy()
    agent = m["agent_id"].to_numpy()
    is_buyer = sender == "buyer"
    from_role = np.where(is_buyer, "user", "mall_cs")
    to_role = np.where(is_buyer, "mall_cs", "user")
    mall_uid = str(100_000_000 + sum(map(ord, shop.name)) * 1009)
    from_uid = np.where(is_buyer, buyer, agent)
    to_uid = np.where(is_buyer, mall_uid, buyer)
    agent_name = pd.Series(agent, dtype=object).fillna("").str.split(":").str[-1].to_numpy()
    nickname = np.where(is_buyer, extra["nick"].to_numpy(),
                        np.where(sender == "system", "", agent_name))
    is_aut = np.where(sender == "bot", "1", "0")
    cs_uid = np.where(is_buyer, "", agent)
    template = np.where(sender == "bot", "欢迎语", "")
    ts = (m["sent_at"].to_numpy().astype("datetime64[s]").astype(np.int64) - UTC_OFFSET)
    line = ('{"msg_id":' + _json_str(m["msg_id"].to_numpy())
            + ',"type":' + m["msg_type"].astype(str)
            + ',"content":' + _json_str(m["content"].to_numpy())
            + ',"ts":' + pd.Series(ts).astype(str).to_numpy()
            + ',"from":{"role":' + _json_str(from_role) + ',"uid":' + _json_str(from_uid)
            + '},"to":{"role":' + _json_str(to_role) + ',"uid":' + _json_str(to_uid)
            + '},"nickname":' + _json_str(nickname)
            + ',"is_aut":' + is_aut
            + ',"cs_uid":' + _json_str(cs_uid)
            + ',"template_name":' + _json_str(template) + "}")
    path.write_bytes(("\n".join(line.tolist()) + "\n").encode("utf-8"))


def _write_qianniu(path: Path, m: pd.DataFrame, extra: pd.DataFrame, notes: pd.DataFrame,
                   rng: np.random.Generator) -> None:
    """One transcript per day: conversations one after the other, CRLF, UTF-8."""
    sender = m["sender"].to_numpy()
    name = np.where(sender == "buyer", m["buyer_id"].to_numpy(), m["agent_id"].to_numpy())
    header = _cat(name, " ", _qianniu_time(m["sent_at"].to_numpy()))
    u = rng.random(len(m))
    status = np.where(np.isin(sender, ["agent", "bot"]),
                      np.where(u < 0.85, "\r\n已读", np.where(u < 0.95, "\r\n未读", "")), "")
    block = np.where(sender == "system", m["content"].to_numpy(),
                     _cat(header, "\r\n", m["content"].to_numpy(), status))
    conv = extra["conv"].to_numpy()
    rows = np.arange(len(m))
    el = pd.DataFrame({"conv": conv, "key": rows * 3 + 1, "text": block})
    if len(notes):
        pos = notes["row"].to_numpy()  # positions are rows of this file's frame
        key = np.where(notes["where"].to_numpy() == "after", pos * 3 + 2, pos * 3)
        el = pd.concat([el, pd.DataFrame({"conv": conv[pos], "key": key,
                                          "text": notes["text"].to_numpy()})], ignore_index=True)
    el = el.sort_values(["conv", "key"], kind="stable")
    new_conv = np.array(el["conv"].ne(el["conv"].shift()).to_numpy(), dtype=bool)
    new_conv[0] = False
    text = np.where(new_conv, _cat("\r\n", el["text"].to_numpy()), el["text"].to_numpy())
    path.write_bytes(("\r\n".join(text.tolist()) + "\r\n").encode("utf-8"))


TABULAR_HEADERS = ["客户名", "消息序号", "发送时间", "发送内容", "发送账号", "账号类型"]
ROLE_ZH = {"buyer": "买家", "agent": "客服", "bot": "机器人", "system": "系统"}


def _tabular_frame(m: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    sender = m["sender"].to_numpy()
    df = pd.DataFrame({
        "客户名": m["buyer_id"].to_numpy(),
        "消息序号": m["msg_id"].astype(int).to_numpy(),
        "发送时间": _fmt_dt(m["sent_at"].to_numpy()),
        "发送内容": m["content"].to_numpy(),
        "发送账号": np.where(sender == "buyer", m["buyer_id"].to_numpy(), m["agent_id"].to_numpy()),
        "账号类型": pd.Series(sender).map(ROLE_ZH).to_numpy(),
        "_conv": extra["conv"].to_numpy(), "_row": np.arange(len(m)),
    })
    # browser-extension exports list each customer's conversation in one block
    return df.sort_values(["_conv", "_row"], kind="stable").drop(columns=["_conv", "_row"])


def _xml_escape(a) -> np.ndarray:
    s = pd.Series(a, dtype=object).fillna("").astype(str)
    return (s.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False)
            .str.replace(">", "&gt;", regex=False)).to_numpy(dtype=object)


def _col_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


_FIXED_ZIP_TIME = (2026, 11, 23, 9, 30, 0)


def _write_xlsx(path: Path, sheet: str, rows_before: list[list[str]], df: pd.DataFrame) -> None:
    """A minimal, deterministic XLSX (inline strings, numbers as numbers), no openpyxl."""
    ncol = len(df.columns)
    letters = [_col_letter(i) for i in range(ncol)]
    xml_rows = []
    r = 0
    for row in rows_before + [list(df.columns)]:
        r += 1
        cells = "".join(f'<c r="{letters[j]}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                        for j, v in enumerate(_xml_escape(row)) if v != "")
        xml_rows.append(f'<row r="{r}">{cells}</row>')
    first = r + 1
    rn = np.arange(first, first + len(df)).astype(str).astype(object)
    parts = [_cat('<row r="', rn, '">')]
    for j, col in enumerate(df.columns):
        v = df[col].to_numpy()
        ref = _cat(letters[j], rn)
        if np.issubdtype(np.asarray(v).dtype, np.number):
            parts.append(_cat('<c r="', ref, '"><v>', np.asarray(v).astype(str), "</v></c>"))
        else:
            parts.append(_cat('<c r="', ref, '" t="inlineStr"><is><t>', _xml_escape(v),
                              "</t></is></c>"))
    parts.append(np.full(len(df), "</row>", dtype=object))
    body = pd.Series(parts[0])
    for p in parts[1:]:
        body = body + pd.Series(p)
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 f'<dimension ref="A1:{letters[-1]}{first + len(df) - 1}"/><sheetData>'
                 + "".join(xml_rows) + "".join(body.tolist()) + "</sheetData></worksheet>")
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    path.write_bytes(buf.getvalue())


def _csv_bytes(df: pd.DataFrame, encoding: str, *, quoting: int = csv.QUOTE_MINIMAL,
               header: list[str] | None = None, eol: str = "\r\n") -> bytes:
    text = df.to_csv(index=False, header=header if header is not None else True,
                     lineterminator=eol, quoting=quoting)
    return text.encode(encoding)


def write_canonical_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write canonical messages as UTF-8 CSV (header = the canonical column names,
    ``sent_at`` as ``YYYY-MM-DD HH:MM:SS``, missing values empty).  Fast (Arrow)."""
    import pyarrow.csv as pacsv

    path = Path(path)
    cols = [c for c in MESSAGE_COLUMNS if c in df.columns]
    data = {}
    for c in cols:
        s = df[c]
        if c == "sent_at":
            data[c] = pa.array(s.to_numpy().astype("datetime64[s]"), type=pa.timestamp("s"))
        else:
            data[c] = pa.array(s.astype(object).where(s.notna(), None).to_numpy(dtype=object)
                               if s.dtype == object else s, type=pa.string()) \
                if not isinstance(s.dtype, pd.StringDtype) else pa.array(s, type=pa.string())
    table = pa.table(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write((",".join(cols) + "\n").encode("utf-8"))
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False,
                                                      batch_size=1 << 16))
    return path
