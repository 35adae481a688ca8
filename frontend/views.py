"""Page shells only; data comes from the JSON API."""

from django.shortcuts import render


def home(request):
    return render(request, "frontend/home.html")
