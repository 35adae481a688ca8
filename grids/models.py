"""Space: areas (district → street → community) and unit grids (docs/domain.md §1).

Geometries are GeoJSON text in lon/lat (WGS84 ≈ CGCS2000), with a bounding box in plain columns
for cheap bbox filters. No GIS database extension: the same schema runs on SQLite and PostgreSQL,
and point → grid runs in-process (grids/geo.py).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GRID_CODE_LENGTH = 15
# Area code length per level: 6-digit county code (GB/T 2260) + 3 street + 3 community.
LEVEL_CODE_LENGTH = {"district": 6, "street": 9, "community": 12}


class Level(models.TextChoices):
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community")


PARENT_LEVEL = {Level.STREET: Level.DISTRICT, Level.COMMUNITY: Level.STREET}


def parent_code(code: str) -> str | None:
    """The parent area's code, from the code's prefix: [:6] district, [:9] street, [:12] community."""
    for length in (12, 9, 6):
        if len(code) > length:
            return code[:length]
    return None


class ValidQuerySet(models.QuerySet):
    def valid_on(self, day: dt.date | None = None):
        """Rows in force on `day` (today by default): valid_from ≤ day and (no valid_to or day < valid_to)."""
        day = day or timezone.localdate()
        return self.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gt=day))

    def current(self):
        return self.valid_on()


class Geometry(models.Model):
    """GeoJSON geometry text plus its bounding box, shared by areas and grids."""

    geometry = models.TextField(_("geometry (GeoJSON)"), blank=True)
    min_lon = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lon = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    valid_from = models.DateField(_("valid from"), default=dt.date(2000, 1, 1))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("First day it is no longer in force.")
    )

    class Meta:
        abstract = True

    def set_bbox(self) -> None:
        from grids.geo import geojson_bounds

        bounds = geojson_bounds(self.geometry) if self.geometry else None
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = bounds or (None,) * 4


class Area(Geometry):
    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    derived_geometry = models.BooleanField(
        _("geometry derived from grids"),
        default=False,
        help_text=_("Recomputed as the union of its grids after each grid import."),
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    objects = ValidQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=["district", "street", "community"]), name="area_level_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(level="district", code__regex=r"^[0-9]{6}$")
                    | Q(level="street", code__regex=r"^[0-9]{9}$")
                    | Q(level="community", code__regex=r"^[0-9]{12}$")
                ),
                name="area_code_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        expected = LEVEL_CODE_LENGTH.get(self.level)
        if expected and (len(self.code) != expected or not self.code.isdigit()):
            raise ValidationError(
                {
                    "code": _("A %(level)s code has %(n)d digits.")
                    % {"level": self.get_level_display(), "n": expected}
                }
            )
        want_parent = parent_code(self.code)
        if self.level != Level.DISTRICT and (
            self.parent is None or self.parent.code != want_parent
        ):
            raise ValidationError(
                {
                    "parent": _("The parent of %(code)s must be the area with code %(parent)s.")
                    % {"code": self.code, "parent": want_parent}
                }
            )

    def save(self, *args, **kwargs):
        self.set_bbox()
        super().save(*args, **kwargs)


class RegionClass(models.IntegerChoices):
    FIRST = 1, _("Class I")
    SECOND = 2, _("Class II")
    THIRD = 3, _("Class III")


class Grid(Geometry):
    """A unit grid 单元网格: closed polygon of ~10,000 m², 15-digit code."""

    code = models.CharField(_("code"), max_length=15, unique=True)
    legacy_code = models.CharField(
        _("original code"),
        max_length=32,
        blank=True,
        help_text=_("The code as it was in the source, when it had to be padded or mapped."),
    )
    name = models.CharField(_("name"), max_length=100)
    grid_type = models.CharField(_("grid type"), max_length=40, blank=True)
    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="grids",
        limit_choices_to={"level": Level.COMMUNITY},
    )
    area_m2 = models.FloatField(_("area (m²)"), default=0)
    region_class = models.PositiveSmallIntegerField(
        _("region class"), choices=RegionClass.choices, default=RegionClass.FIRST
    )
    responsible_unit = models.ForeignKey(
        "people.Organisation",
        verbose_name=_("responsible unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grids",
    )
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="GridAssignment",
        related_name="grids",
        verbose_name=_("patrol officers"),
        blank=True,
    )

    objects = ValidQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit grid")
        verbose_name_plural = _("unit grids")
        ordering = ["code"]
        indexes = [models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{15}$"), name="grid_code_15_digits"
            ),
            models.CheckConstraint(
                condition=Q(region_class__in=[1, 2, 3]), name="grid_region_class_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="grid_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if len(self.code) != GRID_CODE_LENGTH or not self.code.isdigit():
            raise ValidationError({"code": _("A grid code has exactly 15 digits.")})
        if self.community_id and self.community.code != self.code[:12]:
            raise ValidationError(
                {
                    "community": _("Grid %(code)s belongs to community %(parent)s by its code.")
                    % {"code": self.code, "parent": self.code[:12]}
                }
            )

    def save(self, *args, **kwargs):
        from grids.geo import geojson_area_m2

        self.set_bbox()
        if self.geometry:
            self.area_m2 = round(geojson_area_m2(self.geometry), 1)
        with transaction.atomic():
            super().save(*args, **kwargs)
            GridLayer.bump()

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            GridLayer.bump()
        return result


class AssignmentQuerySet(models.QuerySet):
    def in_force(self, day: dt.date | None = None):
        """Assignments in force on `day` (today by default): since ≤ day < until (no until: open)."""
        day = day or timezone.localdate()
        return self.filter(Q(since__lte=day), Q(until__isnull=True) | Q(until__gt=day))

    def overlapping(self, start: dt.date, end: dt.date):
        """Assignments in force on at least one day of [start, end] (both inclusive)."""
        return self.filter(Q(since__lte=end), Q(until__isnull=True) | Q(until__gt=start))


class GridAssignment(models.Model):
    """A patrol officer tied to a grid (一格一员: every grid needs at least one), from `since` to the
    day before `until`. Rows are closed (`until` set), never deleted, so a past day is judged by who
    was assigned then (docs/domain.md §8); `grids.assignments.set_officer_grids()` changes an officer's grids."""

    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="assignments")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grid_assignments"
    )
    since = models.DateField(_("since"), default=timezone.localdate)
    until = models.DateField(
        _("until"),
        null=True,
        blank=True,
        help_text=_("First day it is no longer in force; empty: still in force."),
    )

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("grid assignment")
        verbose_name_plural = _("grid assignments")
        indexes = [models.Index(fields=["officer", "since"])]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "officer"],
                condition=Q(until__isnull=True),
                name="grid_assignment_one_open",
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=F("since")),
                name="grid_assignment_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.officer} → {self.grid.code}"

    def in_force_on(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)


