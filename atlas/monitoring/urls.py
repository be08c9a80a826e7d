"""Routes of the monitoring pages, included by ``atlas/urls.py``."""

from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [path("analyse/", views.analysis_page, name="analysis")]
