"""The working calendar and working-time arithmetic (docs/domain.md §5, docs/worktime.md).

Hand-checked against the 2026 calendar: 2026-09-30 (Wed) workday; 10-01..07 National Day off;
10-08 (Thu), 10-09 (Fri) workdays; 10-10 (Sat) make-up workday; 10-11 (Sun) off; 10-12 Monday.
Also 2026-09-20 (Sun) and 2026-02-14 (Sat) are make-up workdays. Default periods 08:30–12:00 and
13:30–17:30 (7.5 working hours a day).
"""

from __future__ import annotations

import datetime as dt
import logging
import math

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.models import LimitUnit
from tests.factories import make_admin_user
from worktime import clock
from worktime.clock import (
    DEFAULT_PERIODS,
    TZ,
    UNITS,
    Deadline,
    Season,
    WorkCalendar,
    current_calendar,
    deadline,
    elapsed,
)
from worktime.holidays import (
    apply_notice,
    calendar_warnings,
    package_days,
    package_years,
    parse_notice,
    seed_calendar,
)
from worktime.models import Source, WorkingDay, WorkingPeriod

UTC = dt.UTC


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware Asia/Shanghai time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


# Pure calendars (no database): the package's 2025–2026 days, default periods; and the same days
# with a summer season 05-01..09-30 of 08:00–12:00 + 14:00–18:00 next to the all-year default.
DAYS = {row.date: row.is_workday for row in package_days([2025, 2026])}
DEFAULT_CAL = WorkCalendar(DAYS)
SUMMER = Season((5, 1), (9, 30), ((dt.time(8), dt.time(12)), (dt.time(14), dt.time(18))))
SEASONAL_CAL = WorkCalendar(DAYS, [Season((1, 1), (12, 31), DEFAULT_PERIODS), SUMMER])


def test_units_are_the_case_limit_units():
    assert set(LimitUnit.values) <= set(UNITS) and set(UNITS) - set(LimitUnit.values) == {
        "work_minutes"
    }


# --- deadlines: hand-checked table ------------------------------------------------------------

# Each row: start, amount, unit → expected deadline; the id says why (hand-checked).
# fmt: off
DEADLINES = [
    pytest.param(at(2026, 9, 30, 16), 4, "work_hours", at(2026, 10, 8, 11),
                 id="4 工作时 from 09-30 16:00: 1.5 h that day, 2.5 h from 10-08 08:30"),
    pytest.param(dt.datetime(2026, 9, 30, 8, tzinfo=UTC), 4, "work_hours", at(2026, 10, 8, 11),
                 id="the same start given in UTC"),
    pytest.param(at(2026, 9, 30, 17), 90, "work_minutes", at(2026, 10, 8, 9, 30),
                 id="minutes are working minutes: 30 on 09-30, 60 on 10-08"),
    pytest.param(at(2026, 10, 12, 8, 30), 210, "work_minutes", at(2026, 10, 12, 12),
                 id="a limit that fills the morning ends at 12:00, not 13:30"),
    pytest.param(at(2026, 10, 12, 12, 15), 1, "work_hours", at(2026, 10, 12, 14, 30),
                 id="start in the lunch break counts from 13:30"),
    pytest.param(at(2026, 10, 12, 12), 1, "work_hours", at(2026, 10, 12, 14, 30),
                 id="start at 12:00 is already lunch"),
    pytest.param(at(2026, 10, 14, 7), 1, "work_hours", at(2026, 10, 14, 9, 30),
                 id="start before the first period"),
    pytest.param(at(2026, 10, 14, 18), 1, "work_hours", at(2026, 10, 15, 9, 30),
                 id="start after the last period"),
    pytest.param(at(2026, 10, 14, 18), 0, "work_hours", at(2026, 10, 15, 8, 30),
                 id="zero after hours is the next period's start"),
    pytest.param(at(2026, 10, 3, 10), 2, "work_hours", at(2026, 10, 8, 10, 30),
                 id="start on a holiday counts from 10-08 08:30"),
    pytest.param(at(2026, 10, 9, 16), 4, "work_hours", at(2026, 10, 10, 11),
                 id="调休 Saturday 10-10 is worked: 1.5 h Friday, 2.5 h Saturday"),
    pytest.param(at(2026, 9, 19, 10), 1, "work_hours", at(2026, 9, 20, 9, 30),
                 id="调休 Sunday 09-20 is worked"),
    pytest.param(at(2026, 2, 13, 17), 1, "work_hours", at(2026, 2, 14, 9),
                 id="调休 Saturday 02-14 before Spring Festival: 0.5 h Friday, 0.5 h Saturday"),
    pytest.param(at(2026, 10, 16, 16), 16, "work_hours", at(2026, 10, 20, 17),
                 id="16 h from Friday 16:00: 1.5 Fri + 7.5 Mon + 3.5 + 3.5 Tue"),
    pytest.param(at(2026, 10, 12, 12, 15), 1, "work_days", at(2026, 10, 13, 13, 30),
                 id="1 工作日 from the lunch break: Monday 13:30 → Tuesday 13:30"),
    pytest.param(at(2026, 10, 3, 10), 1, "work_days", at(2026, 10, 9, 8, 30),
                 id="1 工作日 from a holiday: starts 10-08 08:30 → 10-09 08:30"),
    pytest.param(at(2026, 10, 15, 10), 3, "work_days", at(2026, 10, 20, 10),
                 id="3 工作日 from Thursday across the weekend: Fri, Mon, Tue"),
    pytest.param(at(2026, 10, 15, 10), 0, "work_days", at(2026, 10, 15, 10),
                 id="0 工作日 inside working time is the start"),
    pytest.param(at(2026, 9, 30, 16), 48, "calendar_hours", at(2026, 10, 2, 16),
                 id="48 calendar hours run through the holiday"),
    pytest.param(at(2026, 9, 30, 16), 3, "calendar_days", at(2026, 10, 3, 16),
                 id="3 calendar days run through the holiday"),
    pytest.param(at(2026, 10, 3, 23, 30), 1, "calendar_hours", at(2026, 10, 4, 0, 30),
                 id="calendar hours from a holiday night"),
]
# fmt: on


