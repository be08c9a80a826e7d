"""/api/v1/layers/ and /api/v1/areas/."""

import datetime

import pytest
from rest_framework.test import APIClient

from tests.factories import AreaFactory, LayerFactory, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def berlin():
    districts = LayerFactory(slug="bezirke", name="Bezirke", level=1)
    regions = LayerFactory(slug="regionen", name="Regionen", level=2, parent=districts)
    mitte = AreaFactory(layer=districts, code="01", name="Mitte", geometry=square(13.3, 52.5, 0.1))
    AreaFactory(layer=districts, code="02", name="Kreuzberg", geometry=square(13.4, 52.4, 0.1))
    region = AreaFactory(
        layer=regions,
        code="0101",
        name="Zentrum",
        parent=mitte,
        geometry=square(13.3, 52.5, 0.05),
    )
    old = LayerFactory(
        slug="alt",
        level=3,
        valid_from=datetime.date(2000, 1, 1),
        valid_until=datetime.date(2020, 12, 31),
    )
    AreaFactory(layer=old, code="9", geometry=square(13.3, 52.5, 0.1))
    return mitte, region


def test_layers_list(berlin):
    data = APIClient().get("/api/v1/layers/").json()
    assert [layer["slug"] for layer in data] == ["bezirke", "regionen", "alt"]
    assert data[0]["area_count"] == 2 and data[1]["parent"] == "bezirke"
    assert data[2]["is_current"] is False


def test_areas_of_a_layer_as_geojson(berlin):
    data = APIClient().get("/api/v1/areas/", {"layer": "bezirke"}).json()
    assert data["type"] == "FeatureCollection" and data["count"] == 2
    first = data["features"][0]
    assert first["geometry"]["type"] == "MultiPolygon"
    assert first["properties"]["key"] == "bezirke:01"


def test_areas_without_geometry_and_simplified(berlin):
    client = APIClient()
    bare = client.get("/api/v1/areas/", {"layer": "bezirke", "geometry": "false"}).json()
    assert all(f["geometry"] is None for f in bare["features"])
    simple = client.get("/api/v1/areas/", {"layer": "bezirke", "simplify": "0.001"}).json()
    assert simple["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_point_lookup_answers_areas_on_every_current_layer(berlin):
    data = APIClient().get("/api/v1/areas/", {"point": "13.31,52.51", "geometry": "false"}).json()
    assert [f["properties"]["key"] for f in data["features"]] == ["bezirke:01", "regionen:0101"]


@pytest.mark.parametrize("geometry", [{"geometry": "false"}, {}, {"geometry": "true"}])
def test_a_point_lookup_answers_the_same_with_an_explicit_first_page(berlin, geometry):
    client = APIClient()
    plain = client.get("/api/v1/areas/", {"point": "13.31,52.51", **geometry})
    full = client.get("/api/v1/areas/", {"point": "13.31,52.51", "page": "1", **geometry})
    assert plain.status_code == full.status_code == 200
    assert plain["Content-Type"] == full["Content-Type"]
    assert plain.json() == full.json()
    assert plain.json()["count"] == 2


def test_point_lookups_pages_and_other_layers(berlin):
    client = APIClient()
    second = client.get("/api/v1/areas/", {"point": "13.31,52.51", "page_size": "1", "page": "2"})
    assert [f["properties"]["key"] for f in second.json()["features"]] == ["regionen:0101"]
    assert second.json()["count"] == 2 and second.json()["previous"]
    old = client.get("/api/v1/areas/", {"point": "13.31,52.51", "layer": "alt"}).json()
    assert [f["properties"]["key"] for f in old["features"]] == ["alt:9"]


def test_point_lookups_are_throttled(berlin, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": "3/minute", "anon": "9/hour"},
    }
    client = APIClient()
    statuses = [
        client.get("/api/v1/areas/", {"point": "13.31,52.51"}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_the_point_lookup_function_follows_its_definition(berlin):
    from django.db import connection

    from planning_areas import point_lookup

    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON FUNCTION {point_lookup.FUNCTION} IS 'outdated'")
    point_lookup.install_after_migrate(sender=None)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(to_regprocedure(%s), 'pg_proc')", [point_lookup.FUNCTION]
        )
        assert cursor.fetchone()[0] != "outdated"
    data = APIClient().get("/api/v1/areas/", {"point": "13.31,52.51"}).json()
    assert data["count"] == 2


def test_area_by_key_has_parent_and_children(berlin):
    client = APIClient()
    region = client.get("/api/v1/layers/regionen/areas/0101/").json()
    assert region["properties"]["parent"]["key"] == "bezirke:01"
    mitte = client.get("/api/v1/layers/bezirke/areas/01/", {"geometry": "false"}).json()
    assert [c["key"] for c in mitte["properties"]["children"]] == ["regionen:0101"]
    assert mitte["geometry"] is None
    assert client.get("/api/v1/layers/bezirke/areas/99/").status_code == 404


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"layer": "unbekannt"}, "layer"),
        ({"point": "13.4"}, "point"),
        ({"point": "500,52"}, "point"),
        ({"simplify": "-1"}, "simplify"),
        ({"simplify": "5"}, "simplify"),
        ({"simplify": "abc"}, "simplify"),
        ({"geometry": "maybe"}, "geometry"),
        ({"page": "x"}, "page"),
    ],
)
def test_bad_area_parameters_are_400(berlin, params, parameter):
    response = APIClient().get("/api/v1/areas/", params)
    assert response.status_code == 400
    assert parameter in response.json()
