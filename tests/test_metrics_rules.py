"""The evaluation rules a city can sign (issue #17, docs/domain.md §6 as rewritten): each tricky path
built through the workflow's front doors (`report_case`, `transition` with `now=`), every count and
rate asserted as a number worked out by hand in the comment beside it.

Calendar: the week Mon 2024-03-04 – Sun 2024-03-10 (end exclusive, cut-off Mon 11 00:00,
Asia/Shanghai); working periods 08:30–12:00 and 13:30–17:30 (7.5 h = 450 working minutes a day);
disposal limit 1 工作日 (dispatch at 09:20 → deadline the next workday 09:20); step limits
1 工作时 (reported at Fri 10:00 → accept deadline Fri 11:00). `Script.dispatched(t)` reports at t,
accepts at t+5 min, registers at t+10, dispatches at t+20 (all on time).
"""

from __future__ import annotations

import datetime as dt

from django.test import TestCase

from grids.models import GridAssignment
from metrics import reports
from metrics.models import EvaluationSettings
from metrics.reports import figures_by_level, period_of, step_rows
from metrics.scores import MAIN_DENOMINATOR, evaluate, named
from tests.cast import make_cast
from tests.factories import make_grid
from tests.test_metrics import WEEK, Script, at

ZERO = dict.fromkeys(reports.COUNT_KEYS, 0)


def counts(**nonzero: int) -> dict[str, int]:
    return {**ZERO, **nonzero}