class GridLayer(models.Model):
    """The grid layer's version and locate policy (one row).

    `version` is bumped in the same transaction as any change to grids; every worker compares
    it with the version its in-process index was built from and rebuilds when they differ.
    """

    version = models.PositiveBigIntegerField(default=1)
    snap_distance_m = models.FloatField(
        _("snap distance (m)"),
        default=50.0,
        help_text=_("A point outside every grid but this close to one goes to the nearest grid."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("grid layer settings")
        verbose_name_plural = _("grid layer settings")

    def __str__(self) -> str:
        return f"grid layer v{self.version}"

    @classmethod
    def current(cls) -> GridLayer:
        layer, _created = cls.objects.get_or_create(pk=1)
        return layer

    @classmethod
    def identity(cls) -> tuple:
        """(version, updated_at, snap distance): what in-process caches of the layer are keyed by.

        The timestamp guards against a version number seen before coming back (a restored backup,
        a rolled-back transaction).
        """
        row = (
            cls.objects.filter(pk=1).values_list("version", "updated_at", "snap_distance_m").first()
        )
        return row or (0, None, 50.0)

    @classmethod
    def bump(cls) -> None:
        cls.current()
        cls.objects.filter(pk=1).update(version=F("version") + 1, updated_at=timezone.now())

    def save(self, *args, **kwargs):
        self.pk = 1
        self.version = (
            type(self).objects.filter(pk=1).values_list("version", flat=True).first() or 0
        ) + 1
        super().save(*args, **kwargs)
