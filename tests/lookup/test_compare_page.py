"""The compare page (Baukasten): two layers, one area, the shares of its residents."""

import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from atlas.core.maps import tile_config
from planning_areas.crosswalks import build_crosswalk
from tests.factories import AreaFactory, LayerFactory

pytestmark = pytest.mark.django_db

URL = "/vergleich/"


def box(x0: float, x1: float) -> MultiPolygon:
    return MultiPolygon(
        Polygon(((x0, 52.0), (x1, 52.0), (x1, 52.01), (x0, 52.01), (x0, 52.0)), srid=4326),
        srid=4326,
    )


@pytest.fixture
def layers():
    """District D with units u1 (1,000 residents) and u2 (3,000); postcode areas p1, p2
    that cut u1 in half."""
    districts = LayerFactory(slug="bezirk", name="Bezirke", level=1)
    units = LayerFactory(slug="einheiten", name="Einheiten", level=2, parent=districts)
    other = LayerFactory(slug="plz", name="Postleitzahlen", level=1)
    district = AreaFactory(layer=districts, code="D", name="Mitte", geometry=box(13.0, 13.04))
    AreaFactory(
        layer=units,
        code="u1",
        name="<b>Nord</b>",
        parent=district,
        population=1000,
        geometry=box(13.00, 13.02),
    )
    AreaFactory(
        layer=units,
        code="u2",
        name="Süd",
        parent=district,
        population=3000,
        geometry=box(13.02, 13.04),
    )
    AreaFactory(layer=other, code="p1", name="10115", geometry=box(13.00, 13.01))
    AreaFactory(layer=other, code="p2", name="10117", geometry=box(13.01, 13.04))
    return units, other


def _rows(response) -> list[tuple[str, str]]:
    comparison = response.context["comparison"]
    return [(row.area.code, f"{row.percent:.1f}") for row in comparison.rows]


@pytest.mark.parametrize(
    ("user", "status"),
    [
        (None, 302),
        ("org_editor_a", 403),
        ("caseworker", 200),
        ("editor", 200),
        ("admin_user_", 200),
    ],
)
def test_compare_page_is_for_caseworkers_editors_and_admins(client, request, layers, user, status):
    if user:
        client.force_login(request.getfixturevalue(user))
    response = client.get(URL, {"first": "einheiten", "second": "bezirk", "area": "u1"})
    assert response.status_code == status
    if status == 302:
        assert "/accounts/login/" in response["Location"]


def test_an_area_lies_wholly_in_its_parent_and_that_is_exact(client, caseworker, layers):
    client.force_login(caseworker)
    response = client.get(URL, {"first": "einheiten", "second": "bezirk", "area": "u1"})
    assert _rows(response) == [("D", "100.0")]
    assert response.context["comparison"].is_exact
    assert "exact sum of the areas within" in response.content.decode()


def test_a_parent_splits_by_the_population_of_its_parts(client, caseworker, layers):
    client.force_login(caseworker)
    response = client.get(URL, {"first": "bezirk", "second": "einheiten", "area": "D"})
    assert _rows(response) == [("u2", "75.0"), ("u1", "25.0")]


def test_a_stored_crosswalk_gives_the_shares_and_its_method(client, caseworker, layers):
    units, other = layers
    build_crosswalk(units, other, commit=True)
    client.force_login(caseworker)
    response = client.get(URL, {"first": "einheiten", "second": "plz", "area": "u1"})
    assert sorted(_rows(response)) == [("p1", "50.0"), ("p2", "50.0")]
    assert response.context["comparison"].method == "crosswalk_area"
    assert "estimate by crosswalk (area-weighted)" in response.content.decode()


def test_without_a_crosswalk_the_area_split_is_computed_for_the_one_area(
    client, caseworker, layers
):
    client.force_login(caseworker)
    response = client.get(URL, {"first": "plz", "second": "einheiten", "area": "p2"})
    assert _rows(response) == [("u2", "66.7"), ("u1", "33.3")]
    assert response.context["comparison"].method == "area_now"


def test_area_names_are_shown_as_text(client, caseworker, layers):
    client.force_login(caseworker)
    response = client.get(URL, {"first": "einheiten", "second": "plz", "area": "u1"})
    body = response.content.decode()
    assert "&lt;b&gt;Nord&lt;/b&gt;" in body and "<b>Nord</b>" not in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"first": "einheiten", "second": "einheiten"}, "Choose two different layers."),
        ({"first": "nirgends", "second": "plz"}, "Select a valid choice."),
        ({"first": "einheiten", "second": "plz", "area": "zz"}, "no area with that code"),
        ({"first": "einheiten", "second": "plz", "area": "<script>"}, "no area with that code"),
        ({"first": "einheiten", "second": "plz", "area": "u1\x00"}, "Null characters"),
        ({"first": "einheiten", "second": "plz", "area": "u" * 500}, "at most 40"),
    ],
)
def test_bad_choices_are_a_400_with_a_clear_message(client, caseworker, layers, params, message):
    client.force_login(caseworker)
    response = client.get(URL, params)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "<script>" not in body.split("<main", 1)[-1].split("</main>", 1)[0]


def test_the_page_without_a_choice_shows_the_form(client, caseworker, layers):
    client.force_login(caseworker)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["comparison"] is None


def test_the_map_gets_the_one_tile_configuration(client, caseworker, layers, settings):
    settings.ATLAS_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    settings.ATLAS_TILE_ATTRIBUTION = "© Beispiel-Kacheln"
    client.force_login(caseworker)
    response = client.get(URL, {"first": "einheiten", "second": "bezirk", "area": "u1"})
    config = json.loads(
        response.content.decode()
        .split('id="compare-config" type="application/json">', 1)[1]
        .split("</script>", 1)[0]
    )
    assert config["tiles"] == tile_config()
    assert config["tiles"]["url"] == settings.ATLAS_TILE_URL
