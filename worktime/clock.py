"""Working-time arithmetic (docs/domain.md §5): deadlines and elapsed time in the five limit units.

Rules (docs/worktime.md says the same for people):

- Every calendar rule runs in Asia/Shanghai. Inputs must be timezone-aware (any zone); results are
  aware datetimes in Asia/Shanghai. Shanghai has had no daylight saving since 1991, so wall-clock
  arithmetic inside a day is plain arithmetic.
- Working time is the union of a workday's working periods, each a half-open interval
  [start, end): 12:00 is already lunch, 17:30 is already evening.
- Units (the values of cases.models.LimitUnit, see UNITS):
  - `minutes`: calendar minutes, like the calendar units: the case standards allow minutes for
    urgent cases, which count calendar time (docs/domain.md §2; cases.models.CALENDAR_UNITS).
  - `work_minutes` (internal, not a case-standard unit): working minutes, counted like 工作时;
    extensions and suspended time are added to a deadline in it.
  - `work_hours` 工作时: only minutes inside working periods of workdays count. A limit that ends
    exactly at a period's end ends there (08:30 + 3.5 h = 12:00, not 13:30).
  - `work_days` 工作日: a start outside working time first moves to the next period's start; the
    deadline is the same clock time on the N-th following workday.
  - `calendar_hours`, `calendar_days`: plain elapsed time, holidays included.
- A date with no calendar row counts as a workday iff it is Monday–Friday (fallback). Its year is
  listed in `Deadline.fallback_years` and a warning is logged; nothing raises.
- A date that no working-period season covers uses DEFAULT_PERIODS (08:30–12:00, 13:30–17:30).

`deadline()` and `elapsed()` are pure functions of their arguments. `current_calendar()` builds the
WorkCalendar from the database and keeps it per process until the rows change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
ONE_DAY = dt.timedelta(days=1)
ZERO = dt.timedelta(0)

Period = tuple[dt.time, dt.time]
MonthDay = tuple[int, int]
DEFAULT_PERIODS: tuple[Period, ...] = (
    (dt.time(8, 30), dt.time(12, 0)),
    (dt.time(13, 30), dt.time(17, 30)),
)

WORKING, WORKDAYS, CALENDAR = "working", "workdays", "calendar"
# unit → (how it counts, the length of one unit). Keys: cases.models.LimitUnit.values + work_minutes.
UNITS: dict[str, tuple[str, dt.timedelta]] = {
    "minutes": (CALENDAR, dt.timedelta(minutes=1)),
    "work_minutes": (WORKING, dt.timedelta(minutes=1)),
    "work_hours": (WORKING, dt.timedelta(hours=1)),
    "work_days": (WORKDAYS, ONE_DAY),  # a step is one workday; the length is unused
    "calendar_hours": (CALENDAR, dt.timedelta(hours=1)),
    "calendar_days": (CALENDAR, ONE_DAY),
}


@dataclass(frozen=True)
class Deadline:
    """A deadline and the years whose workdays were guessed Monday–Friday (no calendar data)."""

    at: dt.datetime
    fallback_years: tuple[int, ...] = ()


@dataclass(frozen=True)
class Season:
    """Periods valid from `start` to `end` (month, day), both inclusive; may wrap the year."""

    start: MonthDay
    end: MonthDay
    periods: tuple[Period, ...]

    def contains(self, month_day: MonthDay) -> bool:
        if self.start <= self.end:
            return self.start <= month_day <= self.end
        return month_day >= self.start or month_day <= self.end

    @property
    def length(self) -> int:
        """Days in the season, counted in a leap year."""
        first = dt.date(2000, *self.start).toordinal()
        last = dt.date(2000, *self.end).toordinal()
        return last - first + 1 if first <= last else 366 - (first - last - 1)


def merge_periods(periods: Iterable[Period]) -> tuple[Period, ...]:
    """Sorted periods, overlapping or touching ones joined (defensive: admin forbids overlap)."""
    merged: list[Period] = []
    for start, end in sorted(p for p in periods if p[0] < p[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


class WorkCalendar:
    """Which dates are workdays (`days`: date → is_workday, absent = no data) and the seasons'
    working periods. On a date the shortest season containing it wins (ties: earlier start)."""

    def __init__(self, days: Mapping[dt.date, bool], seasons: Iterable[Season] = ()) -> None:
        self._days = dict(days)
        self._seasons = sorted(seasons, key=lambda s: (s.length, s.start, s.end))
        self._periods: dict[MonthDay, tuple[Period, ...]] = {}

    def is_workday(self, day: dt.date) -> bool | None:
        """True/False from the calendar rows; None when the date has no row."""
        return self._days.get(day)

    def periods(self, day: dt.date) -> tuple[Period, ...]:
        month_day = (day.month, day.day)
        if month_day not in self._periods:
            season = next((s for s in self._seasons if s.contains(month_day)), None)
            self._periods[month_day] = merge_periods(season.periods) if season else DEFAULT_PERIODS
        return self._periods[month_day]


@dataclass
class _Trace:
    """Years in which a date without calendar data was consulted during one computation."""

    fallback_years: set[int] = field(default_factory=set)


# --- public functions -------------------------------------------------------------------------


def deadline(start: dt.datetime, amount: int, unit: str, calendar: WorkCalendar) -> Deadline:
    """The moment `amount` `unit`s after `start` (rules in the module docstring).

    `amount` ≥ 0. For working units a start outside working time first moves to the next working
    moment, so amount 0 gives that moment. Logs a warning when a year fell back to Monday–Friday.
    """
    kind, step = _unit(unit)
    if amount < 0:
        raise ValueError(f"amount must be ≥ 0, got {amount}")
    trace = _Trace()
    if kind == CALENDAR:
        at = _aware_utc(start) + amount * step
    elif kind == WORKING:
        at = _add_working(_local(start), amount * step, calendar, trace)
    else:
        at = _add_workdays(_local(start), amount, calendar, trace)
    result = Deadline(_shanghai(at), tuple(sorted(trace.fallback_years)))
    _warn_fallback(result.fallback_years, f"deadline({start.isoformat()}, {amount} {unit})")
    return result


def elapsed(start: dt.datetime, end: dt.datetime, unit: str, calendar: WorkCalendar) -> float:
    """How many `unit`s lie between `start` and `end`, as a float in that unit.

    - minutes / work_hours: working time in [start, end) in minutes / hours.
    - work_days: whole workdays k such that deadline(start, k) ≤ end, plus the share of working
      time from deadline(k) to end in the working time from deadline(k) to deadline(k + 1). So
      elapsed(start, deadline(start, n).at) == n. Not additive over a split point (the anchor
      clock time moves); the other units are.
    - calendar_hours / calendar_days: plain time.
    end < start gives minus elapsed(end, start). Fallback years are logged, never raised.
    """
    kind, step = _unit(unit)
    if end < start:
        return -elapsed(end, start, unit, calendar)
    trace = _Trace()
    if kind == CALENDAR:
        value = (_aware_utc(end) - _aware_utc(start)) / step
    elif kind == WORKING:
        value = _working_between(_local(start), _local(end), calendar, trace) / step
    else:
        value = _workdays_between(_local(start), _local(end), calendar, trace)
    _warn_fallback(
        tuple(sorted(trace.fallback_years)),
        f"elapsed({start.isoformat()}, {end.isoformat()}, {unit})",
    )
    return value


# --- working time -----------------------------------------------------------------------------


def _intervals(
    day: dt.date, calendar: WorkCalendar, trace: _Trace
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The working intervals of `day` as naive Shanghai wall-clock datetimes; [] on a day off."""
    if not _is_workday(day, calendar, trace):
        return []
    return [
        (dt.datetime.combine(day, s), dt.datetime.combine(day, e)) for s, e in calendar.periods(day)
    ]


