from django.urls import path, re_path

from cases import views

urlpatterns = [
    path("cases/", views.cases, name="cases"),
    re_path(r"^cases/export\.(?P<fmt>csv|xlsx)$", views.export, name="case-export"),
    path("cases/<int:pk>", views.case_detail_view, name="case-detail"),
    path("cases/<int:pk>/transition", views.transition_view, name="case-transition"),
    path("photos/<int:pk>/<str:kind>", views.photo_file, name="case-photo"),
    path("categories/", views.categories, name="categories"),
    path("workflow", views.workflow_view, name="workflow"),
]
