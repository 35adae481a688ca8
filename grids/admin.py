"""Admin for areas, unit grids and the grid layer settings (docs/domain.md §1, the administrator)."""

from __future__ import annotations

import json

import shapely
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.geo import to_geojson
from grids.models import Area, Grid, GridAssignment, GridLayer
from grids.widgets import GeoJSONMapWidget

POLYGON_TYPES = ("Polygon", "MultiPolygon")


def polygon_from_geojson_text(text: str) -> shapely.Geometry:
    """The valid (Multi)Polygon in GeoJSON `text`, or a ValidationError saying what is wrong.

    Checks, in order: JSON syntax, a geometry object of type Polygon/MultiPolygon, coordinates
    GEOS can read, lon/lat ranges (projected metres are the usual import mistake), OGC validity.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("Not valid JSON (line %(line)d, column %(col)d: %(msg)s)."),
            code="json",
            params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
        ) from None
    kind = _check_type(data)
    try:
        geom = shapely.from_geojson(text)
    except shapely.errors.GEOSException as exc:
        raise ValidationError(
            _("The coordinates cannot be read as a %(kind)s: %(error)s"),
            code="coordinates",
            params={"kind": kind, "error": exc},
        ) from None
    _check_polygon(geom)
    return geom


def _check_type(data: object) -> str:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind in POLYGON_TYPES:
        return kind
    if kind in ("Feature", "FeatureCollection"):
        raise ValidationError(
            _("This is a GeoJSON %(kind)s; paste only its geometry (a Polygon or MultiPolygon)."),
            code="type",
            params={"kind": kind},
        )
    if not isinstance(kind, str):
        raise ValidationError(_('This is not a GeoJSON geometry: it has no "type".'), code="type")
    raise ValidationError(
        _("Expected a GeoJSON Polygon or MultiPolygon, got a %(kind)s."),
        code="type",
        params={"kind": kind},
    )


def _check_polygon(geom: shapely.Geometry) -> None:
    if geom.is_empty:
        raise ValidationError(_("The polygon has no coordinates."), code="empty")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if min_lon < -180 or max_lon > 180 or min_lat < -90 or max_lat > 90:
        raise ValidationError(
            _(
                "Coordinates must be longitude, latitude in degrees (WGS84/CGCS2000); these look "
                "projected (x from %(x0).0f to %(x1).0f). Reproject before pasting."
            ),
            code="range",
            params={"x0": min_lon, "x1": max_lon},
        )
    if not shapely.is_valid(geom):
        raise ValidationError(
            _("The polygon is not valid: %(reason)s."),
            code="invalid",
            params={"reason": shapely.is_valid_reason(geom)},
        )


class GeometryForm(forms.ModelForm):
    """Validates and normalises the GeoJSON text; subclasses say whether it may be empty."""

    geometry_required = False

    def clean_geometry(self) -> str:
        text = (self.cleaned_data.get("geometry") or "").strip()
        if not text:
            if self.geometry_required:
                raise ValidationError(
                    _("Draw the polygon on the map or paste its GeoJSON."), code="required"
                )
            return ""
        geom = polygon_from_geojson_text(text)
        # Stored as the importer stores it (7 decimals); rounding must not break validity.
        normalised = to_geojson(geom)
        _check_polygon(shapely.from_geojson(normalised))
        return normalised


class AreaForm(GeometryForm):
    class Meta:
        model = Area
        fields = "__all__"
        widgets = {"geometry": GeoJSONMapWidget()}


class GridForm(GeometryForm):
    geometry_required = True  # a unit grid is a closed polygon (docs/domain.md §1)

    class Meta:
        model = Grid
        fields = "__all__"
        widgets = {"geometry": GeoJSONMapWidget()}


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    form = AreaForm
    list_display = ("code", "name", "level", "parent", "valid_from", "valid_to")
    list_filter = ("level",)
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)


class GridAssignmentInline(admin.TabularInline):
    """Assignments keep their history (docs/domain.md §8): end one by setting `until`, never delete it."""

    model = GridAssignment
    fields = ("officer", "since", "until")
    autocomplete_fields = ("officer",)
    extra = 0
    can_delete = False


class ValidityFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("current", _("In force")), ("ended", _("No longer in force"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "current":
            return queryset.current()
        if self.value() == "ended":
            return queryset.filter(valid_to__lte=timezone.localdate())
        return queryset


class OfficerFilter(admin.SimpleListFilter):
    """一格一员: every grid needs a patrol officer, so finding the ones without is a daily task."""

    title = _("patrol officers")
    parameter_name = "officers"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("none", _("None assigned")), ("some", _("At least one"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "none":
            return queryset.filter(officer_count=0)
        if self.value() == "some":
            return queryset.filter(officer_count__gt=0)
        return queryset


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    form = GridForm
    inlines = [GridAssignmentInline]
    list_display = (
        "code",
        "name",
        "community",
        "region_class",
        "responsible_unit",
        "area_m2",
        "officer_count",
        "valid_to",
    )
    list_filter = (ValidityFilter, OfficerFilter, "region_class", "grid_type", "responsible_unit")
    search_fields = ("code", "name", "legacy_code")
    list_select_related = ("community", "responsible_unit")
    autocomplete_fields = ("community", "responsible_unit")
    readonly_fields = ("area_m2",)
    fieldsets = (
        (None, {"fields": ("code", "legacy_code", "name", "grid_type", "community")}),
        (_("Responsibility"), {"fields": ("region_class", "responsible_unit")}),
        (_("Geometry"), {"fields": ("geometry", "area_m2")}),
        (_("Validity"), {"fields": ("valid_from", "valid_to")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        today = timezone.localdate()
        in_force = Q(assignments__since__lte=today) & (
            Q(assignments__until__isnull=True) | Q(assignments__until__gt=today)
        )
        return (
            super()
            .get_queryset(request)
            .annotate(officer_count=Count("assignments", filter=in_force))
        )

    @admin.display(description=_("officers"), ordering="officer_count")
    def officer_count(self, grid: Grid) -> int:
        return grid.officer_count


@admin.register(GridLayer)
class GridLayerAdmin(admin.ModelAdmin):
    """One row (pk 1) that the locate index and map caches key on; saving it bumps the version."""

    fields = ("snap_distance_m", "version", "updated_at")
    readonly_fields = ("version", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not GridLayer.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: GridLayer | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        # A list of one row is noise: go straight to it. With no row yet, the usual (empty) list
        # shows its add button.
        layer = GridLayer.objects.first()
        if layer is None:
            return super().changelist_view(request, extra_context)
        return HttpResponseRedirect(reverse("admin:grids_gridlayer_change", args=[layer.pk]))
