from django.urls import path, re_path

from reports import views

urlpatterns = [
    path("api/reports/", views.reports, name="api-reports"),
    path("api/reports/<int:pk>", views.report_detail, name="api-report"),
    path("api/reports/<int:pk>/publish", views.report_publish, name="api-report-publish"),
    re_path(
        r"^api/reports/(?P<kind>[a-z]+)/(?P<period>[0-9A-Za-z-]+)\.(?P<fmt>html|pdf|xlsx)$",
        views.report_file,
        name="report-file",
    ),
    path("reports/", views.reports_page, name="reports-page"),
    path("reports/<int:pk>/", views.report_review, name="report-review"),
    path("metrics/", views.metrics_page, name="metrics-page"),
]
