"""The periods reports cover: weeks, months and quarters cut at the configured weekday and time
(Asia/Shanghai), their keys (2026-W47, 2026-11, 2026-Q4), labels and the one before.

Weeks starting on Monday are numbered the ISO way (2026-W01 holds 4 January); with another start
day, week 1 is the first week that starts in the year. A key is derived from the period's start,
so it is stable and unique.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from metrics.reports import TZ
from reports.models import Kind, ReportSettings


@dataclass(frozen=True)
class Span:
    kind: str
    start: dt.datetime
    end: dt.datetime
    key: str
    label: str

    @property
    def year(self) -> int:
        """The year the report belongs to: the year of its period's last day."""
        return (self.end - dt.timedelta(seconds=1)).astimezone(TZ).year


def _at(day: dt.date, cutoff: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, cutoff, tzinfo=TZ)


def _first_week_start(year: int, week_starts_on: int) -> dt.date:
    jan1 = dt.date(year, 1, 1)
    return jan1 + dt.timedelta(days=(week_starts_on - jan1.weekday()) % 7)


def _week_number(first_day: dt.date, week_starts_on: int) -> tuple[int, int]:
    """ISO weeks when weeks start on Monday; otherwise week 1 is the first that starts in the year."""
    if week_starts_on == 0:
        year, week, _day = first_day.isocalendar()
        return year, week
    return first_day.year, (
        first_day - _first_week_start(first_day.year, week_starts_on)
    ).days // 7 + 1


def span_from(kind: str, first_day: dt.date, config: ReportSettings | None = None) -> Span:
    """The period of `kind` that starts on `first_day` (which must be a period's first day)."""
    config = config or ReportSettings.load()
    cutoff = config.cutoff
    if kind == Kind.WEEKLY:
        if first_day.weekday() != config.week_starts_on:
            raise ValueError(
                _("A weekly period starts on weekday %(day)d (0 = Monday); %(date)s is not one.")
                % {"day": config.week_starts_on, "date": first_day.isoformat()}
            )
        last = first_day + dt.timedelta(days=6)
        year, week = _week_number(first_day, config.week_starts_on)
        label = _("%(year)d week %(week)d (%(first)s–%(last)s)") % {
            "year": year,
            "week": week,
            "first": _md(first_day),
            "last": _md(last),
        }
        return Span(
            kind,
            _at(first_day, cutoff),
            _at(last + dt.timedelta(days=1), cutoff),
            f"{year}-W{week:02d}",
            label,
        )
    if kind == Kind.MONTHLY:
        if first_day.day != 1:
            raise ValueError(_("A monthly period starts on the 1st."))
        after = (first_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        label = _("%(year)d month %(month)d") % {"year": first_day.year, "month": first_day.month}
        return Span(kind, _at(first_day, cutoff), _at(after, cutoff), f"{first_day:%Y-%m}", label)
    if kind == Kind.QUARTERLY:
        if first_day.day != 1 or first_day.month not in (1, 4, 7, 10):
            raise ValueError(_("A quarter starts on 1 January, April, July or October."))
        quarter = (first_day.month - 1) // 3 + 1
        after = dt.date(
            first_day.year + (quarter == 4), 1 if quarter == 4 else first_day.month + 3, 1
        )
        label = _("%(year)d quarter %(quarter)d") % {"year": first_day.year, "quarter": quarter}
        return Span(
            kind, _at(first_day, cutoff), _at(after, cutoff), f"{first_day.year}-Q{quarter}", label
        )
    raise ValueError(f"unknown report kind {kind!r}")


def _md(day: dt.date) -> str:
    return _("%(month)d/%(day)d") % {"month": day.month, "day": day.day}


def containing(kind: str, moment: dt.datetime, config: ReportSettings | None = None) -> Span:
    """The period of `kind` that holds `moment`."""
    config = config or ReportSettings.load()
    local = moment.astimezone(TZ)
    day = local.date() if local.time() >= config.cutoff else local.date() - dt.timedelta(days=1)
    if kind == Kind.WEEKLY:
        first = day - dt.timedelta(days=(day.weekday() - config.week_starts_on) % 7)
    elif kind == Kind.MONTHLY:
        first = day.replace(day=1)
    else:
        first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return span_from(kind, first, config)


def previous(span: Span, config: ReportSettings | None = None) -> Span:
    return containing(span.kind, span.start - dt.timedelta(seconds=1), config)


def latest_due(kind: str, now: dt.datetime, config: ReportSettings | None = None) -> Span:
    """The latest complete period whose publication time (end + delay) has come at `now`."""
    config = config or ReportSettings.load()
    span = previous(containing(kind, now, config), config)
    while span.end + dt.timedelta(hours=config.publish_delay_hours) > now:
        span = previous(span, config)
    return span


KEY_PATTERNS = {
    Kind.WEEKLY: re.compile(r"^(\d{4})-W(\d{2})$"),
    Kind.MONTHLY: re.compile(r"^(\d{4})-(\d{2})$"),
    Kind.QUARTERLY: re.compile(r"^(\d{4})-Q([1-4])$"),
}


def parse(kind: str, text: str, config: ReportSettings | None = None) -> Span:
    """A period from its key (2026-W47, 2026-11, 2026-Q4) or from any date in it (2026-11-18).
    ValueError with a message people can act on otherwise."""
    config = config or ReportSettings.load()
    if kind not in Kind.values:
        raise ValueError(
            _("Unknown report kind %(kind)r: use weekly, monthly or quarterly.") % {"kind": kind}
        )
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        return containing(kind, _at(day, config.cutoff), config)
    found = KEY_PATTERNS[Kind(kind)].match(text)
    if not found:
        examples = {Kind.WEEKLY: "2026-W47", Kind.MONTHLY: "2026-11", Kind.QUARTERLY: "2026-Q4"}
        raise ValueError(
            _("%(text)r is not a %(kind)s period: use %(example)s or a date (YYYY-MM-DD).")
            % {"text": text, "kind": kind, "example": examples[Kind(kind)]}
        )
    year, number = int(found[1]), int(found[2])
    if kind == Kind.MONTHLY:
        if not 1 <= number <= 12:
            raise ValueError(_("Month %(n)d does not exist.") % {"n": number})
        return span_from(kind, dt.date(year, number, 1), config)
    if kind == Kind.QUARTERLY:
        return span_from(kind, dt.date(year, 3 * number - 2, 1), config)
    try:
        if config.week_starts_on == 0:
            first = dt.date.fromisocalendar(year, number, 1)
        else:
            first = _first_week_start(year, config.week_starts_on) + dt.timedelta(
                days=7 * (number - 1)
            )
            if number < 1 or first.year != year:
                raise ValueError
    except ValueError:
        raise ValueError(
            _("%(year)d has no week %(week)d.") % {"year": year, "week": number}
        ) from None
    return span_from(kind, first, config)
