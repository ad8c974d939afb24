"""The period a command reports on: ``--since``/``--until``, ``--week`` or ``--last-week``.

Holds :class:`Period` (its title label in either language) and the parsing of the period
options into one (:func:`resolve_period`, usage errors for impossible combinations).  It
reads no data and knows nothing of what is computed over the period; the reply horizon
and attribution lead-in read around it are :mod:`cskit.kpi_slices`' business.
Re-exported by :mod:`cskit.kpi`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cskit.errors import UsageError


@dataclass
class Period:
    since: dt.date | None
    until: dt.date | None

    def label(self, lang: str | None = None) -> str:
        """The period as a title shows it, in ``lang`` (default: the current language):
        ``2026-11-16 – 2026-11-22``; 全部日期 / all dates when no range is given."""
        from cskit.i18n import tr

        if self.since and self.until:
            return f"{self.since.isoformat()} – {self.until.isoformat()}"
        if self.since:
            return tr("from {since}", lang, since=self.since.isoformat())
        if self.until:
            return tr("until {until}", lang, until=self.until.isoformat())
        return tr("all dates", lang)

    def __format__(self, spec: str) -> str:  # in a message: the label, in its language
        return format(self.label(), spec)


def parse_date(text: str, opt: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError("{opt} {text!r} is not a date",
                         hint="write dates as YYYY-MM-DD", opt=opt, text=text) from None


def parse_week(text: str) -> Period:
    """'2026-W47' → Monday..Sunday of that ISO week."""
    t = text.strip().upper()
    try:
        year, week = t.split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise UsageError("--week {text!r} is not an ISO week",
                         hint="write weeks as 2026-W47", text=text) from None
    return Period(monday, monday + dt.timedelta(days=6))


def last_week(today: dt.date | None = None) -> Period:
    today = today or dt.date.today()
    this_monday = today - dt.timedelta(days=today.weekday())
    return Period(this_monday - dt.timedelta(days=7), this_monday - dt.timedelta(days=1))


def resolve_period(since: str | None, until: str | None, week: str | None, last: bool,
                   today: dt.date | None = None) -> Period:
    if sum(x is not None and x is not False for x in (week, last or None)) > 1 or \
            ((week or last) and (since or until)):
        raise UsageError("use either --since/--until, --week or --last-week, not several")
    if week:
        return parse_week(week)
    if last:
        return last_week(today)
    p = Period(parse_date(since, "--since") if since else None,
               parse_date(until, "--until") if until else None)
    if p.since and p.until and p.since > p.until:
        raise UsageError("--since {since} is after --until {until}", since=p.since, until=p.until)
    return p
