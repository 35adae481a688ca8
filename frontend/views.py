"""Page shells only; data comes from the JSON API."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import get_language, pgettext, pgettext_lazy

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
    "report": ("frontend/mobile/report.html", "report.js", pgettext_lazy("mobile", "Report a case")),
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
        # The server's words and rules, rendered into the page (cached with it, so offline too):
        # the pages keep no table of their own (docs/mobile.md).
        "workflow": _phone_workflow(),
        "labels": _mobile_labels(),
        "urls": {
            "session": reverse("m-session"), "me": reverse("api-me"), "cases": reverse("cases"),
            "categories": reverse("categories"), "locate": reverse("grid-locate"), "grids": reverse("grid-layer"),
            "nearby": reverse("case-nearby"), "mine": reverse("case-mine"), "alerts": reverse("alerts"),
            "alertsUnread": reverse("alerts-unread"), "alertsRead": reverse("alerts-read"),
            "points": reverse("patrol-points"), "coverage": reverse("patrol-coverage"),
            "login": reverse("login"), "logout": reverse("logout"), "home": reverse("m-home"),
            "sw": reverse("m-sw"), "websocket": "/ws/alerts/", "task": reverse("m-task"),
            "reports": reverse("reports-page"),
        },
    }


def _phone_workflow() -> dict:
    """workflow.describe() without the roles: the phone acts on each case's `allowed_actions`, and
    a shell names no role (it is handed to whoever opens the app)."""
    described = workflow.describe()
    described["actions"] = {key: {k: v for k, v in action.items() if k != "roles"}
                            for key, action in described["actions"].items()}
    return described


def _mobile_labels() -> dict:
    """Every alert kind, photo stage, pending request and 违建 disposition the server has, in the
    active language (statuses, actions and outcomes come with workflow.describe())."""
    from alerts.models import Kind as AlertKind
    from campaigns.models import DispositionKind
    from cases.models import PendingRequest, Photo

    def words(choices) -> dict[str, str]:
        return {value: str(label) for value, label in choices.choices if value}

    return {"alerts": words(AlertKind), "stages": words(Photo.Stage), "requests": words(PendingRequest),
            "dispositions": words(DispositionKind)}


def mobile_session(request: HttpRequest) -> HttpResponse:
    """Who is signed in, and a CSRF token to send with the next POST. The offline queue asks for it
    before every send: Django rotates the token at login (docs/reliability.md R11), so a request stored
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
        "name": "Gridcase " + pgettext("mobile", "Grid patrol"), "short_name": pgettext("mobile", "Grid patrol"),
        "lang": get_language(),
        "description": pgettext("mobile", "Grid-based city management · the officers' phone app: report, "
                                "verify, check, patrol"),
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

    shell_pages = [reverse(f"m-{page}") for page in MOBILE_PAGES] + [reverse("javascript-catalog")]
    assets = [static(path) for path in MOBILE_STATIC]
    response = render(request, "frontend/mobile/sw.js", {
        "version": _mobile_version(), "pages": json.dumps(shell_pages), "assets": json.dumps(assets),
        "home": reverse("m-home"),
        "core": static("frontend/mobile/core.js"), "catalog": reverse("javascript-catalog"),
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
        from frontend.desk import is_desk_user

        if is_desk_user(request.user):  # a handling unit's member works at the unit desk
            from django.shortcuts import redirect

            return redirect("desk")
        return render(request, "frontend/console/forbidden.html", status=403)
    return render(request, "frontend/console/console.html", {"console_config": _console_config(request)})


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
        "tilesGcj02": settings.GRIDCASE_TILES_GCJ02,
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
    from frontend import desk as unit_desk

    q = request.GET.get("q", "")[:100]
    user = request.user
    config = _map_config()
    return render(request, "frontend/desk/desk.html", {
        "queues": unit_desk.queues(user, q=q), "q": q, "panel": panel,
        "desk_config": {
            "center": config["center"], "zoom": config["zoom"], "minZoom": config["minZoom"],
            "maxZoom": config["maxZoom"], "extent": config["extent"], "tilesUrl": config["tilesUrl"],
            "user": {"id": user.pk, "unit": user.organisation_id},
            "urls": {"cases": reverse("cases"), "grids": reverse("grid-layer"), "panel": reverse("desk-case", args=[0]),
                     "queues": reverse("desk-queues"), "alerts": reverse("alerts"),
                     "alertsRead": reverse("alerts-read"), "wsAlerts": "/ws/alerts/", "wsCases": "/ws/cases/"},
        },
    }, status=status)


def _panel_context(request: HttpRequest, case_id, *, message: str = "", error: str = "",
                   errors: dict | None = None, posted: dict | None = None) -> dict | None:
    """What the case panel shows; None when no (visible) case is named."""
    from cases.access import visible_cases
    from cases.workflow import allowed_actions, may_assign
    from frontend import desk as unit_desk

    if not case_id or not str(case_id).isdigit() or len(str(case_id)) > 18:
        return None
    case = (visible_cases(request.user).select_related("category__big_class", "grid", "unit", "assignee", "reporter")
            .filter(pk=int(case_id)).first())
    if case is None:
        return {"missing": True, "error": error}
    now = _now()
    from cases import deadlines

    case.light = deadlines.traffic_light(case, now)
    case.left = unit_desk.time_left(case, now)
    events = list(case.events.select_related("actor", "unit").prefetch_related("photos").order_by("-seq"))
    for event in events:
        event.label = unit_desk.EVENT_LABELS.get(event.action, event.action)
        event.outcome_label = unit_desk.OUTCOME_LABELS.get((event.data or {}).get("outcome", ""), "")
    photos = list(case.photos.all())
    for photo in photos:
        photo.stage_label = unit_desk.STAGE_LABELS.get(photo.stage, photo.stage)
        photo.flag_labels = [unit_desk.FLAG_LABELS.get(f, f) for f in photo.flags]
    from campaigns.models import DispositionKind, LedgerLink

    link = LedgerLink.objects.select_related("entry").filter(case=case).first()
    allowed = allowed_actions(case, request.user)
    actions = [{"key": a, "label": unit_desk.ACTION_LABELS[a]} for a in unit_desk.DESK_ACTIONS if a in allowed]
    return {
        "case": case, "events": events, "photos": photos, "actions": actions,
        "light_label": unit_desk.LIGHT_LABELS.get(case.light or "", ""),
        "request_label": unit_desk.REQUEST_LABELS.get(case.pending_request, ""),
        "members": unit_desk.members_to_assign(request.user) if may_assign(request.user) else [],
        "ledger_entry": link.entry if link else None,
        "disposition_choices": DispositionKind.choices,
        "message": message, "error": error, "errors": errors or {}, "posted": posted or {},
    }


def _now():
    from django.utils import timezone

    return timezone.now()


def desk_queues(request: HttpRequest) -> HttpResponse:
    """The queues partial (htmx refreshes it after an action, on a push, and when searching)."""
    from frontend import desk as unit_desk

    if (other := _desk_gate(request)) is not None:
        return other
    q = request.GET.get("q", "")[:100]
    return render(request, "frontend/desk/_queues.html", {"queues": unit_desk.queues(request.user, q=q), "q": q})


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
    from django.core.exceptions import PermissionDenied, ValidationError
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
    posted = {k: request.POST.get(k, "") for k in ("action", "reason", "hours", "assignee", "disposition",
                                                   "demolished_m2")}
    if action not in unit_desk.DESK_ACTIONS:
        raise Http404("No such desk action.")
    status, message, error, errors = 200, "", "", {}
    try:
        version = _posted_int(request, "version", required=True)
        inputs = workflow.Inputs(reason=request.POST.get("reason", "").strip()[:2000])
        if action == "request_extension":
            hours = _posted_number(request, "hours")
            inputs.amount_minutes = round(hours * 60) if hours else None
        if action == "assign":
            from cases.views import _assignee

            inputs.assignee = _assignee(case, _posted_int(request, "assignee"))
        if action == "feedback":  # an illegal-construction (ledger) case names its disposition (docs/domain.md §12)
            inputs.disposition = request.POST.get("disposition", "")
            inputs.demolished_m2 = _posted_decimal(request, "demolished_m2")
        from cases.views import attach_uploads

        attach_uploads(request, case, action, version=version, inputs=inputs)
        workflow.transition(case, action, actor=request.user, version=version, inputs=inputs)
        message = pgettext("desk", "%(number)s: %(action)s — done.") % {
            "number": case.number, "action": unit_desk.ACTION_LABELS[action]}
        posted = {}
    except workflow.VersionConflict as exc:
        status, error = 409, pgettext("desk", "Someone else changed this case: %(detail)s It has been reloaded.") % {"detail": exc}
        posted = {}
    except workflow.TransitionNotAllowed as exc:
        status, error = 409, str(exc)
    except PermissionDenied as exc:
        status, error = 403, str(exc) or pgettext("desk", "You may not do this.")
    except ValidationError as exc:
        status = 400
        errors = {k: " ".join(str(m) for m in v) for k, v in exc.message_dict.items()} \
            if hasattr(exc, "error_dict") else {"": " ".join(exc.messages)}
        error = pgettext("desk", "Check the form: %(fields)s") % {"fields": "; ".join(
            (f"{_field_label(k)}: {v}" if k else v) for k, v in errors.items())}
    panel = _panel_context(request, case.pk, message=message, error=error, errors=errors, posted=posted)
    if not _is_htmx(request):
        if status == 200:
            return redirect(f"{reverse('desk')}?case={case.pk}")
        return _desk_page(request, panel=panel, status=status)
    response = render(request, "frontend/desk/_case.html", {"panel": panel}, status=status)
    response["HX-Trigger"] = "desk-changed"
    return response


def _field_label(key: str) -> str:
    return {"reason": pgettext("desk", "Reason"), "photos": pgettext("desk", "Photos"),
            "amount_minutes": pgettext("desk", "Working hours asked for"), "hours": pgettext("desk", "Working hours asked for"),
            "assignee": pgettext("desk", "Member"), "version": pgettext("desk", "Version")}.get(key, key)


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
        drill = {"metric": metric, "week": week, "start": start, "end": end - dt.timedelta(days=1),
                 "cases": unit_desk.cases_behind(request.user, metric=metric, start=start, end=end)}
    return render(request, "frontend/desk/figures.html", {
        "figures": figures, "drill": drill, "drills": unit_desk.DRILL, "unit": request.user.organisation,
        "metrics_url": f"{reverse('metrics-page')}?level=unit",
    })
