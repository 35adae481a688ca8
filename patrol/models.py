"""Daily patrol (DOMAIN.md §8): the officers' track points and the patrol settings.

A point is sent by the phone in batches, possibly days after it was recorded (offline queue), so
it keeps both clocks (RELIABILITY R17): `recorded_at` from the device, which decides the day it
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


class TrackPoint(models.Model):
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("officer"), on_delete=models.CASCADE,
        related_name="track_points",
    )
    point_id = models.UUIDField(_("point id"), unique=True, help_text=_("Made once on the phone."))
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at (device)"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="track_points",
    )
    # 0 inside the grid, > 0 snapped to the nearest grid within the snap distance, null outside.
    # Only points inside a grid count for coverage ("falls inside it", DOMAIN §8).
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
        return f"{self.officer} {self.recorded_at:%Y-%m-%d %H:%M:%S} ({self.lon:.6f}, {self.lat:.6f})"

    @property
    def inside_grid(self) -> bool:
        return self.grid_id is not None and self.grid_distance_m == 0


class PatrolSettings(models.Model):
    """One row: how often the phone records a position while on patrol (DOMAIN §8: 30 s,
    configurable)."""

    interval_seconds = models.PositiveIntegerField(
        _("seconds between track points"), default=DEFAULT_INTERVAL_SECONDS,
        help_text=_("How often a phone on patrol records its position."),
    )

    class Meta:
        verbose_name = _("patrol settings")
        verbose_name_plural = _("patrol settings")
        constraints = [
            models.CheckConstraint(condition=Q(interval_seconds__gte=5), name="patrol_interval_at_least_5s"),
        ]

    def __str__(self) -> str:
        return f"{self.interval_seconds} s"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def interval(cls) -> int:
        value = cls.objects.filter(pk=1).values_list("interval_seconds", flat=True).first()
        return value or DEFAULT_INTERVAL_SECONDS