@pytest.mark.parametrize("start, amount, unit, expected", DEADLINES)
def test_deadline_table(start, amount, unit, expected):
    result = deadline(start, amount, unit, DEFAULT_CAL)
    assert result == Deadline(expected, ())
    assert result.at.tzinfo == TZ


def test_four_working_hours_from_the_eve_of_national_day_end_at_11_on_10_08():
    """Dispatched 2026-09-30 16:00 with 4 工作时: 16:00–17:30 is 1.5 h; 10-01..07 are holidays; the
    remaining 2.5 h run from 10-08 08:30, inside the 3.5 h morning period → 2026-10-08 11:00."""
    assert deadline(at(2026, 9, 30, 16), 4, "work_hours", DEFAULT_CAL).at == at(2026, 10, 8, 11)


def test_one_working_day_from_friday_evening_ends_monday_morning():
    """1 工作日 from Friday 2026-10-09 17:45. 17:45 is after the last period (17:30), so the start
    moves to the next period's start: Saturday 2026-10-10 08:30, a 调休 make-up workday. One
    working day is the same clock time (08:30) on the next workday after 10-10: Sunday 10-11 is
    off, so Monday 2026-10-12 08:30."""
    assert deadline(at(2026, 10, 9, 17, 45), 1, "work_days", DEFAULT_CAL).at == at(
        2026, 10, 12, 8, 30
    )


def test_summer_season_replaces_the_default_periods_between_its_dates():
    """Monday 2026-06-01 11:00 + 2 工作时 in summer: 11:00–12:00, then 14:00–15:00. In November
    the all-year default applies: 11:00–12:00, then 13:30–14:30."""
    assert deadline(at(2026, 6, 1, 11), 2, "work_hours", SEASONAL_CAL).at == at(2026, 6, 1, 15)
    assert deadline(at(2026, 11, 2, 11), 2, "work_hours", SEASONAL_CAL).at == at(
        2026, 11, 2, 14, 30
    )


def test_unknown_unit_naive_start_and_negative_amount_are_refused():
    with pytest.raises(ValueError, match="unknown limit unit"):
        deadline(at(2026, 10, 12), 1, "fortnights", DEFAULT_CAL)
    with pytest.raises(ValueError, match="naive"):
        deadline(dt.datetime(2026, 10, 12, 9), 1, "work_hours", DEFAULT_CAL)
    with pytest.raises(ValueError, match="≥ 0"):
        deadline(at(2026, 10, 12), -1, "work_hours", DEFAULT_CAL)


