"""/api/v1/coverage/ and /api/v1/indicators/ on the hand-made town."""

import json

import pytest

pytestmark = pytest.mark.django_db


def get(client, url, **params):
    return client.get(url, params)


def by_code(rows):
    return {row["code"]: row for row in rows}


def test_coverage_answers_figures_per_area_with_parent_city_and_gaps(client, town):
    response = get(client, "/api/v1/coverage/", layer="plr", category="kita")
    assert response.status_code == 200
    data = response.json()
    assert (data["measure"], data["supply"]) == ("container", "places")
    assert data["population"]["indicators"] == ["kids"]
    rows = by_code(data["results"])
    assert rows["B"]["services"] == 2 and rows["B"]["places"] == 65
    assert rows["A"]["per_1000"] == pytest.approx(400.0)
    assert rows["A"]["parent"]["places"] == 110
    assert data["city"]["residents"] == 600
    assert [c for c, r in rows.items() if r["gap"]] == ["C"]
    assert rows["C"]["priority"] is False  # the need indicator of the settings is absent


def test_coverage_marks_priority_with_the_configured_need_indicator(client, town, settings):
    settings.ATLAS_MONITORING_NEED_INDICATOR = "poverty"
    data = get(client, "/api/v1/coverage/", layer="plr", category="kita").json()
    rows = by_code(data["results"])
    assert (rows["C"]["gap"], rows["C"]["priority"], rows["C"]["need"]) == (True, True, 30.0)
    assert data["gaps"]["need_median"] == 20.0


def test_coverage_2sfca_says_which_measure_and_demand(client, town):
    data = get(client, "/api/v1/coverage/", layer="plr", category="kita", measure="2sfca").json()
    assert data["measure"] == "2sfca"
    assert data["catchment_m"] == 1000
    assert "point on surface" in data["demand"]
    assert by_code(data["results"])["A"]["per_1000"] == pytest.approx(262.5)


def test_coverage_with_explicit_population(client, town):
    data = get(
        client, "/api/v1/coverage/", layer="plr", category="kita", population="people"
    ).json()
    assert by_code(data["results"])["A"]["per_1000"] == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "kita"}, "layer"),
        ({"layer": "plr"}, "category"),
        ({"layer": "nope", "category": "kita"}, "layer"),
        ({"layer": "plr", "category": "nope"}, "category"),
        ({"layer": "plr", "category": "kita", "measure": "best"}, "measure"),
        ({"layer": "plr", "category": "kita", "population": "poverty"}, "population"),
        ({"layer": "plr", "category": "kita", "population": "nobody"}, "population"),
        ({"layer": "plr", "category": "kita", "catchment": "0"}, "catchment"),
        ({"layer": "plr", "category": "kita", "catchment": "1e308"}, "catchment"),
        ({"layer": "plr", "category": "kita", "decay": "cubic"}, "decay"),
        ({"layer": "plr\x00", "category": "kita"}, "layer"),
        ({"layer": "<script>", "category": "kita"}, "layer"),
        ({"layer": "x" * 5000, "category": "kita"}, "layer"),
    ],
)
def test_coverage_bad_parameter_is_a_400_naming_it(client, town, params, field):
    response = get(client, "/api/v1/coverage/", **params)
    assert response.status_code == 400
    assert field in response.json()


def test_indicator_list_describes_aggregation(client, town):
    data = get(client, "/api/v1/indicators/").json()
    poverty = next(i for i in data if i["slug"] == "poverty")
    assert (poverty["aggregation"], poverty["weight"]) == ("weighted_mean", "people")


def test_indicator_values_on_a_coarser_layer_are_combined_by_their_rule(client, town):
    data = get(client, "/api/v1/indicators/poverty/values/", layer="bezirk").json()
    assert data["aggregated_from"] == "plr"
    # Weighted by residents: (10·1000 + 20·2000 + 30·1000) / 4000 = 20.
    assert data["results"] == [{"code": "D", "name": "District", "value": 20.0, "label": ""}]


def test_indicator_values_as_geojson_with_simplified_geometry(client, town):
    response = get(
        client, "/api/v1/indicators/kids/values/", layer="plr", format="geojson", simplify="0.001"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    feature = data["features"][0]
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert feature["properties"] == {"code": "A", "name": "Area A", "value": 100.0, "label": ""}


@pytest.mark.parametrize(
    "params", [{}, {"layer": "nope"}, {"layer": "plr", "simplify": "5"}, {"layer": "p\x00"}]
)
def test_indicator_values_bad_parameter_is_a_400(client, town, params):
    assert get(client, "/api/v1/indicators/kids/values/", **params).status_code == 400


def test_unknown_indicator_is_a_404(client, town):
    assert get(client, "/api/v1/indicators/nobody/values/", layer="plr").status_code == 404


def test_coverage_states_how_the_residents_reached_the_layer(client, town):
    on_plr = get(client, "/api/v1/coverage/", layer="plr", category="kita").json()
    assert on_plr["population"]["method"] == "stored"
    on_district = get(client, "/api/v1/coverage/", layer="bezirk", category="kita").json()
    assert on_district["population"]["method"] == "nested"
    assert on_district["population"]["method_label"] == "exact sum of the areas within"
