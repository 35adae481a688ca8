from django.urls import path

from frontend import api as console_api
from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    # The mobile app (docs/mobile.md). Every screen is a page shell the service worker caches.
    path("m/", views.mobile_page, {"page": "home"}, name="m-home"),
    path("m/report", views.mobile_page, {"page": "report"}, name="m-report"),
    path("m/tasks", views.mobile_page, {"page": "tasks"}, name="m-tasks"),
    path("m/task", views.mobile_page, {"page": "task"}, name="m-task"),
    path("m/mine", views.mobile_page, {"page": "mine"}, name="m-mine"),
    path("m/alerts", views.mobile_page, {"page": "alerts"}, name="m-alerts"),
    path("m/patrol", views.mobile_page, {"page": "patrol"}, name="m-patrol"),
    path("m/queue", views.mobile_page, {"page": "queue"}, name="m-queue"),
    path("m/session", views.mobile_session, name="m-session"),
    path("m/manifest.webmanifest", views.mobile_manifest, name="m-manifest"),
    path("m/sw.js", views.mobile_service_worker, name="m-sw"),
    # The supervision-centre console (docs/console.md) and its small JSON API (frontend/api.py).
    path("console/", views.console, name="console"),
    path("console/queues", views.console_queues, name="console-queues-page"),
    path("console/search", views.console_search, name="console-search"),
    path("console/case", views.console_case, name="console-find"),
    path("console/case/<int:pk>", views.console_case, name="console-case"),
    path("console/case/<int:pk>/act", views.console_act, name="console-act"),
    path("console/alerts", views.console_alerts, name="console-alerts"),
    # The handling unit's desk (docs/units.md): server-rendered partials swapped by htmx.
    path("desk/", views.desk, name="desk"),
    path("desk/queues", views.desk_queues, name="desk-queues"),
    path("desk/case/<int:pk>", views.desk_case, name="desk-case"),
    path("desk/case/<int:pk>/act", views.desk_act, name="desk-act"),
    path("desk/figures", views.desk_figures, name="desk-figures"),
    path("api/units/", console_api.units, name="console-units"),
    path("api/console/queues", console_api.queues, name="console-queues"),
    path("api/console/grid-counts", console_api.grid_counts, name="console-grid-counts"),
    path(
        "api/console/case/<int:pk>/suggestion",
        console_api.case_suggestion,
        name="console-suggestion",
    ),
]
