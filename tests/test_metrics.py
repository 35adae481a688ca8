"""Evaluation metrics (docs/domain.md §6): a scripted week with known answers, driven through the real
workflow with explicit timestamps, then checked count by count, rate by rate, level by level.

The week is Mon 2024-03-04 – Sun 2024-03-10 (end exclusive: 2024-03-11 00:00, Asia/Shanghai).
Disposal limit 1 工作日 (same clock time the next workday), step limits 1 工作时, working periods
08:30–12:00 and 13:30–17:30. Grids: A and A2 in community 320505006001, C in community
320505006002 (same street), B in street 320506009 (another district). Units: 执法大队 (cast.unit,
"unit A") and 环卫所 (cast.other_unit, "unit B").
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import TestCase

from cases import workflow
from cases.models import Case, Status
from metrics import reports
from metrics.reports import Figures, figures_by_level, period_of, rate
from metrics.scores import (
    Row,
    band_points,
    composite,
    evaluate,
    grade,
    load_scheme,
    rank_competition,
)
from metrics.subjects import Subject
from metrics.views import OFFICER_ROW_KEYS, ROW_KEYS
from people.models import User
from tests.cast import GRID_B, IN_A, make_cast, photo_record
from tests.factories import make_admin_user, make_grid, make_user

TZ = reports.TZ
WEEK = (dt.date(2024, 3, 4), dt.date(2024, 3, 11))
IN_A2 = (120.7025, 31.3005)
IN_B = ((GRID_B[0] + GRID_B[2]) / 2, (GRID_B[1] + GRID_B[3]) / 2)
IN_C = (120.7105, 31.3005)
ZERO_COUNTS = dict.fromkeys(reports.COUNT_KEYS, 0)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute, tzinfo=TZ)


class Script:
    """Drives cases through the real workflow at given moments."""

    def __init__(self, cast) -> None:
        self.cast = cast
        self.photo = photo_record()

    def report(self, when: dt.datetime, *, point=IN_A, by: User | None = None, **fields) -> Case:
        report = workflow.Report(category=self.cast.category, lon=point[0], lat=point[1], **fields)
        return workflow.report_case(report, reporter=by or self.cast.officer, now=when)

    def act(self, case: Case, action: str, actor: User, when: dt.datetime, **inputs) -> Case:
        case.refresh_from_db()
        if action in ("feedback", "self_handle") or (
            action == "check" and inputs.get("outcome") == "pass"
        ):
            inputs.setdefault("photos", [self.photo])
        workflow.transition(
            case,
            action,
            actor=actor,
            version=case.version,
            inputs=workflow.Inputs(**inputs),
            now=when,
        )
        case.refresh_from_db()
        return case

    def dispatched(
        self, when: dt.datetime, *, unit=None, point=IN_A, by: User | None = None
    ) -> Case:
        """Reported at `when`, accepted +5 min, registered +10 min, dispatched +20 min."""
        c = self.cast
        case = self.report(when, point=point, by=by)
        self.act(case, "accept", c.acceptor, when + dt.timedelta(minutes=5))
        self.act(case, "register", c.shift_leader, when + dt.timedelta(minutes=10))
        return self.act(
            case, "dispatch", c.dispatcher, when + dt.timedelta(minutes=20), unit=unit or c.unit
        )

    def finish(
        self,
        case: Case,
        fed: dt.datetime,
        *,
        member: User | None = None,
        checker: User | None = None,
        close: bool = True,
    ) -> Case:
        """Feedback at `fed`, check passed +30 min, closed +60 min."""
        c = self.cast
        self.act(case, "feedback", member or c.unit_member, fed)
        self.act(
            case, "check", checker or c.officer, fed + dt.timedelta(minutes=30), outcome="pass"
        )
        return (
            self.act(case, "close", c.shift_leader, fed + dt.timedelta(minutes=60))
            if close
            else case
        )


def build_week(cast) -> dict[str, Case]:
    """The scripted cases (see each comment for what it must count as)."""
    script = Script(cast)
    return {**_grid_a_handled(script), **_grid_a_other(script), **_other_grids(script)}


def _grid_a_handled(s: Script) -> dict[str, Case]:
    """Grid A, Monday to Friday: the main paths through handling."""
    c, cases = s.cast, {}
    # C1: closed on time (dispatch Mon 09:20, deadline Tue 09:20; feedback Mon 15:00, check on time).
    cases["C1"] = s.finish(s.dispatched(at(4, 9)), at(4, 15))
    # C2: rework — feedback on time, check failed (late check), feedback again late, closed late.
    c2 = s.dispatched(at(5, 9))  # deadline Wed 6 09:20
    s.act(c2, "feedback", c.unit_member, at(5, 11))
    s.act(
        c2, "check", c.officer, at(5, 14), outcome="fail"
    )  # checking since 11:00, step limit 12:00
    cases["C2"] = s.finish(c2, at(6, 10))
    # C3: overdue and open at the end (deadline Thu 7 09:20).
    cases["C3"] = s.dispatched(at(6, 9))
    # C4: suspended at the end.
    c4 = s.dispatched(at(7, 9))
    s.act(c4, "request_suspension", c.unit_member, at(7, 10), reason="施工")
    cases["C4"] = s.act(c4, "approve_suspension", c.dispatcher, at(7, 10, 30))
    # C5: an extension of one working day (deadline Fri 14:00 → Mon 14:00), fed back Fri 16:00.
    c5 = s.dispatched(at(7, 13, 40))
    s.act(c5, "request_extension", c.unit_member, at(8, 9), reason="材料", amount_minutes=450)
    s.act(c5, "approve_extension", c.dispatcher, at(8, 9, 30))
    cases["C5"] = s.finish(c5, at(8, 16))
    # C6: returned by unit A, re-dispatched to unit B (not a new dispatch), closed by B.
    c6 = s.dispatched(at(5, 13, 40))
    s.act(c6, "request_return", c.unit_member, at(5, 14, 30), reason="不属本单位")
    s.act(c6, "approve_return", c.dispatcher, at(5, 15))
    s.act(c6, "dispatch", c.dispatcher, at(5, 15, 30), unit=c.other_unit)
    cases["C6"] = s.finish(c6, at(5, 16), member=c.other_unit_member)
    return cases


def _grid_a_other(s: Script) -> dict[str, Case]:
    """Grid A: self-handled, voided, rejected, before the week, and the end-state cases."""
    c, cases = s.cast, {}
    # C7: self-handled by the officer.
    c7 = s.report(at(8, 10))
    s.act(c7, "self_handle", c.officer, at(8, 10, 5))
    cases["C7"] = s.act(c7, "close", c.shift_leader, at(8, 10, 30))
    # C8: accepted, then voided. C9: rejected.
    c8 = s.report(at(8, 11))
    s.act(c8, "accept", c.acceptor, at(8, 11, 5))
    cases["C8"] = s.act(c8, "void", c.shift_leader, at(8, 11, 10), reason="重复录入")
    cases["C9"] = s.act(
        s.report(at(8, 11, 20)), "reject", c.acceptor, at(8, 11, 30), reason="不属实"
    )
    # C10: all before the week.
    cases["C10"] = s.finish(s.dispatched(at(1, 9)), at(1, 15))
    # C11: overdue at the end (deadline Fri 15:30), fed back and closed after the end.
    cases["C11"] = s.finish(s.dispatched(at(7, 15, 10)), at(12, 10))
    # C12: overdue at the end (deadline Thu 14:00); an extension approved after the end moves the
    # deadline past the end — the end state must come from the events, not today's row.
    c12 = s.dispatched(at(6, 13, 40))
    s.act(c12, "request_extension", c.unit_member, at(12, 9), reason="材料", amount_minutes=1350)
    cases["C12"] = s.act(c12, "approve_extension", c.dispatcher, at(12, 9, 30))
    # C13: dispatched Fri 14:30, deadline Mon 14:30: handling at the end, not overdue.
    cases["C13"] = s.dispatched(at(8, 14, 10))
    return cases


def _other_grids(s: Script) -> dict[str, Case]:
    """Grids A2, C and B."""
    c, cases = s.cast, {}
    # E1 (grid A2): closed on time.
    cases["E1"] = s.finish(s.dispatched(at(5, 10), point=IN_A2), at(5, 11))
    # F1 (grid C): registered, waiting for dispatch.
    f1 = s.report(at(7, 9), point=IN_C)
    s.act(f1, "accept", c.acceptor, at(7, 9, 10))
    cases["F1"] = s.act(f1, "register", c.shift_leader, at(7, 9, 20))
    # D1 (grid B): closed on time by unit B.
    cases["D1"] = s.finish(
        s.dispatched(at(5, 9), unit=c.other_unit, point=IN_B, by=c.officer_elsewhere),
        at(5, 14),
        member=c.other_unit_member,
        checker=c.officer_elsewhere,
    )
    # D2 (grid B): registered, not dispatched (no deadline yet).
    d2 = s.report(at(6, 9), point=IN_B, by=c.officer_elsewhere)
    s.act(d2, "accept", c.acceptor, at(6, 9, 5))
    cases["D2"] = s.act(d2, "register", c.shift_leader, at(6, 9, 10))
    # D3 (grid B): a public report verified on time, then accepted.
    d3 = s.report(at(6, 10), point=IN_B, by=c.public, source="public")
    s.act(d3, "send_verify", c.acceptor, at(6, 10, 5))
    s.act(d3, "verify", c.officer_elsewhere, at(6, 10, 30), outcome="confirmed")
    cases["D3"] = s.act(d3, "accept", c.acceptor, at(6, 10, 40))
    # D4 (grid B): a public report verified late (not confirmed: rejected).
    d4 = s.report(at(6, 13, 40), point=IN_B, by=c.public, source="public")
    s.act(d4, "send_verify", c.acceptor, at(6, 13, 45))
    cases["D4"] = s.act(d4, "verify", c.officer_elsewhere, at(6, 16), outcome="not_confirmed")
    return cases


def counts(**nonzero: int) -> dict[str, int]:
    return {**ZERO_COUNTS, **nonzero}


# C7 (self-handled) counts in accepted and registered too (docs/domain.md §6, issue #17), not in 派遣率's
# denominator (9 dispatched of 10 registered, one of them self-handled: 9 / 9).
GRID_A = counts(
    accepted=11,
    registered=10,
    dispatched=9,
    disposed=4,
    disposed_on_time=3,
    overdue_open=3,
    due_disposal=7,
    closed=5,
    closed_on_time=4,
    due_closure=8,
    rework=1,
    extensions=1,
    returns=1,
    suspended=1,
    voided=1,
    self_handled=1,
)
GRID_A_RATES = {
    "registration_rate": 90.91,
    "dispatch_rate": 100.0,
    "disposal_rate": 57.14,
    "disposal_on_time_rate": 42.86,
    "closure_rate": 62.5,
    "closure_on_time_rate": 50.0,
    "rework_rate": 12.5,
    "extension_rate": 12.5,
}
GRID_A2 = counts(
    accepted=1,
    registered=1,
    dispatched=1,
    disposed=1,
    disposed_on_time=1,
    due_disposal=1,
    closed=1,
    closed_on_time=1,
    due_closure=1,
)
GRID_C = counts(accepted=1, registered=1)
GRID_B_ = counts(
    accepted=3,
    registered=2,
    dispatched=1,
    disposed=1,
    disposed_on_time=1,
    due_disposal=1,
    closed=1,
    closed_on_time=1,
    due_closure=1,
)
UNIT_A = counts(
    dispatched=10,
    disposed=4,
    disposed_on_time=3,
    overdue_open=3,
    due_disposal=7,
    closed=4,
    closed_on_time=3,
    due_closure=7,
    rework=1,
    extensions=1,
    returns=1,
    suspended=1,
)
UNIT_B = counts(
    dispatched=1,
    disposed=2,
    disposed_on_time=2,
    due_disposal=2,
    closed=2,
    closed_on_time=2,
    due_closure=2,
)


def only_counts(figures: dict) -> dict:
    return {k: figures[k] for k in reports.COUNT_KEYS}


def only_rates(figures: dict) -> dict:
    return {k: figures[k] for k in reports.RATES}


class WeekData(TestCase):
    """The scripted week, built once per class."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.grid_a2 = make_grid(
            code="320505006001002",
            bounds=(120.702, 31.300, 120.703, 31.301),
            officers=[cls.cast.officer],
        )
        cls.grid_c = make_grid(
            code="320505006002001",
            bounds=(120.710, 31.300, 120.711, 31.301),
            officers=[cls.cast.officer],
        )
        cls.cases = build_week(cls.cast)
        cls.week = period_of(*WEEK)

    def level(self, level: str, period=None, **kwargs) -> dict:
        return {
            k: f.as_dict(officer=level == "officer")
            for k, f in figures_by_level(level, period or self.week, **kwargs).items()
        }

    def numbers(self, *names: str) -> list[str]:
        return sorted(self.cases[n].number for n in names)


