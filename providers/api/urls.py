"""Routes of the provider API, included by ``atlas/api_urls.py``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("locations", views.LocationViewSet, basename="location")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("target-groups", views.TargetGroupViewSet, basename="target-group")

urlpatterns = [
    # Downloads of the filtered list: same parameters as services/.
    path(
        "services/export.csv",
        views.ServiceViewSet.as_view({"get": "export_csv"}),
        name="service-export-csv",
    ),
    path(
        "services/export.geojson",
        views.ServiceViewSet.as_view({"get": "export_geojson"}),
        name="service-export-geojson",
    ),
    *router.urls,
]
