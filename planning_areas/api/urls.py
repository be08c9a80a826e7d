"""Routes of the planning-area API, included by ``atlas/api_urls.py``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views
from .indicators import IndicatorViewSet

router = SimpleRouter()
router.register("layers", views.LayerViewSet, basename="layer")
router.register("areas", views.AreaViewSet, basename="area")
router.register("indicators", IndicatorViewSet, basename="indicator")

urlpatterns = [
    path(
        "layers/<slug:slug>/areas/<area_code:code>/",
        views.LayerAreaDetailView.as_view(),
        name="layer-area-detail",
    ),
    *router.urls,
]
