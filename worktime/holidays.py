"""Where the calendar's days come from (docs/domain.md §5), and how to tell that some are missing.

- `seed_calendar()`: every year the installed chinesecalendar package covers (the range is read
  from the package). Weekend days that are workdays are `adjusted` (调休 make-up workdays),
  holidays are `statutory` with their names; other days `weekday`/`weekend`. Idempotent; never
  overwrites a `manual` row.
- `apply_notice()`: the State Council holiday notice an administrator pastes for a year the package
  does not cover yet, as lines of dates or ranges. All lines are checked first; one bad line and
  nothing is written.
- `calendar_warnings()`: what the admin shows when the current year or the next 60 days lack rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import chinese_calendar
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from worktime.clock import DEFAULT_PERIODS
from worktime.models import Source, WorkingDay, WorkingPeriod

ONE_DAY = dt.timedelta(days=1)
WARN_AHEAD_DAYS = 60
MAX_RANGE_DAYS = 31  # a longer range in a holiday notice is a typo (the longest break is 9 days)
NOTICE_NOTE = "国务院通知 State Council notice"
_CHINESE_NAMES = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


@dataclass(frozen=True)
class DayRow:
    """One calendar day as it should be stored."""

    date: dt.date
    is_workday: bool
    source: str
    note: str = ""


@dataclass
class SeedResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_manual: int = 0

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.kept_manual} manual rows kept"
        )


# --- the chinesecalendar package --------------------------------------------------------------


def package_years() -> range:
    """The years the installed chinesecalendar covers (its own check uses the holidays' years)."""
    return range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


def package_day(day: dt.date) -> DayRow:
    """The package's verdict on `day` (a date in package_years())."""
    is_day_off, name = chinese_calendar.get_holiday_detail(day)
    label = f"{_CHINESE_NAMES.get(name, '')} {name}".strip() if name else ""
    if day in chinese_calendar.workdays:
        return DayRow(day, True, Source.ADJUSTED, f"{label} 调休上班 make-up workday".strip())
    if day in chinese_calendar.holidays:
        in_lieu = " 调休 (in lieu)" if day in chinese_calendar.in_lieu_days else ""
        return DayRow(day, False, Source.STATUTORY, label + in_lieu)
    return DayRow(day, not is_day_off, Source.WEEKEND if is_day_off else Source.WEEKDAY)


def package_days(years: Iterable[int]) -> list[DayRow]:
    """Every day of the given years that the package covers (other years are skipped)."""
    covered = package_years()
    return [
        package_day(day)
        for year in sorted(set(years))
        if year in covered
        for day in _year_days(year)
    ]


@transaction.atomic
def seed_calendar(years: Iterable[int] | None = None) -> SeedResult:
    """Write the package's days for `years` (default: all it covers), and the default working
    periods when there are none. Idempotent; manual rows stay."""
    seed_default_periods()
    return write_days(package_days(package_years() if years is None else years))


def seed_default_periods(*, model: type[models.Model] = WorkingPeriod) -> int:
    """All-year 08:30–12:00 and 13:30–17:30 (docs/domain.md §5), only when no period exists at all."""
    if model.objects.exists():
        return 0
    names = ["上午 morning", "下午 afternoon"]
    model.objects.bulk_create(
        model(name=name, season_start="01-01", season_end="12-31", start=start, end=end)
        for name, (start, end) in zip(names, DEFAULT_PERIODS, strict=True)
    )
    return len(names)


def write_days(rows: Sequence[DayRow], *, model: type[models.Model] = WorkingDay) -> SeedResult:
    """Create or update `rows`, leaving manual rows alone; bulk writes set updated_at themselves
    (auto_now is skipped by bulk_update). `model` lets a data migration pass its historical model."""
    result = SeedResult()
    if not rows:
        return result
    dates = [row.date for row in rows]
    existing = {d.date: d for d in model.objects.filter(date__gte=min(dates), date__lte=max(dates))}
    now = timezone.now()
    to_create, to_update = [], []
    for row in rows:
        current = existing.get(row.date)
        fields = {"is_workday": row.is_workday, "source": row.source, "note": row.note}
        if current is None:
            to_create.append(model(date=row.date, updated_at=now, **fields))
        elif current.source == Source.MANUAL:
            result.kept_manual += 1
        elif all(getattr(current, name) == value for name, value in fields.items()):
            result.unchanged += 1
        else:
            for name, value in (fields | {"updated_at": now}).items():
                setattr(current, name, value)
            to_update.append(current)
    model.objects.bulk_create(to_create, batch_size=500)
    model.objects.bulk_update(
        to_update, ["is_workday", "source", "note", "updated_at"], batch_size=500
    )
    result.created, result.updated = len(to_create), len(to_update)
    return result


def _year_days(year: int) -> list[dt.date]:
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _plain_day(day: dt.date) -> DayRow:
    weekend = day.weekday() >= 5
    return DayRow(day, not weekend, Source.WEEKEND if weekend else Source.WEEKDAY)


# --- the pasted State Council notice ----------------------------------------------------------

_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?(?:\s+(.*))?$")


@dataclass(frozen=True)
class NoticeEntry:
    """One line of a pasted notice: a date or an inclusive range, with an optional note."""

    line: int
    first: dt.date
    last: dt.date
    note: str = ""

    def dates(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def parse_notice(text: str) -> list[NoticeEntry]:
    """Lines `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`, each optionally followed by a note
    ("2027-01-01..2027-01-03 元旦"). Blank lines and lines starting with # are skipped.
    Raises one ValidationError listing every bad line as "Line N: …"."""
    entries, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entries.append(_parse_line(number, line))
        except ValueError as exc:
            errors.append(_("Line %(n)d: %(error)s") % {"n": number, "error": exc})
    if errors:
        raise ValidationError(errors)
    return entries


def _parse_line(number: int, line: str) -> NoticeEntry:
    match = _LINE.match(line)
    if not match:
        raise ValueError(
            _("%(line)r is not a date or a range (write 2027-01-01 or 2027-01-01..2027-01-03).")
            % {"line": line}
        )
    first, last = (_iso_date(text) for text in (match[1], match[2] or match[1]))
    if last < first:
        raise ValueError(_("the range ends before it starts."))
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ValueError(
            _("a range of more than %(n)d days is most likely a typo.") % {"n": MAX_RANGE_DAYS}
        )
    return NoticeEntry(number, first, last, (match[3] or "").strip())


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("%(text)s is not a real date.") % {"text": text}) from None


def notice_rows(holidays_text: str, workdays_text: str) -> list[DayRow]:
    """Parse both lists; holidays become statutory days off, workdays adjusted workdays. Raises a
    ValidationError keyed by field ("holidays", "workdays") naming each bad line."""
    parsed: dict[str, list[NoticeEntry]] = {}
    errors: dict[str, list[str]] = {}
    for field, text in (("holidays", holidays_text), ("workdays", workdays_text)):
        try:
            parsed[field] = parse_notice(text)
        except ValidationError as exc:
            errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)
    rows = {
        day: DayRow(day, False, Source.STATUTORY, entry.note or NOTICE_NOTE)
        for entry in parsed["holidays"]
        for day in entry.dates()
    }
    clashes = []
    for entry in parsed["workdays"]:
        for day in entry.dates():
            if day in rows:
                clashes.append(
                    _("Line %(n)d: %(day)s is also listed as a holiday.")
                    % {"n": entry.line, "day": day.isoformat()}
                )
            rows[day] = DayRow(day, True, Source.ADJUSTED, entry.note or NOTICE_NOTE)
    if clashes:
        raise ValidationError({"workdays": clashes})
    return sorted(rows.values(), key=lambda row: row.date)


