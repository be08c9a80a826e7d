"""The public site: map, list, service and area pages, and the map's data."""

from django.urls import path, re_path

from . import views

app_name = "atlas"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("embed/", views.embed, name="embed"),
    path("liste/", views.service_list, name="list"),
    path("angebote/<int:pk>/", views.service_detail, name="service_detail"),
    path("angebote/<int:pk>/popup/", views.service_popup, name="service_popup"),
    path("gebiete/<slug:layer_slug>/<area_code:code>/", views.area_detail, name="area_detail"),
    path("karte/anzahl.json", views.map_count, name="map_count"),
    # At most 2 and 7 digits: larger numbers are no tile (404) and never reach int().
    re_path(
        r"^karte/kacheln/(?P<z>[0-9]{1,2})/(?P<x>[0-9]{1,7})/(?P<y>[0-9]{1,7})\.json$",
        views.map_tile,
        name="map_tile",
    ),
    path("karte/gebiete/<slug:layer_slug>.json", views.area_outlines, name="area_outlines"),
    path("healthz", views.healthz, name="healthz"),
]
