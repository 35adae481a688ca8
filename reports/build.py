"""Build a report's snapshot (docs/domain.md §7): every table, list and chart of one period, computed
once from the event log by the metrics engine (metrics/) and frozen as JSON.

Sections: overall KPIs with 环比 and a trend; sources; categories (big classes, the most frequent
small classes with 环比); areas (districts, streets, communities, grids ranked by composite
score; 十佳 and 十差); handling units and those with overdue cases; officers (reports, valid-report
rate, on-time verify/check, patrol coverage); lists (红灯 cases overdue at the cut-off, 督办 cases,
hot spots); notes (calendar warnings, data caveats); a map of the grids by closure rate; and, when
their data exist, §7.6–8 (the centre's steps, 日巡查, 违法建设/渣土: reports/sections.py).

Figures are kept under their API keys (docs/metrics.md), labels are not: the page, the PDF and the
workbook put words around the numbers in the reader's (or the official, Chinese) language.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent, Source, Status
from grids.models import Grid
from metrics.models import EvaluationSettings
from metrics.reports import (
    CITY,
    COUNT_KEYS,
    DEADLINE_ACTIONS,
    RATES,
    TZ,
    Period,
    cases_behind,
    city_figures,
)
from metrics.scores import MAIN_DENOMINATOR, evaluate, named
from patrol.coverage import daily_coverage
from people.models import Role, User
from reports import charts, findings, quarterly, sections
from reports.models import Report, ReportSettings, State
from reports.names import area_parents, grid_places, person_name, unit_name
from reports.periods import Span, previous

Progress = Callable[[int, str], None]
SOURCE_GROUPS = {
    "patrol": (Source.PATROL,),
    "public": (Source.PUBLIC,),
    "hotline": (Source.HOTLINE_12345, Source.HOTLINE_12319),
    "other": (Source.LEADER, Source.MEDIA, Source.VIDEO),
}
CLOSED_FOR_GOOD = (Status.CLOSED, Status.VOIDED, Status.REJECTED, Status.MERGED)
# 2: place and person names, overdue in working days, findings, official form (issue #19);
# 3: and the evaluation rules of issue #17 (docs/metrics.md): competition ranks, unscored objects
# (no cases due) listed after the ranked, 十佳/十差 naming every object tied at their edge.
SNAPSHOT_VERSION = 3  # §7.6–8 added keys, not rules: older snapshots simply lack them


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(TZ).isoformat() if moment else None


def change(current: dict, before: dict) -> dict:
    """环比: counts as a difference, rates in percentage points; None where either side has none."""
    result = {}
    for key in (*COUNT_KEYS, *RATES):
        a, b = current.get(key), before.get(key)
        result[key] = None if a is None or b is None else round(a - b, 2)
    return result


def build(
    span: Span,
    *,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    config: ReportSettings | None = None,
) -> dict:
    """The snapshot of `span` as of min(end, now). Read-only."""
    now = now or timezone.now()
    config = config or ReportSettings.load()
    say = progress or (lambda percent, step: None)
    period = Period(span.start, span.end, min(span.end, now))
    before = previous(span, config)
    before_period = Period(before.start, before.end, min(before.end, now))

    say(5, _("Overall figures and trend"))
    spans = [span]
    while len(spans) < config.trend_periods:
        spans.insert(0, previous(spans[0], config))
    trend = []
    for one in spans:
        figures = city_figures(Period(one.start, one.end, min(one.end, now)))
        trend.append(
            {"key": one.key, "label": one.label, "short": _short(one), **figures.as_dict()}
        )
    current, prior = trend[-1], trend[-2]
    # The trend starts at the first period with data: no zero bars for the months before the system.
    first_event = CaseEvent.objects.order_by("at").values_list("at", flat=True).first()
    trend = [
        t
        for t, one in zip(trend, spans, strict=True)
        if first_event is not None and one.end > first_event
    ] or [trend[-1]]
    overall = {
        "current": _figures(current),
        "previous": _figures(prior),
        "change": change(current, prior),
    }

    say(25, _("Sources and categories"))
    sources = _sources(period, before_period)
    categories = _categories(period, before_period, config)

    say(35, _("Areas and grids"))
    districts = _rows(evaluate("district", period))
    streets = _rows(evaluate("street", period))
    communities = _rows(evaluate("community", period))
    grid_rows = evaluate("grid", period)  # sorted by rank, the unscored after the ranked
    grids = _rows(grid_rows)
    # 十佳/十差: the minimum sample of metrics' EvaluationSettings (docs/domain.md §6); a list that would cut
    # through a tie names every tied grid (best_tied / worst_tied: how many share the edge rank).
    least = max(EvaluationSettings.load().min_sample("grid"), config.min_cases_ranked)
    best_named = named(
        grid_rows, config.top_n, worst=False, min_sample=least, main=MAIN_DENOMINATOR["grid"]
    )
    worst_named = named(
        grid_rows, config.top_n, worst=True, min_sample=least, main=MAIN_DENOMINATOR["grid"]
    )
    best, worst = _rows(best_named.rows), _rows(worst_named.rows)

    say(55, _("Handling units"))
    units = _rows(evaluate("unit", period))
    overdue_units = [
        {
            "id": u["id"],
            "code": u["code"],
            "name": u["name"],
            "overdue_open": u["overdue_open"],
            "cases": cases_behind("unit", u["id"], "overdue_open", period),
        }
        for u in units
        if u["overdue_open"]
    ]

    say(65, _("Officers and patrol coverage"))
    officers = _officers(period)

    say(75, _("Overdue, supervised and hot-spot lists"))
    lists = {
        "red": _red_list(period),
        "supervised": _supervised(period),
        "hot_spots": _hot_spots(period, config),
    }

    # best/worst too: they may be copies of the grid rows rather than the same dicts.
    _names(
        districts=districts,
        streets=streets,
        communities=communities,
        grids=[*grids, *best, *worst],
        units=units,
        overdue_units=overdue_units,
    )

    say(85, _("Charts and map"))
    shapes = _street_shapes(streets)
    dots = [
        (c["lon"], c["lat"])
        for c in lists["red"]
        if c.get("lon") is not None and c.get("lat") is not None
    ]
    svg = {
        "trend": charts.trend(
            trend,
            title=_("Cases accepted and closure rate"),
            bar_label=_("Accepted"),
            line_label=_("Closure rate"),
        ),
        "categories": charts.bars(
            [
                {"name": c["name"], "count": c["count"], "previous": c["previous"]}
                for c in categories["big"]
            ],
            title=_("Registered cases by big class"),
            current_label=_("This period"),
            previous_label=_("Previous period"),
        ),
        "map": charts.street_map(
            shapes,
            dots,
            title=_("Streets by closure rate, cases overdue at the cut-off"),
            no_data_label=_("No case due"),
            dot_label=_("Overdue case"),
        ),
    }
    snapshot = {
        "version": SNAPSHOT_VERSION,
        "meta": {
            "kind": span.kind,
            "key": span.key,
            "label": span.label,
            "start": _iso(span.start),
            "end": _iso(span.end),
            "as_of": _iso(period.as_of),
            "built_at": _iso(now),
            "previous": {"key": before.key, "label": before.label},
            "title": config.title,
            "issuer": _issuer(config),
            "city": _city(config),
            "recipients": config.recipients,
            "copy_to": config.copy_to,
            "cutoff": config.cutoff.strftime("%H:%M"),
            "top_n": config.top_n,
            "min_cases_ranked": config.min_cases_ranked,
            "hot_spot_min": config.hot_spot_min,
        },
        "overall": overall,
        "trend": trend,
        "sources": sources,
        "categories": categories,
        "areas": {
            "districts": districts,
            "streets": streets,
            "communities": communities,
            "grids": grids,
            "best": best,
            "worst": worst,
            "best_tied": best_named.tied_at_edge,
            "worst_tied": worst_named.tied_at_edge,
        },
        "units": {"rows": units, "overdue": overdue_units},
        "officers": officers,
        "lists": lists,
        "notes": _notes(period, current) + _rules_notes(span),
        "charts": svg,
    }
    # §7 sections 6–8 (the centre's own steps, 日巡查, 违法建设/渣土), built by reports/sections.py
    # from their own modules; each goes in under its key only when its data exist, and the
    # templates print a section only for a key that is present.
    say(86, _("The centre's steps, daily patrol and special campaigns"))
    for key, part in (
        ("centre", sections.centre(period)),
        ("patrol", sections.patrol(period, top_n=config.top_n)),
        ("campaigns", sections.campaigns(period, now=now)),
    ):
        if part:
            snapshot[key] = part
    if span.kind == "quarterly":
        say(80, _("Quarterly review: year on year, weekly scores, weeks in the worst ten"))
        review = quarterly.review(span, current=current, now=now, config=config)
        parents = area_parents(r["code"] for r in review["in_worst"]["community"])
        for row in review["in_worst"]["community"]:
            row.update(parents.get(row["code"], {}))
        snapshot["quarterly"] = review
    say(88, _("Findings"))
    snapshot["findings"] = findings.generate(snapshot)
    return snapshot


def _short(span: Span) -> str:
    return span.key.split("-", 1)[1]


def _figures(row: dict) -> dict:
    return {key: row[key] for key in (*COUNT_KEYS, *RATES)}


def _rows(rows) -> list[dict]:
    return [r.as_dict() for r in rows]


def _share(count: int, total: int) -> float | None:
    return round(100 * count / total, 2) if total else None


def _sources(period: Period, before: Period) -> list[dict]:
    def counted(p: Period) -> dict[str, int]:
        found = dict(
            Case.objects.filter(reported_at__gte=p.start, reported_at__lt=p.end)
            .order_by()
            .values_list("source")
            .annotate(n=Count("pk"))
        )
        return {
            group: sum(found.get(s, 0) for s in members) for group, members in SOURCE_GROUPS.items()
        }

    now, then = counted(period), counted(before)
    total = sum(now.values())
    return [
        {
            "source": group,
            "count": now[group],
            "share": _share(now[group], total),
            "previous": then[group],
            "change": now[group] - then[group],
        }
        for group in SOURCE_GROUPS
    ]


def _registered(p: Period, *fields: str) -> dict[tuple, int]:
    rows = (
        CaseEvent.objects.filter(action="register", at__gte=p.start, at__lt=p.end)
        .order_by()
        .values_list(*fields)
        .annotate(n=Count("pk"))
    )
    return {tuple(r[:-1]): r[-1] for r in rows}


def _categories(period: Period, before: Period, config: ReportSettings) -> dict:
    big_fields = ("case__category__big_class__code", "case__category__big_class__name")
    small_fields = (
        "case__category__code",
        "case__category__name",
        "case__category__big_class__name",
    )
    big_now, big_then = _registered(period, *big_fields), _registered(before, *big_fields)
    big = [
        {"code": code, "name": name, "count": n, "previous": big_then.get((code, name), 0)}
        for (code, name), n in big_now.items()
    ]
    big.sort(key=lambda r: (-r["count"], r["code"]))
    small_now, small_then = _registered(period, *small_fields), _registered(before, *small_fields)
    small = [
        {
            "code": code,
            "name": name,
            "big": big_name,
            "count": n,
            "previous": small_then.get(k, 0),
            "change": n - small_then.get(k, 0),
        }
        for k, n in small_now.items()
        for code, name, big_name in [k]
    ]
    small.sort(key=lambda r: (-r["count"], r["code"]))
    return {"big": big, "top_small": small[: config.top_n], "registered": sum(big_now.values())}


def _officers(period: Period) -> dict:
    rows = [r.as_dict(officer=True) for r in evaluate("officer", period)]
    officers = User.objects.filter(role=Role.OFFICER, is_active=True)
    assigned: dict[int, int] = defaultdict(int)
    patrolled: dict[int, int] = defaultdict(int)
    day = period.start.astimezone(TZ).date()
    last = (period.as_of - dt.timedelta(microseconds=1)).astimezone(TZ).date()
    days = 0
    while day <= last and period.as_of > period.start:
        coverage = daily_coverage(day, officers)
        for one in coverage.officers:
            assigned[one.officer.pk] += len(one.assigned)
            patrolled[one.officer.pk] += len(one.patrolled)
        day += dt.timedelta(days=1)
        days += 1
    people = {
        u.pk: u
        for u in User.objects.filter(pk__in=[r["id"] for r in rows]).select_related("organisation")
    }
    for row in rows:
        row["name"] = person_name(people.get(row["id"])) or row["name"]
        row["grid_days"] = assigned.get(row["id"], 0)
        row["patrolled_grid_days"] = patrolled.get(row["id"], 0)
        row["coverage_rate"] = _share(row["patrolled_grid_days"], row["grid_days"])
    total_assigned, total_patrolled = sum(assigned.values()), sum(patrolled.values())
    return {
        "rows": rows,
        "days": days,
        "grid_days": total_assigned,
        "patrolled_grid_days": total_patrolled,
        "coverage_rate": _share(total_patrolled, total_assigned),
    }


CASE_RELATED = ("category", "grid__community__parent", "unit")


def _case_line(case: Case) -> dict:
    community = case.grid.community if case.grid else None
    street = community.parent if community else None
    return {
        "number": case.number,
        "category": case.category.name,
        "grid": case.grid.code if case.grid else "",
        "grid_name": case.grid.name if case.grid else "",
        "community": community.name if community else "",
        "street": street.name if street else "",
        "address": case.address,
        "description": (case.description or "")[:60],
        "unit": unit_name(case.unit) if case.unit else "",
        "deadline": _iso(case.deadline),
        "status": case.status,
        "supervised": case.supervised,
        "urgent": case.urgent,
        "lon": case.lon,
        "lat": case.lat,
    }


def _red_list(period: Period) -> list[dict]:
    """Cases overdue at the cut-off, longest overdue first, with how long: in 工作日 (working days
    on the working calendar), or in calendar days for urgent cases (they count calendar time)."""
    from worktime.clock import calendar_pinned, current_calendar, elapsed

    numbers = cases_behind(CITY, 1, "overdue_open", period)
    cases = Case.objects.filter(number__in=numbers).select_related(*CASE_RELATED)
    # The deadline in force at the cut-off (an extension approved later does not undo the overdue).
    then: dict[int, dt.datetime] = {}
    for case_id, data in (
        CaseEvent.objects.filter(case__in=cases, action__in=DEADLINE_ACTIONS, at__lt=period.as_of)
        .order_by("case", "seq")
        .values_list("case", "data")
    ):
        if (data or {}).get("deadline"):
            then[case_id] = dt.datetime.fromisoformat(data["deadline"])
    lines = []
    with calendar_pinned():
        calendar = current_calendar()
        for case in cases:
            line = _case_line(case)
            deadline = then.get(case.pk, case.deadline)
            line["deadline"] = _iso(deadline)
            line["overdue_hours"] = (
                round((period.as_of - deadline).total_seconds() / 3600, 1) if deadline else None
            )
            unit = "calendar_days" if case.urgent else "work_days"
            line["overdue_unit"] = unit
            line["overdue_days"] = (
                round(elapsed(deadline, period.as_of, unit, calendar), 1) if deadline else None
            )
            lines.append(line)
    lines.sort(key=lambda c: (-(c["overdue_hours"] or 0), c["number"]))
    return lines


def _supervised(period: Period) -> list[dict]:
    """Cases under supervision (督办) during the period: supervised before its end and not closed,
    voided or merged before its start."""
    supervised = CaseEvent.objects.filter(action="supervise", at__lt=period.end).values("case")
    cases = (
        Case.objects.filter(pk__in=supervised)
        .exclude(status__in=CLOSED_FOR_GOOD, closed_at__lt=period.start)
        .select_related(*CASE_RELATED)
        .order_by("number")
    )
    lines = [_case_line(c) for c in cases]
    since = dict(
        CaseEvent.objects.filter(action="supervise", at__lt=period.end, case__in=cases)
        .order_by("at")
        .values_list("case__number", "at")
    )
    reasons = dict(
        CaseEvent.objects.filter(action="supervise", at__lt=period.end, case__in=cases)
        .order_by("at")
        .values_list("case__number", "reason")
    )
    for line in lines:
        line["supervised_at"], line["supervised_reason"] = (
            _iso(since.get(line["number"])),
            reasons.get(line["number"], ""),
        )
    return lines


def _hot_spots(period: Period, config: ReportSettings) -> list[dict]:
    rows = (
        CaseEvent.objects.filter(
            action="register", at__gte=period.start, at__lt=period.end, case__grid__isnull=False
        )
        .order_by()
        .values(
            "case__grid__code",
            "case__grid__name",
            "case__grid__community__name",
            "case__grid__community__parent__name",
            "case__category__code",
            "case__category__name",
        )
        .annotate(n=Count("pk"))
        .filter(n__gte=config.hot_spot_min)
    )
    spots = [
        {
            "grid": r["case__grid__code"],
            "grid_name": r["case__grid__name"],
            "community": r["case__grid__community__name"] or "",
            "street": r["case__grid__community__parent__name"] or "",
            "category": r["case__category__code"],
            "category_name": r["case__category__name"],
            "count": r["n"],
        }
        for r in rows
    ]
    return sorted(spots, key=lambda s: (-s["count"], s["grid"], s["category"]))


def _rules_notes(span: Span) -> list[dict]:
    """A revision built under the new evaluation rules says so when an earlier edition of the
    period was published under the old ones (snapshot version 1): those stay frozen as they are."""

    earlier = sorted(
        r.revision
        for r in Report.objects.filter(
            kind=span.kind, start=span.start, state=State.PUBLISHED
        ).only("revision", "data")
        if (r.data or {}).get("version", 1) < SNAPSHOT_VERSION
    )
    return [{"code": "rules_changed", "revisions": earlier}] if earlier else []


def _names(
    *,
    districts: list[dict],
    streets: list[dict],
    communities: list[dict],
    grids: list[dict],
    units: list[dict],
    overdue_units: list[dict],
) -> None:
    """The names a street office uses, added to the rows in place (docs/domain.md §7): a grid's community
    and street, a community's street, a street's district; units by name, never by slug."""
    places = grid_places(g["id"] for g in grids if g["id"])
    for grid in grids:
        grid.update(places.get(grid["id"], {"community": "", "street": "", "district": ""}))
    parents = area_parents(r["code"] for r in (*communities, *streets))
    for row in (*communities, *streets):
        row.update(parents.get(row["code"], {}))
        row["name"] = row["name"] or row["code"]
    for row in districts:
        row["name"] = row["name"] or row["code"]
    for row in (*units, *overdue_units):
        row["name"] = unit_name(None, name=row["name"])


def _street_shapes(streets: list[dict]) -> list[dict]:
    """Each street's outline: its own geometry, else the union of its grids' (areas imported
    without a boundary)."""
    from shapely import unary_union
    from shapely.geometry import mapping, shape

    from grids.models import Area

    found = []
    rates = {s["code"]: s for s in streets}
    for area in Area.objects.filter(level="street", code__in=list(rates)).only(
        "code", "name", "geometry"
    ):
        geometry = area.geometry
        if not geometry:
            parts = []
            for text in (
                Grid.objects.filter(code__startswith=area.code)
                .exclude(geometry="")
                .values_list("geometry", flat=True)
            ):
                try:
                    parts.append(shape(json.loads(text)))
                except (ValueError, TypeError, KeyError):
                    continue
            if not parts:
                continue
            geometry = json.dumps(mapping(unary_union(parts).buffer(0)))
        found.append(
            {
                "code": area.code,
                "name": area.name,
                "geometry": geometry,
                "rate": rates[area.code].get("closure_rate"),
            }
        )
    return found


def _issuer(config: ReportSettings) -> str:
    """The centre that issues the report: the setting, else the centre organisation's name."""
    from people.models import Organisation

    if config.issuer.strip():
        return config.issuer.strip()
    centre = (
        Organisation.objects.filter(kind=Organisation.Kind.CENTRE, active=True)
        .order_by("pk")
        .first()
    )
    return centre.name if centre else ""


