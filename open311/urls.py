"""GeoReport v2 under /open311/v2/: every resource in .xml and .json (the extension picks)."""

from django.urls import path, re_path

from open311 import views

FMT = r"\.(?P<fmt>\w+)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.service_list, name="open311-services"),
    re_path(r"^services/(?P<code>[^/]+)" + FMT, views.service_definition, name="open311-service"),
    re_path(r"^requests" + FMT, views.service_requests, name="open311-requests"),
    re_path(r"^requests/(?P<request_id>[^/]+)" + FMT, views.request_detail, name="open311-request"),
    re_path(r"^tokens/(?P<token>[^/]+)" + FMT, views.token_detail, name="open311-token"),
    path("photos/<int:pk>.jpg", views.photo, name="open311-photo"),
    # Anything else is a 404 in the spec's error format.
    re_path(r"^(?P<path>.*)" + FMT, views.not_found, name="open311-not-found"),
    re_path(r"^(?P<path>.*)$", views.not_found_without_format),
]
