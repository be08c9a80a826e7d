"""``manage.py warm_map``: the map's first view built ahead of its first visitor, into the
entries the visitor's requests read (``atlas.site.warm_up``)."""

import json
import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.site.tiles import SQL_FROM_ZOOM
from atlas.site.warm_up import LARGEST, SMALLEST, first_view_tiles, opening_zoom, warm_first_view
from planning_areas.map_view import MapView
from providers.models import ServiceMarker
from tests.factories import LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db

BERLIN = (13.088346, 52.338242, 13.761159, 52.675508)
MARKERS = ServiceMarker._meta.db_table


@pytest.fixture
def atlas(settings):
    """Services spread over a Berlin-sized atlas, and its bounds as the map's view."""
    settings.ATLAS_MAP_BOUNDS = list(BERLIN)
    settings.ATLAS_MAP_MIN_ZOOM = 9
    west, south, east, north = BERLIN
    for i in range(40):
        point = Point(
            west + (east - west) * (i % 8 + 0.5) / 8, south + (north - south) * (i // 8 + 0.5) / 5
        )
        ServiceFactory(locations=[LocationFactory(point=point)])
    caches[settings.MAP_CACHE].clear()


def tile_url(tile) -> str:
    return reverse("atlas:map_tile", args=[tile.z, tile.x, tile.y])


def marker_statements(queries) -> int:
    return sum(MARKERS in q["sql"] for q in queries.captured_queries)


def test_the_warmed_tiles_and_count_are_what_a_first_visitor_then_reads_without_sql(client, atlas):
    tiles = first_view_tiles(MapView(BERLIN), 9)
    result = warm_first_view()
    assert result.tiles == len(tiles)
    assert result.built > 0
    with CaptureQueriesContext(connection) as queries:
        warmed = [client.get(tile_url(t)) for t in tiles]
        count = client.get(reverse("atlas:map_count"))
    assert all(r.status_code == 200 for r in warmed)
    assert marker_statements(queries) == 0
    assert json.loads(count.content) == {"count": 40}
    # The same answers as built by the requests themselves.
    caches[settings.MAP_CACHE].clear()
    with CaptureQueriesContext(connection) as queries:
        fresh = [client.get(tile_url(t)) for t in tiles]
    assert marker_statements(queries) > 0
    assert [r.content for r in fresh] == [r.content for r in warmed]
    shown = sum(
        len(body["markers"]) + sum(c[2] for c in body["clusters"])
        for r, t in zip(fresh, tiles, strict=True)
        if t.z == min(t.z for t in tiles)
        for body in [json.loads(r.content)]
    )
    assert shown == 40  # the lowest zoom's tiles cover every service


def test_a_second_run_builds_nothing_until_the_data_changes(atlas):
    assert warm_first_view().built > 0
    with CaptureQueriesContext(connection) as queries:
        again = warm_first_view()
    assert again.built == 0
    assert marker_statements(queries) == 0
    ServiceFactory(locations=[LocationFactory(point=Point(13.4, 52.5))])
    assert warm_first_view().built > 0


def test_filtered_views_are_left_to_their_requests(client, atlas):
    warm_first_view()
    tile = first_view_tiles(MapView(BERLIN), 9)[-1]
    with CaptureQueriesContext(connection) as queries:
        client.get(tile_url(tile) + "?free=true")
    assert marker_statements(queries) > 0


def test_every_zoom_a_screen_opens_at_is_warmed_with_the_largest_screens_tiles():
    view = MapView(BERLIN)
    tiles = first_view_tiles(view, 9)
    low, high = opening_zoom(view, SMALLEST, 9), opening_zoom(view, LARGEST, 9)
    assert low < high  # a phone and a large screen open at different zooms
    assert sorted({t.z for t in tiles}) == list(range(low - 1, high))
    for z in range(low - 1, high):
        level = [t for t in tiles if t.z == z]
        columns, rows = {t.x for t in level}, {t.y for t in level}
        # A rectangle of 512 px tiles around the view of 2560 x 1600 px, and no more.
        assert len(level) == len(columns) * len(rows)
        assert 2560 / 512 <= len(columns) <= 2560 / 512 + 2
        assert 1600 / 512 <= len(rows) <= 1600 / 512 + 2
    assert len(tiles) == len(set(tiles))


def test_the_lowest_zoom_setting_is_respected():
    # A village: every screen fits it at a street zoom; the setting caps nothing below.
    village = MapView((13.40, 52.50, 13.41, 52.505))
    assert {t.z for t in first_view_tiles(village, 9)} == set(
        range(opening_zoom(village, SMALLEST, 9) - 1, opening_zoom(village, LARGEST, 9))
    )
    # A Land at min zoom 9: every screen opens at 9 (tiles of 8).
    land = MapView((5.87, 47.27, 15.04, 55.06))
    assert {t.z for t in first_view_tiles(land, 9)} == {8}
    assert all(t.z < SQL_FROM_ZOOM for t in first_view_tiles(land, 9))


def test_an_empty_atlas_warms_without_error(settings):
    settings.ATLAS_MAP_BOUNDS = list(BERLIN)
    caches[settings.MAP_CACHE].clear()
    result = warm_first_view()
    assert result.tiles > 0
    assert result.built >= 1  # the count, and the extent that says every tile is empty


def test_the_command_says_what_it_did(atlas):
    out = StringIO()
    call_command("warm_map", stdout=out)
    assert re.search(r"tiles and the count: \d+ cache entries built", out.getvalue())
    out = StringIO()
    call_command("warm_map", stdout=out)
    assert "all of it was cached already" in out.getvalue()
