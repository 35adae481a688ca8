"""Page shells only; data comes from the JSON API."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, pgettext, pgettext_lazy
from django.utils.translation import gettext as _

from cases import workflow
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
    "home": ("frontend/mobile/home.html", "home.js", pgettext_lazy("mobile", "Grid patrol")),
    "report": (
        "frontend/mobile/report.html",
        "report.js",
        pgettext_lazy("mobile", "Report a case"),
    ),
    "tasks": ("frontend/mobile/tasks.html", "tasks.js", pgettext_lazy("mobile", "My tasks")),
    "task": ("frontend/mobile/task.html", "task.js", pgettext_lazy("mobile", "Task")),
    "mine": ("frontend/mobile/mine.html", "mine.js", pgettext_lazy("mobile", "My reports")),
    "alerts": ("frontend/mobile/alerts.html", "alerts.js", pgettext_lazy("mobile", "Messages")),
    "patrol": ("frontend/mobile/patrol.html", "patrol.js", pgettext_lazy("mobile", "Daily patrol")),
    "queue": ("frontend/mobile/queue.html", "queue.js", pgettext_lazy("mobile", "Sync queue")),
}
MOBILE_STATIC = [
    "leaflet/leaflet.css",
    "leaflet/leaflet.js",
    "frontend/mobile/mobile.css",
    "frontend/mobile/core.js",
    "frontend/mobile/ui.js",
    "frontend/mobile/unit-mode.js",
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
    response = render(
        request,
        template,
        {
            "page": page,
            "title": title,
            "script": f"frontend/mobile/{script}",
            "m_config": _mobile_config(),
        },
    )
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
        # The server's words and rules, rendered into the page (cached with it, so offline too):
        # the pages keep no table of their own (docs/mobile.md).
        "workflow": _phone_workflow(),
        "labels": _mobile_labels(),
        "urls": {
            "session": reverse("m-session"),
            "me": reverse("api-me"),
            "cases": reverse("cases"),
            "categories": reverse("categories"),
            "locate": reverse("grid-locate"),
            "grids": reverse("grid-layer"),
            "nearby": reverse("case-nearby"),
            "mine": reverse("case-mine"),
            "alerts": reverse("alerts"),
            "alertsUnread": reverse("alerts-unread"),
            "alertsRead": reverse("alerts-read"),
            "points": reverse("patrol-points"),
            "coverage": reverse("patrol-coverage"),
            "login": reverse("login"),
            "logout": reverse("logout"),
            "home": reverse("m-home"),
            "sw": reverse("m-sw"),
            "websocket": "/ws/alerts/",
            "task": reverse("m-task"),
            "reports": reverse("reports-page"),
        },
    }


def _phone_workflow() -> dict:
    """workflow.describe() without the roles: the phone acts on each case's `allowed_actions`, and
    a shell names no role (it is handed to whoever opens the app)."""
    described = workflow.describe()
    described["actions"] = {
        key: {k: v for k, v in action.items() if k != "roles"}
        for key, action in described["actions"].items()
    }
    return described


def _mobile_labels() -> dict:
    """Every alert kind, photo stage, pending request and 违建 disposition the server has, in the
    active language (statuses, actions and outcomes come with workflow.describe())."""
    from alerts.models import Kind as AlertKind
    from campaigns.models import DispositionKind
    from cases.models import PendingRequest, Photo

    return {
        "alerts": _choice_words(AlertKind),
        "stages": _choice_words(Photo.Stage),
        "requests": _choice_words(PendingRequest),
        "dispositions": _choice_words(DispositionKind),
    }


def _choice_words(choices) -> dict[str, str]:
    """A choices class as value → its words in the active language (for a page's config)."""
    return {value: str(label) for value, label in choices.choices if value}


def mobile_session(request: HttpRequest) -> HttpResponse:
    """Who is signed in, and a CSRF token to send with the next POST. The offline queue asks for it
    before every send: Django rotates the token at login (docs/reliability.md R11), so a request stored
    with an old token would be refused."""
    from django.http import JsonResponse
    from django.middleware.csrf import get_token

    user = request.user
    body = {
        "authenticated": user.is_authenticated,
        "user": {
            "id": user.pk,
            "username": user.username,
            "name": user.get_full_name() or user.username,
            "role": user.role,
        }
        if user.is_authenticated
        else None,
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
        "name": "Gridcase " + pgettext("mobile", "Grid patrol"),
        "short_name": pgettext("mobile", "Grid patrol"),
        "lang": get_language(),
        "description": pgettext(
            "mobile",
            "Grid-based city management · the officers' phone app: report, verify, check, patrol",
        ),
        "id": home,
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#12355b",
        "icons": [
            {
                "src": static("frontend/mobile/icons/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
            },
            {
                "src": static("frontend/mobile/icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
            },
            {
                "src": static("frontend/mobile/icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
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

    shell_pages = [reverse(f"m-{page}") for page in MOBILE_PAGES] + [reverse("javascript-catalog")]
    assets = [static(path) for path in MOBILE_STATIC]
    response = render(
        request,
        "frontend/mobile/sw.js",
        {
            "version": _mobile_version(),
            "pages": json.dumps(shell_pages),
            "assets": json.dumps(assets),
            "home": reverse("m-home"),
            "core": static("frontend/mobile/core.js"),
            "catalog": reverse("javascript-catalog"),
        },
        content_type="text/javascript; charset=utf-8",
    )
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
        files = [finders.find(path) for path in MOBILE_STATIC] + sorted(
            str(p) for p in templates.iterdir()
        )
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
        from frontend.desk import is_desk_user

        if is_desk_user(request.user):  # a handling unit's member works at the unit desk
            from django.shortcuts import redirect

            return redirect("desk")
        return render(request, "frontend/console/forbidden.html", status=403)
    return _console_page(
        request, panel=_console_panel(request, request.GET.get("case", ""), by_ref=True)
    )


def _console_page(request: HttpRequest, *, panel: dict | None, status: int = 200) -> HttpResponse:
    from frontend import console as centre

    return render(
        request,
        "frontend/console/console.html",
        {
            "console_config": _console_config(request),
            "queues": centre.queues(request.user),
            "order": "oldest",
            "units": _handling_units(),
            "orders": centre.ORDERS,
            "panel": panel,
            "scales": CONSOLE_SCALES,
            "metrics": CONSOLE_METRICS,
            "periods": CONSOLE_PERIODS,
            "statuses": _status_choices(),
            "alert_kinds": _alert_kinds(),
        },
        status=status,
    )


def _console_config(request: HttpRequest) -> dict:
    """What console.js needs: the map, the colour scales and the API addresses. No labels (they are
    in the page) and no workflow rules (the forms are rendered on the server)."""
    from frontend.api import ROLE_QUEUES, queue_order

    config = _map_config()
    user = request.user
    return {
        "center": config["center"],
        "zoom": config["zoom"],
        "minZoom": config["minZoom"],
        "maxZoom": config["maxZoom"],
        "extent": config["extent"],
        "tilesUrl": config["tilesUrl"],
        "tilesGcj02": settings.GRIDCASE_TILES_GCJ02,
        "scales": CONSOLE_SCALES,
        "user": {"id": user.pk, "username": user.username, "role": user.role},
        "queues": queue_order(user),
        "myQueues": list(ROLE_QUEUES.get(user.role, ())),
        "urls": {
            "grids": reverse("grid-layer"),
            "areas": reverse("area-layer"),
            "cases": reverse("cases"),
            "metrics": reverse("metrics"),
            "alerts": reverse("alerts"),
            "gridCounts": reverse("console-grid-counts"),
            "categories": reverse("categories"),
            "panel": reverse("console-case", args=[0]),
            "find": reverse("console-find"),
            "wsCases": "/ws/cases/",
            "wsAlerts": "/ws/alerts/",
        },
    }


# The map's colour scales: the legend (console.html) and the grid fills (console.js) read the same.
CONSOLE_SCALES = {
    "rate": [
        {"min": 95, "colour": "#15803d", "label": "≥ 95%"},
        {"min": 85, "colour": "#84cc16", "label": "85–95%"},
        {"min": 70, "colour": "#facc15", "label": "70–85%"},
        {"min": 50, "colour": "#f97316", "label": "50–70%"},
        {"min": -1, "colour": "#dc2626", "label": "< 50%"},
    ],
    "count": [
        {"min": 7, "colour": "#7f1d1d", "label": "≥ 7"},
        {"min": 4, "colour": "#ef4444", "label": "4–6"},
        {"min": 2, "colour": "#fb923c", "label": "2–3"},
        {"min": 1, "colour": "#fde68a", "label": "1"},
        {"min": 0, "colour": "#f1f5f9", "label": "0"},
    ],
    "noData": "#e5e7eb",
    "hatch": "url(#gcc-hatch)",
}
CONSOLE_METRICS = {
    "closure_rate": pgettext_lazy("console", "Closure rate"),
    "closure_on_time_rate": pgettext_lazy("console", "On-time closure rate"),
    "disposal_rate": pgettext_lazy("console", "Disposal rate"),
    "disposal_on_time_rate": pgettext_lazy("console", "On-time disposal rate"),
    "open": pgettext_lazy("console", "Open cases (now)"),
    "overdue": pgettext_lazy("console", "Overdue open cases"),
}
CONSOLE_PERIODS = {
    "this_week": pgettext_lazy("console", "This week"),
    "last_week": pgettext_lazy("console", "Last week"),
    "this_month": pgettext_lazy("console", "This month"),
    "custom": pgettext_lazy("console", "Dates…"),
}


def _status_choices() -> dict[str, list[tuple[str, str]]]:
    """The map's status filter: the open statuses (all of them by default), then the finished ones,
    which the map shows for the cases reported in the chosen period."""
    from cases.models import OPEN_STATUSES, Status

    return {
        "open": [(value, label) for value, label in Status.choices if value in OPEN_STATUSES],
        "finished": [
            (value, label) for value, label in Status.choices if value not in OPEN_STATUSES
        ],
    }


def _alert_kinds() -> list[tuple[str, str]]:
    from alerts.models import Kind

    return list(Kind.choices)


def _console_gate(request: HttpRequest) -> HttpResponse | None:
    from django.contrib.auth.views import redirect_to_login

    from frontend.api import is_console_user

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_console_user(request.user):
        return render(request, "frontend/console/forbidden.html", status=403)
    return None


def _console_panel(
    request: HttpRequest,
    ref,
    *,
    by_ref: bool = False,
    open_action: str = "",
    message: str = "",
    error: str = "",
    errors: dict | None = None,
    posted: dict | None = None,
) -> dict | None:
    """What the console's case panel shows: the case (by number or id when `by_ref`), its facts,
    the forms of the actions the workflow allows the person, photos, duplicates and timeline."""
    from cases import deadlines, workflow
    from cases.access import visible_cases
    from cases.duplicates import duplicate_candidates
    from frontend import console as centre
    from frontend import desk as unit_desk

    ref = str(ref or "").strip()
    if not ref:
        return None
    if by_ref:
        case = centre.find(request.user, ref)
    elif ref.isdigit() and len(ref) <= 18:
        case = visible_cases(request.user).filter(pk=int(ref)).first()
    else:
        case = None
    if case is None:
        return {"missing": True, "ref": ref}
    case = (
        visible_cases(request.user)
        .select_related("category__big_class", "grid", "unit", "reporter", "assignee")
        .get(pk=case.pk)
    )
    now = _now()
    case.light = deadlines.traffic_light(case, now)
    case.left = centre.time_left(case, now)
    events, photos = _case_story(case)
    forms = centre.action_forms(case, workflow.allowed_actions(case, request.user))
    suggested = None
    if any(f.key == "dispatch" for f in forms):
        from cases.dispatch_rules import suggest_unit

        suggested = suggest_unit(case)
    duplicates = []
    if case.status in workflow.PRE_REGISTRATION:
        duplicates = duplicate_candidates(
            category_id=case.category_id,
            lon=case.lon,
            lat=case.lat,
            exclude_id=case.pk,
            now=now,
            among=visible_cases(request.user),
        )
    shown = (
        open_action
        if any(f.key == open_action for f in forms)
        else (
            "dispatch" if suggested is not None or any(f.key == "dispatch" for f in forms) else ""
        )
    )
    return {
        "case": case,
        "events": events,
        "photos": photos,
        "forms": forms,
        "shown": shown,
        "quick": [f for f in forms if f.quick],
        "slow": [f for f in forms if not f.quick],
        "merge": next((f for f in forms if f.key == "merge"), None),
        "duplicates": [{"case": c, "distance": round(d)} for c, d in duplicates],
        "units": _handling_units() if any(f.key == "dispatch" for f in forms) else [],
        "suggested": suggested,
        "final": centre.is_final(case),
        "light_label": unit_desk.LIGHT_LABELS.get(case.light or "", ""),
        "request_label": unit_desk.REQUEST_LABELS.get(case.pending_request, ""),
        "message": message,
        "error": error,
        "errors": errors or {},
        "posted": posted or {},
    }


def _handling_units() -> list:
    from people.models import Organisation

    return list(
        Organisation.objects.filter(kind=Organisation.Kind.HANDLING_UNIT, active=True).order_by(
            "name", "pk"
        )
    )


def _console_queues_context(request: HttpRequest) -> dict:
    from frontend import console as centre

    area = request.GET.get("area", "")[:15]
    area = area if area.isdigit() else ""
    category = request.GET.get("category", "")
    order = request.GET.get("order", "oldest")
    order = order if order in centre.ORDERS else "oldest"
    return {
        "queues": centre.queues(
            request.user,
            area=area,
            order=order,
            category=int(category) if category.isdigit() and len(category) < 18 else None,
        ),
        "order": order,
        "orders": centre.ORDERS,
        "units": _handling_units(),
    }


def console_queues(request: HttpRequest) -> HttpResponse:
    """The queues partial: htmx refreshes it on a push, after an action, and when filtering."""
    if (other := _console_gate(request)) is not None:
        return other
    return render(request, "frontend/console/_queues.html", _console_queues_context(request))


def console_search(request: HttpRequest) -> HttpResponse:
    """Cases in every status by number, address or description (the search box)."""
    from frontend import console as centre

    if (other := _console_gate(request)) is not None:
        return other
    q = request.GET.get("q", "")[:100]
    return render(
        request,
        "frontend/console/_search.html",
        {"q": q.strip(), "found": centre.search(request.user, q)},
    )


def console_case(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The case panel partial, by id (`/console/case/<id>`) or by number (`/console/case?ref=`);
    without htmx, the whole console with the panel open."""
    if (other := _console_gate(request)) is not None:
        return other
    ref, by_ref = (pk, False) if pk is not None else (request.GET.get("ref", ""), True)
    panel = _console_panel(
        request, ref, by_ref=by_ref, open_action=request.GET.get("action", "")[:24]
    )
    status = 404 if panel is None or panel.get("missing") else 200
    if not _is_htmx(request):
        return _console_page(request, panel=panel, status=status)
    return render(
        request, "frontend/console/_case.html", {"panel": panel or {"missing": True}}, status=status
    )


CONSOLE_FIELDS = (
    "action",
    "version",
    "reason",
    "outcome",
    "unit",
    "duplicate_of",
    "amount_minutes",
    "lon",
    "lat",
    "address",
)


def console_act(request: HttpRequest, pk: int) -> HttpResponse:
    """One action from the console's forms or queue rows, through cases.workflow.transition() with
    the version the person saw. The inputs are checked as the API checks them (a 400 names the
    field); a final action (merge, reject, decline, void) must be confirmed. The answer is the case
    panel with what happened; HX-Trigger tells the queues and the map to refresh."""
    from django.core.exceptions import ValidationError
    from django.http import HttpResponseNotAllowed
    from django.shortcuts import redirect

    from cases import workflow
    from cases.access import get_case_for_user
    from cases.serializers import TransitionSerializer
    from cases.views import transition_inputs
    from frontend import console as centre

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if (other := _console_gate(request)) is not None:
        return other
    case = get_case_for_user(request.user, pk)
    data = {k: request.POST[k].strip() for k in CONSOLE_FIELDS if request.POST.get(k, "").strip()}
    action = data.get("action", "")
    posted = dict(data)
    form = TransitionSerializer(data=data)

    def run() -> None:
        if not form.is_valid():
            raise ValidationError({k: " ".join(str(m) for m in v) for k, v in form.errors.items()})
        v = form.validated_data
        if "version" not in v:
            raise ValidationError({"version": pgettext("console", "Send the version you saw.")})
        if centre.confirm_missing(case, action, request.POST.get("confirm", "")):
            raise ValidationError(
                {"confirm": pgettext("console", "This cannot be undone: tick the box to confirm.")}
            )
        inputs = transition_inputs(request.user, case, v)  # the API's reading of the same fields
        workflow.transition(case, action, actor=request.user, version=v["version"], inputs=inputs)

    status, message, error, errors, settled = _acted(
        run,
        number=case.number,
        action=centre.ACTION_LABELS.get(action, action),
        field_label=lambda k: centre.INPUT_LABELS.get(k, _field_label(k)),
    )
    posted = {} if settled else posted
    panel = _console_panel(
        request,
        case.pk,
        open_action="" if status == 200 else action,
        message=message,
        error=error,
        errors=errors,
        posted=posted,
    )
    if not _is_htmx(request):
        if status == 200:
            return redirect(f"{reverse('console')}?case={case.number}")
        return _console_page(request, panel=panel, status=status)
    response = render(request, "frontend/console/_case.html", {"panel": panel}, status=status)
    response["HX-Trigger"] = "console-changed"
    return response


def console_alerts(request: HttpRequest) -> HttpResponse:
    """The person's latest alerts, newest first (GET), or marked read up to the seq shown (POST)."""
    from django.utils import timezone

    from alerts.models import Notification

    if (other := _console_gate(request)) is not None:
        return other
    mine = Notification.objects.filter(user=request.user)
    if request.method == "POST":
        up_to = request.POST.get("up_to", "")
        if not up_to.isdigit() or len(up_to) > 18:
            return HttpResponse(
                pgettext("console", "up_to: a whole number is required."), status=400
            )
        mine.filter(read_at__isnull=True, seq__lte=int(up_to)).update(read_at=timezone.now())
    rows = list(mine.order_by("-seq")[:50])
    response = render(
        request,
        "frontend/console/_alerts.html",
        {
            "alerts": rows,
            "top": rows[0].seq if rows else 0,
            "unread": mine.filter(read_at__isnull=True).count(),
        },
    )
    if request.method == "POST":
        response["HX-Trigger"] = "console-alerts-read"
    return response


# --- The handling unit's desk at /desk/ (docs/units.md) ----------------------------------------
# Rendered on the server: the page, its queues, the case panel and the action forms are Django
# templates (templates/frontend/desk/_*.html) that htmx swaps in place; desk.js keeps the map and
# the live socket. Unit members only: the centre goes to its console, officers to the phone.


def _desk_gate(request: HttpRequest) -> HttpResponse | None:
    """None when the person may use the desk; else where they go instead."""
    from django.contrib.auth.views import redirect_to_login
    from django.shortcuts import redirect

    from frontend.api import is_console_user
    from frontend.desk import is_desk_user

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if is_desk_user(request.user):
        return None
    if is_console_user(request.user):
        return redirect("console")
    return render(request, "frontend/desk/forbidden.html", status=403)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def desk(request: HttpRequest) -> HttpResponse:
    """The desk: queues (left), map (middle), the case panel (right) when `?case=` names one."""
    if (other := _desk_gate(request)) is not None:
        return other
    return _desk_page(request, panel=_panel_context(request, request.GET.get("case")))


def _desk_page(request: HttpRequest, *, panel: dict | None, status: int = 200) -> HttpResponse:
    from alerts.models import Kind as AlertKind
    from frontend import desk as unit_desk

    q = request.GET.get("q", "")[:100]
    user = request.user
    config = _map_config()
    return render(
        request,
        "frontend/desk/desk.html",
        {
            "queues": unit_desk.queues(user, q=q),
            "q": q,
            "panel": panel,
            "desk_config": {
                "center": config["center"],
                "zoom": config["zoom"],
                "minZoom": config["minZoom"],
                "maxZoom": config["maxZoom"],
                "extent": config["extent"],
                "tilesUrl": config["tilesUrl"],
                "user": {"id": user.pk, "unit": user.organisation_id},
                # The alerts' words from the catalogue (no label table in desk.js).
                "alertKinds": _choice_words(AlertKind),
                "words": {"none": pgettext("console", "No alerts")},
                "urls": {
                    "cases": reverse("cases"),
                    "grids": reverse("grid-layer"),
                    "panel": reverse("desk-case", args=[0]),
                    "queues": reverse("desk-queues"),
                    "alerts": reverse("alerts"),
                    "alertsRead": reverse("alerts-read"),
                    "wsAlerts": "/ws/alerts/",
                    "wsCases": "/ws/cases/",
                },
            },
        },
        status=status,
    )


def _panel_context(
    request: HttpRequest,
    case_id,
    *,
    message: str = "",
    error: str = "",
    errors: dict | None = None,
    posted: dict | None = None,
) -> dict | None:
    """What the case panel shows; None when no (visible) case is named."""
    from cases.access import visible_cases
    from cases.workflow import allowed_actions, may_assign
    from frontend import desk as unit_desk

    if not case_id or not str(case_id).isdigit() or len(str(case_id)) > 18:
        return None
    case = (
        visible_cases(request.user)
        .select_related("category__big_class", "grid", "unit", "assignee", "reporter")
        .filter(pk=int(case_id))
        .first()
    )
    if case is None:
        return {"missing": True, "error": error}
    now = _now()
    from cases import deadlines

    case.light = deadlines.traffic_light(case, now)
    case.left = unit_desk.time_left(case, now)
    events, photos = _case_story(case)
    from campaigns.models import DispositionKind, LedgerLink

    link = LedgerLink.objects.select_related("entry").filter(case=case).first()
    allowed = allowed_actions(case, request.user)
    actions = [
        {"key": a, "label": unit_desk.ACTION_LABELS[a]}
        for a in unit_desk.DESK_ACTIONS
        if a in allowed
    ]
    return {
        "case": case,
        "events": events,
        "photos": photos,
        "actions": actions,
        "light_label": unit_desk.LIGHT_LABELS.get(case.light or "", ""),
        "request_label": unit_desk.REQUEST_LABELS.get(case.pending_request, ""),
        "members": unit_desk.members_to_assign(request.user) if may_assign(request.user) else [],
        "ledger_entry": link.entry if link else None,
        "disposition_choices": DispositionKind.choices,
        "message": message,
        "error": error,
        "errors": errors or {},
        "posted": posted or {},
    }


def _case_story(case) -> tuple[list, list]:
    """The timeline (newest first) and the photos, each labelled in words: the action, its outcome,
    the actor's role, the status it led to; a photo's stage and its evidence flags."""
    from cases.models import Status
    from frontend import desk as unit_desk
    from people.models import Role

    events = list(
        case.events.select_related("actor", "unit").prefetch_related("photos").order_by("-seq")
    )
    for event in events:
        event.label = unit_desk.EVENT_LABELS.get(event.action, event.action)
        event.outcome_label = unit_desk.OUTCOME_LABELS.get(
            (event.data or {}).get("outcome", ""), ""
        )
        event.role_label = Role(event.actor_role).label if event.actor_role in Role.values else ""
        changed = event.to_status and event.to_status != event.from_status
        event.status_label = (
            Status(event.to_status).label if changed and event.to_status in Status.values else ""
        )
    photos = list(case.photos.all())
    for photo in photos:
        photo.stage_label = unit_desk.STAGE_LABELS.get(photo.stage, photo.stage)
        photo.flag_labels = [unit_desk.FLAG_LABELS.get(f, f) for f in photo.flags]
    return events, photos


def _now():
    from django.utils import timezone

    return timezone.now()


def desk_queues(request: HttpRequest) -> HttpResponse:
    """The queues partial (htmx refreshes it after an action, on a push, and when searching)."""
    from frontend import desk as unit_desk

    if (other := _desk_gate(request)) is not None:
        return other
    q = request.GET.get("q", "")[:100]
    return render(
        request,
        "frontend/desk/_queues.html",
        {"queues": unit_desk.queues(request.user, q=q), "q": q},
    )


def desk_case(request: HttpRequest, pk: int) -> HttpResponse:
    """The case panel partial; without htmx, the whole desk with the panel open."""
    if (other := _desk_gate(request)) is not None:
        return other
    panel = _panel_context(request, pk)
    if panel is None or panel.get("missing"):
        from django.http import Http404

        raise Http404("No case with that id is visible to you.")
    if not _is_htmx(request):
        return _desk_page(request, panel=panel)
    return render(request, "frontend/desk/_case.html", {"panel": panel})


def desk_act(request: HttpRequest, pk: int) -> HttpResponse:
    """One action from the panel's forms, through cases.workflow.transition() with the version the
    member saw. The answer is the panel again, with what happened: done, or the server's reason
    (a stale version reloads the case, as in the console)."""
    from django.http import Http404, HttpResponseNotAllowed
    from django.shortcuts import redirect

    from cases import workflow
    from cases.access import get_case_for_user
    from frontend import desk as unit_desk

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if (other := _desk_gate(request)) is not None:
        return other
    case = get_case_for_user(request.user, pk)
    action = request.POST.get("action", "")
    posted = {
        k: request.POST.get(k, "")
        for k in ("action", "reason", "hours", "assignee", "disposition", "demolished_m2")
    }
    if action not in unit_desk.DESK_ACTIONS:
        raise Http404("No such desk action.")

    def run() -> None:
        version = _posted_int(request, "version", required=True)
        inputs = workflow.Inputs(reason=request.POST.get("reason", "").strip()[:2000])
        if action == "request_extension":
            hours = _posted_number(request, "hours")
            inputs.amount_minutes = round(hours * 60) if hours else None
        if action == "assign":
            from cases.views import _assignee

            inputs.assignee = _assignee(case, _posted_int(request, "assignee"))
        if (
            action == "feedback"
        ):  # an illegal-construction (ledger) case names its disposition (docs/domain.md §12)
            inputs.disposition = request.POST.get("disposition", "")
            inputs.demolished_m2 = _posted_decimal(request, "demolished_m2")
        from cases.views import attach_uploads

        attach_uploads(request, case, action, version=version, inputs=inputs)
        workflow.transition(case, action, actor=request.user, version=version, inputs=inputs)

    status, message, error, errors, settled = _acted(
        run, number=case.number, action=unit_desk.ACTION_LABELS[action], field_label=_field_label
    )
    posted = {} if settled else posted
    panel = _panel_context(
        request, case.pk, message=message, error=error, errors=errors, posted=posted
    )
    if not _is_htmx(request):
        if status == 200:
            return redirect(f"{reverse('desk')}?case={case.pk}")
        return _desk_page(request, panel=panel, status=status)
    response = render(request, "frontend/desk/_case.html", {"panel": panel}, status=status)
    response["HX-Trigger"] = "desk-changed"
    return response


def _acted(run, *, number: str, action: str, field_label) -> tuple[int, str, str, dict, bool]:
    """Run one action from a panel's form (`run()` checks the form and calls transition()) and say
    what happened in the panel's words: (status, message, error, errors by field, settled). Done
    (200), a stale version (409: the panel reloads), not allowed now (409), not the person's (403),
    or the form's problems (400, each field named). `settled`: the form's values are spent."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from cases import workflow

    try:
        run()
    except workflow.VersionConflict as exc:
        return (
            409,
            "",
            pgettext("desk", "Someone else changed this case: %(detail)s It has been reloaded.")
            % {"detail": exc},
            {},
            True,
        )
    except workflow.TransitionNotAllowed as exc:
        return 409, "", str(exc), {}, False
    except PermissionDenied as exc:
        return 403, "", str(exc) or pgettext("desk", "You may not do this."), {}, False
    except ValidationError as exc:
        errors = (
            {k: " ".join(str(m) for m in v) for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"": " ".join(exc.messages)}
        )
        return (
            400,
            "",
            pgettext("desk", "Check the form: %(fields)s")
            % {
                "fields": "; ".join(
                    (f"{field_label(k)}: {m}" if k else m) for k, m in errors.items()
                )
            },
            errors,
            False,
        )
    return (
        200,
        pgettext("desk", "%(number)s: %(action)s — done.") % {"number": number, "action": action},
        "",
        {},
        True,
    )


def _field_label(key: str) -> str:
    return {
        "reason": pgettext("desk", "Reason"),
        "photos": pgettext("desk", "Photos"),
        "amount_minutes": pgettext("desk", "Working hours asked for"),
        "hours": pgettext("desk", "Working hours asked for"),
        "assignee": pgettext("desk", "Member"),
        "version": pgettext("desk", "Version"),
    }.get(key, key)


def _posted_int(request: HttpRequest, name: str, *, required: bool = False) -> int | None:
    from django.core.exceptions import ValidationError

    raw = request.POST.get(name, "").strip()
    if not raw and not required:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError({name: pgettext("desk", "A whole number is required.")})
    return int(raw)


def _posted_number(request: HttpRequest, name: str) -> float | None:
    from django.core.exceptions import ValidationError

    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({name: pgettext("desk", "A number is required.")}) from None
    if not (0 < value <= 24 * 365):
        raise ValidationError({name: pgettext("desk", "Give a positive number of working hours.")})
    return value


def _posted_decimal(request: HttpRequest, name: str):
    """An optional decimal form field (m²): None when empty; the workflow checks its range."""
    from decimal import Decimal, InvalidOperation

    from django.core.exceptions import ValidationError

    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError({name: pgettext("desk", "A number is required.")}) from None
    if not value.is_finite():
        raise ValidationError({name: pgettext("desk", "A number is required.")})
    return value.quantize(Decimal("0.01"))


def desk_figures(request: HttpRequest) -> HttpResponse:
    """The unit's own figures for this week and last, each rate drilling down to its cases."""
    import datetime as dt

    from frontend import desk as unit_desk

    if (other := _desk_gate(request)) is not None:
        return other
    figures = unit_desk.unit_figures(request.user)
    drill = None
    metric, week = request.GET.get("metric", ""), request.GET.get("week", "")
    known = {m for parts in unit_desk.DRILL.values() for m in parts}
    if metric in known and week in ("this", "last"):
        chosen = next(f for f in figures if f["key"] == week)
        start, end = chosen["start"], chosen["end"]
        drill = {
            "metric": metric,
            "week": week,
            "start": start,
            "end": end - dt.timedelta(days=1),
            "cases": unit_desk.cases_behind(request.user, metric=metric, start=start, end=end),
        }
    return render(
        request,
        "frontend/desk/figures.html",
        {
            "figures": figures,
            "drill": drill,
            "drills": unit_desk.DRILL,
            "unit": request.user.organisation,
            "metrics_url": f"{reverse('metrics-page')}?level=unit",
        },
    )
