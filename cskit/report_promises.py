"""The weekly report's 日清 section (issue 15): agent promises of the week and whether they
were kept.  :mod:`cskit.report` calls :func:`collect_promises` from ``collect`` and
:func:`promises_html` from the page; ``promises.csv`` is the full 日清 list and
``kpi_by_agent.csv`` gains ``broken_promises`` (:func:`agent_csv`), as `cskit kpi --by agent`."""

from __future__ import annotations

import pandas as pd

__all__ = ["PART", "FILE", "collect_promises", "agent_csv", "promises_html", "extra_columns"]

PART = "promises"
FILE = "promises.csv"
#: broken promises listed on the page (the CSV holds every promise)
TOP_N = 20


def extra_columns() -> dict:
    """Labels of the 日清 list's columns (key → zh, en, unit) for the report's CSV headers."""
    from cskit.text.promises_view import EXTRA_COLUMNS

    return dict(EXTRA_COLUMNS)


def collect_promises(store, data, parts, strict: bool = False) -> None:
    """``data.promises``: the 日清 list of the period (None when the part is not asked for or
    the check failed — a note then says why)."""
    from cskit.errors import NoDataError
    from cskit.i18n import tr
    from cskit.report import Note
    from cskit.text.promise_frames import promise_frame

    data.promises = None
    if PART not in parts:
        return
    try:
        data.promises = promise_frame(store, shops=data.shops, period=data.period)
    except NoDataError:
        data.promises = None
    except Exception as exc:  # noqa: BLE001 — an optional section must not sink the report
        if strict:
            raise
        data.notes.append(Note(PART, tr("promise check failed ({error})", error=type(exc).__name__),
                               warning=True))


def agent_csv(frame: pd.DataFrame | None, data) -> pd.DataFrame | None:
    """kpi_by_agent.csv with ``broken_promises`` when the promises were checked."""
    from cskit.text.promise_frames import broken_counts, merge_broken

    promises = getattr(data, "promises", None)
    if frame is None or promises is None:
        return frame
    return merge_broken(frame, broken_counts(promises))


def _columns():
    from cskit.text.promises import load_promise_rules
    from cskit.text.promises_view import PROMISE_AGENT_COLUMNS, promise_list_columns

    shown = {"shop", "agent_id", "buyer_id", "promised_at", "deadline", "kind", "followed_up_at",
             "quote"}
    return PROMISE_AGENT_COLUMNS, [c for c in promise_list_columns(load_promise_rules())
                                   if c.key in shown]


def promises_html(data, table, clip) -> list[str]:
    """The section's HTML: per-agent counts and the broken promises (earliest deadline first).
    ``table(frame, columns)`` and ``clip`` are the page's own helpers."""
    from cskit.text.promises import by_agent

    promises = getattr(data, "promises", None)
    out = ["<h2>日清 · 客服承诺</h2>"]
    if promises is None or promises.empty:
        from cskit.report import period_words

        out.append(f'<p class="nodata">{period_words(data.period)[0]}没有识别到客服承诺 '
                   '(稍后回复、明天发出、补发、退款等)</p>')
        return out
    agent_cols, list_cols = _columns()
    counts = {s: int((promises["status"] == s).sum()) for s in ("kept", "broken", "open", "unknown")}
    out.append(f"<p>共 {len(promises)} 条承诺: 已兑现 {counts['kept']}, 超期未兑现 {counts['broken']}, "
               f"未到期 {counts['open']}, 无法判断 {counts['unknown']} (订单数据无法说明). 只计确定的承诺句式 "
               "(待确认的弱句式见 cskit promises --all); 规则见 "
               f'docs/promises.md; 完整清单见 <a href="{FILE}">{FILE}</a>.</p>')
    g = by_agent(promises).sort_values(["broken", "promises"], ascending=False, kind="stable")
    out.append(table(g, agent_cols))
    broken = promises[promises["status"] == "broken"]
    if len(broken):
        top = broken.sort_values("deadline", kind="stable").head(TOP_N)
        top = top.assign(quote=top["quote"].map(clip))
        out.append(f"<p>超期未兑现 {len(broken)} 条" +
                   (f", 显示最早到期的 {TOP_N} 条" if len(broken) > TOP_N else "") + ":</p>")
        out.append(table(top[[c.key for c in list_cols]], list_cols))
    return out