class Scenario(TestCase):
    """A fresh cast per class; `build(script)` writes the scenario's cases."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        # The scripted weeks are in the past: the officers were assigned to their grids then
        # (assignments keep their history; undone steps are charged to who was assigned at the cut-off).
        GridAssignment.objects.update(since=dt.date(2020, 1, 1))
        cls.script = Script(cls.cast)
        cls.week = period_of(*WEEK)
        cls.cases = cls.build(cls.script)

    @classmethod
    def build(cls, s: Script) -> dict:
        return {}

    def figures(self, level: str, key) -> dict:
        found = figures_by_level(level, self.week).get(key)
        return found.as_dict(officer=level == "officer") if found else counts()

    def grid(self) -> dict:
        return self.figures("grid", self.cast.grid.pk)

    def unit(self, unit=None) -> dict:
        return self.figures("unit", (unit or self.cast.unit).pk)

    def only(self, figures: dict, *keys: str) -> dict:
        return {k: figures[k] for k in keys}

    def rows(self, level: str) -> dict:
        return {r.subject.key: r for r in evaluate(level, self.week)}

    def numbers(self, *names: str) -> list[str]:
        return sorted(self.cases[n].number for n in names)


class ReworkTest(Scenario):
    """The worked example of docs/domain.md §6: an overdue case gets a feedback, then a failed check, in
    the same week."""

    @classmethod
    def build(cls, s):
        c = s.cast
        case = s.dispatched(at(4, 9))  # dispatched Mon 09:20, deadline Tue 09:20
        s.act(case, "feedback", c.unit_member, at(6, 10))  # Wed 10:00: late
        s.act(case, "check", c.officer, at(6, 10, 30), outcome="fail")  # handling again, overdue
        return {"R": case}

    def test_a_failed_check_is_no_disposal_and_the_case_is_due_once(self):
        # 处置 0 (the feedback failed its check), 超期未处置 1 (handling, deadline Tue < end),
        # 应处置 1 (the distinct cases of 0 ∪ 1), 返工 1; 应结案 1 (open past its deadline).
        expected = counts(
            accepted=1,
            registered=1,
            dispatched=1,
            overdue_open=1,
            due_disposal=1,
            due_closure=1,
            rework=1,
        )
        self.assertEqual(self.only(self.grid(), *reports.COUNT_KEYS), expected)
        self.assertEqual(
            self.only(self.unit(), *reports.COUNT_KEYS),
            counts(dispatched=1, overdue_open=1, due_disposal=1, due_closure=1, rework=1),
        )
        # 处置率 0/1 = 0 %, 按期处置率 0/1 = 0 %, 结案率 0/1, 返工率 1/1 = 100 %.
        unit = self.unit()
        self.assertEqual(
            (
                unit["disposal_rate"],
                unit["disposal_on_time_rate"],
                unit["closure_rate"],
                unit["rework_rate"],
            ),
            (0.0, 0.0, 0.0, 100.0),
        )
        self.assertEqual(
            reports.cases_behind("unit", self.cast.unit.pk, "due_disposal", self.week),
            self.numbers("R"),
        )
        self.assertEqual(reports.cases_behind("unit", self.cast.unit.pk, "disposed", self.week), [])

    def test_the_unit_scores_zero(self):
        # 0/1×40 + 0/1×40 + (1 − 1/1)×10 + (1 − 1/1 rework of 应处置)×10 = 0 → E, rank 1 of 1 scored.
        unit = self.rows("unit")[self.cast.unit.pk]
        self.assertEqual((unit.score, unit.grade, unit.rank), (0.0, "E", 1))
        # The grid: 0×40 + 0×40 + (1 − 1/1)×20 = 0.
        self.assertEqual(self.rows("grid")[self.cast.grid.pk].score, 0.0)


class ReturnTest(Scenario):
    """Returned by unit A, re-dispatched to unit B, fed back and closed on time by B."""

    @classmethod
    def build(cls, s):
        c = s.cast
        case = s.dispatched(at(4, 9))  # Mon 09:20 to unit A, deadline Tue 09:20
        s.act(case, "request_return", c.unit_member, at(4, 10), reason="不属本单位")
        s.act(case, "approve_return", c.dispatcher, at(4, 10, 30))  # dispatching again: clock 1 h
        s.act(
            case, "dispatch", c.dispatcher, at(4, 11), unit=c.other_unit
        )  # on time; deadline stands
        return {"T": s.finish(case, at(4, 15), member=c.other_unit_member)}  # fed back Mon 15:00

    def test_the_return_counts_for_a_and_the_disposal_for_b(self):
        # Grid: one first dispatch (the re-dispatch is not a new one), disposed and closed on time.
        self.assertEqual(
            self.only(self.grid(), *reports.COUNT_KEYS),
            counts(
                accepted=1,
                registered=1,
                dispatched=1,
                disposed=1,
                disposed_on_time=1,
                due_disposal=1,
                closed=1,
                closed_on_time=1,
                due_closure=1,
                returns=1,
            ),
        )
        # Unit A: dispatched to it once, returned once, nothing due; unit B: the disposal and closure.
        self.assertEqual(
            self.only(self.unit(), *reports.COUNT_KEYS), counts(dispatched=1, returns=1)
        )
        self.assertEqual(
            self.only(self.unit(self.cast.other_unit), *reports.COUNT_KEYS),
            counts(
                disposed=1,
                disposed_on_time=1,
                due_disposal=1,
                closed=1,
                closed_on_time=1,
                due_closure=1,
            ),
        )

    def test_a_unit_with_nothing_due_is_unscored_and_listed_after(self):
        rows = evaluate("unit", self.week)
        # B: 1/1×40 + 1/1×40 + (1 − 0)×10 + (1 − 0)×10 = 100, rank 1; A: 应处置数 0 → no score.
        self.assertEqual(
            [(r.subject.code, r.score, r.grade, r.rank) for r in rows],
            [("unit-b", 100.0, "A", 1), ("unit-a", None, None, None)],
        )

    def test_both_dispatches_are_dispatch_steps_done_on_time(self):
        dispatch = {r["step"]: r for r in step_rows(self.week)}["dispatch"]
        # Mon 09:20 (dispatching since 09:10) and Mon 11:00 (since 10:30): 2 done, 2 on time.
        self.assertEqual(
            self.only(dispatch, "done", "on_time", "late_undone", "on_time_rate", "role"),
            {
                "done": 2,
                "on_time": 2,
                "late_undone": 0,
                "on_time_rate": 100.0,
                "role": "dispatcher",
            },
        )


class ExtensionTest(Scenario):
    @classmethod
    def build(cls, s):
        c = s.cast
        case = s.dispatched(at(5, 9))  # Tue 09:20, deadline Wed 09:20
        s.act(
            case, "request_extension", c.unit_member, at(5, 10), reason="材料", amount_minutes=450
        )
        s.act(case, "approve_extension", c.dispatcher, at(5, 10, 30))  # + 1 working day: Thu 09:20
        return {
            "X": s.finish(case, at(6, 15))
        }  # Wed 15:00: late without the extension, on time with it

    def test_the_extension_moves_the_deadline_and_counts(self):
        grid = self.grid()
        self.assertEqual(
            self.only(grid, *reports.COUNT_KEYS),
            counts(
                accepted=1,
                registered=1,
                dispatched=1,
                disposed=1,
                disposed_on_time=1,
                due_disposal=1,
                closed=1,
                closed_on_time=1,
                due_closure=1,
                extensions=1,
            ),
        )
        # 延期率 = 1 extension / 1 due for closure = 100 %; 按期结案率 1/1 = 100 %.
        self.assertEqual((grid["extension_rate"], grid["closure_on_time_rate"]), (100.0, 100.0))


class SuspensionTest(Scenario):
    @classmethod
    def build(cls, s):
        c = s.cast
        case = s.dispatched(at(7, 9))  # Thu 09:20, deadline Fri 09:20
        s.act(case, "request_suspension", c.unit_member, at(7, 10), reason="施工")
        s.act(case, "approve_suspension", c.dispatcher, at(7, 10, 30))
        # Resumed after the cut-off: today's row is handling with a later deadline.
        return {
            "S": s.act(case, "resume", c.dispatcher, dt.datetime(2024, 3, 12, 9, tzinfo=reports.TZ))
        }

    def test_a_case_suspended_at_the_cut_off_is_neither_overdue_nor_due(self):
        # At Mon 11 00:00 it was suspended (from the events): 挂账 1; its deadline Fri 09:20 had passed
        # but a suspended case is not 超期未处置 and not 应结案.
        self.assertEqual(self.cases["S"].status, "handling")
        self.assertEqual(
            self.only(self.grid(), *reports.COUNT_KEYS),
            counts(accepted=1, registered=1, dispatched=1, suspended=1),
        )
        self.assertEqual(
            self.only(self.unit(), *reports.COUNT_KEYS), counts(dispatched=1, suspended=1)
        )
        # Nothing due: the grid and the unit are unscored (无数据), not 100 / A / rank 1.
        self.assertEqual(self.rows("grid")[self.cast.grid.pk].score, None)
        self.assertEqual(self.rows("unit")[self.cast.unit.pk].rank, None)


class SelfHandledTest(Scenario):
    @classmethod
    def build(cls, s):
        c = s.cast
        case = s.report(at(6, 10))
        s.act(case, "self_handle", c.officer, at(6, 10, 5))
        return {
            "H": s.act(case, "close", c.shift_leader, at(6, 10, 30))
        }  # closing since 10:05: on time

    def test_self_handled_counts_in_accepted_registered_closed_and_on_time(self):
        grid = self.grid()
        # 受理 1, 立案 1 (at the self-handling), 结案 1, 按期结案 1 (always), 应结案 1, 自行处置 1.
        self.assertEqual(
            self.only(grid, *reports.COUNT_KEYS),
            counts(
                accepted=1, registered=1, closed=1, closed_on_time=1, due_closure=1, self_handled=1
            ),
        )
        # 立案率 1/1 = 100 %; 派遣率: nothing to dispatch (1 registered − 1 self-handled) → no data.
        self.assertEqual(
            (grid["registration_rate"], grid["dispatch_rate"], grid["closure_rate"]),
            (100.0, None, 100.0),
        )
        # The grid: 1/1×40 + 1/1×40 + (1 − 0)×20 = 100.
        self.assertEqual(self.rows("grid")[self.cast.grid.pk].score, 100.0)
        # The officer's report is valid (registered by the self-handling): 1 of 1.
        officer = self.figures("officer", self.cast.officer.pk)
        self.assertEqual(
            (officer["reports"], officer["valid_reports"], officer["valid_report_rate"]),
            (1, 1, 100.0),
        )
        # 结案 step: closing Wed 10:05, deadline 11:05, closed 10:30 → on time; no 受理 step done.
        steps = {r["step"]: r for r in step_rows(self.week)}
        self.assertEqual((steps["close"]["done"], steps["close"]["on_time"]), (1, 1))
        self.assertEqual((steps["accept"]["done"], steps["accept"]["late_undone"]), (0, 0))


class WaitingForCheckTest(Scenario):
    """Fed back on time, then waiting for 核查 at the cut-off past the check's step deadline."""

    @classmethod
    def build(cls, s):
        c = s.cast
        case = s.dispatched(at(5, 9))  # Tue 09:20, deadline Wed 09:20
        return {
            "W": s.act(case, "feedback", c.unit_member, at(6, 9))
        }  # Wed 09:00: on time; check due 10:00

    def test_the_centres_backlog_is_not_charged_to_the_grid_or_the_unit(self):
        # Disposed on time; at the cut-off it waits for the centre: not 应结案 (the old rule counted it:
        # deadline Wed 09:20 < end) — so the grid has nothing due and no score.
        self.assertEqual(
            self.only(self.grid(), *reports.COUNT_KEYS),
            counts(
                accepted=1,
                registered=1,
                dispatched=1,
                disposed=1,
                disposed_on_time=1,
                due_disposal=1,
            ),
        )
        self.assertIsNone(self.rows("grid")[self.cast.grid.pk].score)
        # The unit: 1/1×40 + 1/1×40 + (1 − 0/1)×10 + (1 − 0/1)×10 = 100.
        self.assertEqual(self.rows("unit")[self.cast.unit.pk].score, 100.0)

    def test_it_is_the_centres_late_check(self):
        steps = {r["step"]: r for r in step_rows(self.week)}
        # 核查: 0 done, 1 undone past its deadline (Wed 10:00) → 0 / (0 + 1) = 0 %, owed by officers.
        self.assertEqual(
            self.only(steps["check"], "done", "on_time", "late_undone", "on_time_rate", "role"),
            {"done": 0, "on_time": 0, "late_undone": 1, "on_time_rate": 0.0, "role": "officer"},
        )
        # The grid's officer: 按时核查率 0 % (checked 0, 1 undone late) — not "no data".
        officer = self.figures("officer", self.cast.officer.pk)
        self.assertEqual(
            (officer["checked"], officer["check_late_undone"], officer["check_on_time_rate"]),
            (0, 1, 0.0),
        )
        self.assertEqual(
            reports.cases_behind("step", 1, "check_late_undone", self.week), self.numbers("W")
        )


