"""Everything under /api/v1/: each app contributes its routes; schema and docs are here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from atlas.lookup.api import LookupView
from atlas.monitoring.api import CoverageView
from planning_areas.api.addresses import AddressSearchView

from .api_root import ApiRootView

urlpatterns = [
    path("", ApiRootView.as_view(), name="root"),
    path("addresses/", AddressSearchView.as_view(), name="address-search"),
    path("lookup/", LookupView.as_view(), name="lookup"),
    path("coverage/", CoverageView.as_view(), name="coverage"),
    path("", include("providers.api.urls")),
    path("", include("planning_areas.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up code as a script of its own: the CSP allows
    # no inline script. ReDoc was removed: its bundle loads a logo from cdn.redoc.ly and its
    # page Google Fonts, and one documentation page is enough.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