class WeekTest(WeekData):
    # --- grids --------------------------------------------------------------------------------

    def test_grid_counts_match_the_script(self):
        grids = self.level("grid")
        self.assertEqual(only_counts(grids[self.cast.grid.pk]), GRID_A)
        self.assertEqual(only_counts(grids[self.grid_a2.pk]), GRID_A2)
        self.assertEqual(only_counts(grids[self.grid_c.pk]), GRID_C)
        self.assertEqual(only_counts(grids[self.cast.other_grid.pk]), GRID_B_)

    def test_grid_rates_are_recomputed_from_counts(self):
        grids = self.level("grid")
        self.assertEqual(only_rates(grids[self.cast.grid.pk]), GRID_A_RATES)
        self.assertEqual(
            only_rates(grids[self.cast.other_grid.pk]),
            {
                "registration_rate": 66.67,
                "dispatch_rate": 50.0,
                "disposal_rate": 100.0,
                "disposal_on_time_rate": 100.0,
                "closure_rate": 100.0,
                "closure_on_time_rate": 100.0,
                "rework_rate": 0.0,
                "extension_rate": 0.0,
            },
        )

    def test_rates_with_a_zero_denominator_are_none(self):
        grid_c = self.level("grid")[self.grid_c.pk]
        for name in (
            "disposal_rate",
            "disposal_on_time_rate",
            "closure_rate",
            "closure_on_time_rate",
            "rework_rate",
            "extension_rate",
        ):
            self.assertIsNone(grid_c[name], name)
        self.assertEqual(grid_c["dispatch_rate"], 0.0)  # 0 of 1 registered: a real 0 %
        unit_a = self.level("unit")[self.cast.unit.pk]
        self.assertIsNone(unit_a["registration_rate"])
        self.assertIsNone(unit_a["dispatch_rate"])  # units register nothing: no denominator

    def test_rework_counts_once_in_disposed_and_once_as_rework(self):
        grid_a = self.level("grid")[self.cast.grid.pk]
        self.assertEqual((grid_a["disposed"], grid_a["rework"]), (4, 1))
        # C2's latest feedback (Wed 10:00) was after its deadline (Wed 09:20): not on time.
        self.assertEqual(grid_a["disposed_on_time"], 3)

    def test_state_at_the_end_comes_from_the_events_not_todays_row(self):
        c11, c12 = self.cases["C11"], self.cases["C12"]
        self.assertEqual(c11.status, Status.CLOSED)  # today: closed after the week
        self.assertGreater(c12.deadline, self.week.end)  # today: extended past the end
        grid_a = self.level("grid")[self.cast.grid.pk]
        self.assertEqual(grid_a["overdue_open"], 3)  # C3, C11, C12
        self.assertEqual(
            grid_a["due_closure"], 5 + 3
        )  # closed + C3, C11, C12 (not C4 suspended, not C13)
        self.assertEqual(grid_a["suspended"], 1)

    def test_a_cut_off_inside_the_week_sees_that_moment(self):
        grid_a = self.level("grid", period_of(dt.date(2024, 3, 4), dt.date(2024, 3, 8)))[
            self.cast.grid.pk
        ]
        # At Fri 00:00: C3 (deadline Thu 09:20) and C12 (Thu 14:00) overdue; C5 (Fri 14:00) and C11
        # (Fri 15:30) not yet; C4 suspended; C1, C2, C6 closed.
        self.assertEqual((grid_a["overdue_open"], grid_a["suspended"]), (2, 1))
        self.assertEqual((grid_a["closed"], grid_a["due_closure"]), (3, 5))
        self.assertEqual((grid_a["disposed"], grid_a["disposed_on_time"]), (3, 2))

    def test_a_period_before_the_events_shows_zeros(self):
        period = period_of(dt.date(2024, 2, 1), dt.date(2024, 2, 8))
        self.assertEqual(figures_by_level("grid", period), {})
        rows = evaluate("grid", period)
        self.assertEqual(len(rows), 4)
        for row in rows:
            self.assertEqual(only_counts(row.figures.as_dict()), ZERO_COUNTS)
            self.assertTrue(all(v is None for v in only_rates(row.figures.as_dict()).values()))

    # --- roll-ups -----------------------------------------------------------------------------

    def test_areas_sum_their_grids_and_recompute_rates(self):
        grids = figures_by_level("grid", self.week)
        a, a2, c, b = (
            grids[g.pk] for g in (self.cast.grid, self.grid_a2, self.grid_c, self.cast.other_grid)
        )
        community = figures_by_level("community", self.week)
        street = figures_by_level("street", self.week)
        district = figures_by_level("district", self.week)
        self.assertEqual(community["320505006001"], a + a2)
        self.assertEqual(community["320505006002"], c)
        self.assertEqual(street["320505006"], a + a2 + c)
        self.assertEqual(street["320506009"], b)
        self.assertEqual(
            district["320505"],
            sum([community["320505006001"], community["320505006002"]], Figures()),
        )
        self.assertEqual(district["320506"], b)
        totals = street["320505006"].as_dict()
        self.assertEqual(
            only_counts(totals),
            counts(
                accepted=13,
                registered=12,
                dispatched=10,
                disposed=5,
                disposed_on_time=4,
                overdue_open=3,
                due_disposal=8,
                closed=6,
                closed_on_time=5,
                due_closure=9,
                rework=1,
                extensions=1,
                returns=1,
                suspended=1,
                voided=1,
                self_handled=1,
            ),
        )
        self.assertEqual(
            only_rates(totals),
            {
                "registration_rate": 92.31,
                "dispatch_rate": 90.91,
                "disposal_rate": 62.5,
                "disposal_on_time_rate": 50.0,
                "closure_rate": 66.67,
                "closure_on_time_rate": 55.56,
                "rework_rate": 11.11,
                "extension_rate": 11.11,
            },
        )

    def test_area_filter_counts_only_cases_filed_under_it(self):
        units = figures_by_level("unit", self.week, area="320506")
        self.assertEqual(
            only_counts(units[self.cast.other_unit.pk].as_dict()),
            counts(
                dispatched=1,
                disposed=1,
                disposed_on_time=1,
                due_disposal=1,
                closed=1,
                closed_on_time=1,
                due_closure=1,
            ),
        )
        self.assertNotIn(self.cast.unit.pk, units)

    # --- units and officers -------------------------------------------------------------------

    def test_units_count_what_they_held_when_it_happened(self):
        units = self.level("unit")
        self.assertEqual(only_counts(units[self.cast.unit.pk]), UNIT_A)
        self.assertEqual(only_counts(units[self.cast.other_unit.pk]), UNIT_B)
        self.assertEqual(units[self.cast.unit.pk]["rework_rate"], 14.29)

    def test_officers_reports_checks_and_verifications(self):
        officers = self.level("officer")
        me, other = officers[self.cast.officer.pk], officers[self.cast.officer_elsewhere.pk]
        self.assertEqual(
            {k: me[k] for k in reports.OFFICER_KEYS},
            {
                "reports": 14,
                "valid_reports": 12,
                "verified": 0,
                "verified_on_time": 0,
                "checked": 6,
                "checked_on_time": 5,
                "verify_late_undone": 0,
                "check_late_undone": 0,
            },
        )
        # 12 valid of 14: the self-handled C7 is a valid report (docs/domain.md §6).
        self.assertEqual(
            (me["valid_report_rate"], me["verify_on_time_rate"], me["check_on_time_rate"]),
            (85.71, None, 83.33),
        )
        self.assertEqual(
            {k: other[k] for k in reports.OFFICER_KEYS},
            {
                "reports": 2,
                "valid_reports": 2,
                "verified": 2,
                "verified_on_time": 1,
                "checked": 1,
                "checked_on_time": 1,
                "verify_late_undone": 0,
                "check_late_undone": 0,
            },
        )
        self.assertEqual(other["verify_on_time_rate"], 50.0)
        # The standard figures follow the reporter: all of the officer's cases are in street 320505006.
        self.assertEqual(
            only_counts(me),
            only_counts(figures_by_level("street", self.week)["320505006"].as_dict()),
        )
        self.assertNotIn(self.cast.public.pk, {s.key for s in evaluate_keys("officer", self.week)})

    # --- scores -------------------------------------------------------------------------------

    def test_grid_scores_grades_and_competition_ranks_with_a_tie(self):
        ranked = evaluate("grid", self.week)
        rows = {r.subject.code: r for r in ranked}
        a, a2, c, b = (
            rows[code]
            for code in ("320505006001001", "320505006001002", "320505006002001", "320506009001001")
        )
        # A: 5/8×40 + 4/8×40 + (1−1/8)×20 = 25 + 20 + 17.5 = 62.5 (立案数分值 off by default)
        self.assertEqual((a.score, a.grade, a.rank, a.tied), (62.5, "C", 3, False))
        # A2 and B: 40 + 40 + 20 = 100, tied first; A is third (1, 1, 3), not second.
        self.assertEqual((a2.score, a2.grade, a2.rank, a2.tied), (100.0, "A", 1, True))
        self.assertEqual((b.score, b.rank, b.tied), (100.0, 1, True))
        # C: nothing due for closure (应结案数 0): no score, no grade, no rank, listed last.
        self.assertEqual((c.score, c.grade, c.rank, c.tied), (None, None, None, False))
        self.assertEqual(
            [r.subject.code for r in ranked],
            ["320505006001002", "320506009001001", "320505006001001", "320505006002001"],
        )

    def test_unit_scores_follow_the_unit_scheme(self):
        rows = {r.subject.key: r for r in evaluate("unit", self.week)}
        unit_a, unit_b = rows[self.cast.unit.pk], rows[self.cast.other_unit.pk]
        # 4/7×40 + 3/7×40 + (1 − 3/7)×10 + (1 − 1/7)×10 = 54.29
        self.assertEqual((unit_a.score, unit_a.grade, unit_a.rank), (54.29, "D", 2))
        self.assertEqual(
            (unit_b.score, unit_b.grade, unit_b.rank, unit_b.tied), (100.0, "A", 1, False)
        )

    def test_area_scores_average_the_grids_registration_points(self):
        rows = {r.subject.code: r for r in evaluate("community", self.week)}
        # Community 320505006001: 6/9×40 + 5/9×40 + (1 − 1/9)×20 = 26.667 + 22.222 + 17.778 = 66.67
        self.assertEqual(rows["320505006001"].score, 66.67)
        self.assertEqual(rows["320505006001"].grade, "C")
        # Community 320505006002 (grid C): nothing due for closure, unscored.
        self.assertEqual((rows["320505006002"].score, rows["320505006002"].rank), (None, None))

    # --- drill-down ---------------------------------------------------------------------------

    def test_drill_down_lists_the_cases_behind_each_figure(self):
        grid = self.cast.grid.pk

        def behind(metric, level="grid", key=grid):
            return reports.cases_behind(level, key, metric, self.week)

        self.assertEqual(behind("rework"), self.numbers("C2"))
        self.assertEqual(behind("disposed"), self.numbers("C1", "C2", "C5", "C6"))
        self.assertEqual(behind("disposed_on_time"), self.numbers("C1", "C5", "C6"))
        self.assertEqual(behind("overdue_open"), self.numbers("C3", "C11", "C12"))
        self.assertEqual(
            behind("due_closure"), self.numbers("C1", "C2", "C3", "C5", "C6", "C7", "C11", "C12")
        )
        self.assertEqual(behind("self_handled"), self.numbers("C7"))
        self.assertEqual(behind("suspended"), self.numbers("C4"))
        self.assertEqual(behind("returns", "unit", self.cast.unit.pk), self.numbers("C6"))
        self.assertEqual(
            behind("closed", "unit", self.cast.other_unit.pk), self.numbers("C6", "D1")
        )
        self.assertEqual(
            behind("registered", "street", "320505006"),
            self.numbers("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C11", "C12", "C13", "E1", "F1"),
        )
        for metric in reports.COUNT_KEYS:  # every figure has exactly its cases
            self.assertEqual(len(behind(metric)), GRID_A[metric], metric)


