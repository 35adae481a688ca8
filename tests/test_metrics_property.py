"""Property (issue #17, docs/domain.md §6): a figure never improves because something went wrong.

Hypothesis draws a few cases in grid A, each a path through the workflow's front doors (accept,
register, dispatch, maybe an extension, feedback, maybe a failed check and a second feedback,
check, close) stopped after some step, at drawn moments around the week Mon 2024-03-04 – Mon 11.
Then one thing goes wrong with one case, and the same week is measured again:

- a failed check instead of the final passed one (the rest of that case's path dropped): counts for
  the unit and the grid — their 处置率, 按期处置率, 结案率, 按期结案率 and scores may not rise, their
  返工率 may not fall;
- the case's last action done late (hours later, maybe after the cut-off): counts for its owner —
  a feedback for the unit and the grid as above (but 返工率: only a failed check changes it), a
  centre step (accept, register, dispatch, check, close) for that step's on-time rate (and a check
  for the officer's 按时核查率);
- the case's last action never done: the same objects as a late action. (Only the last: dropping
  an earlier action would also drop what went wrong after it — a feedback left undone hides the
  failed check that would have followed, which is not one thing going wrong but one fewer.)

"May not rise" compares two values that both exist: a rate that goes from a number to 无数据 (or an
object from unscored to scored) is not a rise.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from metrics.reports import figures_by_level, period_of, step_rows
from metrics.scores import evaluate
from tests.cast import make_cast
from tests.test_metrics import WEEK, Script, at

START = at(4, 9)
UNIT_RATES = ("disposal_rate", "disposal_on_time_rate")
GRID_RATES = ("closure_rate", "closure_on_time_rate")


def path(extension: bool, fails_first: bool) -> list[str]:
    steps = ["accept", "register", "dispatch"]
    if extension:
        steps += ["request_extension", "approve_extension"]
    steps.append("feedback")
    if fails_first:
        steps += ["check:fail", "feedback"]
    return steps + ["check:pass", "close"]


cases = st.lists(
    st.fixed_dictionaries(
        {
            "start": st.integers(0, 5 * 24 * 60),  # minutes after Mon 09:00
            "gaps": st.lists(st.integers(1, 2 * 24 * 60), min_size=10, max_size=10),
            "extension": st.booleans(),
            "fails_first": st.booleans(),
            "done": st.integers(1, 10),  # how many actions of the path were taken
        }
    ),
    min_size=1,
    max_size=2,
)
mutations = st.fixed_dictionaries(
    {
        "case": st.integers(0, 1),
        "kind": st.sampled_from(["fail", "late", "undo"]),
        "delay": st.integers(60, 3 * 24 * 60),
    }
)


def plan(spec: dict) -> tuple[dt.datetime, list[tuple[str, dt.datetime]]]:
    """When the case is reported, and its actions with their moments."""
    actions = path(spec["extension"], spec["fails_first"])[: spec["done"]]
    reported = moment = START + dt.timedelta(minutes=spec["start"])
    timed = []
    for action, gap in zip(actions, spec["gaps"], strict=False):  # gaps may outnumber actions
        moment += dt.timedelta(minutes=gap)
        timed.append((action, moment))
    return reported, timed


def mutate(plans: list[list], mutation: dict) -> tuple[list[list], str] | None:
    """The plans with one thing gone wrong, and the action it happened to; None when the drawn
    mutation does not apply to the drawn case."""
    index = mutation["case"]
    if index >= len(plans) or not plans[index][1]:
        return None
    reported, steps = plans[index][0], list(plans[index][1])
    if mutation["kind"] == "fail":
        passes = [i for i, (a, _t) in enumerate(steps) if a == "check:pass"]
        if not passes:
            return None
        i = passes[-1]
        steps = steps[:i] + [("check:fail", steps[i][1])]
        what = "check:fail"
    elif mutation["kind"] == "late":
        action, moment = steps[-1]
        steps[-1] = (action, moment + dt.timedelta(minutes=mutation["delay"]))
        what = action
    else:  # the case stops one step earlier: its last action never done
        what = steps[-1][0]
        steps = steps[:-1]
    changed = list(plans)
    changed[index] = (reported, steps)
    return changed, what


class NothingImprovesWhenSomethingGoesWrong(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.script = Script(cls.cast)
        cls.week = period_of(*WEEK)

    def run_plans(self, plans: list[list]) -> dict:
        """Build the plans, measure the week, roll everything back."""
        saved = transaction.savepoint()
        try:
            for reported, steps in plans:
                self.play(reported, steps)
            return self.measure()
        finally:
            transaction.savepoint_rollback(saved)

    def play(self, reported: dt.datetime, steps: list) -> None:
        c, s = self.cast, self.script
        case = s.report(reported)
        actors = {
            "accept": c.acceptor,
            "register": c.shift_leader,
            "dispatch": c.dispatcher,
            "request_extension": c.unit_member,
            "approve_extension": c.dispatcher,
            "feedback": c.unit_member,
            "check": c.officer,
            "close": c.shift_leader,
        }
        for action, moment in steps:
            name, _sep, outcome = action.partition(":")
            inputs = {"outcome": outcome} if outcome else {}
            if name == "dispatch":
                inputs["unit"] = c.unit
            if name == "request_extension":
                inputs.update(reason="材料", amount_minutes=450)
            s.act(case, name, actors[name], moment, **inputs)

    def measure(self) -> dict:
        c = self.cast
        grid = figures_by_level("grid", self.week).get(c.grid.pk)
        unit = figures_by_level("unit", self.week).get(c.unit.pk)
        officer = figures_by_level("officer", self.week).get(c.officer.pk)
        scores = {("grid", r.subject.key): r.score for r in evaluate("grid", self.week)}
        scores.update({("unit", r.subject.key): r.score for r in evaluate("unit", self.week)})
        return {
            "grid": {k: grid.rate(k) if grid else None for k in (*GRID_RATES, "rework_rate")},
            "unit": {k: unit.rate(k) if unit else None for k in UNIT_RATES},
            "grid_score": scores.get(("grid", c.grid.pk)),
            "unit_score": scores.get(("unit", c.unit.pk)),
            "steps": {r["step"]: r["on_time_rate"] for r in step_rows(self.week)},
            "officer_check": officer.rate("check_on_time_rate") if officer else None,
        }

    def assert_not_better(self, before, after, label: str, *, inverse: bool = False) -> None:
        if before is None or after is None:
            return
        if inverse:
            self.assertGreaterEqual(after, before, label)
        else:
            self.assertLessEqual(after, before, label)

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(specs=cases, mutation=mutations)
    def test_one_thing_gone_wrong_never_raises_a_figure(self, specs, mutation):
        plans = [plan(spec) for spec in specs]
        mutated = mutate(plans, mutation)
        if mutated is None:
            return
        wrong, what = mutated
        before, after = self.run_plans(plans), self.run_plans(wrong)
        failed = mutation["kind"] == "fail"
        label = f"{mutation['kind']} {what}: {before} → {after}"
        step = what.partition(":")[0]
        if failed or step == "feedback":
            for key in UNIT_RATES:
                self.assert_not_better(
                    before["unit"][key], after["unit"][key], f"unit {key}; {label}"
                )
            for key in GRID_RATES:
                self.assert_not_better(
                    before["grid"][key], after["grid"][key], f"grid {key}; {label}"
                )
            self.assert_not_better(
                before["unit_score"], after["unit_score"], f"unit score; {label}"
            )
            self.assert_not_better(
                before["grid_score"], after["grid_score"], f"grid score; {label}"
            )
        if failed:
            self.assert_not_better(
                before["grid"]["rework_rate"],
                after["grid"]["rework_rate"],
                f"rework; {label}",
                inverse=True,
            )
        elif step in before["steps"]:
            self.assert_not_better(
                before["steps"][step], after["steps"][step], f"step {step}; {label}"
            )
            if step == "check":
                self.assert_not_better(
                    before["officer_check"], after["officer_check"], f"officer; {label}"
                )