# --- elapsed: hand-checked table --------------------------------------------------------------

# fmt: off
ELAPSED = [
    pytest.param(at(2026, 9, 30, 16), at(2026, 10, 8, 11), "work_hours", 4.0,
                 id="the judged 4 工作时"),
    pytest.param(at(2026, 9, 30, 16), at(2026, 10, 8, 11), "work_minutes", 240.0, id="in minutes"),
    pytest.param(at(2026, 10, 12, 12), at(2026, 10, 12, 13, 30), "work_hours", 0.0,
                 id="the lunch break is not working time"),
    pytest.param(at(2026, 10, 9, 17, 45), at(2026, 10, 12, 8, 30), "work_days", 1.0,
                 id="the judged 1 工作日"),
    pytest.param(at(2026, 10, 12, 8, 30), at(2026, 10, 12, 12, 15), "work_days", 3.5 / 7.5,
                 id="a morning is 3.5 of the 7.5 h to the next 08:30"),
    pytest.param(at(2026, 9, 30, 16), at(2026, 10, 2, 16), "calendar_hours", 48.0,
                 id="calendar hours through the holiday"),
    pytest.param(at(2026, 10, 8, 11), at(2026, 9, 30, 16), "work_hours", -4.0,
                 id="backwards is negative"),
]
# fmt: on


@pytest.mark.parametrize("start, end, unit, expected", ELAPSED)
def test_elapsed_table(start, end, unit, expected):
    assert elapsed(start, end, unit, DEFAULT_CAL) == pytest.approx(expected)


def is_working_time(moment: dt.datetime, calendar) -> bool:
    """Working at `moment`: the second after it holds working time (periods are half-open)."""
    return elapsed(moment, moment + dt.timedelta(seconds=1), "work_minutes", calendar) > 0


def test_is_working_time_uses_half_open_periods():
    assert is_working_time(at(2026, 10, 12, 8, 30), DEFAULT_CAL)
    assert not is_working_time(at(2026, 10, 12, 12), DEFAULT_CAL)
    assert not is_working_time(at(2026, 10, 1, 9), DEFAULT_CAL)
    assert is_working_time(at(2026, 10, 10, 9), DEFAULT_CAL)


# --- fallback: a year without data ------------------------------------------------------------


def test_deadline_into_2027_falls_back_to_monday_to_friday_and_says_so(caplog):
    clock._LAST_WARNED.clear()
    """2026-12-31 (Thu) 16:00 + 4 工作时: 1.5 h that day; 2027 has no data, so Friday 2027-01-01
    counts as a workday (in reality New Year's Day): 08:30 + 2.5 h = 11:00, flagged and logged."""
    with caplog.at_level(logging.WARNING, logger="worktime.clock"):
        result = deadline(at(2026, 12, 31, 16), 4, "work_hours", DEFAULT_CAL)
    assert result == Deadline(at(2027, 1, 1, 11), (2027,))
    assert any("no data for 2027" in record.getMessage() for record in caplog.records)


def test_elapsed_into_2027_logs_and_does_not_raise(caplog):
    clock._LAST_WARNED.clear()
    with caplog.at_level(logging.WARNING, logger="worktime.clock"):
        value = elapsed(at(2026, 12, 31, 16), at(2027, 1, 4, 9), "work_hours", DEFAULT_CAL)
    assert value == 1.5 + 7.5 + 0.5  # 12-31, 01-01 (Fri, by fallback), 01-04 08:30–09:00
    assert "2027" in caplog.text


def test_deadline_inside_covered_years_has_no_fallback(caplog):
    with caplog.at_level(logging.WARNING, logger="worktime.clock"):
        assert deadline(at(2026, 10, 9, 17, 45), 1, "work_days", DEFAULT_CAL).fallback_years == ()
    assert caplog.records == []


# --- properties -------------------------------------------------------------------------------

