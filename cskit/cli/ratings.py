"""`cskit ratings`: 服务评价 per agent (评价数, 参评率, 满意率) and the 不满意 list.
The library is :mod:`cskit.metrics.ratings`; the reader :mod:`cskit.readers.ratings`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import (Fmt, check_excel,
                               period_of)
from cskit.i18n import tr
from cskit.render import Column, emit, stderr_console

__all__ = ["run_ratings", "RATING_COLUMNS", "DISSATISFIED_COLUMNS"]

RATING_COLUMNS = [Column("shop", "店铺", "shop"), Column("agent_id", "客服", "agent"),
                  Column("ratings", "评价数", "ratings", "count"),
                  Column("rating_rate", "参评率", "rating rate", "rate"),
                  Column("satisfied_rate", "满意率", "satisfied", "rate"),
                  Column("dissatisfied", "不满意数", "dissatisfied", "count")]
DISSATISFIED_COLUMNS = [
    Column("shop", "店铺", "shop"), Column("agent_id", "客服", "agent"),
    Column("buyer_id", "买家", "buyer"), Column("rated_at", "评价时间", "rated at", "time"),
    Column("rating", "评价", "rating", labels=(("dissatisfied", "不满意", "dissatisfied"),
                                               ("very_dissatisfied", "很不满意", "very dissatisfied"))),
    Column("comment", "买家评语", "comment", wrap=True)]


class RatingsList(str, Enum):
    dissatisfied = "dissatisfied"


def run_ratings(store, *, shops=None, period, list_kind=None, fmt="table", lang="zh", output=None,
                wide=False, excel=False):
    from cskit.agent_extras import ratings_frames
    from cskit.errors import NoDataError

    per_agent, unhappy, unrated = ratings_frames(store, shops=shops, period=period)
    if unrated and len(unrated) == len(set(unrated) | set(per_agent["shop"])):
        raise NoDataError("no service ratings in {store}", store=store.root,
                          hint="ingest the platform's rating export (服务评价 / 满意度) first: "
                               "cskit ingest FILE --kind ratings")
    con = stderr_console()
    for shop in unrated:
        con.print("note: " + tr("{shop}: no rating export in the store; its ratings are unknown",
                                lang, shop=shop), markup=False)
    if list_kind == "dissatisfied":
        frame, cols = unhappy, DISSATISFIED_COLUMNS
        title = f"不满意评价 · {period.label(lang)}" if lang == "zh" else \
            f"Dissatisfied ratings · {period.label(lang)}"
    else:
        frame, cols = per_agent, RATING_COLUMNS
        title = f"服务评价 · {period.label(lang)}" if lang == "zh" else \
            f"Service ratings · {period.label(lang)}"
    with output_file(output, fmt) as handle:
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, wide=wide, excel=excel)
    return frame


@app.command("ratings")
@boundary
@shared_options
def ratings_cmd(
    list_: Annotated[Optional[RatingsList], typer.Option("--list", help="dissatisfied: the 不满意 ratings with the buyer's comment (digits masked).")] = None,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """服务评价: ratings, 参评率 and 满意率 per agent; --list dissatisfied for the 不满意 ratings."""
    check_excel(excel, fmt)
    run_ratings(open_store(store), shops=shop, period=period_of(since, until, week, last_week),
                list_kind=list_.value if list_ else None, fmt=fmt.value, lang=lang.value,
                output=output, wide=wide, excel=excel)
