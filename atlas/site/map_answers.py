"""The map's answers (tiles and the count), cached per filter set, data version and date.

One place builds the cache keys and the answers, so that the views and the warm-up
(``atlas.site.warm_up``) read and write the same entries: a tile the warm-up built is the
one the first visitor's request finds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.http import QueryDict

from . import queries
from .filtering import api_parameters, filter_services
from .marker_filter import MarkerFilter, cached_marker_filter
from .tiles import Tile, data_extent, tile_text

POINTS_CACHE_SECONDS = 60
# Map answers without open_now change only with the data version and the date, both in the
# cache key: they stay cached longer (a cold tile over a city of a million services takes
# seconds).
MAP_CACHE_SECONDS = 6 * 3600

Cached = Callable[[str, Callable[[], str]], str]
Build = Callable[[MarkerFilter, Cached], str]


class InvalidFilters(Exception):
    """The filters of a map request are not valid; ``errors`` names each bad one."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class MapAnswers:
    """The cached answers for one filter set (``params``, the request's query string) in
    the current data version: MAP_CACHE_SECONDS, with ``open_now`` POINTS_CACHE_SECONDS
    (how stale it can be)."""

    def __init__(self, params: QueryDict):
        self.params = params
        query = api_parameters(params).urlencode()
        # The filter set and the data version (with the date) every key of it ends with.
        self._digest = hashlib.sha256(f"{queries.points_version()}?{query}".encode()).hexdigest()
        self.seconds = POINTS_CACHE_SECONDS if "open_now" in params else MAP_CACHE_SECONDS
        self.cache = caches[settings.MAP_CACHE]
        self.built: list[str] = []  # the parts this object built (not found in the cache)

    def key(self, part: str) -> str:
        return f"atlas:{part}:{self._digest}"

    def cached(self, part: str, build: Callable[[], str]) -> str:
        key = self.key(part)
        text = self.cache.get(key)
        if text is None:
            text = build()
            self.cache.set(key, text, self.seconds)
            self.built.append(part)
        return text

    def answer(self, kind: str, build: Build) -> str:
        """The JSON text of ``kind`` for these filters: ``build(kept, cached)`` makes it
        from the markers the filters keep (their ids read once per filter set, see
        ``marker_filter``) and may cache parts under their own kind with ``cached``.
        Raises InvalidFilters for bad filters."""
        body = self.cache.get(self.key(kind))
        if body is not None:
            return body
        result = filter_services(self.params)
        if not result.is_valid:
            raise InvalidFilters(result.errors)
        kept = cached_marker_filter(result.narrowed_services, result.locations, self.cached)
        return self.cached(kind, lambda: build(kept, self.cached))


def tile_kind(tile: Tile) -> str:
    return f"tile:{tile.z}/{tile.x}/{tile.y}"


def tile_build(tile: Tile) -> Build:
    """How ``tile``'s answer is built: its parts (child tiles below SQL_FROM_ZOOM, the
    extent of all markers) are cached on their own."""

    def build(kept: MarkerFilter, cached: Cached) -> str:
        # In shares of the world (before: degrees, under the key "extent").
        extent = cached("marker-extent", lambda: json.dumps(data_extent()))
        return tile_text(
            tile,
            kept,
            json.loads(extent),
            lambda part, build_part: (
                build_part() if part == tile else cached(tile_kind(part), build_part)
            ),
        )

    return build


def count_build(kept: MarkerFilter, cached: Cached) -> str:  # noqa: ARG001 - a Build
    return f'{{"count": {int(queries.map_count(kept))}}}'
