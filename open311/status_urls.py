"""The public status page of a request: /status/<case number>."""

from django.urls import path

from open311 import views

urlpatterns = [
    path("<str:number>", views.status_page, name="case-status"),
]
