"""Personal data never reaches the store through a mapping, and never reaches a message.

* :func:`check_mapped` refuses a ``--mapping`` that routes a personal-data column into a
  stored field: judged by the header (Chinese and English words, :data:`PII_HEADER`) and by
  the values — most of the column's non-empty cells are mainland mobile numbers, 18-digit ID
  numbers or postal addresses (:data:`VALUE_PATTERNS`). A chat message that mentions a phone
  number is not such a column: the cell must *be* the number, for most cells.
* :func:`looks_like_data` tells a header row from a data row, so that an error about a
  headerless file says "the first row looks like data" instead of quoting that row.

Error messages name the file, the field and the kind of data, never a cell value.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cskit.errors import UsageError
from cskit.i18n import Msg

#: header words that mark personal data (matched on the normalised header)
PII_HEADER = re.compile(
    r"收货人|收件人|手机|电话|地址|身份证|证件|支付宝|姓名|邮箱|联系|街道|微信|qq"
    r"|mobile|phone|(^|[_.\-])tel($|[_.\-]|ephone)|address|(^|[_.\-])addr($|[_.\-])|e-?mail"
    r"|id_?card|id_?no|id_?number|identity|passport|receiver|recipient|consignee"
    r"|real_?name|full_?name|wechat|contact",
    re.IGNORECASE)

_ADDRESS = (r"^\s*\S{0,12}?(?:省|自治区|特别行政区|市)\S{0,20}?(?:市|区|县|州|旗|盟)"
            r"\S{0,60}?(?:路|街|道|巷|弄|号|村|镇|乡|栋|幢|楼|室|单元|小区|大厦)\S{0,40}$")

#: value kind -> full-cell pattern
VALUE_PATTERNS: dict[str, str] = {
    "mobile numbers": r"^\s*(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}\s*$",
    "ID numbers": r"^\s*\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]\s*$",
    "addresses": _ADDRESS,
}
#: a column is personal data when at least this share of its sampled non-empty cells match
SHARE = 0.5
SAMPLE = 2000

HINT = "cskit never stores names, phones, addresses or ID numbers; map another column"


def value_kind(values: pd.Series) -> str | None:
    """The kind of personal data most of ``values`` (strings) are, or None."""
    v = values.dropna().astype("string").str.strip()
    v = v[v != ""].head(SAMPLE)
    if v.empty:
        return None
    for kind, pattern in VALUE_PATTERNS.items():
        if v.str.contains(pattern, regex=True).fillna(False).mean() >= SHARE:
            return kind
    return None


def check_mapped(frame: pd.DataFrame, mapping: dict[str, str] | None, path: Path) -> None:
    """Refuse a mapping whose mapped columns (present in ``frame``, normalised headers) are
    personal data by header or by value (:class:`UsageError`)."""
    from cskit.readers.common import norm_header

    for field, header in (mapping or {}).items():
        h = norm_header(header)
        if h not in frame.columns:
            continue
        if PII_HEADER.search(h):
            raise UsageError(
                "{path}: the mapping points {field} at a personal-data column ({header})",
                hint=HINT, path=path, field=field, header=header)
        kind = value_kind(frame[h])
        if kind:
            raise UsageError(
                "{path}: the mapping points {field} at a column that holds {kind}; not read",
                hint=HINT, path=path, field=field, kind=Msg(kind))


_DATA_CELL = re.compile(r"^[\d\s:/\-.+eE,，¥￥%]+$")
#: a date with a time of day (2026-05-01 10:00:00, 2026/5/1 10:00): no header looks like that
_TIMESTAMP = re.compile(r"(?:19|20)\d\d[-/.年]\d{1,2}[-/.月]\d{1,2}日?\s*T?\d{1,2}:\d\d")


def looks_like_data(cells: list[object]) -> bool:
    """A header row that is really a data row: a cell holds personal data or a timestamp,
    or most of its non-empty cells are numbers / dates / long text."""
    vals = [str(c).strip() for c in cells if c is not None and str(c).strip()]
    if not vals:
        return False
    s = pd.Series(vals, dtype="string")
    for pattern in VALUE_PATTERNS.values():
        if s.str.contains(pattern, regex=True).any():
            return True
    if s.str.contains(_TIMESTAMP.pattern, regex=True).any():
        return True
    data = s.str.fullmatch(_DATA_CELL.pattern) | (s.str.len() > 30)
    return bool(data.mean() >= 0.5)


# the kinds, for the catalogue (shown inside the messages above)
KIND_NAMES = (Msg("mobile numbers"), Msg("ID numbers"), Msg("addresses"))