def _is_workday(day: dt.date, calendar: WorkCalendar, trace: _Trace) -> bool:
    known = calendar.is_workday(day)
    if known is not None:
        return known
    trace.fallback_years.add(day.year)
    return day.weekday() < 5


def _add_working(
    start: dt.datetime, amount: dt.timedelta, calendar: WorkCalendar, trace: _Trace
) -> dt.datetime:
    """Walk working intervals from `start` until `amount` of working time is used up.

    Terminates: dates without rows fall back to Monday–Friday, and every workday has periods."""
    day = start.date()
    while True:
        for begin, end in _intervals(day, calendar, trace):
            if end <= start:
                continue
            begin = max(begin, start)
            if amount <= end - begin:
                return begin + amount
            amount -= end - begin
        day += ONE_DAY


def _working_between(
    start: dt.datetime, end: dt.datetime, calendar: WorkCalendar, trace: _Trace
) -> dt.timedelta:
    """Working time inside [start, end), start ≤ end."""
    total = ZERO
    day = start.date()
    while day <= end.date():
        for begin, finish in _intervals(day, calendar, trace):
            overlap = min(finish, end) - max(begin, start)
            if overlap > ZERO:
                total += overlap
        day += ONE_DAY
    return total


# --- working days -----------------------------------------------------------------------------


