"""The working calendar (docs/domain.md §5): which dates are workdays, and the working periods of a day.

`WorkingDay` has one row per date. Rows come from the chinesecalendar package (`seed_calendar`,
sources statutory / adjusted / weekend / weekday), from the State Council holiday notice an
administrator pastes (statutory / adjusted), or from the admin change form (manual: typhoon days and
other local decisions). Seeding never overwrites a manual row.

`WorkingPeriod` rows give the clock times of a workday, per season (a month-day range). On a date,
the periods of the *shortest* season containing it apply, so a summer season can be added next to
the all-year default without editing the default (docs/worktime.md).

worktime/clock.py does the arithmetic; it reads these tables through `clock.current_calendar()`,
which keeps an in-process copy until a reference row changes (backend/reference.py).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

MONTH_DAY_REGEX = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class Source(models.TextChoices):
    STATUTORY = "statutory", _("Statutory holiday (法定节假日)")
    ADJUSTED = "adjusted", _("Make-up workday (调休)")
    WEEKEND = "weekend", _("Weekend")
    WEEKDAY = "weekday", _("Weekday")
    MANUAL = "manual", _("Set by an administrator")


# Which sources imply which value of is_workday; manual rows may say either.
WORKDAY_SOURCES = [Source.ADJUSTED, Source.WEEKDAY]
DAY_OFF_SOURCES = [Source.STATUTORY, Source.WEEKEND]


class WorkingDay(models.Model):
    date = models.DateField(_("date"), primary_key=True)
    is_workday = models.BooleanField(_("workday"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    note = models.CharField(
        _("note"), max_length=200, blank=True, help_text=_("Holiday name or the local reason.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("working calendar")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="working_day_source_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(source=Source.MANUAL)
                    | Q(source__in=WORKDAY_SOURCES, is_workday=True)
                    | Q(source__in=DAY_OFF_SOURCES, is_workday=False)
                ),
                name="working_day_source_matches_workday",
            ),
        ]

    def __str__(self) -> str:
        kind = _("workday") if self.is_workday else _("day off")
        return f"{self.date.isoformat()} {kind}"


def parse_month_day(value: str) -> tuple[int, int]:
    """(month, day) of "MM-DD"; ValueError unless it is a real date in a leap year (02-29 is ok)."""
    month, day = (int(part) for part in value.split("-"))
    dt.date(2000, month, day)  # raises ValueError for 02-30, 04-31, …
    return month, day


class WorkingPeriod(models.Model):
    name = models.CharField(_("name"), max_length=50, blank=True)
    season_start = models.CharField(
        _("season starts (MM-DD)"),
        max_length=5,
        default="01-01",
        help_text=_(
            "First day of the season, inclusive. A season may wrap the year (10-01..04-30)."
        ),
    )
    season_end = models.CharField(
        _("season ends (MM-DD)"),
        max_length=5,
        default="12-31",
        help_text=_("Last day of the season, inclusive."),
    )
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("working period")
        verbose_name_plural = _("working periods")
        ordering = ["season_start", "season_end", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="working_period_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(season_start__regex=MONTH_DAY_REGEX, season_end__regex=MONTH_DAY_REGEX),
                name="working_period_season_month_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.season_start}..{self.season_end} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        """Real month-days, start < end, and no overlap with another period of the same season."""
        for field in ("season_start", "season_end"):
            try:
                parse_month_day(getattr(self, field))
            except ValueError:
                raise ValidationError(
                    {field: _("Enter a month-day as MM-DD, e.g. 05-01.")}
                ) from None
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": _("The period must end after it starts.")})
        overlapping = WorkingPeriod.objects.filter(
            season_start=self.season_start,
            season_end=self.season_end,
            start__lt=self.end,
            end__gt=self.start,
        ).exclude(pk=self.pk)
        if self.start is not None and self.end is not None and overlapping.exists():
            raise ValidationError(
                _("This period overlaps %(other)s of the same season.")
                % {"other": overlapping.first()}
            )
