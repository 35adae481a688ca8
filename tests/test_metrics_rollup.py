"""The per-(object, day) rollup (metrics/rollup.py, issue #25) gives the raw engine's figures.

A random workflow history (seeded, so a failure can be replayed): cases in two grids walk the
workflow's front doors (`report_case`, `transition`) — accept, self-handle, relocation to the
other grid before registration, registration, dispatch to one of two units, extension, return
and re-dispatch, suspension and resume, feedback, failed and passed checks, closure, voiding —
each stopped at a random step, at random moments over seven weeks up to a simulated now. Then, for
many random periods (cut at midnight or mid-day, ending before now or covering today, some holding a
whole month, read from its month rows), every
level the rollup serves gives exactly `figures_by_level(..., rollup=False)`. The rollup kept in
the events' transactions also equals the one `rebuild()` writes from the event log.
"""

from __future__ import annotations

import datetime as dt
import io
import random

from django.core.management import call_command
from django.test import TestCase

from cases.models import Case, Status
from metrics import rollup
from metrics.models import DailyFigures
from metrics.reports import CITY, Figures, Period, figures_by_level
from tests.cast import make_cast
from tests.test_metrics import IN_A, IN_B, TZ, Script

FIRST = dt.datetime(2024, 1, 22, 8, 0, tzinfo=TZ)
NOW = dt.datetime(2024, 3, 12, 15, 0, tzinfo=TZ)  # the simulated now: nothing happens after it
LEVELS = ("grid", "community", "street", "district", "unit", CITY)
SEED = 25


class History:
    """Walks cases through the workflow at random moments."""

    def __init__(self, cast, rng: random.Random) -> None:
        self.cast, self.rng, self.script = cast, rng, Script(cast)
        self.members = {cast.unit.pk: cast.unit_member, cast.other_unit.pk: cast.other_unit_member}
        self.officers = {cast.grid.pk: cast.officer, cast.other_grid.pk: cast.officer_elsewhere}

    def case(self) -> None:
        rng, c = self.rng, self.cast
        moment = FIRST + dt.timedelta(
            minutes=rng.randrange(int((NOW - FIRST).total_seconds() // 60))
        )
        point = rng.choice((IN_A, IN_B))
        case = self.script.report(
            moment, point=point, by=self.officers[c.grid.pk if point == IN_A else c.other_grid.pk]
        )
        for _ in range(14):
            if rng.random() < 0.08:
                return
            moment += dt.timedelta(
                minutes=rng.choice((rng.randrange(1, 90), rng.randrange(60, 36 * 60)))
            )
            if moment > NOW or case.status in (Status.CLOSED, Status.VOIDED, Status.REJECTED):
                return
            case = self.step(case, moment)

    def step(self, case: Case, moment: dt.datetime) -> Case:
        rng, c, act = self.rng, self.cast, self.script.act
        status, draw = case.status, self.rng.random()
        if status != Status.CLOSING and draw < 0.04:
            return act(case, "void", c.shift_leader, moment, reason="重复")
        if status in (Status.REPORTED, Status.PENDING_REGISTRATION) and draw < 0.15:
            there = IN_B if case.grid_id == c.grid.pk else IN_A
            return act(case, "relocate", c.acceptor, moment, location=(there[0], there[1], "移位"))
        if status == Status.REPORTED:
            if draw < 0.25 and case.reporter_id == self.officers[case.grid_id].pk:
                return act(case, "self_handle", self.officers[case.grid_id], moment)
            return act(case, "accept", c.acceptor, moment)
        if status == Status.PENDING_REGISTRATION:
            return act(case, "register", c.shift_leader, moment)
        if status == Status.DISPATCHING:
            return act(
                case, "dispatch", c.dispatcher, moment, unit=rng.choice((c.unit, c.other_unit))
            )
        if status == Status.SUSPENDED:
            return act(case, "resume", c.dispatcher, moment)
        if status == Status.CHECKING:
            officer = self.officers[case.grid_id]
            return act(case, "check", officer, moment, outcome="fail" if draw < 0.35 else "pass")
        if status == Status.CLOSING:
            return act(case, "close", c.shift_leader, moment)
        member = self.members[case.unit_id]  # handling
        for kind, amount, answer in (
            ("extension", 450, 0.55),
            ("return", None, 0.65),
            ("suspension", None, 0.75),
        ):
            if draw < answer:
                inputs = {"amount_minutes": amount} if amount else {}
                act(case, f"request_{kind}", member, moment, reason="原因", **inputs)
                return act(case, f"approve_{kind}", c.dispatcher, moment + dt.timedelta(minutes=5))
        return act(case, "feedback", member, moment)


def _moment(rng: random.Random, low: dt.datetime, high: dt.datetime) -> dt.datetime:
    """A random midnight (half the time) or minute between low and high."""
    day = (low + dt.timedelta(days=rng.randrange(max((high - low).days, 1)))).date()
    if rng.random() < 0.5:
        return dt.datetime.combine(day, dt.time(), tzinfo=TZ)
    return dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), tzinfo=TZ)


