"""What every reader shares: its options and its result; and, re-exported, the helpers.

A reader (:mod:`cskit.readers`) is given :class:`ReadOptions` and returns a
:class:`ReadResult`.  The shared helpers live in modules of one idea each, and every name
readers, tests and benchmarks import from here is re-exported (the same objects):

* :mod:`cskit.readers.encoding` — a file's bytes and encoding (UTF-8, GB18030, UTF-16;
  mixed files marked row by row), the UTF-8 checks of the fast CSV path;
* :mod:`cskit.readers.tabular` — CSV/TSV/Excel files as a :class:`Table` of strings
  (headers normalised, the header row found, blank and broken rows left out);
* :mod:`cskit.readers.cells` — column cleaning in pyarrow (empty markers, Excel guards,
  ids, amounts, times, summary rows, per-value work, column jobs on threads);
* :mod:`cskit.readers.timeparse` — the timestamp spellings.

Tuning knobs are not re-exported (a test or benchmark setting them here would change
nothing): :data:`cskit.readers.cells.DICT_SAMPLE`, :data:`~cskit.readers.cells.DICT_MAX`,
:data:`~cskit.readers.cells.THREADS`, :data:`cskit.readers.tabular.PARALLEL_COMBINE`.
This module holds no parsing of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cskit.readers.cells import (  # noqa: F401 - re-exported
    EMPTY_MARKERS,
    SUMMARY_WORDS,
    arrow_str,
    clean_arrow,
    clean_id,
    clean_id_arrow,
    clean_str,
    from_arrow_str,
    is_summary_row,
    parse_amount,
    parse_clean_datetime,
    parse_datetime,
    per_value,
    run_jobs,
    sci_mangled,
    to_arrow_str,
    to_bool,
)
from cskit.readers.encoding import (  # noqa: F401 - re-exported
    ENCODINGS,
    HEAD_CHARS,
    UTF8_BOM,
    NotFast,
    NotUtf8,
    decode_bytes,
    file_is_utf8,
    file_start,
    may_be_utf8,
    no_invalid_bytes,
    open_file,
    read_bytes,
    read_text,
    utf8_head,
)
from cskit.readers.tabular import (  # noqa: F401 - re-exported
    CSV_BLOCK,
    EXCEL_EXT,
    TABULAR_EXT,
    Table,
    _cell_to_str,
    _drop_blank_rows,
    all_missing,
    find_column,
    load_table,
    norm_header,
    one_chunk,
    table_from_text,
    table_from_utf8,
)
from cskit.readers.timeparse import DEFAULT_TZ, epoch_to_local, parse_timestamps  # noqa: F401

# --------------------------------------------------------------------------- results


@dataclass
class ReadResult:
    """What a reader returns for one file.

    ``frame`` has canonical column names (a subset of ``cskit.schema``), plus
    ``source_row`` (1-based row/line number as the user sees it in the file).
    ``rejects`` lists rows that could not be parsed: ``(source_row, reason)``.
    """

    kind: str
    platform: str
    frame: pd.DataFrame
    rows_read: int
    rejects: list[tuple[int, str]] = field(default_factory=list)
    reader: str = ""
    notes: list = field(default_factory=list)  #: cskit.i18n.Msg notes to show
    #: order lines (``order_items`` frame) read along with the orders of a line-level export
    items: pd.DataFrame | None = None


@dataclass
class ReadOptions:
    encoding: str | None = None  #: forced encoding, else auto (utf-8-sig, then gb18030)
    shop: str | None = None  #: shop name when the file has none
    mapping: dict[str, str] | None = None  #: canonical column -> header in the file
    platform: str | None = None  #: forced platform
    timezone: str = DEFAULT_TZ  #: the shop's local time zone (naive times are taken as local)
