"""The map's tiles (``/karte/kacheln/z/x/y.json``): clusters and single markers per tile,
checked against a hand-made set of services whose right answers are written here."""

import json
import math

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.site import marker_filter
from atlas.site.marker_filter import MarkerFilter
from atlas.site.tiles import SINGLE_MARKER_ZOOM, SQL_FROM_ZOOM, Tile, tile_json
from providers.models import Service
from tests.factories import CategoryFactory, LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db

# The fixture's tile: zoom 12 over Berlin-Mitte; cells are 32 px of the tile (64 on screen).
Z, X, Y = 12, 2200, 1343


def lnglat(px: float, py: float, z: int = Z, x: int = X, y: int = Y) -> Point:
    """The point at pixel (px, py) of tile z/x/y (inverse web mercator)."""
    n = 2**z
    lng = (x + px / 256) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / 256) / n))))
    return Point(lng, lat)


def tile(z=Z, x=X, y=Y, query=""):
    return reverse("atlas:map_tile", args=[z, x, y]) + (f"?{query}" if query else "")


@pytest.fixture
def places():
    family = CategoryFactory(slug="familie", name="Familie")
    kita = CategoryFactory(slug="kita", name="Kita", parent=family)
    youth = CategoryFactory(slug="jugend", name="Jugend")

    def service(name, px, py, categories, **kwargs):
        location = LocationFactory(point=lnglat(px, py))
        return ServiceFactory(name=name, locations=[location], categories=categories, **kwargs)

    made = {
        # Cell (0, 0): three services, one cluster.
        "a": service("Kita A", 10, 10, [family, kita]),
        "b": service("Kita B", 20, 20, [kita]),
        "c": service("Jugendclub C", 25, 28, [youth]),
        # Cell (3, 3): alone, so a single marker.
        "d": service("Jugendclub D", 100, 100, [youth]),
        # Cell (6, 0): two, one cluster.
        "e": service("Kita E", 200, 10, [kita]),
        "f": service("Familienhaus F", 210, 20, [family], is_free=False),
        # The next tile to the east, exactly on the shared edge: it belongs there.
        "g": service("Kita G", 256, 100, [kita]),
        # Not published, or no longer valid: never on the map.
        "draft": service("Entwurf", 12, 12, [kita], status=Service.Status.DRAFT),
        "old": service("Abgelaufen", 14, 14, [kita], valid_until="2000-01-01"),
    }
    made["categories"] = {"familie": family, "kita": kita, "jugend": youth}
    return made


def test_tile_clusters_cells_of_several_markers_and_sends_lone_markers_alone(client, places):
    response = client.get(tile())
    assert response.status_code == 200
    data = response.json()
    kita, youth, family = (places["categories"][s].pk for s in ("kita", "jugend", "familie"))
    first, second = data["clusters"]
    assert first[2] == 3
    # Colours by each service's most specific category: A counts as Kita, not Familie.
    assert first[4] == [[kita, 2], [youth, 1]]
    south, west, north, east = first[3]
    a, c = places["a"].locations.get().point, places["c"].locations.get().point
    assert (west, north) == (round(a.x, 6), round(a.y, 6))
    assert (east, south) == (round(c.x, 6), round(c.y, 6))
    assert south <= first[0] <= north and west <= first[1] <= east
    assert second[2] == 2
    assert sorted(second[4]) == sorted([[kita, 1], [family, 1]])
    [[pk, lat, lng, category, name]] = data["markers"]
    d = places["d"].locations.get().point
    assert (pk, lat, lng, category, name) == (
        places["d"].pk,
        round(d.y, 6),
        round(d.x, 6),
        youth,
        "Jugendclub D",
    )


def test_a_point_on_a_tile_edge_belongs_to_the_eastern_tile_only(client, places):
    west = client.get(tile()).json()
    east = client.get(tile(x=X + 1)).json()
    assert places["g"].pk not in [m[0] for m in west["markers"]]
    assert [m[0] for m in east["markers"]] == [places["g"].pk]
    assert east["clusters"] == []


