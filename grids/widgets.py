"""A map editor for GeoJSON text fields, on django-leaflet's bundled Leaflet and Leaflet.draw.

django-leaflet's own form widgets need django.contrib.gis (GDAL); Gridcase keeps geometries as
GeoJSON text (backend/admin_site.py), so this widget is a textarea plus a map that reads and writes
that text. It needs no tile server: neighbouring grids from /api/grids/ give the surroundings.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _


class GeoJSONMapWidget(forms.Textarea):
    template_name = "grids/widgets/geojson_map.html"

    class Media:
        css = {"all": ("leaflet/leaflet.css", "leaflet/draw/leaflet.draw.css")}
        js = ("leaflet/leaflet.js", "leaflet/draw/leaflet.draw.js", "grids/geojson_widget.js")

    def __init__(self, attrs: dict[str, Any] | None = None, *, map_height: int = 420) -> None:
        # A short monospace textarea: the map is the editor, the text is for pasting and checking.
        defaults = {
            "rows": 4,
            "spellcheck": "false",
            "class": "vLargeTextField geojson-map-text",
            "style": "font-family: monospace; font-size: 12px;",
        }
        super().__init__({**defaults, **(attrs or {})})
        self.map_height = map_height

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        # JSON in a data attribute (auto-escaped by the template): no inline script per widget.
        context["map"] = {
            "height": self.map_height,
            "options_json": json.dumps(self._map_options()),
        }
        return context

    @staticmethod
    def _map_options() -> dict[str, Any]:
        leaflet = settings.LEAFLET_CONFIG
        return {
            "center": list(leaflet["DEFAULT_CENTER"]),
            "zoom": leaflet["DEFAULT_ZOOM"],
            "maxZoom": leaflet["MAX_ZOOM"],
            "tilesUrl": settings.TILES_URL,
            "gridsUrl": reverse("grid-layer"),
            "strings": {
                "invalid": _("The text below is not a GeoJSON polygon, so the map cannot show it."),
                "neighbours": _("Unit grids"),
            },
        }