class MetricsApiTest(WeekData):
    URL = "/api/metrics/"
    WEEK_QUERY = {"start": "2024-03-04", "end": "2024-03-11"}

    def get(self, user, url=URL, **params):
        return self.cast.client(user).get(url, {**self.WEEK_QUERY, **params})

    def test_table_rows_have_exactly_the_published_keys(self):
        response = self.get(self.cast.viewer, level="grid")
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(
            (body["level"], body["start"], body["end"]), ("grid", "2024-03-04", "2024-03-11")
        )
        self.assertEqual(len(body["results"]), 4)
        for row in body["results"]:
            self.assertEqual(set(row), set(ROW_KEYS))
        by_code = {row["code"]: row for row in body["results"]}
        self.assertEqual(only_counts(by_code["320505006001001"]), GRID_A)
        self.assertEqual(only_rates(by_code["320505006001001"]), GRID_A_RATES)
        self.assertEqual(
            [r["rank"] for r in body["results"]], [1, 1, 3, None]
        )  # default: by rank, unscored last

    def test_ordering_puts_rows_without_a_value_last(self):
        rows = self.get(self.cast.viewer, level="grid", ordering="-closure_rate").json()["results"]
        self.assertEqual(
            [r["code"] for r in rows],
            ["320505006001002", "320506009001001", "320505006001001", "320505006002001"],
        )
        self.assertIsNone(rows[-1]["closure_rate"])

    def test_areas_units_and_officers_are_levels_of_the_same_table(self):
        streets = self.get(self.cast.viewer, level="street").json()["results"]
        self.assertEqual({r["code"] for r in streets}, {"320505006", "320506009"})
        units = self.get(self.cast.dispatcher, level="unit").json()["results"]
        self.assertEqual([(r["name"], r["rank"]) for r in units], [("环卫所", 1), ("执法大队", 2)])
        officers = self.get(self.cast.shift_leader, level="officer").json()["results"]
        self.assertEqual(set(officers[0]), set(OFFICER_ROW_KEYS))

    def test_area_narrows_the_table_to_cases_filed_there(self):
        rows = self.get(self.cast.viewer, level="district", area="320506").json()["results"]
        self.assertEqual([(r["code"], r["accepted"]) for r in rows], [("320506", 3)])

    def test_a_unit_reads_its_own_row_only(self):
        member = self.cast.unit_member
        rows = self.get(member, level="unit").json()["results"]
        self.assertEqual([(r["id"], r["rank"]) for r in rows], [(self.cast.unit.pk, 2)])
        self.assertEqual(only_counts(rows[0]), UNIT_A)
        self.assertEqual(self.get(member, level="grid").status_code, 403)
        mine = self.get(
            member, self.URL + "cases", level="unit", id_or_code="unit-a", metric="returns"
        )
        self.assertEqual(mine.json()["cases"], self.numbers("C6"))
        theirs = self.get(
            member, self.URL + "cases", level="unit", id_or_code="unit-b", metric="closed"
        )
        self.assertEqual(theirs.status_code, 403)

    def test_an_officer_reads_their_own_row_only(self):
        rows = self.get(self.cast.officer, level="officer").json()["results"]
        self.assertEqual(
            [(r["code"], r["reports"], r["valid_report_rate"]) for r in rows],
            [("officer", 14, 85.71)],
        )
        self.assertEqual(self.get(self.cast.officer, level="street").status_code, 403)

    def test_the_public_and_strangers_may_not_read(self):
        self.assertEqual(self.get(self.cast.public, level="grid").status_code, 403)
        self.assertIn(
            self.client.get(self.URL, {**self.WEEK_QUERY, "level": "grid"}).status_code, (401, 403)
        )

    def test_a_centre_role_with_an_area_reads_inside_it(self):
        from grids.models import Area

        office = make_organisation_in(Area.objects.get(code="320506"))
        viewer = make_user(role="viewer", username="viewer-320506", organisation=office)
        rows = self.get(viewer, level="grid").json()["results"]
        self.assertEqual([r["code"] for r in rows], ["320506009001001"])
        self.assertEqual(self.get(viewer, level="grid", area="320505").status_code, 403)
        self.assertEqual(self.get(make_admin_user(), level="grid", area="320505").status_code, 200)

    def test_bad_parameters_are_refused_naming_the_field(self):
        viewer = self.cast.viewer
        for params, field in [
            ({"level": "city"}, "level"),
            ({"level": "grid", "start": "2024-13-01"}, "start"),
            ({"level": "grid", "end": "2024-03-04"}, "end"),
            ({"level": "grid", "ordering": "colour"}, "ordering"),
            ({"level": "grid", "ordering": "-valid_report_rate"}, "ordering"),
            ({"level": "grid", "area": "3205"}, "area"),
            ({"level": "grid", "start": "2999-01-01", "end": "2999-02-01"}, "start"),
        ]:
            response = self.get(viewer, **params)
            self.assertEqual(response.status_code, 400, params)
            self.assertIn(field, response.json(), params)
        cases = self.URL + "cases"
        for params, field in [
            ({"level": "grid", "id_or_code": self.cast.grid.code, "metric": "colour"}, "metric"),
            ({"level": "grid", "id_or_code": "999999999999999", "metric": "closed"}, "id_or_code"),
            ({"level": "street", "id_or_code": "3205", "metric": "closed"}, "id_or_code"),
            ({"level": "grid", "id_or_code": self.cast.grid.code, "metric": "reports"}, "metric"),
        ]:
            response = self.get(viewer, cases, **params)
            self.assertEqual(response.status_code, 400, params)
            self.assertIn(field, response.json(), params)

    def test_drill_down_answers_the_numbers_behind_a_figure(self):
        response = self.get(
            self.cast.viewer,
            self.URL + "cases",
            level="grid",
            id_or_code=self.cast.grid.code,
            metric="overdue_open",
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(
            body["object"],
            {"id": self.cast.grid.pk, "code": self.cast.grid.code, "name": self.cast.grid.name},
        )
        self.assertEqual((body["count"], body["cases"]), (3, self.numbers("C3", "C11", "C12")))
        by_id = self.get(
            self.cast.viewer,
            self.URL + "cases",
            level="officer",
            id_or_code=str(self.cast.officer_elsewhere.pk),
            metric="verified_on_time",
        ).json()
        self.assertEqual(by_id["cases"], self.numbers("D3"))


def make_organisation_in(area):
    from tests.factories import make_organisation

    return make_organisation(kind="centre", area=area)


def evaluate_keys(level: str, period) -> list[Subject]:
    return [row.subject for row in evaluate(level, period)]


# --- pure arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "numerator, denominator, percent",
    [
        (51229, 51571, 99.34),  # 郑州 2019-04-08..14 立案率
        (43523, 52434, 83.01),  # 结案率
        (40394, 52434, 77.04),  # 按期结案率
        (276, 52434, 0.53),  # 返工率
        (13009, 14216, 91.51),  # 淮安 2019-12 按期处置率
        (13681, 13954, 98.04),  # 结案率
        (1, 8, 12.5),
        (0, 5, 0.0),
    ],
)
def test_rate_matches_published_figures(numerator, denominator, percent):
    assert rate(numerator, denominator) == percent