@transaction.atomic
def apply_notice(holidays_text: str, workdays_text: str) -> SeedResult:
    """Enter a year's holiday notice: check every line first (ValidationError, nothing written),
    then give each year it names a row for every date (weekday/weekend where none exists) and
    write the listed dates over them. Manual rows are kept."""
    rows = notice_rows(holidays_text, workdays_text)
    if not rows:
        raise ValidationError(_("The notice lists no dates."))
    years = {row.date.year for row in rows}
    missing = [
        day
        for year in sorted(years)
        for day in missing_dates(dt.date(year, 1, 1), dt.date(year, 12, 31))
    ]
    filled = write_days([_plain_day(day) for day in missing])
    result = write_days(rows)
    result.created += filled.created
    return result


# --- what is missing --------------------------------------------------------------------------


def missing_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """Dates in [first, last] without a WorkingDay row."""
    present = set(
        WorkingDay.objects.filter(date__gte=first, date__lte=last).values_list("date", flat=True)
    )
    span = (last - first).days + 1
    return [
        day for day in (first + dt.timedelta(days=n) for n in range(span)) if day not in present
    ]


def calendar_warnings(today: dt.date | None = None) -> list[str]:
    """Sentences for the admin when the current year or the next 60 days lack calendar rows
    (those dates count Monday–Friday as workdays); [] when all is there."""
    today = today or timezone.localdate()
    warnings = []
    this_year = missing_dates(dt.date(today.year, 1, 1), dt.date(today.year, 12, 31))
    if this_year:
        warnings.append(
            _(
                "The working calendar has no data for %(n)d days of %(year)d (from %(first)s); "
                "deadlines on those days count Monday–Friday as workdays."
            )
            % {"n": len(this_year), "year": today.year, "first": this_year[0].isoformat()}
        )
    ahead = missing_dates(today, today + dt.timedelta(days=WARN_AHEAD_DAYS))
    if ahead:
        warnings.append(
            _(
                "The working calendar has no data from %(first)s (within the next %(days)d days): "
                "enter the State Council holiday notice for %(years)s under Working calendar → "
                "Enter holiday notice."
            )
            % {
                "first": ahead[0].isoformat(),
                "days": WARN_AHEAD_DAYS,
                "years": ", ".join(sorted({str(day.year) for day in ahead})),
            }
        )
    return warnings