# Pixels (at the fixture's zoom, from its tile's corner) of every fixture point.
PIXELS = [(10, 10), (20, 20), (25, 28), (100, 100), (200, 10), (210, 20), (256, 100), (12, 12)]


def count(client, query: str = "") -> int:
    return client.get(reverse("atlas:map_count") + (f"?{query}" if query else "")).json()["count"]


def shown(client, z: int, query: str = "") -> int:
    """Markers (clusters counted) on the tiles of zoom z that hold a fixture point. A point
    put on a wrong tile would make the sum too small or, on two tiles, too large."""
    scale = 2 ** (z - Z)
    tiles = {
        (math.floor((X + px / 256) * scale), math.floor((Y + py / 256) * scale))
        for px, py in PIXELS
    }
    total = 0
    for x, y in tiles:
        data = client.get(tile(z, x, y, query)).json()
        total += sum(c[2] for c in data["clusters"]) + len(data["markers"])
    return total


@pytest.mark.parametrize("z", [9, 11, 12, 14, 17, SINGLE_MARKER_ZOOM, 19])
def test_counts_of_all_tiles_add_up_to_the_filtered_total_at_every_zoom(client, places, z):
    assert shown(client, z) == 7
    assert shown(client, z, "category=jugend") == 2
    assert shown(client, z, "category=familie") == 5  # Kitas are Familie too
    assert shown(client, z, "free=false") == 1
    assert shown(client, z, "q=Jugendclub") == 2


def test_street_zoom_sends_every_marker_alone(client, places):
    # Kita A and B share a cell of zoom 12; at street zoom they are single markers.
    z = SINGLE_MARKER_ZOOM
    scale = 2 ** (z - Z)
    a = places["a"].locations.get().point
    x = math.floor((X + 10 / 256) * scale)
    y = math.floor((Y + 10 / 256) * scale)
    data = client.get(tile(z, x, y)).json()
    assert data["clusters"] == []
    assert [m[0] for m in data["markers"]] == [places["a"].pk]
    assert data["markers"][0][1:3] == [round(a.y, 6), round(a.x, 6)]


def test_location_filters_show_only_the_locations_that_matched(client, places):
    # A second location of D far out west: with near= only the one near the centre shows.
    d = places["d"]
    d.locations.add(LocationFactory(point=lnglat(100, 200)))
    near = places["d"].locations.order_by("pk").first().point
    everything = client.get(tile()).json()
    assert sum(c[2] for c in everything["clusters"]) + len(everything["markers"]) == 7
    data = client.get(tile(query=f"near={near.x:.6f},{near.y:.6f}&radius=500")).json()
    assert data["clusters"] == []
    assert [m[0] for m in data["markers"]] == [d.pk]


def test_tile_reflects_a_new_service_at_once_despite_the_cache(client, places):
    assert len(client.get(tile()).json()["markers"]) == 1
    ServiceFactory(name="Neu", locations=[LocationFactory(point=lnglat(150, 150))], categories=[])
    data = client.get(tile()).json()
    assert [m[4] for m in data["markers"]] == ["Jugendclub D", "Neu"]
    assert data["markers"][1][3] is None  # no category: the fallback colour