class LateFeedbackTest(Scenario):
    @classmethod
    def build(cls, s):
        c = s.cast
        closed = s.finish(
            s.dispatched(at(4, 9)), at(5, 14)
        )  # deadline Tue 09:20; fed back Tue 14:00, closed
        waiting = s.dispatched(at(4, 9, 30))  # deadline Tue 09:50
        s.act(
            waiting, "feedback", c.unit_member, at(6, 10)
        )  # Wed 10:00: late; not checked by the end
        return {"L1": closed, "L2": waiting}

    def test_a_late_feedback_is_disposed_late_and_stays_due_for_closure(self):
        grid = self.grid()
        # 处置 2, 按期 0; 结案 1 (L1), 按期结案 0; 应结案 2: L1 closed + L2 waiting with a late feedback
        # (only an on-time feedback makes the waiting the centre's).
        self.assertEqual(
            self.only(grid, *reports.COUNT_KEYS),
            counts(
                accepted=2,
                registered=2,
                dispatched=2,
                disposed=2,
                due_disposal=2,
                closed=1,
                due_closure=2,
            ),
        )
        # 处置率 2/2 = 100 %, 按期处置率 0 %, 结案率 1/2 = 50 %, 按期结案率 0 %, 返工率 0 %.
        self.assertEqual(
            self.only(
                grid,
                "disposal_rate",
                "disposal_on_time_rate",
                "closure_rate",
                "closure_on_time_rate",
                "rework_rate",
            ),
            {
                "disposal_rate": 100.0,
                "disposal_on_time_rate": 0.0,
                "closure_rate": 50.0,
                "closure_on_time_rate": 0.0,
                "rework_rate": 0.0,
            },
        )
        # Score: 1/2×40 + 0×40 + (1 − 0)×20 = 40 → D.
        row = self.rows("grid")[self.cast.grid.pk]
        self.assertEqual((row.score, row.grade), (40.0, "D"))


