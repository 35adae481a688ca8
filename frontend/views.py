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


# --- The mobile app at /m/ (docs/mobile.md) ---------------------------------------------------
# Page shells hold nothing about the person: the service worker caches them for offline use and
# serves them to whoever opens the app, so every name, count and token comes from the API.

MOBILE_PAGES = {
    # page: (template, script, title)
    "home": ("frontend/mobile/home.html", "home.js", "网格巡查"),
    "report": ("frontend/mobile/report.html", "report.js", "上报案件"),
    "tasks": ("frontend/mobile/tasks.html", "tasks.js", "我的任务"),
    "task": ("frontend/mobile/task.html", "task.js", "任务详情"),
    "mine": ("frontend/mobile/mine.html", "mine.js", "我的上报"),
    "alerts": ("frontend/mobile/alerts.html", "alerts.js", "消息"),
    "patrol": ("frontend/mobile/patrol.html", "patrol.js", "日常巡查"),
    "queue": ("frontend/mobile/queue.html", "queue.js", "同步队列"),
}
MOBILE_STATIC = [
    "leaflet/leaflet.css",
    "leaflet/leaflet.js",
    "frontend/mobile/mobile.css",
    "frontend/mobile/core.js",
    "frontend/mobile/ui.js",
    "frontend/mobile/icons/icon-192.png",
    "frontend/mobile/icons/icon-512.png",
    "frontend/mobile/icons/maskable-512.png",
    "frontend/mobile/icons/apple-touch-icon.png",
    *sorted({f"frontend/mobile/{script}" for _t, script, _title in MOBILE_PAGES.values()}),
]


def mobile_page(request: HttpRequest, page: str) -> HttpResponse:
    """One screen of the mobile app; signed-out people go to the login page and come back."""
    from django.contrib.auth.views import redirect_to_login

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    template, script, title = MOBILE_PAGES[page]
    response = render(request, template, {
        "page": page, "title": title, "script": f"frontend/mobile/{script}", "m_config": _mobile_config(),
    })
    response["Cache-Control"] = "no-cache"  # the service worker keeps the offline copy
    return response


def _mobile_config() -> dict:
    from patrol.models import PatrolSettings

    config = _map_config()
    return {
        "tilesUrl": config["tilesUrl"],
        "center": config["center"],
        "extent": config["extent"],
        "patrolIntervalSeconds": PatrolSettings.interval(),
        "urls": {
            "session": reverse("m-session"), "me": reverse("api-me"), "cases": reverse("cases"),
            "categories": reverse("categories"), "locate": reverse("grid-locate"), "grids": reverse("grid-layer"),
            "nearby": reverse("case-nearby"), "mine": reverse("case-mine"), "alerts": reverse("alerts"),
            "alertsUnread": reverse("alerts-unread"), "alertsRead": reverse("alerts-read"),
            "points": reverse("patrol-points"), "coverage": reverse("patrol-coverage"),
            "login": reverse("login"), "logout": reverse("logout"), "home": reverse("m-home"),
            "sw": reverse("m-sw"), "websocket": "/ws/alerts/",
        },
    }


def mobile_session(request: HttpRequest) -> HttpResponse:
    """Who is signed in, and a CSRF token to send with the next POST. The offline queue asks for it
    before every send: Django rotates the token at login (RELIABILITY R11), so a request stored
    with an old token would be refused."""
    from django.http import JsonResponse
    from django.middleware.csrf import get_token

    user = request.user
    body = {
        "authenticated": user.is_authenticated,
        "user": {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username,
                 "role": user.role} if user.is_authenticated else None,
        "csrf_token": get_token(request),  # also sets or refreshes the csrftoken cookie
    }
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