@pytest.mark.parametrize(
    "path",
    [
        "/karte/kacheln/20/0/0.json",  # beyond the highest zoom
        "/karte/kacheln/99/0/0.json",
        "/karte/kacheln/2/4/0.json",  # x off the world
        "/karte/kacheln/2/0/4.json",  # y off the world
        "/karte/kacheln/0/1/0.json",
        "/karte/kacheln/12/-1/0.json",
        "/karte/kacheln/12/99999999999999999999999/0.json",  # huge
        "/karte/kacheln/12/" + "9" * 5000 + "/0.json",
        "/karte/kacheln/12/1%00/0.json",  # NUL byte
        "/karte/kacheln/12/1.5/0.json",
        "/karte/kacheln/12/1/0.png",
    ],
)
def test_tiles_that_do_not_exist_are_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("category=%00", "category"),
        ("q=a%00b", "q"),
        ("age=99999999999999999999", "age"),
        ("near=1e308,1e308", "near"),
        ("category=no-such-category", "category"),
        ("area=bezirke:%00", "area"),
    ],
)
def test_hostile_filters_on_a_tile_answer_400_naming_the_parameter(
    client, places, query, parameter
):
    response = client.get(tile(query=query))
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_the_world_tile_and_the_highest_zoom_answer(client, places):
    world = client.get(tile(0, 0, 0)).json()
    assert [c[2] for c in world["clusters"]] == [7]
    assert world["markers"] == []
    assert client.get(tile(19, 0, 0)).json() == {"clusters": [], "markers": []}


def test_low_zoom_tiles_merged_from_their_children_match_one_statement(client, places):
    z = SQL_FROM_ZOOM - 2
    x, y = X >> (Z - z), Y >> (Z - z)
    merged = client.get(tile(z, x, y)).json()
    direct = json.loads(tile_json(Tile(z, x, y), MarkerFilter.of(Service.objects.published())))
    assert [(c[2], c[4]) for c in merged["clusters"]] == [(c[2], c[4]) for c in direct["clusters"]]
    assert [c[3] for c in merged["clusters"]] == [c[3] for c in direct["clusters"]]
    for ours, theirs in zip(merged["clusters"], direct["clusters"], strict=True):
        assert ours[0] == pytest.approx(theirs[0], abs=1e-5)
        assert ours[1] == pytest.approx(theirs[1], abs=1e-5)
    assert merged["markers"] == direct["markers"]


# -- the filter set's ids, read once and reused by every tile and the count -------------


def test_a_filter_set_reads_its_services_once_for_all_its_tiles_and_the_count(client, places):
    link_table = Service.categories.through._meta.db_table
    with CaptureQueriesContext(connection) as statements:
        client.get(tile(query="category=kita"))
        client.get(tile(x=X + 1, query="category=kita"))
        client.get(reverse("atlas:map_count") + "?category=kita")
    assert sum(link_table in s["sql"] for s in statements.captured_queries) == 1
    # Another filter set reads its own.
    with CaptureQueriesContext(connection) as statements:
        client.get(tile(query="category=jugend"))
    assert sum(link_table in s["sql"] for s in statements.captured_queries) == 1


@pytest.mark.parametrize("z", [9, 12, SINGLE_MARKER_ZOOM])
def test_a_filter_set_beyond_the_cached_ids_limit_gives_the_same_tiles_and_count(
    client, places, monkeypatch, z
):
    near = lnglat(100, 100)
    queries = [
        "category=familie",
        "q=Jugendclub",
        "free=false",
        f"near={near.x:.6f},{near.y:.6f}&radius=500",  # the locations' ids
        f"category=jugend&near={near.x:.6f},{near.y:.6f}&radius=500",
        "",
    ]
    cached = {q: (shown(client, z, q), count(client, q)) for q in queries}
    caches[settings.MAP_CACHE].clear()
    monkeypatch.setattr(marker_filter, "MAX_CACHED_IDS", 1)
    link_table = Service.categories.through._meta.db_table
    with CaptureQueriesContext(connection) as statements:
        assert shown(client, z, "category=familie") == cached["category=familie"][0] == 5
    # Without the ids every statement has the filter as a subquery.
    assert sum(link_table in s["sql"] for s in statements.captured_queries) > 1
    for q, (markers, total) in cached.items():
        assert (shown(client, z, q), count(client, q)) == (markers, total)


