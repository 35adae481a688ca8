"""Composite score schemes (docs/domain.md §6 综合指标值): weighted indicators per object type and the
立案数分值 bands, edited by administrators, seeded with the docs/domain.md defaults (migration 0002)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from grids.models import RegionClass


class SchemeKind(models.TextChoices):
    AREA = "area", _("Grids and areas")  # grid, community, street, district
    UNIT = "unit", _("Handling units")
    OFFICER = "officer", _("Patrol officers")


class Indicator(models.TextChoices):
    """What a weight multiplies: a rate (as a fraction 0–1) or the 立案数分值 (points / 100)."""

    DISPOSAL_RATE = "disposal_rate", _("Disposal rate")  # 处置率
    DISPOSAL_ON_TIME_RATE = "disposal_on_time_rate", _("On-time disposal rate")  # 按期处置率
    OVERDUE_RATE = (
        "overdue_rate",
        _("Overdue rate (overdue open / due for disposal)"),
    )  # 超期未处置率
    CLOSURE_RATE = "closure_rate", _("Closure rate")  # 结案率
    CLOSURE_ON_TIME_RATE = "closure_on_time_rate", _("On-time closure rate")  # 按期结案率
    REWORK_RATE = "rework_rate", _("Rework rate")  # 返工率
    DISPOSAL_REWORK_RATE = (
        "disposal_rework_rate",
        _("Rework rate (of cases due for disposal)"),
    )  # 单位返工率
    EXTENSION_RATE = "extension_rate", _("Extension rate")  # 延期率
    REGISTRATION_RATE = "registration_rate", _("Registration rate")  # 立案率
    DISPATCH_RATE = "dispatch_rate", _("Dispatch rate")  # 派遣率
    VALID_REPORT_RATE = "valid_report_rate", _("Valid report rate")  # 有效上报率
    VERIFY_ON_TIME_RATE = "verify_on_time_rate", _("On-time verification rate")  # 按时核实率
    CHECK_ON_TIME_RATE = "check_on_time_rate", _("On-time check rate")  # 按时核查率
    REGISTRATION_DENSITY = (
        "registration_density",
        _("Registered cases per grid per week (points)"),
    )  # 立案数分值


class ScoreScheme(models.Model):
    """The composite score of one object type: Σ weight × indicator, scaled to the sum of the
    weights; an indicator without data scores 0; an object whose main denominator is 0 has no
    score (see metrics/scores.py). Weight 0 keeps an indicator listed but off."""

    kind = models.CharField(
        _("objects scored"), max_length=10, choices=SchemeKind.choices, unique=True
    )
    name = models.CharField(_("name"), max_length=100)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("score scheme")
        verbose_name_plural = _("score schemes")
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SchemeKind.values), name="score_scheme_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ScoreIndicator(models.Model):
    scheme = models.ForeignKey(ScoreScheme, on_delete=models.CASCADE, related_name="indicators")
    indicator = models.CharField(_("indicator"), max_length=24, choices=Indicator.choices)
    weight = models.DecimalField(
        _("weight (points)"), max_digits=5, decimal_places=2, validators=[MinValueValidator(0)]
    )
    inverse = models.BooleanField(
        _("score 1 − value"),
        default=False,
        help_text=_("For rates where less is better, e.g. (1 − rework rate) × 10."),
    )

    class Meta:
        verbose_name = _("score indicator")
        verbose_name_plural = _("score indicators")
        ordering = ["scheme", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "indicator"], name="score_indicator_once"),
            models.CheckConstraint(
                condition=Q(indicator__in=Indicator.values), name="score_indicator_valid"
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0), name="score_indicator_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        prefix = "1 − " if self.inverse else ""
        return f"({prefix}{self.get_indicator_display()}) × {self.weight}"


class RegistrationBand(models.Model):
    """立案数分值: fewer registered cases per grid per week score more points, per region class.
    A grid's count per week falls in the band with the smallest `up_to` ≥ it; the band without
    `up_to` takes the rest."""

    region_class = models.PositiveSmallIntegerField(_("region class"), choices=RegionClass.choices)
    up_to = models.DecimalField(
        _("up to (per grid per week)"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: any higher number."),
    )
    points = models.PositiveSmallIntegerField(_("points"), validators=[MaxValueValidator(100)])

    class Meta:
        verbose_name = _("registration score band")
        verbose_name_plural = _("registration score bands")
        ordering = ["region_class", models.F("up_to").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["region_class", "up_to"], name="registration_band_once"
            ),
            models.CheckConstraint(
                condition=Q(region_class__in=[1, 2, 3]), name="registration_band_class_valid"
            ),
            models.CheckConstraint(
                condition=Q(points__lte=100), name="registration_band_points_max"
            ),
        ]

    def __str__(self) -> str:
        upper = f"≤ {self.up_to}" if self.up_to is not None else "more"
        return f"{self.get_region_class_display()}: {upper} → {self.points}"


class EvaluationSettings(models.Model):
    """The minimum sample for 十佳/十差 (docs/domain.md §6): an object is named best or worst only when
    its main denominator (grids and areas: 应结案数; units: 应处置数) reaches it. One row."""

    min_sample_grid = models.PositiveSmallIntegerField(
        _("grids: cases due for closure to be named best or worst"), default=3
    )
    min_sample_area = models.PositiveSmallIntegerField(
        _("communities, streets, districts: cases due for closure to be named best or worst"),
        default=1,
    )
    min_sample_unit = models.PositiveSmallIntegerField(
        _("handling units: cases due for disposal to be named best or worst"), default=1
    )

    class Meta:
        verbose_name = _("evaluation settings")
        verbose_name_plural = _("evaluation settings")

    def __str__(self) -> str:
        return str(_("Evaluation settings"))

    @classmethod
    def load(cls) -> EvaluationSettings:
        found, _created = cls.objects.get_or_create(pk=1)
        return found

    def min_sample(self, level: str) -> int:
        if level == "grid":
            return self.min_sample_grid
        if level == "unit":
            return self.min_sample_unit
        return self.min_sample_area


class DailyFigures(models.Model):
    """The per-(object, day) rollup of the period counts (metrics/rollup.py): what the events of
    one day in Asia/Shanghai add to one object's figures. Written in the transaction of the event
    that changes it (a signal on CaseEvent), rebuilt from the event log by `rollup.rebuild()`.
    `counted_until` is for disposals only: a feedback counts for a period ending at or before the
    moment a later feedback or failed check superseded it (`NEVER` while none has)."""

    dim = models.CharField(max_length=16)  # grid, community, …, city; "m:grid"… for months
    obj = models.CharField(max_length=32)  # grid id, area code, unit id, "1" for the city
    day = models.DateField()
    counted_until = models.DateTimeField()
    accepted = models.IntegerField(default=0)
    registered = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    disposed = models.IntegerField(default=0)
    disposed_on_time = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    rework = models.IntegerField(default=0)
    extensions = models.IntegerField(default=0)
    returns = models.IntegerField(default=0)
    voided = models.IntegerField(default=0)
    self_handled = models.IntegerField(default=0)
    self_registered = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        constraints = [
            models.UniqueConstraint(
                fields=["dim", "day", "obj", "counted_until"], name="daily_figures_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dim} {self.obj} {self.day}"