def mobile_manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: installable, starts at /m/, scope /m/."""
    from django.http import JsonResponse
    from django.templatetags.static import static

    home = reverse("m-home")
    body = {
        "name": "Gridcase 网格巡查", "short_name": "网格巡查", "lang": "zh-CN",
        "description": "网格化城市管理 · 监督员移动端：上报、核实、核查、巡查",
        "id": home, "start_url": home, "scope": home, "display": "standalone", "orientation": "portrait",
        "background_color": "#ffffff", "theme_color": "#12355b",
        "icons": [
            {"src": static("frontend/mobile/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("frontend/mobile/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("frontend/mobile/icons/maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


def mobile_service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /m/ so that its scope is /m/. It lists the app shell (the
    pages and the static files under their current URLs) and a version from their contents: a
    changed file makes a changed worker, which the browser installs in place of the old one."""
    import json

    from django.templatetags.static import static

    shell_pages = [reverse(f"m-{page}") for page in MOBILE_PAGES]
    assets = [static(path) for path in MOBILE_STATIC]
    response = render(request, "frontend/mobile/sw.js", {
        "version": _mobile_version(), "pages": json.dumps(shell_pages), "assets": json.dumps(assets),
        "home": reverse("m-home"),
        "core": static("frontend/mobile/core.js"),
    }, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("m-home")
    return response


def _mobile_version() -> str:
    """A digest of the shell's static files and templates; cached per process unless DEBUG."""
    if settings.DEBUG or not _VERSION:
        import hashlib
        from pathlib import Path

        from django.contrib.staticfiles import finders

        digest = hashlib.sha256()
        templates = Path(__file__).resolve().parent / "templates" / "frontend" / "mobile"
        files = [finders.find(path) for path in MOBILE_STATIC] + sorted(str(p) for p in templates.iterdir())
        for name in files:
            if name:
                digest.update(Path(name).read_bytes())
        _VERSION[:] = [digest.hexdigest()[:12]]
    return _VERSION[0]


_VERSION: list[str] = []


# --- The supervision-centre console at /console/ (docs/console.md) ----------------------------


def console(request: HttpRequest) -> HttpResponse:
    """The centre's desktop console: map, work queues, case panel. Centre roles and admins only."""
    from django.contrib.auth.views import redirect_to_login

    from frontend.api import is_console_user

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_console_user(request.user):
        return render(request, "frontend/console/forbidden.html", status=403)
    return render(request, "frontend/console/console.html", {"console_config": _console_config(request)})


def tiles_gcj02() -> bool:
    """Whether the tile server draws in GCJ-02 (most Chinese commercial maps): settings first, then
    the GRIDCASE_TILES_GCJ02 environment variable. The console shifts the tiles for display only."""
    from backend.settings import env_bool

    value = getattr(settings, "GRIDCASE_TILES_GCJ02", None)
    return env_bool("GRIDCASE_TILES_GCJ02", False) if value is None else bool(value)


def _console_config(request: HttpRequest) -> dict:
    from cases.workflow import TABLE
    from frontend.api import ROLE_QUEUES, queue_order

    needs: dict[str, list[str]] = {}
    for (_status, action), rule in TABLE.items():
        needs.setdefault(action, [])
        needs[action] = sorted(set(needs[action]) | set(rule.needs))
    config = _map_config()
    user = request.user
    return {
        "center": config["center"], "zoom": config["zoom"], "minZoom": config["minZoom"],
        "maxZoom": config["maxZoom"], "extent": config["extent"], "tilesUrl": config["tilesUrl"],
        "tilesGcj02": tiles_gcj02(),
        "user": {"id": user.pk, "username": user.username, "role": user.role},
        "queues": queue_order(user), "myQueues": list(ROLE_QUEUES.get(user.role, ())),
        "actionNeeds": needs,
        "urls": {
            "grids": reverse("grid-layer"), "areas": reverse("area-layer"), "cases": reverse("cases"),
            "categories": reverse("categories"), "metrics": reverse("metrics"), "alerts": reverse("alerts"),
            "alertsRead": reverse("alerts-read"), "units": reverse("console-units"),
            "queues": reverse("console-queues"), "gridCounts": reverse("console-grid-counts"),
            "suggestion": reverse("console-suggestion", args=[0]),
            "wsCases": "/ws/cases/", "wsAlerts": "/ws/alerts/",
        },
    }