def test_ids_that_are_most_of_their_table_stay_a_subquery(places, monkeypatch):
    """A filter keeping more than MAX_SHARE of its table's rows (the planner's estimate) is
    not cached as ids: hashing them in every statement cost more than the subquery."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Service._meta.db_table}")
    total = Service.objects.count()
    assert total >= 4
    assert marker_filter.estimated_rows(Service) == total
    monkeypatch.setattr(marker_filter, "SMALL_ID_COUNT", 0)
    everything = Service.objects.order_by().values("pk")
    assert marker_filter._packed_ids(everything) == marker_filter.TOO_MANY
    ids = sorted(Service.objects.values_list("pk", flat=True))[: total // 2]
    few = Service.objects.filter(pk__in=ids).order_by().values("pk")
    assert marker_filter.unpack(marker_filter._packed_ids(few)) == ids
    # Small filters are always cached, whatever their share.
    monkeypatch.setattr(marker_filter, "SMALL_ID_COUNT", total)
    assert marker_filter.unpack(marker_filter._packed_ids(everything)) == sorted(
        Service.objects.values_list("pk", flat=True)
    )


def test_a_table_never_analysed_does_not_limit_the_ids(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE never_analysed (id bigint)")
    model = type("M", (), {"_meta": type("Meta", (), {"db_table": "never_analysed"})})
    assert marker_filter.estimated_rows(model) == float("inf")


def test_filtered_tiles_and_count_show_a_new_service_at_once_despite_the_cached_ids(client, places):
    assert count(client, "category=jugend") == 2
    assert shown(client, Z, "category=jugend") == 2
    ServiceFactory(
        name="Jugendclub Neu",
        locations=[LocationFactory(point=lnglat(150, 150))],
        categories=[places["categories"]["jugend"]],
    )
    assert shown(client, Z, "category=jugend") == 3
    assert count(client, "category=jugend") == 3
    places["c"].delete()
    assert shown(client, Z, "category=jugend") == 2
    assert count(client, "category=jugend") == 2


def test_a_filter_matching_nothing_shows_no_marker_and_counts_zero(client, places):
    empty = CategoryFactory(slug="leer", name="Leer")
    assert shown(client, Z, f"category={empty.slug}") == 0
    assert count(client, f"category={empty.slug}") == 0
    assert shown(client, Z, "q=zzzzqqqqxxxx") == 0


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("category=%00", "category"),
        ("category=kita%00", "category"),
        ("category=" + "9" * 5000, "category"),
        ("category=" + ",".join(["kita"] * 51), "category"),
        ("category=no-such-category", "category"),
        ("q=" + "a" * 201, "q"),
        ("area=99999999999999999999", "area"),
        ("organization=1%00", "organization"),
    ],
)
def test_hostile_filters_answer_400_on_tile_and_count(client, places, query, parameter):
    for url in (tile(query=query), reverse("atlas:map_count") + f"?{query}"):
        response = client.get(url)
        assert response.status_code == 400
        assert parameter in response.json()["errors"]


@pytest.mark.parametrize(
    "ids", [[], [1], [5, 3, 9], list(range(1, 10_000)), [1, 2**62, 7, 2**40 + 3]]
)
def test_packed_ids_unpack_to_the_same_ids_sorted(ids):
    assert marker_filter.unpack(marker_filter.pack(ids)) == sorted(ids)


def test_dense_ids_pack_to_about_a_byte_each_or_less():
    assert len(marker_filter.pack(range(1, 300_001))) < 300_000 // 8


def test_a_tile_outside_the_markers_extent_reads_no_filter_ids(client, places):
    link_table = Service.categories.through._meta.db_table
    client.get(tile())  # the extent is cached
    with CaptureQueriesContext(connection) as statements:
        assert client.get(tile(Z, 0, 0, "category=kita")).json() == {
            "clusters": [],
            "markers": [],
        }
    assert not any(link_table in s["sql"] for s in statements.captured_queries)
