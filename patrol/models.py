"""Daily patrol (docs/domain.md §8): the officers' track points and the patrol settings.

A point is sent by the phone in batches, possibly days after it was recorded (offline queue), so
it keeps both clocks (docs/reliability.md R17): `recorded_at` from the device, which decides the day it
counts for, and `received_at` from the server. Its `point_id` is made once on the phone; a replayed
batch inserts nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_INTERVAL_SECONDS = 30
DEFAULT_DWELL_POINTS = 3
DEFAULT_DWELL_MINUTES = 5
DEFAULT_GAP_MINUTES = 15
DEFAULT_MAX_SPEED_KMH = 120
DEFAULT_MAX_ACCURACY_M = 100
DEFAULT_UNPATROLLED_DAYS = 3


class TrackPoint(models.Model):
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer"),
        on_delete=models.CASCADE,
        related_name="track_points",
    )
    point_id = models.UUIDField(_("point id"), unique=True, help_text=_("Made once on the phone."))
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at (device)"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="track_points",
    )
    # 0 inside the grid, > 0 snapped to the nearest grid within the snap distance, null outside.
    # Only points inside a grid count for coverage ("falls inside it", docs/domain.md §8).
    grid_distance_m = models.FloatField(_("distance to grid (m)"), null=True, blank=True)

    class Meta:
        verbose_name = _("track point")
        verbose_name_plural = _("track points")
        ordering = ["officer", "recorded_at"]
        indexes = [
            models.Index(fields=["officer", "recorded_at"]),
            models.Index(fields=["grid", "recorded_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90),
                name="trackpoint_lon_lat_in_range",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.officer} {self.recorded_at:%Y-%m-%d %H:%M:%S} ({self.lon:.6f}, {self.lat:.6f})"
        )

    @property
    def inside_grid(self) -> bool:
        return self.grid_id is not None and self.grid_distance_m == 0


class PatrolSettings(models.Model):
    """One row (pk 1, seeded with the defaults): how often the phone records a position, and the
    rules that turn points into patrols (docs/domain.md §8). Changing a rule applies to points received from
    then on; `manage.py patrol_resummarise` applies it to past days."""

    interval_seconds = models.PositiveIntegerField(
        _("seconds between track points"),
        default=DEFAULT_INTERVAL_SECONDS,
        help_text=_("How often a phone on patrol records its position."),
    )
    dwell_points = models.PositiveIntegerField(
        _("points for a patrol"),
        default=DEFAULT_DWELL_POINTS,
        help_text=_("A grid is patrolled when one visit has at least this many points inside it …"),
    )
    dwell_minutes = models.PositiveIntegerField(
        _("minutes for a patrol"),
        default=DEFAULT_DWELL_MINUTES,
        help_text=_("… spanning at least this many minutes."),
    )
    gap_minutes = models.PositiveIntegerField(
        _("longest gap on duty (minutes)"),
        default=DEFAULT_GAP_MINUTES,
        help_text=_(
            "A longer gap between two points is not time on duty, not distance walked, and ends a visit."
        ),
    )
    max_speed_kmh = models.PositiveIntegerField(
        _("highest plausible speed (km/h)"),
        default=DEFAULT_MAX_SPEED_KMH,
        help_text=_(
            "A point that would need a faster move from the track before it is not counted."
        ),
    )
    max_accuracy_m = models.PositiveIntegerField(
        _("worst accuracy counted (m)"),
        default=DEFAULT_MAX_ACCURACY_M,
        help_text=_("A point the phone says is less accurate than this is stored but not counted."),
    )
    unpatrolled_days = models.PositiveIntegerField(
        _("days for the not-patrolled list"),
        default=DEFAULT_UNPATROLLED_DAYS,
        help_text=_("Grids not patrolled for this many working days in a row are listed."),
    )

    class Meta:
        verbose_name = _("patrol settings")
        verbose_name_plural = _("patrol settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_seconds__gte=5), name="patrol_interval_at_least_5s"
            ),
            models.CheckConstraint(
                condition=Q(dwell_points__gte=1), name="patrol_dwell_points_at_least_1"
            ),
            models.CheckConstraint(
                condition=Q(gap_minutes__gte=1), name="patrol_gap_at_least_1_minute"
            ),
            models.CheckConstraint(
                condition=Q(max_speed_kmh__gte=1), name="patrol_max_speed_at_least_1"
            ),
            models.CheckConstraint(
                condition=Q(unpatrolled_days__gte=1), name="patrol_unpatrolled_days_at_least_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.interval_seconds} s, {self.dwell_points} points / {self.dwell_minutes} min"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> PatrolSettings:
        """The row, or the defaults (unsaved) when an administrator deleted it."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @classmethod
    def interval(cls) -> int:
        value = cls.objects.filter(pk=1).values_list("interval_seconds", flat=True).first()
        return value or DEFAULT_INTERVAL_SECONDS


class OfficerDay(models.Model):
    """An officer's day on patrol, kept up to date as points arrive (patrol/summary.py): 在岗时长
    (first to last counted point, gaps over the settings' gap excluded) and 里程."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer"),
        on_delete=models.CASCADE,
        related_name="patrol_days",
    )
    day = models.DateField(_("day"))
    points = models.PositiveIntegerField(_("points"), default=0)
    counted = models.PositiveIntegerField(_("points counted"), default=0)
    first_at = models.DateTimeField(_("first point"), null=True, blank=True)
    last_at = models.DateTimeField(_("last point"), null=True, blank=True)
    on_duty_seconds = models.PositiveIntegerField(_("on duty (s)"), default=0)
    distance_m = models.FloatField(_("distance (m)"), default=0)

    class Meta:
        verbose_name = _("officer's patrol day")
        verbose_name_plural = _("officers' patrol days")
        indexes = [models.Index(fields=["day"])]
        constraints = [
            models.UniqueConstraint(fields=["officer", "day"], name="officer_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.officer} {self.day}"


class GridDay(models.Model):
    """What one officer's counted points did in one grid on one day (patrol/summary.py), whether or
    not the officer was assigned to it then: coverage joins it with the assignments of the day."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer"),
        on_delete=models.CASCADE,
        related_name="patrol_grid_days",
    )
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.CASCADE, related_name="patrol_days"
    )
    day = models.DateField(_("day"))
    points = models.PositiveIntegerField(_("points inside"), default=0)
    first_at = models.DateTimeField(_("first point"))
    last_at = models.DateTimeField(_("last point"))
    visit_points = models.PositiveIntegerField(_("points of the longest visit"), default=0)
    visit_seconds = models.PositiveIntegerField(_("length of the longest visit (s)"), default=0)
    patrolled = models.BooleanField(_("patrolled"), default=False)

    class Meta:
        verbose_name = _("grid patrol day")
        verbose_name_plural = _("grid patrol days")
        # Coverage reads only the patrolled rows of a period: (day, grid, officer) without the table.
        indexes = [
            models.Index(
                fields=["day", "grid", "officer"],
                condition=Q(patrolled=True),
                name="grid_day_patrolled",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["officer", "grid", "day"], name="grid_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.officer} {self.grid_id} {self.day}"
