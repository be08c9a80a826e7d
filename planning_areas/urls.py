from django.urls import path

from . import views

app_name = "planning_areas"

urlpatterns = [
    path("lookup/", views.lookup_page, name="lookup"),
]