def _next_workday(day: dt.date, calendar: WorkCalendar, trace: _Trace) -> dt.date:
    day += ONE_DAY
    while not _is_workday(day, calendar, trace):
        day += ONE_DAY
    return day


def _add_workdays(
    start: dt.datetime, days: int, calendar: WorkCalendar, trace: _Trace
) -> dt.datetime:
    """The same clock time as the effective start, on the `days`-th following workday."""
    anchor = _add_working(start, ZERO, calendar, trace)  # the next working moment
    day = anchor.date()
    for _ in range(days):
        day = _next_workday(day, calendar, trace)
    return dt.datetime.combine(day, anchor.time())


def _workdays_between(
    start: dt.datetime, end: dt.datetime, calendar: WorkCalendar, trace: _Trace
) -> float:
    """Workdays from `start` to `end` (start ≤ end) as elapsed() documents."""
    anchor = _add_working(start, ZERO, calendar, trace)
    if end <= anchor:
        return 0.0
    count = 0
    while True:
        following = dt.datetime.combine(
            _next_workday(anchor.date(), calendar, trace), anchor.time()
        )
        if following > end:
            break
        count, anchor = count + 1, following
    span = _working_between(anchor, following, calendar, trace)
    part = _working_between(anchor, end, calendar, trace)
    return count + (part / span if span else 0.0)


# --- helpers ----------------------------------------------------------------------------------


def _unit(unit: str) -> tuple[str, dt.timedelta]:
    try:
        return UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown limit unit {unit!r}; expected one of {sorted(UNITS)}") from None


def _require_aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive; working-time arithmetic needs aware datetimes")


def _local(moment: dt.datetime) -> dt.datetime:
    """Naive wall-clock time in Asia/Shanghai."""
    _require_aware(moment)
    return moment.astimezone(TZ).replace(tzinfo=None)


def _aware_utc(moment: dt.datetime) -> dt.datetime:
    _require_aware(moment)
    return moment.astimezone(dt.UTC)


def _shanghai(moment: dt.datetime) -> dt.datetime:
    """Aware Asia/Shanghai time: naive values are Shanghai wall-clock times already."""
    return moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment.astimezone(TZ)


_LAST_WARNED: dict[tuple[int, ...], float] = {}
WARN_EVERY_SECONDS = 600


def _warn_fallback(years: tuple[int, ...], what: str) -> None:
    """Log the fallback loudly, but once per years-set per WARN_EVERY_SECONDS per process: lists
    compute a light for every row, and one line per row would bury the message."""
    import time

    now = time.monotonic()
    if years and now - _LAST_WARNED.get(years, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
        _LAST_WARNED[years] = now
        logger.warning(
            "Working calendar has no data for %s: %s counted Monday–Friday as workdays there. "
            "Enter the State Council holiday notice in the admin (docs/worktime.md).",
            ", ".join(map(str, years)),
            what,
        )


# --- the calendar from the database -----------------------------------------------------------


def load_calendar() -> WorkCalendar:
    """A WorkCalendar from the WorkingDay and WorkingPeriod rows (one query each)."""
    from worktime.models import WorkingDay, WorkingPeriod, parse_month_day

    days = dict(WorkingDay.objects.values_list("date", "is_workday"))
    grouped: dict[tuple[str, str], list[Period]] = {}
    for row in WorkingPeriod.objects.values_list("season_start", "season_end", "start", "end"):
        grouped.setdefault((row[0], row[1]), []).append((row[2], row[3]))
    seasons = [
        Season(parse_month_day(first), parse_month_day(last), tuple(periods))
        for (first, last), periods in grouped.items()
    ]
    return WorkCalendar(days, seasons)


@contextlib.contextmanager
def calendar_pinned() -> Iterator[None]:
    """Inside the block the calendar (with every reference row, backend/reference.py) is checked
    once, as within an HTTP request: for batch work outside requests (the deadline sweep computes a
    light per open case)."""
    from backend import reference

    with reference.pinned():
        yield


def current_calendar() -> WorkCalendar:
    """The process's WorkCalendar, loaded again when a reference row changed: one read of the
    reference token per request (backend/reference.py; database triggers on WorkingDay and
    WorkingPeriod replace it on any write, bulk or raw included)."""
    from backend import reference

    return reference.cached("calendar", load_calendar)
