"""Admin base classes with map widgets: they open on the atlas's own extent."""

from __future__ import annotations

from django import forms
from leaflet.admin import LeafletAdminWidget, LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from atlas.core.admin import RulesPermissionMixin

from .map_view import map_view


class MapWidget(LeafletAdminWidget):
    """django-leaflet's admin widget with Leaflet's image folder set before maps are drawn
    (see the script)."""

    @property
    def media(self):
        return super().media + forms.Media(js=["atlas/js/leaflet-image-path.js"])


class MapViewMixin(LeafletGeoAdminMixin):
    """django-leaflet map widgets that open on the atlas's own extent (as the public map),
    not on a centre fixed in the settings."""

    widget = MapWidget
    # The admin's map widget is about this large on a laptop screen.
    widget_size_px = (600, 400)

    @property
    def settings_overrides(self) -> dict:
        view = map_view()
        zoom = view.zoom_to_fit(*self.widget_size_px)
        return {"DEFAULT_CENTER": view.center, "DEFAULT_ZOOM": zoom}


class AtlasGeoAdmin(MapViewMixin, RulesPermissionMixin, SimpleHistoryAdmin):
    """Admin with map widgets, history and rules permissions (planning areas)."""

    def has_add_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.add_{self.opts.model_name}")