def test_rate_without_denominator_is_no_data():
    assert rate(0, 0) is None
    assert rate(3, 0) is None


def test_grades_follow_the_thresholds():
    assert [grade(s) for s in (100, 90, 89.99, 75, 60, 59.99, 40, 39.99, 0, None)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "D",
        "D",
        "E",
        "E",
        None,
    ]


def test_competition_rank_marks_ties_and_skips_after_them():
    rows = [
        Row(Subject(i, i, str(i), ""), Figures(), score=s)
        for i, s in enumerate([80, 95, 80, None, 70])
    ]
    ranked = rank_competition(rows)
    assert [(r.rank, r.tied) for r in rows] == [
        (2, True),
        (1, False),
        (2, True),
        (None, False),
        (4, False),
    ]
    assert [r.subject.code for r in ranked] == ["1", "0", "2", "4", "3"]  # by rank, unscored last


@pytest.mark.django_db
def test_seeded_schemes_are_the_domain_defaults():
    unit, area = load_scheme("unit"), load_scheme("area")
    assert {(w.indicator, w.weight, w.inverse) for w in unit.weights} == {
        ("disposal_rate", 40, False),
        ("disposal_on_time_rate", 40, False),
        ("overdue_rate", 10, True),
        ("disposal_rework_rate", 10, True),
    }
    # 立案数分值 stays in the editor with weight 0: off by default (issue #17).
    assert {(w.indicator, w.weight, w.inverse) for w in area.weights} == {
        ("closure_rate", 40, False),
        ("closure_on_time_rate", 40, False),
        ("rework_rate", 20, True),
        ("registration_density", 0, False),
    }
    assert load_scheme("officer") is None
    first, second = area.bands[1], area.bands[2]
    assert [band_points(n, first) for n in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 50)] == [
        100,
        90,
        90,
        75,
        75,
        60,
        60,
        40,
        40,
        0,
        0,
    ]
    assert [band_points(n, second) for n in (0, 2, 3, 4, 9, 10, 11)] == [
        100,
        100,
        90,
        90,
        40,
        40,
        0,
    ]


