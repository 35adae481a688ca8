from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/unread", views.unread, name="alerts-unread"),
    path("alerts/read", views.mark_read, name="alerts-read"),
]
