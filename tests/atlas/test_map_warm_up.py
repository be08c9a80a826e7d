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
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.management.commands import warm_map
from atlas.management.commands.warm_map import LOCK
from atlas.site.tiles import SQL_FROM_ZOOM
from atlas.site.warm_up import (
    BUILT_KEYS,
    LARGEST,
    SMALLEST,
    first_view_tiles,
    opening_zoom,
    warm_first_view,
    warmed_filter_sets,
)
from planning_areas.map_view import MapView
from providers.models import Category, ServiceMarker
from tests.factories import CategoryFactory, LocationFactory, ServiceFactory
from tests.sessions import another_session

pytestmark = pytest.mark.django_db

BERLIN = (13.088346, 52.338242, 13.761159, 52.675508)
MARKERS = ServiceMarker._meta.db_table


@pytest.fixture
def atlas(settings):
    """Services spread over a Berlin-sized atlas, every third a Kita and some in a child
    category of it, and its bounds as the map's view."""
    settings.ATLAS_MAP_BOUNDS = list(BERLIN)
    settings.ATLAS_MAP_MIN_ZOOM = 9
    kita = CategoryFactory(slug="kita", name="Kita")
    waldkita = CategoryFactory(slug="waldkita", name="Waldkita", parent=kita)
    west, south, east, north = BERLIN
    for i in range(40):
        point = Point(
            west + (east - west) * (i % 8 + 0.5) / 8, south + (north - south) * (i // 8 + 0.5) / 5
        )
        categories = [] if i % 3 else [waldkita if i % 2 else kita]
        ServiceFactory(locations=[LocationFactory(point=point)], categories=categories)
    caches[settings.MAP_CACHE].clear()


@pytest.fixture
def unthrottled(settings):
    """Several hundred tile requests from one address."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": None, "anon": None},
    }


@pytest.fixture
def roomy_map_cache(settings, unthrottled):
    """Room for several versions' warm-ups, as the deployed cache has (20,000 entries; the
    tests' in-memory one keeps 300 and would evict what the test then reads)."""
    settings.CACHES = {
        **settings.CACHES,
        settings.MAP_CACHE: {
            **settings.CACHES[settings.MAP_CACHE],
            "OPTIONS": {"MAX_ENTRIES": 20000},
        },
    }


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


def test_each_category_alone_is_warmed_as_the_filter_drawer_asks_for_it(client, atlas, unthrottled):
    """A category's first view is read without SQL after the warm-up, with the answers its
    own requests would build (a parent category includes its children's services)."""
    sets = warmed_filter_sets()
    assert [s.urlencode() for s in sets] == [""] + [
        f"category={slug}" for slug in Category.objects.values_list("slug", flat=True)
    ]
    for filters in sets:
        warm_first_view(filters)
    tiles = first_view_tiles(MapView(BERLIN), 9)
    counts = {}
    for slug in ("kita", "waldkita"):
        # As the drawer's check box sends it, also with an empty repeat and page state.
        for query in (f"category={slug}", f"category={slug}&category=", f"page=2&category={slug}"):
            with CaptureQueriesContext(connection) as queries:
                warmed = [client.get(f"{tile_url(t)}?{query}") for t in tiles]
                count = client.get(f"{reverse('atlas:map_count')}?{query}")
            assert marker_statements(queries) == 0, query
        counts[slug] = json.loads(count.content)["count"]
        caches[settings.MAP_CACHE].clear()
        fresh = [client.get(f"{tile_url(t)}?category={slug}") for t in tiles]
        assert [r.content for r in fresh] == [r.content for r in warmed], slug
        for filters in sets:
            warm_first_view(filters)
    assert counts == {"kita": 14, "waldkita": 7}


def test_other_filter_sets_are_left_to_their_requests(client, atlas):
    for filters in warmed_filter_sets():
        warm_first_view(filters)
    tile = first_view_tiles(MapView(BERLIN), 9)[-1]
    for query in ("free=true", "category=kita,waldkita", "q=Kita"):
        with CaptureQueriesContext(connection) as queries:
            client.get(f"{tile_url(tile)}?{query}")
        assert marker_statements(queries) > 0, query


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
    # The unfiltered map and each of the two categories.
    assert re.search(
        r"\(3 filter sets: none and each category alone\), \d+ tiles and the count each: "
        r"\d+ cache entries built",
        out.getvalue(),
    )
    assert "  unfiltered: " in out.getvalue()
    assert "  ?category=waldkita: " in out.getvalue()
    out = StringIO()
    call_command("warm_map", stdout=out)
    assert "all of it was cached already" in out.getvalue()
    assert "unfiltered" not in out.getvalue()  # nothing built: one line
    ServiceFactory(locations=[LocationFactory(point=Point(13.4, 52.5))])
    out = StringIO()
    call_command("warm_map", stdout=out, verbosity=0)
    assert out.getvalue() == ""  # quiet, and built all the same
    out = StringIO()
    call_command("warm_map", stdout=out)
    assert "all of it was cached already" in out.getvalue()


def test_a_second_run_while_one_builds_stops_at_once(atlas):
    """Cron and a deployment's hook may start it while a long run builds: one at a time."""
    other = another_session()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [LOCK])
        out = StringIO()
        with CaptureQueriesContext(connection) as queries:
            call_command("warm_map", stdout=out)
        assert out.getvalue() == "Another warm_map is running: nothing done.\n"
        assert marker_statements(queries) == 0
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [LOCK])
    finally:
        other.close()
    out = StringIO()
    call_command("warm_map", stdout=out)
    assert "cache entries built" in out.getvalue()
    # The lock is released after a run: the other session takes it at once.
    other = another_session()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [LOCK])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


