from django.urls import path

from grids import views

urlpatterns = [
    path("grids/", views.grid_layer, name="grid-layer"),
    path("grids/locate", views.locate, name="grid-locate"),
    path("grids/<str:code>", views.grid_detail, name="grid-detail"),
    path("areas/", views.area_layer, name="area-layer"),
]