CALENDARS = st.sampled_from([DEFAULT_CAL, SEASONAL_CAL])
STARTS = st.builds(
    lambda moment, zone: moment.replace(tzinfo=TZ).astimezone(zone),
    st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 12, 31)),
    st.sampled_from([TZ, UTC]),
)
AMOUNTS = st.integers(min_value=0, max_value=300)
WORKING_UNITS = st.sampled_from(["work_minutes", "work_hours"])
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, a=STARTS, b=STARTS, amount=AMOUNTS, unit=st.sampled_from(list(UNITS)))
def test_deadline_is_monotonic_in_start(calendar, a, b, amount, unit):
    early, late = sorted([a, b])
    assert deadline(early, amount, unit, calendar).at <= deadline(late, amount, unit, calendar).at


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, start=STARTS, m=AMOUNTS, n=AMOUNTS, unit=st.sampled_from(list(UNITS)))
def test_deadline_is_monotonic_in_amount(calendar, start, m, n, unit):
    small, large = sorted([m, n])
    assert deadline(start, small, unit, calendar).at <= deadline(start, large, unit, calendar).at


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, start=STARTS, amount=AMOUNTS, unit=WORKING_UNITS)
def test_elapsed_to_the_deadline_is_the_amount_for_working_time(calendar, start, amount, unit):
    end = deadline(start, amount, unit, calendar).at
    assert elapsed(start, end, unit, calendar) == amount


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, start=STARTS, amount=st.integers(min_value=0, max_value=40))
def test_elapsed_to_the_deadline_is_the_amount_for_working_days(calendar, start, amount):
    """The brief asks this for starts inside working time; it holds for any start, because both
    functions first move the start to the next working moment."""
    inside = deadline(start, 0, "work_minutes", calendar).at  # the next working moment
    assert is_working_time(inside, calendar)
    for begin in (inside, start):
        end = deadline(begin, amount, "work_days", calendar).at
        assert elapsed(begin, end, "work_days", calendar) == amount


@PROPERTY_SETTINGS
@given(
    calendar=CALENDARS,
    moments=st.lists(STARTS, min_size=3, max_size=3),
    unit=st.sampled_from(["work_minutes", "work_hours", "calendar_hours", "calendar_days"]),
)
def test_elapsed_is_additive_over_a_split_point(calendar, moments, unit):
    a, b, c = sorted(moments)
    whole = elapsed(a, c, unit, calendar)
    parts = elapsed(a, b, unit, calendar) + elapsed(b, c, unit, calendar)
    assert math.isclose(whole, parts, rel_tol=1e-12, abs_tol=1e-9)


# --- the calendar from the database -----------------------------------------------------------


@pytest.fixture
def seeded(db):
    """2025–2026 from the package and the default periods. The migration seeds these too, but a
    transactional test elsewhere in the run flushes every table."""
    seed_calendar([2025, 2026])


def test_judged_cases_from_the_seeded_database(seeded):
    calendar = current_calendar()
    assert deadline(at(2026, 9, 30, 16), 4, "work_hours", calendar) == Deadline(at(2026, 10, 8, 11))
    assert deadline(at(2026, 10, 9, 17, 45), 1, "work_days", calendar) == Deadline(
        at(2026, 10, 12, 8, 30)
    )


def test_current_calendar_is_cached_until_the_rows_change(seeded):
    first = current_calendar()
    assert current_calendar() is first
    WorkingPeriod.objects.create(
        name="summer morning",
        season_start="05-01",
        season_end="09-30",
        start=dt.time(8),
        end=dt.time(12),
    )
    WorkingPeriod.objects.create(
        name="summer afternoon",
        season_start="05-01",
        season_end="09-30",
        start=dt.time(14),
        end=dt.time(18),
    )
    second = current_calendar()
    assert second is not first
    assert deadline(at(2026, 6, 1, 11), 2, "work_hours", second).at == at(2026, 6, 1, 15)
    WorkingDay.objects.filter(date=dt.date(2026, 10, 12)).delete()
    assert current_calendar().is_workday(dt.date(2026, 10, 12)) is None


# --- seeding ----------------------------------------------------------------------------------


def test_package_years_come_from_the_package():
    years = package_years()
    assert years.start == 2004 and 2026 in years and 2027 not in years  # chinesecalendar 1.11.0


