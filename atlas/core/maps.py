"""The tile layer every map draws: one configuration for pages, the lookup and analysis.

Read by JavaScript as ``config.tiles`` (``url``, ``attribution``, ``maxZoom``) from a
``json_script`` block; the admin's map widgets get it through django-leaflet's per-widget
``settings_overrides`` (planning_areas.admin_base.MapViewMixin).
"""

from __future__ import annotations

from django.conf import settings

MAX_ZOOM = 19


def tile_config() -> dict:
    """URL template, attribution and highest zoom of the tile server (settings)."""
    return {
        "url": settings.ATLAS_TILE_URL,
        "attribution": settings.ATLAS_TILE_ATTRIBUTION,
        "maxZoom": MAX_ZOOM,
    }
