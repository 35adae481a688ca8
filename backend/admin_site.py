from importlib import import_module

from django.apps import apps
from django.contrib.admin.apps import SimpleAdminConfig
from django.utils.module_loading import module_has_submodule

# django-leaflet's admin module imports django.contrib.gis, which needs the GDAL C library.
# Gridcase stores GeoJSON in plain fields and never loads GDAL into Django (docs/reliability.md §0.12),
# so the admin discovers every app's admin module except that one; our map widget lives in
# grids/widgets.py and uses django-leaflet's static Leaflet only.
SKIP_ADMIN_MODULES = {"leaflet"}


class GridcaseAdminConfig(SimpleAdminConfig):
    def ready(self):
        super().ready()
        for app_config in apps.get_app_configs():
            if app_config.name not in SKIP_ADMIN_MODULES and module_has_submodule(
                app_config.module, "admin"
            ):
                import_module(f"{app_config.name}.admin")
