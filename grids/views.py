from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from backend.openapi import errors
from grids import layers
from grids.geo import grid_index
from grids.models import Area, Grid, GridLayer
from grids.serializers import AreaLayerQuery, GridDetailSerializer, LayerQuery, LocateQuery


def _geojson_response(request, features: list[dict]) -> HttpResponse:
    """GeoJSON bytes, gzipped when the client accepts it (a full grid layer: 1.9 MB → 0.35 MB).

    Only these public layer responses are compressed: they carry no secrets, so BREACH-style
    attacks on compressed pages do not apply."""
    body = layers.feature_collection_bytes(features)
    response = HttpResponse(content_type="application/geo+json")
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 1024:
        body = compress_string(body)
        response["Content-Encoding"] = "gzip"
    response.content = body
    patch_vary_headers(response, ["Accept-Encoding"])
    response["Cache-Control"] = "private, max-age=60"
    return response


def _layer_version() -> tuple:
    return GridLayer.identity()


@extend_schema(
    parameters=[LayerQuery],
    responses={(200, "application/geo+json"): OpenApiTypes.OBJECT, **errors(400)},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def grid_layer(request):
    """Unit grids in force as GeoJSON; `bbox` filters, `zoom` picks the simplification."""
    query = LayerQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    band = layers.zoom_band(query.validated_data.get("zoom"))

    def load() -> layers.Layer:
        rows = list(
            Grid.objects.current()
            .exclude(geometry="")
            .select_related("community")
            .values_list(
                "id",
                "code",
                "name",
                "grid_type",
                "region_class",
                "community__code",
                "community__name",
                "geometry",
            )
        )
        props = [
            {
                "id": r[0],
                "code": r[1],
                "name": r[2],
                "grid_type": r[3],
                "region_class": r[4],
                "community": r[5],
                "community_name": r[6],
            }
            for r in rows
        ]
        return layers.build_layer(props, [r[7] for r in rows], band)

    layer = layers.cached_layer(("grids", _layer_version(), band), load)
    return _geojson_response(request, layer.features(query.validated_data.get("bbox")))


@extend_schema(
    parameters=[AreaLayerQuery],
    responses={(200, "application/geo+json"): OpenApiTypes.OBJECT, **errors(400)},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def area_layer(request):
    """Areas of one level (district, street or community) as GeoJSON."""
    query = AreaLayerQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    level = query.validated_data["level"]
    band = layers.zoom_band(query.validated_data.get("zoom"))

    def load() -> layers.Layer:
        rows = list(
            Area.objects.current()
            .filter(level=level)
            .exclude(geometry="")
            .values_list("id", "code", "name", "parent__code", "geometry")
        )
        props = [
            {"id": r[0], "code": r[1], "name": r[2], "level": level, "parent": r[3]} for r in rows
        ]
        return layers.build_layer(props, [r[4] for r in rows], band)

    layer = layers.cached_layer(("areas", level, _layer_version(), band), load)
    return _geojson_response(request, layer.features(query.validated_data.get("bbox")))


@extend_schema(
    parameters=[LocateQuery],
    responses={
        200: inline_serializer(
            "Located",
            {
                "grid": serializers.DictField(allow_null=True),
                "outside_grid": serializers.BooleanField(),
                "snapped": serializers.BooleanField(),
                "distance_m": serializers.FloatField(allow_null=True),
            },
        ),
        **errors(400),
    },
)
@api_view(["GET"])
@permission_classes([AllowAny])
def locate(request):
    """The grid a point falls in (docs/domain.md §1): containment, shared edges to the smallest code,
    nearest within the snap distance, else `outside_grid`."""
    query = LocateQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    found = grid_index().locate(query.validated_data["lon"], query.validated_data["lat"])
    grid = None
    if found.grid_id is not None:
        g = Grid.objects.select_related("community").get(pk=found.grid_id)
        grid = {
            "id": g.id,
            "code": g.code,
            "name": g.name,
            "community": {"code": g.community.code, "name": g.community.name},
        }
    return Response(
        {
            "grid": grid,
            "outside_grid": found.outside,
            "snapped": found.snapped,
            "distance_m": found.distance_m,
        }
    )


@extend_schema(responses={200: GridDetailSerializer, **errors(403, 404)})
@api_view(["GET"])
def grid_detail(request, code: str):
    """One grid with its parents and responsible unit; its officers only for those who may see
    the grid's people (cases.access.can_view_grid), else an empty list."""
    from cases.access import can_view_grid

    grid = get_object_or_404(
        Grid.objects.select_related(
            "community__parent__parent", "responsible_unit"
        ).prefetch_related("officers"),
        code=code,
    )
    data = GridDetailSerializer(grid).data
    if not can_view_grid(request.user, grid):
        data["officers"] = []
    return Response(data)
