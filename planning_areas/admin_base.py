"""Admin base classes with map widgets: they open on the atlas's own extent."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletAdminWidget, LeafletGeoAdminMixin
from leaflet.templatetags.leaflet_tags import leaflet_map
from simple_history.admin import SimpleHistoryAdmin

from atlas.core.admin import RulesPermissionMixin
from atlas.core.maps import tile_config

from .map_view import map_view


class MapWidget(LeafletAdminWidget):
    """django-leaflet's admin widget started by a static script from json_script data.

    django-leaflet's own templates start each map with inline scripts, which the CSP
    (script-src 'self') blocks unless every admin page carries a per-request nonce. The map
    options still come from django-leaflet (its ``leaflet_map`` tag builds them), so
    LEAFLET_CONFIG and ``settings_overrides`` work as documented there.
    """

    @property
    def media(self):
        return super().media + forms.Media(js=["planning_areas/js/map-widget.js"])

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if context.get("target_map"):
            # Inline formsets drawing into another field's map: not used by the atlas, and the
            # static script does not implement it.
            raise NotImplementedError("MapWidget does not support target_map")
        options = leaflet_map(
            context["id_map"],
            loadevent=context["loadevent"],
            settings_overrides=context["settings_overrides"] or {},
        )
        context["map_widget_id"] = f"{context['id_css']}-map-widget"
        context["map_widget"] = {
            "fieldid": context["id_css"],
            "modifiable": context["modifiable"],
            "geom_type": context["widget"]["attrs"]["geom_name"],
            "srid": context["widget"]["attrs"]["map_srid"],
            "djoptions": json.loads(options["djoptions"]),
            "loadevents": json.loads(options["loadevents"]),
        }
        return context


class MapViewMixin(LeafletGeoAdminMixin):
    """django-leaflet map widgets that open on the atlas's own extent (as the public map),
    not on a centre fixed in the settings, draw the tiles of ``tile_config()`` (as every
    other map) and need no inline script."""

    widget = MapWidget
    map_template = "admin/planning_areas/map_widget.html"
    # The admin's map widget is about this large on a laptop screen.
    widget_size_px = (600, 400)

    @property
    def settings_overrides(self) -> dict:
        view = map_view()
        zoom = view.zoom_to_fit(*self.widget_size_px)
        tiles = tile_config()
        return {
            "DEFAULT_CENTER": view.center,
            "DEFAULT_ZOOM": zoom,
            "TILES": [
                (
                    _("Map"),
                    tiles["url"],
                    {"attribution": tiles["attribution"], "maxZoom": tiles["maxZoom"]},
                )
            ],
            "MAX_ZOOM": tiles["maxZoom"],
        }


class AtlasGeoAdmin(MapViewMixin, RulesPermissionMixin, SimpleHistoryAdmin):
    """Admin with map widgets, history and rules permissions (planning areas)."""

    def has_add_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.add_{self.opts.model_name}")
