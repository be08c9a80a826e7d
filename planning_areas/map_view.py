"""Where every map opens: the extent of the current planning-area layers, or a setting.

No city is written into the code: an atlas shows the municipality whose areas it holds.
The extent is computed by PostGIS (``ST_Extent``) and cached per data version; the version
changes when areas are added or removed, when the day changes (layers become current or
expire), when an area or layer is saved or deleted and when an import or composition sends
``signals.areas_changed`` in this process. Geometries changed in place by another process
are picked up after ``CACHE_SECONDS`` at the latest (with a shared cache at once, as the
signals bump the version there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from .models import Area, Layer

# Germany, for an atlas that holds no areas yet.
GERMANY = (5.87, 47.27, 15.04, 55.06)
CACHE_SECONDS = 300
_GENERATION_KEY = "planning_areas:map-extent-generation"
_EXTENT_KEY = "planning_areas:map-extent:{version}"
# Web Mercator tiles are 256 px wide at zoom 0 for the whole 360° of longitude.
_TILE_SIZE = 256


@dataclass(frozen=True)
class MapView:
    """A map's initial view as WGS84 bounds (minlon, minlat, maxlon, maxlat)."""

    bounds: tuple[float, float, float, float]

    @property
    def center(self) -> tuple[float, float]:
        """(lat, lon), the order Leaflet takes."""
        minlon, minlat, maxlon, maxlat = self.bounds
        return (round((minlat + maxlat) / 2, 6), round((minlon + maxlon) / 2, 6))

    @property
    def leaflet_bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] for ``map.fitBounds``."""
        minlon, minlat, maxlon, maxlat = self.bounds
        return [[minlat, minlon], [maxlat, maxlon]]

    def zoom_to_fit(self, width_px: int, height_px: int) -> int:
        """The largest whole zoom at which the bounds fit a map of this size (as
        ``fitBounds`` would choose), for widgets that take a centre and a zoom."""
        minlon, minlat, maxlon, maxlat = self.bounds
        lon_fraction = max(maxlon - minlon, 1e-9) / 360
        lat_fraction = max(_mercator_y(maxlat) - _mercator_y(minlat), 1e-9) / (2 * math.pi)
        zoom_x = math.log2(width_px / _TILE_SIZE / lon_fraction)
        zoom_y = math.log2(height_px / _TILE_SIZE / lat_fraction)
        return max(0, min(18, math.floor(min(zoom_x, zoom_y))))


def _mercator_y(lat: float) -> float:
    lat = max(min(lat, 85.0511), -85.0511)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def map_view() -> MapView:
    """The setting ``ATLAS_MAP_BOUNDS`` if given, else the current layers' extent."""
    if settings.ATLAS_MAP_BOUNDS:
        return MapView(tuple(settings.ATLAS_MAP_BOUNDS))
    key = _EXTENT_KEY.format(version=_data_version())
    bounds = cache.get(key)
    if bounds is None:
        bounds = current_layers_extent() or GERMANY
        cache.set(key, bounds, CACHE_SECONDS)
    return MapView(tuple(bounds))


def current_layers_extent() -> tuple[float, float, float, float] | None:
    """The bounding box of all areas on the layers current today (PostGIS ``ST_Extent``)."""
    areas = Area.objects.filter(layer__in=Layer.objects.current())
    extent = areas.aggregate(extent=Extent("geometry"))["extent"]
    if extent is None:
        return None
    return tuple(round(v, 6) for v in extent)


def _data_version() -> str:
    current = Area.objects.filter(layer__in=Layer.objects.current())
    figures = current.aggregate(count=Count("pk"), last=Max("pk"))
    return f"{timezone.localdate()}:{figures['count']}:{figures['last']}:{generation()}"


def generation() -> int:
    """A counter bumped whenever areas or layers are saved or deleted."""
    return cache.get(_GENERATION_KEY, 0)


def invalidate_map_view() -> None:
    """Forget the cached extent (areas or layers changed)."""
    try:
        cache.incr(_GENERATION_KEY)
    except ValueError:  # not set yet (or evicted): any new value gives a new version
        cache.set(_GENERATION_KEY, 1, None)


def forget_map_view(sender, **kwargs) -> None:
    """Receiver (connected in the app config) of saved or deleted areas and layers and of
    ``signals.areas_changed`` (an import or composition finished)."""
    invalidate_map_view()
