"""Everything under /api/v1/: each app contributes its routes; schema and docs are here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from planning_areas.api.addresses import AddressSearchView
from planning_areas.api.lookup import LookupView

urlpatterns = [
    path("addresses/", AddressSearchView.as_view(), name="address-search"),
    path("lookup/", LookupView.as_view(), name="lookup"),
    path("", include("providers.api.urls")),
    path("", include("planning_areas.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