def test_seed_2026_counts_and_rows(seeded):
    """2026: 33 statutory days off (3 New Year + 9 Spring Festival + 3 Qingming + 5 Labour Day +
    3 Dragon Boat + 3 Mid-autumn + 7 National Day), 6 make-up workdays (01-04, 02-14, 02-28,
    05-09, 09-20, 10-10), 365 − 104 weekend days − 19 weekday holidays + 6 = 248 workdays."""
    days = WorkingDay.objects.filter(date__year=2026)
    assert days.count() == 365
    assert days.filter(source=Source.STATUTORY).count() == 33
    assert sorted(days.filter(source=Source.ADJUSTED).values_list("date", flat=True)) == [
        dt.date(2026, 1, 4),
        dt.date(2026, 2, 14),
        dt.date(2026, 2, 28),
        dt.date(2026, 5, 9),
        dt.date(2026, 9, 20),
        dt.date(2026, 10, 10),
    ]
    assert days.filter(is_workday=True).count() == 248
    national = WorkingDay.objects.get(date=dt.date(2026, 10, 1))
    assert (national.is_workday, national.source) == (False, Source.STATUTORY)
    assert "国庆节" in national.note and "National Day" in national.note
    makeup = WorkingDay.objects.get(date=dt.date(2026, 10, 10))
    assert (makeup.is_workday, makeup.source) == (True, Source.ADJUSTED)
    assert WorkingDay.objects.get(date=dt.date(2026, 10, 11)).source == Source.WEEKEND


def test_seed_is_idempotent(seeded):
    again = seed_calendar([2026])
    assert (again.created, again.updated, again.unchanged, again.kept_manual) == (0, 0, 365, 0)


def test_seed_never_overwrites_manual_rows(seeded):
    WorkingDay.objects.filter(date=dt.date(2026, 10, 10)).update(
        is_workday=False, source=Source.MANUAL, note="台风 typhoon"
    )
    result = seed_calendar([2026])
    assert result.kept_manual == 1
    row = WorkingDay.objects.get(date=dt.date(2026, 10, 10))
    assert (row.is_workday, row.source, row.note) == (False, Source.MANUAL, "台风 typhoon")


def test_seed_restores_a_changed_package_row(seeded):
    WorkingDay.objects.filter(date=dt.date(2026, 10, 1)).update(note="edited")
    assert seed_calendar([2026]).updated == 1
    assert "National Day" in WorkingDay.objects.get(date=dt.date(2026, 10, 1)).note


def test_seed_command_warns_about_years_the_package_lacks(seeded, capsys):
    call_command("seed_calendar", year=[2026, 2027])
    out = capsys.readouterr().out
    assert "not 2027" in out and "365 unchanged" in out


