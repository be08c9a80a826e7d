from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _

from atlas.core.admin import RulesPermissionMixin

from .admin_base import AtlasGeoAdmin
from .compose_view import compose_view, mapping_csv_view
from .imports.indicator_views import indicator_import_view
from .imports.views import area_import_view
from .models import Area, Indicator, Layer


@admin.register(Layer)
class LayerAdmin(AtlasGeoAdmin):
    list_display = ["name", "slug", "level", "parent", "valid_from", "valid_until", "area_count"]
    list_filter = ["level"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description=_("areas"))
    def area_count(self, obj):
        return obj.areas.count()

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(lambda request: area_import_view(self, request)),
                name="planning_areas_layer_import",
            ),
            path(
                "compose/",
                self.admin_site.admin_view(lambda request: compose_view(self, request)),
                name="planning_areas_layer_compose",
            ),
            path(
                "<slug:slug>/mapping.csv",
                self.admin_site.admin_view(
                    lambda request, slug: mapping_csv_view(self, request, slug)
                ),
                name="planning_areas_layer_mapping",
            ),
            *super().get_urls(),
        ]


@admin.register(Area)
class AreaAdmin(AtlasGeoAdmin):
    list_display = ["code", "name", "layer", "parent", "population"]
    list_filter = ["layer"]
    list_select_related = ["layer", "parent"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]

    def get_queryset(self, request):
        # Only the change form needs the (large) polygons; lists and autocomplete do not.
        qs = super().get_queryset(request)
        match = request.resolver_match
        if not (match and match.url_name.endswith(("_change", "_history", "_simple_history"))):
            qs = qs.defer("geometry")
        return qs


@admin.register(Indicator)
class IndicatorAdmin(RulesPermissionMixin, admin.ModelAdmin):
    """Indicators are described here; their values come by ``import_indicators``."""

    list_display = ["name", "slug", "unit", "aggregation", "polarity", "reference_date"]
    list_filter = ["aggregation", "polarity"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["weight", "numerator", "denominator"]
    prepopulated_fields = {"slug": ["name"]}

    def get_urls(self):
        view = self.admin_site.admin_view(lambda request: indicator_import_view(self, request))
        return [
            path("import/", view, name="planning_areas_indicator_import"),
            *super().get_urls(),
        ]