def _nonzero(found: dict) -> dict:
    return {key: figures for key, figures in found.items() if figures != Figures()}


class RollupEqualsRawEngine(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        history = History(cls.cast, random.Random(SEED))
        for _ in range(55):
            history.case()

    def periods(self, rng: random.Random, n: int) -> list[Period]:
        periods = []
        for _ in range(n):
            start = _moment(rng, FIRST - dt.timedelta(days=2), NOW)
            end = _moment(rng, start + dt.timedelta(days=1), NOW + dt.timedelta(days=3))
            if end <= start:
                end = start + dt.timedelta(days=1, hours=rng.randrange(30))
            periods.append(Period(start, end, min(end, NOW)))
        # the whole history ending now mid-day, one covering today (end after now), and whole
        # months (February: its month rows) with days before and after, cut mid-day or not
        tomorrow = (NOW + dt.timedelta(days=1)).replace(hour=0)
        march = dt.datetime(2024, 3, 1, tzinfo=TZ)
        monday = dt.datetime(2024, 3, 4, 9, 30, tzinfo=TZ)
        periods += [
            Period(FIRST, NOW, NOW),
            Period(FIRST.replace(hour=0), tomorrow, NOW),
            Period(dt.datetime(2024, 1, 31, 13, 5, tzinfo=TZ), march, march),
            Period(dt.datetime(2024, 2, 1, tzinfo=TZ), NOW, NOW),
            Period(dt.datetime(2024, 1, 1, tzinfo=TZ), monday, monday),
        ]
        return periods

    def test_the_history_reaches_every_counted_path(self):
        counted = {
            field: sum(getattr(row, field) for row in DailyFigures.objects.filter(dim=CITY))
            for field in rollup.COUNTED
        }
        self.assertTrue(all(counted.values()), counted)  # every column has something to compare
        self.assertTrue(
            DailyFigures.objects.exclude(counted_until=rollup.NEVER).exists()
        )  # superseded feedbacks
        self.assertTrue(DailyFigures.objects.filter(dim="m:grid", day=dt.date(2024, 2, 1)).exists())
        self.assertTrue(Case.objects.filter(events__action="relocate", events__seq__gt=2).exists())

    def test_rollup_figures_equal_the_raw_engine_for_random_periods(self):
        rng = random.Random(SEED + 1)
        compared = 0
        for period in self.periods(rng, 30):
            for level in LEVELS:
                with self.subTest(level=level, start=period.start, end=period.end):
                    from_rollup = rollup.figures(level, period, min_days=1)
                    if from_rollup is None:  # under a whole day: the raw engine only
                        self.assertLess(period.end - period.start, dt.timedelta(days=2))
                        continue
                    raw = figures_by_level(level, period, rollup=False)
                    self.assertEqual(_nonzero(from_rollup), _nonzero(raw))
                    compared += 1
        self.assertGreater(compared, 150)

    def test_areas_the_rollup_serves(self):
        period = Period(FIRST.replace(hour=13), NOW, NOW)
        for level, area in (
            ("grid", "320505"),
            ("grid", self.cast.grid.code),
            ("street", "320505"),
            ("community", "320506009"),
        ):
            with self.subTest(level=level, area=area):
                found = rollup.figures(level, period, area)
                self.assertIsNotNone(found)
                self.assertEqual(
                    _nonzero(found),
                    _nonzero(figures_by_level(level, period, area=area, rollup=False)),
                )
        self.assertIsNone(
            rollup.figures("unit", period, "320505")
        )  # a unit's work in one area: raw
        self.assertIsNone(rollup.figures("officer", period))

    def test_figures_by_level_reads_the_rollup_for_long_periods_only(self):
        long = Period(FIRST, NOW, NOW)
        rows_before = DailyFigures.objects.count()
        self.assertEqual(figures_by_level("grid", long), rollup.figures("grid", long))
        week = Period(NOW - dt.timedelta(days=7), NOW, NOW)
        self.assertIsNone(rollup.figures("grid", week))
        self.assertEqual(DailyFigures.objects.count(), rows_before)

    def test_rebuild_from_the_event_log_equals_the_rollup_kept_in_the_transactions(self):
        def rows():
            return {
                (r.dim, r.obj, r.day, r.counted_until): tuple(getattr(r, c) for c in rollup.COUNTED)
                for r in DailyFigures.objects.all()
                if any(getattr(r, c) for c in rollup.COUNTED)
            }

        kept = rows()
        self.assertGreater(len(kept), 100)
        rollup.rebuild(chunk=7)  # the merge of the two ordered scans across many fetches
        self.assertEqual(rows(), kept)
        DailyFigures.objects.all().delete()
        out = io.StringIO()
        call_command("rebuild_metrics_rollup", stdout=out)
        self.assertEqual(rows(), kept)
        self.assertIn(f"{DailyFigures.objects.count()} rows", out.getvalue())