def test_database_refuses_inconsistent_rows(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingDay.objects.create(
            date=dt.date(2031, 1, 1), is_workday=True, source=Source.STATUTORY
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingDay.objects.create(date=dt.date(2031, 1, 2), is_workday=True, source="typhoon")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingPeriod.objects.create(start=dt.time(12), end=dt.time(8, 30))


def test_overlapping_periods_of_one_season_are_refused(seeded):
    period = WorkingPeriod(
        season_start="01-01", season_end="12-31", start=dt.time(11), end=dt.time(14)
    )
    with pytest.raises(ValidationError, match="overlaps"):
        period.full_clean()
    with pytest.raises(ValidationError):
        WorkingPeriod(
            season_start="02-30", season_end="12-31", start=dt.time(18), end=dt.time(19)
        ).full_clean()


# --- the pasted holiday notice ----------------------------------------------------------------

NOTICE_HOLIDAYS = """
# 2027 (an example notice, not the real one)
2027-01-01..2027-01-03 元旦
2027-02-06..2027-02-12 春节
2027-10-01..2027-10-07
"""
NOTICE_WORKDAYS = "2027-02-20 春节\n2027-10-09\n"


def test_parse_notice_reads_dates_ranges_and_notes():
    entries = parse_notice(NOTICE_HOLIDAYS)
    assert [(e.line, e.first, e.last, e.note) for e in entries] == [
        (3, dt.date(2027, 1, 1), dt.date(2027, 1, 3), "元旦"),
        (4, dt.date(2027, 2, 6), dt.date(2027, 2, 12), "春节"),
        (5, dt.date(2027, 10, 1), dt.date(2027, 10, 7), ""),
    ]
    assert sum(len(e.dates()) for e in entries) == 17


def test_parse_notice_names_every_bad_line():
    with pytest.raises(ValidationError) as caught:
        parse_notice(
            "2027-01-01\n2027-02-30\n1 January 2027\n2027-05-05..2027-05-01\n2027-01-01..2027-03-01"
        )
    messages = caught.value.messages
    assert [m.split(":")[0] for m in messages] == ["Line 2", "Line 3", "Line 4", "Line 5"]
    assert "not a real date" in messages[0]
    assert "2027-01-01..2027-01-03" in messages[1]  # the expected format is shown


def test_apply_notice_fills_the_year_and_ends_the_fallback(seeded, caplog):
    result = apply_notice(NOTICE_HOLIDAYS, NOTICE_WORKDAYS)
    assert WorkingDay.objects.filter(date__year=2027).count() == 365
    assert result.created == 365
    new_year = WorkingDay.objects.get(date=dt.date(2027, 1, 1))
    assert (new_year.is_workday, new_year.source, new_year.note) == (
        False,
        Source.STATUTORY,
        "元旦",
    )
    makeup = WorkingDay.objects.get(date=dt.date(2027, 2, 20))
    assert (makeup.is_workday, makeup.source) == (True, Source.ADJUSTED)
    assert (
        WorkingDay.objects.get(date=dt.date(2027, 10, 9)).note == "国务院通知 State Council notice"
    )
    # 12-31 16:00 + 4 工作时: 1.5 h, then 01-01..03 off, Monday 2027-01-04 08:30 + 2.5 h.
    with caplog.at_level(logging.WARNING, logger="worktime.clock"):
        result = deadline(at(2026, 12, 31, 16), 4, "work_hours", current_calendar())
    assert result == Deadline(at(2027, 1, 4, 11), ())
    assert caplog.records == []


def test_apply_notice_writes_nothing_when_a_line_is_bad(seeded):
    before = WorkingDay.objects.count()
    with pytest.raises(ValidationError) as caught:
        apply_notice(NOTICE_HOLIDAYS + "2027-13-01\n", NOTICE_WORKDAYS)
    assert caught.value.message_dict["holidays"] == ["Line 6: 2027-13-01 is not a real date."]
    assert WorkingDay.objects.count() == before


def test_apply_notice_refuses_a_date_listed_both_ways(seeded):
    with pytest.raises(ValidationError) as caught:
        apply_notice("2027-01-01..2027-01-03", "2027-01-02")
    assert caught.value.message_dict["workdays"] == [
        "Line 1: 2027-01-02 is also listed as a holiday."
    ]
    assert not WorkingDay.objects.filter(date__year=2027).exists()


def test_apply_notice_keeps_manual_rows(seeded):
    WorkingDay.objects.create(
        date=dt.date(2027, 1, 2), is_workday=True, source=Source.MANUAL, note="x"
    )
    assert apply_notice(NOTICE_HOLIDAYS, "").kept_manual == 1
    assert WorkingDay.objects.get(date=dt.date(2027, 1, 2)).is_workday


# --- admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, seeded):
    client.force_login(make_admin_user(username="calendar-admin"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _cover(first: dt.date, last: dt.date) -> None:
    """Manual rows for every date in [first, last] that has none."""
    existing = set(WorkingDay.objects.values_list("date", flat=True))
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    WorkingDay.objects.bulk_create(
        WorkingDay(date=day, is_workday=day.weekday() < 5, source=Source.MANUAL)
        for day in days
        if day not in existing
    )


def test_admin_index_warns_when_the_current_year_has_no_rows(admin_client):
    today = timezone.localdate()
    WorkingDay.objects.filter(date__year=today.year).delete()
    page = admin_client.get("/admin/").content.decode()
    assert 'id="worktime-calendar-warnings"' in page
    assert f"has no data for {365 + (today.year % 4 == 0)} days of {today.year}" in page


def test_admin_index_is_quiet_when_the_calendar_is_complete(admin_client):
    today = timezone.localdate()
    _cover(
        dt.date(today.year, 1, 1), max(dt.date(today.year, 12, 31), today + dt.timedelta(days=60))
    )
    assert calendar_warnings() == []
    assert 'id="worktime-calendar-warnings"' not in admin_client.get("/admin/").content.decode()


def test_calendar_warnings_name_the_first_missing_day_ahead(seeded):
    warnings = calendar_warnings(dt.date(2026, 11, 29))
    assert warnings == [
        "The working calendar has no data from 2027-01-01 (within the next 60 days): enter the "
        "State Council holiday notice for 2027 under Working calendar → Enter holiday notice."
    ]


def test_admin_notice_form_rejects_a_bad_line_and_writes_nothing(admin_client):
    before = WorkingDay.objects.count()
    response = admin_client.post(
        "/admin/worktime/workingday/notice/", {"holidays": "2027-01-01\n2027-1-2", "workdays": ""}
    )
    assert response.status_code == 200
    assert "Line 2: &#x27;2027-1-2&#x27; is not a date or a range" in response.content.decode()
    assert WorkingDay.objects.count() == before


def test_admin_notice_form_saves_a_good_notice(admin_client):
    response = admin_client.post(
        "/admin/worktime/workingday/notice/",
        {"holidays": NOTICE_HOLIDAYS, "workdays": NOTICE_WORKDAYS},
    )
    assert response.status_code == 302
    assert WorkingDay.objects.filter(date__year=2027).count() == 365
    assert "Holiday notice saved" in admin_client.get(response["Location"]).content.decode()


def test_admin_change_form_marks_a_typhoon_day_manual(admin_client):
    response = admin_client.post(
        "/admin/worktime/workingday/2026-10-12/change/", {"note": "台风停工 typhoon"}
    )  # unchecked
    assert response.status_code == 302
    row = WorkingDay.objects.get(date=dt.date(2026, 10, 12))
    assert (row.is_workday, row.source, row.note) == (False, Source.MANUAL, "台风停工 typhoon")
    assert deadline(at(2026, 10, 9, 17, 45), 1, "work_days", current_calendar()).at == at(
        2026, 10, 13, 8, 30
    )
    assert seed_calendar([2026]).kept_manual == 1


def test_admin_list_searches_by_date_prefix(admin_client):
    page = admin_client.get("/admin/worktime/workingday/", {"q": "2026-10"}).content.decode()
    assert "31 results" in page
    assert "Enter holiday notice" in page


def test_minutes_of_a_case_standard_count_calendar_time():
    """Urgent standards may use minutes, and urgent cases count calendar time (docs/domain.md §2)."""
    calendar = WorkCalendar({})
    assert deadline(at(2026, 10, 1, 23, 50), 30, "minutes", calendar).at == at(2026, 10, 2, 0, 20)


def test_the_fallback_warning_is_not_repeated_for_every_row(caplog):
    clock._LAST_WARNED.clear()
    with caplog.at_level(logging.WARNING, logger="worktime.clock"):
        for _ in range(50):
            deadline(at(2026, 12, 31, 16), 4, "work_hours", DEFAULT_CAL)
    assert sum("no data for 2027" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.django_db
def test_a_request_checks_the_calendar_once_and_the_next_request_sees_a_change():
    """The calendar is checked by the reference token (backend/reference.py), read once per HTTP
    request, not once per deadline computed in it; the rows are not read again while it holds;
    outside requests every call checks, and a change shows at once."""
    import json
    import uuid

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.cast import IN_A, make_cast

    cast = make_cast()
    client = cast.client(cast.officer)
    body = json.dumps({"category": cast.category.pk, "lon": IN_A[0], "lat": IN_A[1]})

    def create() -> int:
        with CaptureQueriesContext(connection) as queries:
            answer = client.post(
                "/api/cases/",
                body,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            )
        assert answer.status_code == 201, answer.content
        assert not any('FROM "worktime_workingday"' in q["sql"] for q in queries)
        return sum("backend_referenceversion" in q["sql"] for q in queries)

    clock.current_calendar()  # loaded
    assert create() == 1
    assert create() == 1  # each request checks again
    day = dt.date(2026, 10, 12)  # a Monday, a workday
    assert clock.current_calendar().is_workday(day) is True
    WorkingDay.objects.filter(date=day).delete()  # no data for the day any more
    assert clock.current_calendar().is_workday(day) is None  # outside a request: seen at once
