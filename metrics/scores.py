"""Composite scores, grades and ranks (docs/domain.md §6 综合指标值) on top of the counts.

- An object is scored only when its main denominator is > 0 (a unit: 应处置数; a grid or area:
  应结案数); otherwise score, grade and rank are None (无数据) and it is listed after the ranked.
- score = Σ weight × value over the scheme's indicators (weight > 0), divided by the sum of those
  weights, × 100 — the docs/domain.md formula when the weights sum to 100. An indicator without data (a
  rate with denominator 0) scores 0, never its weight. Rates enter as fractions clipped to 0–1,
  `inverse` ones as 1 − rate; 立案数分值 as points / 100.
- 立案数分值 of a grid: the band of its region class holding its registered cases per week of the
  period; of an area: the mean over its grids in force.
- grade A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E; rank by standard competition ranking on the
  score (2 decimals): 1, 1, 3 — ties share the better rank, marked tied (并列).
- 十佳/十差 (`named`): the N best or worst among the scored objects whose main denominator reaches
  the configured minimum sample; a list that would cut through a tie names every tied object.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F

from cases.models import CaseEvent
from metrics.models import Indicator, RegistrationBand, SchemeKind, ScoreScheme
from metrics.reports import AREA_CODE_LENGTH, Figures, Period, figures_by_level
from metrics.subjects import Subject, grids_in, subjects

GRADES = ((90, "A"), (75, "B"), (60, "C"), (40, "D"))
SCHEME_OF_LEVEL = {
    "grid": SchemeKind.AREA,
    "community": SchemeKind.AREA,
    "street": SchemeKind.AREA,
    "district": SchemeKind.AREA,
    "unit": SchemeKind.UNIT,
    "officer": SchemeKind.OFFICER,
}
# The count an object must have above 0 to be scored (docs/domain.md §6), per level.
MAIN_DENOMINATOR = {
    "grid": "due_closure",
    "community": "due_closure",
    "street": "due_closure",
    "district": "due_closure",
    "unit": "due_disposal",
    "officer": "reports",
}


@dataclass(frozen=True)
class Weight:
    indicator: str
    weight: float
    inverse: bool = False


@dataclass(frozen=True)
class Scheme:
    weights: tuple[Weight, ...]
    bands: dict[int, tuple[tuple[float | None, int], ...]] = field(
        default_factory=dict
    )  # class → (up_to, points)


@dataclass
class Row:
    """One object's line of the table: who, figures, score, grade, rank."""

    subject: Subject
    figures: Figures
    score: float | None = None
    grade: str | None = None
    rank: int | None = None
    tied: bool = False

    def as_dict(self, *, officer: bool = False) -> dict[str, Any]:
        s = self.subject
        return {
            "id": s.id,
            "code": s.code,
            "name": s.name,
            **self.figures.as_dict(officer=officer),
            "score": self.score,
            "grade": self.grade,
            "rank": self.rank,
            "tied": self.tied,
        }

    def person_dict(self) -> dict[str, Any]:
        """A person's step figures (level "person"): no score, no rank."""
        s = self.subject
        return {
            "id": s.id,
            "code": s.code,
            "name": s.name,
            "role": s.role,
            **self.figures.steps_dict(),
        }


def load_scheme(kind: str) -> Scheme | None:
    """The administrator's scheme for `kind` (area, unit, officer), None when there is none."""
    scheme = ScoreScheme.objects.filter(kind=kind).first()
    if scheme is None:
        return None
    weights = tuple(
        Weight(i.indicator, float(i.weight), i.inverse) for i in scheme.indicators.all()
    )
    bands: dict[int, list[tuple[float | None, int]]] = defaultdict(list)
    for band in RegistrationBand.objects.order_by("region_class", F("up_to").asc(nulls_last=True)):
        bands[band.region_class].append(
            (float(band.up_to) if band.up_to is not None else None, band.points)
        )
    return Scheme(weights, {k: tuple(v) for k, v in bands.items()})


def band_points(per_week: float, bands: tuple[tuple[float | None, int], ...]) -> int | None:
    """Points of the first band whose `up_to` (None: unbounded) holds `per_week`."""
    for up_to, points in bands:
        if up_to is None or per_week <= up_to + 1e-9:
            return points
    return None


