from django.urls import path

from campaigns import views

urlpatterns = [
    path("campaigns/construction/", views.construction, name="campaign-construction"),
    path("campaigns/construction/entries/", views.construction_entries, name="campaign-entries"),
    path("campaigns/dumping/", views.dumping, name="campaign-dumping"),
]
