"""The report sections of docs/domain.md §7 items 6–8, each built from its own module and frozen into the
snapshot under its key, or left out (None) when the period has no data for it:

- `centre`: the centre's own steps (受理/核实/立案/派遣/核查/结案) — done, on time, undone past the
  step deadline at the cut-off, the on-time rate (metrics.reports.step_rows) — and the centre's
  backlog list: the cases waiting for the centre at the cut-off past their step deadline, with
  the step, the step deadline in force then and how late (hours, and working hours);
- `patrol` (§8): coverage (patrolled / assigned grid-days over the period's working days) per
  street and community, the officers with the lowest coverage, the grids not patrolled for N
  working days in a row at the period's end (PatrolSettings.unpatrolled_days) — only when some
  grid was assigned during the period (patrol.coverage);
- `campaigns` (§12): 违法建设 and 渣土 per street (campaigns.figures) — only when the ledger or
  the dumping cases have anything for the period.

Rates are percentages with two decimals, as every rate of the snapshot; None is "no data".
"""

from __future__ import annotations

import datetime as dt

from cases.models import Case, CaseEvent
from metrics.reports import CHANGING_ACTIONS, STEP_STATUS, TZ, Period, cases_behind, rate, step_rows
from people.models import Role, User
from reports.names import area_parents, person_name


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(TZ).isoformat() if moment else None


def _last_day(period: Period) -> dt.date:
    """The last day counted: the day before the cut-off."""
    return (period.as_of - dt.timedelta(microseconds=1)).astimezone(TZ).date()


# --- §7.6 the centre's own steps --------------------------------------------------------------------


def centre(period: Period) -> dict | None:
    """The centre's step rows and backlog; None when no step was done or due in the period."""
    steps = step_rows(period)
    if not any(s["done"] or s["late_undone"] for s in steps):
        return None
    backlog = []
    for row in steps:
        if row["centre_backlog"] and row["late_undone"]:
            backlog += _backlog(row["step"], period)
    backlog.sort(key=lambda b: (-(b["late_hours"] or 0), b["number"]))
    return {"steps": steps, "backlog": backlog}


def _backlog(step: str, period: Period) -> list[dict]:
    """The cases undone at the cut-off in `step` past its step deadline (metrics' own count, so
    the list and the figure agree), with the step deadline in force then: the one the first
    status change since recorded when it left the step, else the case's current one."""
    from worktime.clock import calendar_pinned, current_calendar, elapsed

    numbers = cases_behind("step", 1, f"{step}_late_undone", period)
    cases = {
        c.number: c
        for c in Case.objects.filter(number__in=numbers).select_related(
            "category", "grid__community__parent"
        )
    }
    left = {}
    for number, data in (
        CaseEvent.objects.filter(
            case__number__in=numbers,
            action__in=CHANGING_ACTIONS,
            from_status=STEP_STATUS[step],
            at__gte=period.as_of,
        )
        .order_by("-seq")
        .values_list("case__number", "data")
    ):
        if (data or {}).get("step_deadline"):
            left[number] = dt.datetime.fromisoformat(
                data["step_deadline"]
            )  # earliest wins (ordered last)
    lines = []
    with calendar_pinned():
        calendar = current_calendar()
        for number in numbers:
            case = cases[number]
            deadline = left.get(number, case.step_deadline)
            community = case.grid.community if case.grid else None
            street = community.parent if community else None
            lines.append(
                {
                    "number": number,
                    "step": step,
                    "category": case.category.name,
                    "street": street.name if street else "",
                    "community": community.name if community else "",
                    "grid_name": case.grid.name if case.grid else "",
                    "address": case.address,
                    "step_deadline": _iso(deadline),
                    "late_hours": round((period.as_of - deadline).total_seconds() / 3600, 1)
                    if deadline
                    else None,
                    "late_work_hours": round(
                        elapsed(deadline, period.as_of, "work_hours", calendar), 1
                    )
                    if deadline
                    else None,
                }
            )
    return lines


# --- §7.7 日巡查 --------------------------------------------------------------------------------------