class NothingDueTest(Scenario):
    """Unit A: one case overdue, nothing disposed; unit B: nothing at all."""

    @classmethod
    def build(cls, s):
        return {"O": s.dispatched(at(4, 9))}  # deadline Tue 09:20, never fed back

    def test_an_overdue_unit_scores_low_and_an_idle_unit_is_unranked(self):
        # A: 0/1×40 + 0/1×40 + (1 − 1/1)×10 + (1 − 0/1)×10 = 10 → E, rank 1; B: 应处置 0 → null, after A.
        rows = evaluate("unit", self.week)
        self.assertEqual(
            [(r.subject.code, r.score, r.grade, r.rank, r.tied) for r in rows],
            [("unit-a", 10.0, "E", 1, False), ("unit-b", None, None, None, False)],
        )

    def test_the_api_lists_the_unscored_after_the_ranked_with_nulls(self):
        response = self.cast.client(self.cast.dispatcher).get(
            "/api/metrics/", {"level": "unit", "start": "2024-03-04", "end": "2024-03-11"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            [(r["code"], r["score"], r["grade"], r["rank"]) for r in response.json()["results"]],
            [("unit-a", 10.0, "E", 1), ("unit-b", None, None, None)],
        )


class TieTest(Scenario):
    """Fifteen grids: 5 closed on time (100), 9 closed late (60), 1 overdue (20)."""

    @classmethod
    def build(cls, s):
        c = s.cast
        cases = {}
        for n in range(1, 16):
            x = 120.80 + n * 0.002
            make_grid(
                code=f"320505006003{n:03d}",
                bounds=(x, 31.30, x + 0.001, 31.301),
                officers=[c.officer],
            )
            point = (x + 0.0005, 31.3005)
            case = s.dispatched(at(4, 9), point=point)  # deadline Tue 09:20
            if n <= 5:
                case = s.finish(case, at(4, 15))  # on time: 40 + 40 + 20 = 100
            elif n <= 14:
                case = s.finish(case, at(5, 14))  # late: 40 + 0 + 20 = 60
            cases[f"G{n}"] = case  # G15 overdue: 0 + 0 + 20 = 20
        return cases

    def setUp(self):
        settings = EvaluationSettings.load()
        settings.min_sample_grid = 1  # one case due is enough here (default 3)
        settings.save()

    def test_competition_ranks_and_the_best_ten_name_all_nine_tied(self):
        rows = [r for r in evaluate("grid", self.week, area="320505006003")]
        self.assertEqual(
            [(r.score, r.rank, r.tied) for r in rows],
            [(100.0, 1, True)] * 5 + [(60.0, 6, True)] * 9 + [(20.0, 15, False)],
        )
        best = named(rows, 10, worst=False, min_sample=1, main=MAIN_DENOMINATOR["grid"])
        # 十佳 cuts through the 9 grids tied at rank 6 (positions 6–14): all 14 are named, 9 at the edge.
        self.assertEqual((len(best.rows), best.tied_at_edge, best.extended), (14, 9, True))
        worst = named(rows, 10, worst=True, min_sample=1, main=MAIN_DENOMINATOR["grid"])
        # 十差: rank 15, then the 9 at rank 6 fill places 2–10 exactly: 10 named, 9 tied at the edge.
        self.assertEqual((len(worst.rows), worst.tied_at_edge, worst.extended), (10, 9, False))
        self.assertEqual(worst.rows[0].subject.code, "320505006003015")

    def test_the_default_minimum_sample_keeps_single_cases_out(self):
        rows = evaluate("grid", self.week, area="320505006003")
        # 应结案数 1 < 3: ranked in the table, named in neither list.
        self.assertEqual(named(rows, 10, worst=False, min_sample=3, main="due_closure").rows, [])

    def test_the_report_names_every_tied_grid(self):
        from reports import periods
        from reports.models import Kind
        from tests.test_reports import publish

        report = publish(periods.parse(Kind.WEEKLY, "2024-W10"))
        areas = report.data["areas"]
        self.assertEqual((len(areas["best"]), areas["best_tied"]), (14, 9))
        self.assertEqual([g["rank"] for g in areas["grids"]][:15], [1] * 5 + [6] * 9 + [15])
        # The cast's grids A and B have nothing due: unscored, listed after the ranked, by code.
        self.assertEqual(
            [(g["code"], g["rank"]) for g in areas["grids"][15:]],
            [(self.cast.grid.code, None), (self.cast.other_grid.code, None)],
        )
        # The page says how many share the edge: 十佳（并列9个）; 十差 too (10 named, 9 tied at its edge).
        from django.utils import translation

        from reports import render

        with translation.override("zh-hans"):  # the official language of the PDF
            page = render.document_html(report)
        self.assertEqual(page.count("（并列9个）"), 2)


class UndoneStepsTest(Scenario):
    """Steps left undone past their step deadline at the cut-off (all reported Fri 8 10:00)."""

    @classmethod
    def build(cls, s):
        c = s.cast
        fri = at(8, 10)
        r1 = s.report(fri)  # never accepted: 受理 undone (deadline 11:00)
        r2 = s.report(fri)
        s.act(r2, "accept", c.acceptor, at(8, 10, 30))  # on time; 立案 undone (deadline 11:30)
        r3 = s.report(fri)
        s.act(r3, "accept", c.acceptor, at(8, 10, 10))  # on time
        s.act(
            r3, "register", c.shift_leader, at(8, 10, 20)
        )  # on time; 派遣 undone (deadline 11:20)
        r4 = s.report(fri)
        s.act(
            r4, "accept", c.acceptor, dt.datetime(2024, 3, 12, 9, tzinfo=reports.TZ)
        )  # after the cut-off
        r5 = s.report(fri)
        s.act(r5, "accept", c.acceptor, at(8, 14))  # late (deadline 11:00)
        s.act(r5, "register", c.shift_leader, at(8, 14, 10))  # on time (deadline 15:00)
        s.act(r5, "dispatch", c.dispatcher, at(8, 14, 20), unit=c.unit)  # on time (deadline 15:10)
        v = s.report(fri, by=c.public, source="public")
        s.act(
            v, "send_verify", c.acceptor, at(8, 10, 5)
        )  # 受理 on time; 核实 undone (deadline 11:05)
        return {"R1": r1, "R2": r2, "R3": r3, "R4": r4, "R5": r5, "V": v}

    def test_each_step_counts_what_is_undone_past_its_deadline_as_late(self):
        steps = {
            r["step"]: self.only(r, "done", "on_time", "late_undone", "on_time_rate")
            for r in step_rows(self.week)
        }
        self.assertEqual(
            steps,
            {
                # 受理: done R2, R3, R5, V (send_verify) = 4, on time 3 (R5 late); undone R1 and R4 (accepted
                # only after the cut-off, judged from its events) → 3 / 6 = 50 %.
                "accept": {"done": 4, "on_time": 3, "late_undone": 2, "on_time_rate": 50.0},
                "verify": {"done": 0, "on_time": 0, "late_undone": 1, "on_time_rate": 0.0},  # V
                "register": {
                    "done": 2,
                    "on_time": 2,
                    "late_undone": 1,
                    "on_time_rate": 66.67,
                },  # R3, R5; R2
                "dispatch": {
                    "done": 1,
                    "on_time": 1,
                    "late_undone": 1,
                    "on_time_rate": 50.0,
                },  # R5; R3
                "check": {"done": 0, "on_time": 0, "late_undone": 0, "on_time_rate": None},
                "close": {"done": 0, "on_time": 0, "late_undone": 0, "on_time_rate": None},
            },
        )
        self.assertEqual(
            reports.cases_behind("step", 1, "accept_late_undone", self.week),
            self.numbers("R1", "R4"),
        )
        # 中心待办超时 (docs/domain.md §6: verifying, pending_registration, dispatching, checking, closing): V, R2, R3.
        self.assertEqual(figures_by_level("step", self.week)[1].centre_backlog, 3)

    def test_people_get_their_own_steps(self):
        people = {r.subject.key: r.person_dict() for r in evaluate("person", self.week)}
        c = self.cast
        acceptor, leader = people[c.acceptor.pk], people[c.shift_leader.pk]
        # The acceptor did 4 受理 steps, 3 on time: 75 % (nobody in particular owes R1 and R4).
        self.assertEqual(
            (acceptor["accept_done"], acceptor["accept_on_time"], acceptor["accept_on_time_rate"]),
            (4, 3, 75.0),
        )
        self.assertEqual((leader["register_done"], leader["register_on_time_rate"]), (2, 100.0))
        self.assertEqual(people[c.dispatcher.pk]["dispatch_on_time_rate"], 100.0)
        # The grid's officer owes V's verification: 0 done, 1 undone late → 按时核实率 0 %.
        officer = people[c.officer.pk]
        self.assertEqual(
            (officer["verify_done"], officer["verify_late_undone"], officer["verify_on_time_rate"]),
            (0, 1, 0.0),
        )

    def test_the_api_serves_steps_and_people_with_drill_down(self):
        client = self.cast.client(self.cast.shift_leader)
        week = {"start": "2024-03-04", "end": "2024-03-11"}
        steps = client.get("/api/metrics/", {"level": "step", **week})
        self.assertEqual(steps.status_code, 200, steps.content)
        self.assertEqual(
            [(r["step"], r["role"], r["late_undone"]) for r in steps.json()["results"]],
            [
                ("accept", "acceptor", 2),
                ("verify", "officer", 1),
                ("register", "shift_leader", 1),
                ("dispatch", "dispatcher", 1),
                ("check", "officer", 0),
                ("close", "shift_leader", 0),
            ],
        )
        behind = client.get(
            "/api/metrics/cases",
            {"level": "step", "id_or_code": "accept", "metric": "late_undone", **week},
        ).json()
        self.assertEqual((behind["count"], behind["cases"]), (2, self.numbers("R1", "R4")))
        people = client.get("/api/metrics/", {"level": "person", **week}).json()["results"]
        mine = next(r for r in people if r["code"] == "acceptor")
        self.assertEqual((mine["role"], mine["accept_on_time_rate"]), ("acceptor", 75.0))
        theirs = client.get(
            "/api/metrics/cases",
            {"level": "person", "id_or_code": "officer", "metric": "verify_late_undone", **week},
        ).json()
        self.assertEqual(theirs["cases"], self.numbers("V"))
        bad = client.get(
            "/api/metrics/cases", {"level": "step", "id_or_code": "lunch", "metric": "done", **week}
        )
        self.assertEqual(bad.status_code, 400)
        self.assertIn("id_or_code", bad.json())
        # An officer reads their own person row only.
        own = (
            self.cast.client(self.cast.officer)
            .get("/api/metrics/", {"level": "person", **week})
            .json()["results"]
        )
        self.assertEqual([r["code"] for r in own], ["officer"])


class RevisionNoteTest(Scenario):
    """A report published under the old rules stays as it is; a revision says it counts anew."""

    @classmethod
    def build(cls, s):
        return {"R": s.finish(s.dispatched(at(4, 9)), at(4, 15))}

    def test_a_revision_of_an_old_edition_says_the_rules_changed(self):
        from django.utils import translation

        from reports import labels, periods
        from reports.models import Kind, Report
        from tests.test_reports import publish

        span = periods.parse(Kind.WEEKLY, "2024-W10")
        first = publish(span)
        self.assertNotIn(
            "rules_changed", [n["code"] for n in first.data["notes"]]
        )  # nothing earlier
        old = {**first.data, "version": 1}  # as the editions built before issue #17 were stored
        Report.objects.filter(pk=first.pk).update(data=old)
        second = publish(span, revise=True, reason="新考核口径")
        self.assertEqual(second.revision, 2)
        note = next(n for n in second.data["notes"] if n["code"] == "rules_changed")
        self.assertEqual(note["revisions"], [1])
        with translation.override("zh-hans"):
            self.assertIn("本期第1版按原口径编制", labels.note_text(note))
        first.refresh_from_db()
        self.assertEqual(first.data, old)  # the published edition is untouched
