"""Indicators moved to other layers: exact where areas nest or are composed, else estimated
along a crosswalk, and every result says which."""

import datetime

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from planning_areas.composition import compose_layer, read_mapping
from planning_areas.crosswalks import build_crosswalk
from planning_areas.indicator_values import city_value, values_on_layer
from planning_areas.models import Area, Indicator, IndicatorValue
from tests.factories import AreaFactory, LayerFactory

pytestmark = pytest.mark.django_db

PERIOD = datetime.date(2024, 12, 31)


def box(x0: float, x1: float) -> MultiPolygon:
    return MultiPolygon(
        Polygon(((x0, 52.0), (x1, 52.0), (x1, 52.01), (x0, 52.01), (x0, 52.0)), srid=4326),
        srid=4326,
    )


@pytest.fixture
def city():
    """District D (parent) with units u1 [13.00–13.02] and u2 [13.02–13.04]; another layer
    (e.g. postcode areas) with p1 [13.00–13.01] and p2 [13.01–13.04], which does not nest.

    Residents u1 1,000 and u2 3,000; poverty 10 % in u1 and 30 % in u2 (weighted by
    residents); the same as a ratio of counts: 100 poor of 1,000 and 900 of 3,000.
    """
    districts = LayerFactory(slug="bezirk", level=1)
    units = LayerFactory(slug="einheiten", level=2, parent=districts)
    other = LayerFactory(slug="plz", level=1)
    district = AreaFactory(layer=districts, code="D", geometry=box(13.0, 13.04))
    u1 = AreaFactory(layer=units, code="u1", parent=district, geometry=box(13.00, 13.02))
    u2 = AreaFactory(layer=units, code="u2", parent=district, geometry=box(13.02, 13.04))
    AreaFactory(layer=other, code="p1", geometry=box(13.00, 13.01))
    AreaFactory(layer=other, code="p2", geometry=box(13.01, 13.04))
    residents = Indicator.objects.create(slug="residents", name="Residents", aggregation="sum")
    poverty = Indicator.objects.create(
        slug="poverty", name="Poverty", aggregation="weighted_mean", weight=residents
    )
    poor = Indicator.objects.create(slug="poor", name="Poor", aggregation="sum")
    share = Indicator.objects.create(
        slug="poor-share",
        name="Poor share",
        aggregation="ratio",
        numerator=poor,
        denominator=residents,
        scale=100,
    )
    for area, values in ((u1, (1000, 10.0, 100)), (u2, (3000, 30.0, 900))):
        for indicator, value in zip((residents, poverty, poor), values, strict=True):
            IndicatorValue.objects.create(
                indicator=indicator, area=area, period=PERIOD, value=value
            )
    return {
        "units": units,
        "districts": districts,
        "other": other,
        "residents": residents,
        "poverty": poverty,
        "share": share,
    }


def _by_code(result) -> dict[str, float]:
    codes = dict(Area.objects.filter(pk__in=result.values).values_list("pk", "code"))
    return {codes[pk]: value for pk, value in result.values.items()}


def test_stored_values_are_shown_as_published(city):
    result = values_on_layer(city["residents"], city["units"])
    assert result.method == "stored" and result.is_exact
    assert _by_code(result) == {"u1": 1000, "u2": 3000}


def test_a_parent_layer_gets_the_exact_sum_along_parent_links(city):
    result = values_on_layer(city["residents"], city["districts"])
    assert result.method == "nested" and result.is_exact
    assert _by_code(result) == {"D": 4000}


def test_a_composed_layer_gets_the_exact_sum_of_its_units(city):
    compose_layer(
        city["units"],
        read_mapping(b"base_code,code,name\nu1,SR1,Nord\nu2,SR1,Nord\n"),
        layer_slug="sozialraeume",
        layer_name="Sozialräume",
        commit=True,
    )
    layer = city["units"].compositions.get().layer
    result = values_on_layer(city["residents"], layer)
    assert result.method == "composed" and result.is_exact
    assert _by_code(result) == {"SR1": 4000}
    assert "exact" in result.method_label


def test_counts_along_a_crosswalk_are_split_by_the_shares(city):
    build_crosswalk(city["units"], city["other"], commit=True)
    result = values_on_layer(city["residents"], city["other"])
    assert result.method == "crosswalk_area" and not result.is_exact
    values = _by_code(result)
    # p1 holds half of u1; p2 the other half of u1 and all of u2.
    assert values["p1"] == pytest.approx(500)
    assert values["p2"] == pytest.approx(3500)
    assert sum(values.values()) == pytest.approx(4000)
    assert result.method_label.startswith("estimate by crosswalk")


def test_a_weighted_mean_along_a_crosswalk_weighs_each_share_by_its_residents(city):
    build_crosswalk(city["units"], city["other"], commit=True)
    values = _by_code(values_on_layer(city["poverty"], city["other"]))
    assert values["p1"] == pytest.approx(10.0)
    # 500 residents at 10 % and 3,000 at 30 %.
    assert values["p2"] == pytest.approx((500 * 10 + 3000 * 30) / 3500)


def test_a_ratio_along_a_crosswalk_is_recomputed_from_moved_counts(city):
    build_crosswalk(city["units"], city["other"], commit=True)
    values = _by_code(values_on_layer(city["share"], city["other"]))
    assert values["p1"] == pytest.approx(10.0)
    assert values["p2"] == pytest.approx(100 * (50 + 900) / (500 + 3000))


def test_without_a_crosswalk_the_rough_estimate_is_named_as_such(city):
    result = values_on_layer(city["residents"], city["other"])
    assert result.method == "point_on_surface" and not result.is_exact
    assert "centre" in result.method_label


def test_the_city_value_combines_the_stored_areas(city):
    assert city_value(city["poverty"], city["units"]) == pytest.approx(25.0)


def test_api_states_the_method_beside_values_estimated_along_a_crosswalk(client, city):
    build_crosswalk(city["units"], city["other"], commit=True)
    data = client.get("/api/v1/indicators/residents/values/", {"layer": "plz"}).json()
    assert (data["method"], data["exact"], data["aggregated_from"]) == (
        "crosswalk_area",
        False,
        "einheiten",
    )
    # The crosswalk itself and the share of residents it placed, to show beside the values.
    assert data["method_label"] == (
        f"estimate by crosswalk (area-weighted; {city['units'].name} → {city['other'].name}, "
        "100.0 % placed)"
    )
    assert [r["value"] for r in data["results"]] == [pytest.approx(500), pytest.approx(3500)]


def test_api_calls_values_summed_along_parent_links_exact(client, city):
    data = client.get("/api/v1/indicators/residents/values/", {"layer": "bezirk"}).json()
    assert (data["method"], data["exact"]) == ("nested", True)
    assert data["results"][0]["value"] == 4000