def test_a_warm_up_for_a_new_data_version_deletes_what_the_last_one_built(atlas, roomy_map_cache):
    """The old version's entries would otherwise stay for hours and, in the database
    cache, push current ones out (``forget_older_warm_ups``)."""
    cache = caches[settings.MAP_CACHE]
    call_command("warm_map", stdout=StringIO())
    first_version, first_keys = cache.get(BUILT_KEYS)
    assert len(first_keys) > 3 * 70  # three filter sets' tiles, parts and counts
    assert len(cache.get_many(first_keys)) == len(first_keys)
    # Nothing new: nothing deleted, the list stays.
    out = StringIO()
    call_command("warm_map", stdout=out)
    assert "deleted" not in out.getvalue()
    assert cache.get(BUILT_KEYS) == (first_version, first_keys)
    # An entry of the current version that went missing is built again and added.
    cache.delete(first_keys[0])
    call_command("warm_map", stdout=StringIO())
    assert cache.get(BUILT_KEYS) == (first_version, first_keys)  # once, not twice
    assert len(cache.get_many(first_keys)) == len(first_keys)
    # A change to the data: a new version, the old one's entries go.
    ServiceFactory(locations=[LocationFactory(point=Point(13.4, 52.5))])
    out = StringIO()
    call_command("warm_map", stdout=out)
    assert f"{len(first_keys)} of an older data version deleted" in out.getvalue()
    second_version, second_keys = cache.get(BUILT_KEYS)
    assert second_version != first_version
    assert not set(second_keys) & set(first_keys)
    assert cache.get_many(first_keys) == {}
    assert len(cache.get_many(second_keys)) == len(second_keys)


def test_hostile_slugs_are_warmed_as_their_requests_ask_for_them(client, atlas, roomy_map_cache):
    """Slugs written past the admin's validation (bulk SQL): with a comma the filters split
    on, with markup, at the column's full length. The run completes, and each view is then
    read without SQL, with what its own request builds."""
    hostile = ["kita,waldkita", "<script>alert(1)</script>", "ä" * 80]
    Category.objects.bulk_create(
        [Category(slug=slug, name=f"Feindlich {i}") for i, slug in enumerate(hostile)]
    )
    out, err = StringIO(), StringIO()
    call_command("warm_map", stdout=out, stderr=err)
    assert "(6 filter sets: none and each category alone)" in out.getvalue()
    assert err.getvalue() == ""
    tile = first_view_tiles(MapView(BERLIN), 9)[0]
    with CaptureQueriesContext(connection) as queries:
        warmed = [client.get(tile_url(tile), {"category": slug}) for slug in hostile]
    assert marker_statements(queries) == 0
    assert [r.status_code for r in warmed] == [200, 200, 200]
    caches[settings.MAP_CACHE].clear()
    fresh = [client.get(tile_url(tile), {"category": slug}) for slug in hostile]
    assert [r.content for r in fresh] == [r.content for r in warmed]


def test_a_category_deleted_during_the_run_is_skipped_and_the_rest_built(
    client, atlas, monkeypatch
):
    """Its filter set is refused (an unknown category): reported, and the others built."""
    gone = QueryDict(mutable=True)
    gone["category"] = "geloescht"
    listed = [*warmed_filter_sets(), gone]
    monkeypatch.setattr(warm_map, "warmed_filter_sets", lambda: listed)
    out, err = StringIO(), StringIO()
    call_command("warm_map", stdout=out, stderr=err)
    assert err.getvalue().startswith("  ?category=geloescht: skipped, {'category': [")
    assert "(4 filter sets: none and each category alone)" in out.getvalue()
    tile = first_view_tiles(MapView(BERLIN), 9)[0]
    with CaptureQueriesContext(connection) as queries:
        for query in ("", "category=kita", "category=waldkita"):
            assert client.get(f"{tile_url(tile)}?{query}").status_code == 200
    assert marker_statements(queries) == 0
    assert client.get(f"{tile_url(tile)}?category=geloescht").status_code == 400
