from django.urls import path

from . import compare, views

app_name = "lookup"

urlpatterns = [
    path("lookup/", views.lookup_page, name="lookup"),
    path("vergleich/", compare.compare_page, name="compare"),
]
