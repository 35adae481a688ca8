from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from grids.models import Grid, Level


class LocateQuery(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180, help_text=_("Longitude, WGS84"))
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text=_("Latitude, WGS84"))


def _parse_bbox(value: str) -> tuple[float, float, float, float]:
    parts = value.split(",")
    if len(parts) != 4:
        raise serializers.ValidationError(
            _("bbox is min_lon,min_lat,max_lon,max_lat (four numbers).")
        )
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError:
        raise serializers.ValidationError(_("bbox holds a value that is not a number.")) from None
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise serializers.ValidationError(
            _("bbox must satisfy min ≤ max within lon ±180 and lat ±90.")
        )
    return min_lon, min_lat, max_lon, max_lat


class LayerQuery(serializers.Serializer):
    bbox = serializers.CharField(required=False, help_text=_("min_lon,min_lat,max_lon,max_lat"))
    zoom = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=22,
        help_text=_("Map zoom: lower zooms get simplified geometry"),
    )

    def validate_bbox(self, value: str):
        return _parse_bbox(value)


class AreaLayerQuery(LayerQuery):
    level = serializers.ChoiceField(choices=Level.choices, required=False, default=Level.STREET)


class GridDetailSerializer(serializers.ModelSerializer):
    community = serializers.SerializerMethodField()
    street = serializers.SerializerMethodField()
    district = serializers.SerializerMethodField()
    responsible_unit = serializers.SerializerMethodField()
    officers = serializers.SerializerMethodField()
    region_class_display = serializers.CharField(source="get_region_class_display", read_only=True)

    class Meta:
        model = Grid
        fields = [
            "id",
            "code",
            "legacy_code",
            "name",
            "grid_type",
            "community",
            "street",
            "district",
            "area_m2",
            "region_class",
            "region_class_display",
            "responsible_unit",
            "officers",
            "valid_from",
            "valid_to",
        ]

    @staticmethod
    def _area(area) -> dict | None:
        return {"code": area.code, "name": area.name} if area else None

    def get_community(self, grid: Grid) -> dict | None:
        return self._area(grid.community)

    def get_street(self, grid: Grid) -> dict | None:
        return self._area(grid.community.parent)

    def get_district(self, grid: Grid) -> dict | None:
        street = grid.community.parent
        return self._area(street.parent if street else None)

    def get_responsible_unit(self, grid: Grid) -> dict | None:
        unit = grid.responsible_unit
        return {"id": unit.id, "name": unit.name} if unit else None

    def get_officers(self, grid: Grid) -> list[dict]:
        return [
            {"id": u.id, "username": u.username, "name": u.get_full_name() or u.username}
            for u in grid.officers.filter(grid_assignments__in=grid.assignments.in_force())
        ]
