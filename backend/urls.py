from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend.monitoring import metrics_view
from people import views as people_views

urlpatterns = [
    # Browsers ask for /favicon.ico on pages without an icon link (the admin's): the app icon.
    path(
        "favicon.ico",
        lambda request: HttpResponsePermanentRedirect(static("frontend/mobile/icons/icon-192.png")),
        name="favicon",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The pages' labels in the active language, from the same catalogue as the server's (gettext() in JS).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/auth/token", people_views.obtain_token, name="api-token"),
    path("api/auth/token/renew", people_views.renew_token, name="api-token-renew"),
    path("api/auth/logout", people_views.logout, name="api-logout"),
    path("api/auth/tokens", people_views.token_list, name="api-tokens"),
    path("api/auth/tokens/<int:pk>", people_views.token_revoke, name="api-token-revoke"),
    path("api/me", people_views.me, name="api-me"),
    path("api/health", people_views.health, name="api-health"),
    path("ops/metrics", metrics_view, name="ops-metrics"),
    path("api/", include("grids.urls")),
    path("api/", include("cases.urls")),
    path("api/", include("patrol.urls")),
    path("api/", include("alerts.urls")),
    path("api/", include("metrics.urls")),
    path("api/", include("campaigns.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script as a file: the Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("open311/v2/", include("open311.urls")),
    path("status/", include("open311.status_urls")),
    path("", include("reports.urls")),
    path("", include("frontend.urls")),
]
