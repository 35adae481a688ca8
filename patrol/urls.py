from django.urls import path

from patrol import views

urlpatterns = [
    path("patrol/points", views.points, name="patrol-points"),
    path("patrol/coverage", views.coverage_view, name="patrol-coverage"),
    path("patrol/unpatrolled", views.unpatrolled_view, name="patrol-unpatrolled"),
    path("patrol/track", views.track_view, name="patrol-track"),
    # Included after cases.urls: "cases/<int:pk>" never matches these two.
    path("cases/nearby", views.nearby, name="case-nearby"),
    path("cases/mine", views.mine, name="case-mine"),
]