def test_composite_scores_only_objects_with_something_due_and_no_data_scores_zero():
    scheme = load_scheme_stub()
    assert composite(Figures(), scheme, main="due_closure") is None  # nothing due: no score
    # 90 points of 立案数分值 (weight 20) and no closure data: 0 + 0 + 0 + 18 — never the weight.
    assert composite(Figures(), scheme, density=90) == 18.0
    # 5/8×30 + 4/8×40 + (1 − 1/8)×10 + 0×20 = 18.75 + 20 + 8.75 = 47.5
    assert (
        composite(
            Figures(closed=5, closed_on_time=4, rework=1, open_past_deadline=3),
            scheme,
            density=0,
            main="due_closure",
        )
        == 47.5
    )


def load_scheme_stub():
    from metrics.scores import Scheme, Weight

    return Scheme(
        (
            Weight("closure_rate", 30),
            Weight("closure_on_time_rate", 40),
            Weight("rework_rate", 10, True),
            Weight("registration_density", 20),
        )
    )


@pytest.mark.django_db
def test_an_administrator_edits_schemes_and_bands_in_the_admin(client):
    from metrics.models import ScoreScheme

    client.force_login(make_admin_user(username="admin"))
    unit = ScoreScheme.objects.get(kind="unit")
    assert client.get("/admin/metrics/scorescheme/").status_code == 200
    page = client.get(f"/admin/metrics/scorescheme/{unit.pk}/change/")
    assert page.status_code == 200 and 'name="indicators-0-weight"' in page.content.decode()
    assert client.get("/admin/metrics/registrationband/?region_class__exact=2").status_code == 200
