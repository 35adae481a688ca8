from django.urls import path

from metrics import views

urlpatterns = [
    path("metrics/", views.metrics, name="metrics"),
    path("metrics/cases", views.metric_cases, name="metric-cases"),
]