def composite(
    figures: Figures, scheme: Scheme, *, density: float | None = None, main: str | None = None
) -> float | None:
    """The 0–100 score of one object (rules in the module docstring), 2 decimals; None when the
    object's main denominator `main` (a count key) is 0 or the scheme weighs nothing."""
    if main is not None and not figures.count(main):
        return None
    total = weights = 0.0
    for w in scheme.weights:
        if not w.weight:
            continue
        weights += w.weight
        value = _value(w.indicator, figures, density)
        if value is None:  # no data: 0 points, never the weight
            continue
        value = min(max(value, 0.0), 1.0)
        total += w.weight * (1 - value if w.inverse else value)
    if not weights:
        return None
    return float(Decimal(total * 100 / weights).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _value(indicator: str, figures: Figures, density: float | None) -> float | None:
    if indicator == Indicator.REGISTRATION_DENSITY:
        return None if density is None else density / 100
    return figures.ratio(indicator)


def grade(score: float | None) -> str | None:
    if score is None:
        return None
    return next((letter for floor, letter in GRADES if score >= floor), "E")


def rank_competition(rows: list[Row]) -> list[Row]:
    """Standard competition ranking (1, 1, 3): a row's rank is 1 + the rows with a higher score;
    equal scores share it and are marked tied. Rows without a score get no rank. Returns the rows
    sorted by rank, then code, the unscored after the ranked (by code)."""
    seen = Counter(r.score for r in rows if r.score is not None)
    higher, place = 0, {}
    for score in sorted(seen, reverse=True):
        place[score] = higher + 1
        higher += seen[score]
    for row in rows:
        row.rank = place.get(row.score) if row.score is not None else None
        row.tied = row.score is not None and seen[row.score] > 1
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.subject.code))


@dataclass(frozen=True)
class Named:
    """A 十佳 or 十差 list: its rows (best or worst first), and how many share the rank at its
    edge (`tied_at_edge` > 1: the list names them all, and may be longer than asked)."""

    rows: list[Row]
    tied_at_edge: int
    asked: int

    @property
    def extended(self) -> bool:
        return len(self.rows) > self.asked


def named(rows: list[Row], n: int, *, worst: bool, min_sample: int, main: str) -> Named:
    """The `n` best (or worst) scored rows whose `main` count is at least `min_sample`; every row
    tied with the last one named is named too (competition ranks, so ties share one rank)."""
    eligible = [r for r in rows if r.rank is not None and r.figures.count(main) >= min_sample]
    eligible.sort(key=lambda r: ((-r.rank if worst else r.rank), r.subject.code))
    if n <= 0 or not eligible:
        return Named([], 0, n)
    edge = eligible[min(n, len(eligible)) - 1].rank
    chosen = [r for r in eligible if (r.rank >= edge if worst else r.rank <= edge)]
    return Named(chosen, sum(1 for r in chosen if r.rank == edge), n)


def _registered_by_grid(period: Period, area: str) -> dict[int, int]:
    rows = CaseEvent.objects.filter(
        action="register",
        at__gte=period.start,
        at__lt=period.end,
        case__grid__code__startswith=area,
        case__grid__isnull=False,
    )
    return dict(rows.order_by().values_list("case__grid").annotate(n=Count("pk")))


def _densities(
    level: str, rows: list[Row], period: Period, area: str, scheme: Scheme
) -> dict[Any, float]:
    """立案数分值 per row key: the grid's band points, or the mean over an area's grids."""
    weeks = period.weeks
    if level == "grid":
        found = {
            r.subject.key: band_points(
                r.figures.registered / weeks, scheme.bands.get(r.subject.region_class or 1, ())
            )
            for r in rows
        }
        return {k: float(v) for k, v in found.items() if v is not None}
    if level not in AREA_CODE_LENGTH:
        return {}
    registered = _registered_by_grid(period, area)
    per_area: dict[str, list[int]] = defaultdict(list)
    for grid in grids_in(period, area):
        points = band_points(
            registered.get(grid.pk, 0) / weeks, scheme.bands.get(grid.region_class, ())
        )
        if points is not None:
            per_area[grid.code[: AREA_CODE_LENGTH[level]]].append(points)
    return {code: sum(p) / len(p) for code, p in per_area.items()}


def evaluate(level: str, period: Period, *, area: str = "") -> list[Row]:
    """Every object of `level` with its figures, composite score, grade and competition rank,
    sorted by rank then code, the unscored (无数据) after the ranked (objects without any event
    show zeros)."""
    figures = figures_by_level(level, period, area=area)
    rows = [
        Row(s, figures.get(s.key, Figures()))
        for s in subjects(level, period, area=area, keys=figures)
    ]
    scheme = load_scheme(SCHEME_OF_LEVEL[level]) if level in SCHEME_OF_LEVEL else None
    if scheme is not None:
        density = _densities(level, rows, period, area, scheme)
        for row in rows:
            row.score = composite(
                row.figures,
                scheme,
                density=density.get(row.subject.key),
                main=MAIN_DENOMINATOR[level],
            )
            row.grade = grade(row.score)
    return rank_competition(rows)
