"""Public pages of the providers app: report a problem, confirm entries by e-mail link."""

from django.urls import path

from . import views

app_name = "providers"

urlpatterns = [
    path("angebote/<int:pk>/problem/", views.report_problem, name="report_problem"),
    path("bestaetigen/<str:token>/", views.confirm_entries, name="confirm_entries"),
]
