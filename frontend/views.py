"""Page shells only; data comes from the JSON API."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from grids.models import Grid

# Grid codes are 15 digits: below this zoom a permanent label is wider than a ~100 m grid and
# labels pile up, so they only show on hover.
LABEL_MIN_ZOOM = 17


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/home.html", {"map_config": _map_config()})


def _map_config() -> dict:
    """What home.js needs to draw the city; it reaches the page through json_script."""
    leaflet = settings.LEAFLET_CONFIG
    return {
        "center": list(leaflet["DEFAULT_CENTER"]),
        "zoom": leaflet["DEFAULT_ZOOM"],
        "minZoom": leaflet["MIN_ZOOM"],
        "maxZoom": leaflet["MAX_ZOOM"],
        "extent": _grid_extent(),
        # Read here, not from LEAFLET_CONFIG: an empty value must mean no tile layer at all.
        "tilesUrl": settings.TILES_URL,
        "labelMinZoom": LABEL_MIN_ZOOM,
        "urls": {
            "grids": reverse("grid-layer"),
            "areas": reverse("area-layer"),
            "locate": reverse("grid-locate"),
        },
        "strings": _map_strings(),
    }


def _grid_extent() -> list[list[float]] | None:
    """[[south, west], [north, east]] of the grids in force, so the first view shows the city."""
    box = Grid.objects.current().aggregate(
        west=Min("min_lon"), south=Min("min_lat"), east=Max("max_lon"), north=Max("max_lat")
    )
    if box["west"] is None:
        return None
    return [[box["south"], box["west"]], [box["north"], box["east"]]]


def _map_strings() -> dict[str, str]:
    return {
        "baseMap": _("Base map"),
        "streets": _("Streets"),
        "communities": _("Communities"),
        "grids": _("Unit grids"),
        "community": _("Community: %(name)s"),
        "outsideGrid": _("Outside grid"),
        "outsideGridHint": _("No unit grid within the snap distance of this point."),
        "snapped": _("Nearest grid, %(distance)s m away"),
        "locating": _("Locating…"),
        "loadFailed": _("Could not load the map data. Move the map to retry."),
        "locateFailed": _("Could not locate this point."),
    }