def patrol(period: Period, *, top_n: int) -> dict | None:
    """Coverage per street and community over the period's working days, the `top_n` officers
    with the lowest coverage, the grids not patrolled for N working days in a row at its end."""
    from grids.models import Grid, GridAssignment
    from patrol.coverage import coverage_table, unpatrolled_grids, working_days
    from patrol.models import PatrolSettings

    if period.as_of <= period.start:
        return None
    first, last = period.start.astimezone(TZ).date(), _last_day(period)
    if not GridAssignment.objects.overlapping(first, last).exists():
        return None
    days = working_days(first, last)
    grids = Grid.objects.all()
    officers = User.objects.filter(role=Role.OFFICER)

    def rows(level: str) -> list[dict]:
        return [
            {
                "code": r["code"],
                "name": r["name"],
                "assigned": r["assigned"],
                "patrolled": r["patrolled"],
                "coverage_rate": rate(r["patrolled"], r["assigned"]),
            }
            for r in coverage_table(level=level, days=days, grids=grids)
        ]

    city = rows("city") if days else []
    streets, communities = rows("street") if days else [], rows("community") if days else []
    parents = area_parents(c["code"] for c in communities)
    for row in communities:
        row["street"] = parents.get(row["code"], {}).get("street", "")
    people = {u.pk: u for u in officers.select_related("organisation")}
    least = []
    if days:
        for r in coverage_table(level="officer", days=days, grids=grids, officers=officers):
            if r["assigned"]:
                least.append(
                    {
                        "id": r["id"],
                        "name": person_name(people.get(r["id"])) or r["name"],
                        "assigned": r["assigned"],
                        "patrolled": r["patrolled"],
                        "coverage_rate": rate(r["patrolled"], r["assigned"]),
                    }
                )
    least.sort(key=lambda o: (o["coverage_rate"], o["name"], o["id"]))
    # At the period's last working day: a weekend at the end is not a day nobody patrolled.
    end_day = days[-1] if days else last
    min_days = PatrolSettings.current().unpatrolled_days
    unpatrolled = [
        {
            "code": g["code"],
            "grid_name": g["name"],
            "community": g["community"]["name"],
            "street": g["street"]["name"],
            "days": g["days"],
            "since": g["since"],
            "last_patrolled": g["last_patrolled"],
            "officers": [person_name(people.get(o["id"])) or o["name"] for o in g["officers"]],
        }
        for g in unpatrolled_grids(day=end_day, min_days=min_days, grids=grids)
    ]
    total = city[0] if city else {"assigned": 0, "patrolled": 0, "coverage_rate": None}
    return {
        "days": len(days),
        "first": first.isoformat(),
        "last": last.isoformat(),
        "as_at": end_day.isoformat(),
        "assigned": total["assigned"],
        "patrolled": total["patrolled"],
        "coverage_rate": total["coverage_rate"],
        "streets": streets,
        "communities": communities,
        "officers_least": least[:top_n],
        "officers": len(least),
        "unpatrolled_days": min_days,
        "unpatrolled": unpatrolled,
    }


# --- §7.8 违法建设 and 渣土 -----------------------------------------------------------------------------


CONSTRUCTION_COUNTS = ("new_count", "existing_count", "demolished_count", "open_count")


def campaigns(period: Period, *, now: dt.datetime) -> dict | None:
    """Per street: the illegal-construction ledger's figures and the earth-dumping figures of the
    period; None when neither has anything."""
    from campaigns import figures

    span = figures.Period(period.start.astimezone(TZ).date(), period.end.astimezone(TZ).date())
    construction = figures.construction_rows(level="street", period=span, now=now)
    dumping = figures.dumping_rows(level="street", period=span)
    has_construction = any(r[k] for r in construction for k in CONSTRUCTION_COUNTS)
    has_dumping = any(r["count"] for r in dumping)
    if not has_construction and not has_dumping:
        return None
    for row in construction:  # shares as percentages, like every rate of the snapshot
        row["progress_rate"] = (
            round(row["progress"] * 100, 2) if row["progress"] is not None else None
        )
        row["year_elapsed_rate"] = round(row["year_elapsed"] * 100, 2)
    city = figures.construction_rows(level="city", period=span, now=now)[0]
    return {
        "construction": construction if has_construction else [],
        "dumping": dumping if has_dumping else [],
        "zero_growth_streets": sum(1 for r in construction if r["zero_growth"]),
        "streets": len(construction),
        "new_count": city["new_count"],
        "new_area_m2": city["new_area_m2"],
        "demolished_area_m2": city["demolished_area_m2"],
        "dumping_count": sum(r["count"] for r in dumping),
        "night_count": sum(r["night_count"] for r in dumping),
    }
