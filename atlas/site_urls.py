"""The public site. The map, list and detail pages are added here."""

from django.urls import path

from . import views

app_name = "atlas"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
]
