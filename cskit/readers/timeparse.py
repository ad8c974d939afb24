"""Timestamp parsing shared by the readers: spellings, impossible dates, time zones, a sane
year range, and time-only cells whose date comes from elsewhere (issue 13 items 4 and 7).

Rules (docs/schema.md, "Timestamps"):

* naive times are the shop's local time (``--timezone`` / ``timezone = "…"`` in a folder's
  ``cskit.toml``; ``Asia/Shanghai`` by default) and are stored as they are;
* a time with a zone (``Z``, ``+08:00``, ``-0500``) is converted to that local time;
* epoch seconds / milliseconds are converted to that local time;
* a date that does not exist (``2026-02-30``) is rejected, never rolled over;
* years outside :data:`YEAR_MIN`..:data:`YEAR_MAX` are rejected;
* a time without a date (``20:57:11``) takes the date the caller knows for its row (from the
  export's date lines or the file/sheet name), else it is rejected as "date missing".

Everything is vectorised over pandas / pyarrow columns.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_TZ = "Asia/Shanghai"
YEAR_MIN, YEAR_MAX = 2000, 2100
_LO = np.datetime64(f"{YEAR_MIN}-01-01T00:00:00", "s")
_HI = np.datetime64(f"{YEAR_MAX + 1}-01-01T00:00:00", "s")

#: reasons a timestamp cell is rejected (each has a Chinese entry in data/messages.toml)
BAD = "bad timestamp"
IMPOSSIBLE = "impossible date (no such day)"
OUT_OF_RANGE = "year outside 2000–2100"
NO_DATE = "date missing: the cell has a time only and the export does not say which day"
BAD_ZONE = "bad time zone offset"

_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d %H:%M:%S",
            "%Y%m%d%H%M%S")
_ZONE = re.compile(r"^(?P<base>.*\d:\d\d(?::\d\d)?(?:\.\d+)?)\s*"
                   r"(?P<zone>Z|[+-]\d\d(?::?\d\d)?)$")
_TIME_ONLY = r"\d{1,2}:\d\d(:\d\d)?"
_YMD = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:$|[ T])")
#: a date by itself (a "date line" of an export, or a date in a file or sheet name)
DATE_ONLY = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
_NAME_DATE = re.compile(r"(?<!\d)(20\d\d)[-_.年]?(0[1-9]|1[0-2])[-_.月]?(0[1-9]|[12]\d|3[01])日?(?!\d)")


def check_timezone(name: str | None) -> str:
    """The IANA zone name, checked (``ValueError`` for an unknown one)."""
    name = (name or DEFAULT_TZ).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise ValueError(name) from None
    return name


def _arrow(s: pd.Series):
    from cskit.readers.common import arrow_str
    return arrow_str(s)


def _np(arr) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr.to_numpy(zero_copy_only=False).astype("datetime64[s]")


def _fast(t: pd.Series) -> pd.Series | None:
    """Every value ``YYYY-MM-DD HH:MM:SS``, a real date in range: parsed in pyarrow; else None.
    (pyarrow's strptime rolls 02-30 over to 03-02: the text must print back the same.)"""
    arr = _arrow(t)
    fast = pc.strptime(arr, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    if fast.null_count != arr.null_count:
        return None
    # a real day: the text's day of month is the parsed one (fixed-width text only)
    if pc.any(pc.not_equal(pc.binary_length(arr), 19)).as_py():
        return None
    try:
        day = pc.cast(pc.utf8_slice_codeunits(arr, 8, 10), pa.int64())
    except pa.ArrowInvalid:
        return None
    if not pc.all(pc.fill_null(pc.equal(pc.day(fast), day), True)).as_py():
        return None
    out = _np(fast)
    ok = np.isnat(out) | ((out >= _LO) & (out < _HI))
    if not ok.all():
        return None
    return pd.Series(out, index=t.index)


def epoch_to_local(s: pd.Series, tz: str = DEFAULT_TZ) -> pd.Series:
    """Epoch seconds (or ms) → shop-local naive datetime64[s]."""
    num = pd.to_numeric(s, errors="coerce").astype("float64")  # nullable Int64 cannot take /1000
    num = num.where(num < 1e11, num / 1000.0)
    ts = pd.to_datetime(num.round(), unit="s", utc=True, errors="coerce")
    return ts.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[s]")


def _utc_to_local(naive_utc: pd.Series, tz: str) -> pd.Series:
    return (naive_utc.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
            .astype("datetime64[s]"))


def parse_timestamps(t: pd.Series, tz: str = DEFAULT_TZ, day: pd.Series | None = None
                     ) -> tuple[pd.Series, pd.Series]:
    """Parse cleaned timestamp text. Returns ``(datetime64[s], reason)``: ``reason`` is NA
    where a value was parsed (or the cell is empty), else why it was not (:data:`BAD`, …).

    ``day`` (datetime64, NaT where unknown) is the date of each row for cells holding a
    time only."""
    fast = _fast(t)
    if fast is not None:
        return fast, pd.Series(pd.NA, index=t.index, dtype="string")
    t = pd.Series(t, dtype="string")
    t = (t.str.replace("/", "-", regex=False)
          .str.replace(r"(\d)年(\d)", r"\1-\2", regex=True)
          .str.replace(r"(\d)月(\d)", r"\1-\2", regex=True)
          .str.replace(r"日\s*", " ", regex=True)
          .str.replace(r"(\d)T(\d)", r"\1 \2", regex=True)
          .str.strip())
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[s]")
    why = pd.Series(pd.NA, index=t.index, dtype="string")
    present = t.notna()

    # a zone suffix: parse the wall time, then shift by the offset to UTC and on to local
    zone = t.str.extract(_ZONE)
    has_zone = zone["zone"].notna()
    offset = pd.Series(0, index=t.index, dtype="int64")
    if has_zone.any():
        z = zone["zone"][has_zone].astype(str)
        hh = pd.to_numeric(z.str.slice(1, 3), errors="coerce")
        mm = pd.to_numeric(z.str.replace(":", "", regex=False).str.slice(3, 5).replace("", "0"),
                           errors="coerce").fillna(0)
        sign = np.where(z.str.startswith("-"), -1, 1)
        minutes = (sign * (hh.fillna(99) * 60 + mm)).where(z != "Z", 0)
        bad_zone = (hh.fillna(99) > 14) | (mm >= 60)
        bad_zone = bad_zone & (z != "Z")
        offset.loc[has_zone] = minutes.astype("int64")
        why.loc[bad_zone[bad_zone].index] = BAD_ZONE
        t = t.where(~has_zone, zone["base"])
    t = t.str.replace(r"\.\d+$", "", regex=True)

    time_only = t.str.fullmatch(_TIME_ONLY).fillna(False).astype(bool)
    # 9..13 bare digits are epoch s/ms: keep them away from %Y%m%d%H%M%S, which would
    # read 1714712345 as 1714-07-12 03:04:05
    epochish = t.str.fullmatch(r"\d{9,13}").fillna(False).astype(bool)
    todo = present & ~epochish & ~time_only & why.isna()
    for fmt in _FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(t[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        out.loc[ok[ok].index] = parsed[ok].astype("datetime64[s]")
        todo &= out.isna()
    if has_zone.any():
        shift = has_zone & out.notna()
        if shift.any():
            utc = out[shift] - pd.to_timedelta(offset[shift], unit="m")
            out.loc[shift] = _utc_to_local(utc, tz)
    if epochish.any():  # epoch seconds or milliseconds → shop-local wall clock
        num = pd.to_numeric(t[epochish], errors="coerce").astype("float64")
        sec = num.where(num < 1e11, num / 1000.0)
        ok = sec.between(_LO.astype("int64"), _HI.astype("int64") - 1)
        if ok.any():
            out.loc[ok[ok].index] = epoch_to_local(sec[ok], tz)
        why.loc[ok[~ok].index] = OUT_OF_RANGE
    if time_only.any():
        d = (pd.Series(pd.NaT, index=t.index, dtype="datetime64[s]") if day is None
             else pd.Series(day, index=t.index).astype("datetime64[s]"))
        has_day = time_only & d.notna()
        if has_day.any():
            tm = t[has_day].where(t[has_day].str.count(":") == 2, t[has_day] + ":00")
            delta = pd.to_timedelta(tm, errors="coerce")
            ok = delta.notna() & (delta < pd.Timedelta(days=1))
            out.loc[ok[ok].index] = (d[has_day][ok] + delta[ok]).astype("datetime64[s]")
        why.loc[(time_only & d.isna())[lambda m: m].index] = NO_DATE

    # the year range (also for values pyarrow or pandas parsed)
    far = out.notna() & ((out < _LO) | (out >= _HI))
    out = out.mask(far)
    why = why.mask(far, OUT_OF_RANGE)

    # why the rest failed: a date with a year out of range, or a day that does not exist
    rest = present & out.isna() & why.isna()
    if rest.any():
        ymd = t[rest].str.extract(_YMD)
        why.loc[rest[rest].index] = BAD
        y = pd.to_numeric(ymd["y"], errors="coerce")
        m = pd.to_numeric(ymd["m"], errors="coerce")
        d = pd.to_numeric(ymd["d"], errors="coerce")
        shaped = y.notna() & m.between(1, 12) & d.between(1, 31)
        far = shaped & ~y.between(YEAR_MIN, YEAR_MAX)
        why.loc[far[far].index] = OUT_OF_RANGE
        check = shaped & ~far
        if check.any():
            first = pd.to_datetime(
                y[check].astype(int).astype(str) + "-" + m[check].astype(int).astype(str) + "-01",
                format="%Y-%m-%d")
            nodays = d[check] > first.dt.days_in_month
            why.loc[nodays[nodays].index] = IMPOSSIBLE
    return out, why


def parse_dates_only(t: pd.Series) -> pd.Series:
    """Cells holding a date by itself (``2026-11-20``, ``2026年11月20日``) as datetime64[s];
    NaT elsewhere (also for impossible dates)."""
    t = pd.Series(t, dtype="string").str.strip()
    parts = t.str.extract("^" + DATE_ONLY + r"(?: 00:00(?::00)?)?$")  # (an Excel date cell)
    txt = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2)
    out = pd.to_datetime(txt, format="%Y-%m-%d", errors="coerce").astype("datetime64[s]")
    return out.where((out >= _LO) & (out < _HI))


def date_in_name(*names: str | None) -> pd.Timestamp | None:
    """The one date named by a file or sheet name (``聊天记录_2026-11-20.xlsx``, sheet
    ``20261120``); None when no name gives one, or they give different dates."""
    found = set()
    for name in names:
        for m in _NAME_DATE.finditer(name or ""):
            try:
                found.add(pd.Timestamp(int(m[1]), int(m[2]), int(m[3])))
            except ValueError:  # 2026-02-30: no such day
                return None
    return found.pop() if len(found) == 1 else None