def _city(config: ReportSettings) -> str:
    """The city printed before the centre's name: the setting, else the only district's name."""
    from grids.models import Area

    if config.city.strip():
        return config.city.strip()
    districts = list(Area.objects.filter(level="district").values_list("name", flat=True)[:2])
    return districts[0] if len(districts) == 1 else ""


def _notes(period: Period, current: dict) -> list[dict]:
    """Notes as (code, figures): rendered into words by the templates."""
    from worktime.models import WorkingDay

    notes: list[dict] = []
    first, last = (
        period.start.astimezone(TZ).date(),
        (period.end - dt.timedelta(seconds=1)).astimezone(TZ).date(),
    )
    missing = [
        year
        for year in range(first.year, last.year + 1)
        if not WorkingDay.objects.filter(date__year=year).exists()
    ]
    if missing:
        notes.append({"code": "calendar_missing", "years": missing})
    fallback = (
        CaseEvent.objects.filter(
            action__in=("dispatch", "approve_extension"), at__gte=period.start, at__lt=period.end
        )
        .exclude(Q(data__calendar_fallback=[]) | Q(data__calendar_fallback__isnull=True))
        .count()
    )
    if fallback:
        notes.append({"code": "calendar_fallback", "count": fallback})
    outside = Case.objects.filter(
        reported_at__gte=period.start, reported_at__lt=period.end, grid__isnull=True
    ).count()
    if outside:
        notes.append({"code": "outside_grids", "count": outside})
    notes.append({"code": "cutoff", "as_of": _iso(period.as_of)})
    notes.append({"code": "no_data"})
    return notes
