"""Crosswalks between layers that do not nest: area weights, address codes and points."""

import io

import geopandas as gpd
import pytest
import shapely
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import CommandError, call_command

from planning_areas.crosswalks import CrosswalkError, build_crosswalk
from planning_areas.imports.areas import import_areas
from planning_areas.models import Crosswalk, CrosswalkShare, Layer
from tests.factories import AddressFactory, AreaFactory, LayerFactory

pytestmark = pytest.mark.django_db


def box(x0: float, x1: float, y0: float = 52.0, y1: float = 52.01) -> MultiPolygon:
    return MultiPolygon(
        Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)), srid=4326), srid=4326
    )


@pytest.fixture
def layers():
    """Source s1 = [13.00, 13.04]; target t1 = its western quarter, t2 the rest (and beyond)."""
    source = LayerFactory(slug="quelle")
    target = LayerFactory(slug="ziel")
    s1 = AreaFactory(layer=source, code="s1", geometry=box(13.00, 13.04), population=1000)
    AreaFactory(layer=target, code="t1", geometry=box(13.00, 13.01))
    AreaFactory(layer=target, code="t2", geometry=box(13.01, 13.06))
    return source, target, s1


def _shares(source, target) -> dict[tuple[str, str], float]:
    return {
        (s.source.code, s.target.code): s.share
        for s in CrosswalkShare.objects.filter(
            crosswalk__source_layer=source, crosswalk__target_layer=target
        ).select_related("source", "target")
    }


def test_without_addresses_the_split_is_area_weighted(layers):
    source, target, _s1 = layers
    report = build_crosswalk(source, target, commit=True)
    shares = _shares(source, target)
    assert shares[("s1", "t1")] == pytest.approx(0.25, abs=1e-6)
    assert shares[("s1", "t2")] == pytest.approx(0.75, abs=1e-6)
    crosswalk = Crosswalk.objects.get(source_layer=source, target_layer=target)
    assert crosswalk.method == "area" and report.address_share == 0
    assert crosswalk.placed_share == pytest.approx(1.0)


def test_slivers_along_borders_are_dropped_and_the_rest_renormalised(layers):
    source, target, _s1 = layers
    # A target reaching 0.1 % of s1's width into it: a digitising difference, not residents.
    AreaFactory(layer=target, code="t3", geometry=box(12.95, 13.00004))
    build_crosswalk(source, target, commit=True)
    shares = _shares(source, target)
    assert ("s1", "t3") not in shares
    assert sum(shares.values()) == pytest.approx(1.0)


def test_part_of_a_source_outside_the_target_layer_is_not_placed(layers):
    source, target, _s1 = layers
    AreaFactory(layer=source, code="s2", geometry=box(13.05, 13.07), population=1000)
    report = build_crosswalk(source, target, commit=True)
    # s2 lies half outside every target area: half of its residents cannot be placed.
    assert report.placed_share == pytest.approx(0.75, abs=1e-3)
    assert _shares(source, target)[("s2", "t2")] == pytest.approx(1.0)


@pytest.fixture
def postcodes():
    layer = LayerFactory(slug="plz")
    AreaFactory(layer=layer, code="10115", geometry=box(13.00, 13.02))
    AreaFactory(layer=layer, code="10117", geometry=box(13.02, 13.04))
    return layer


def test_addresses_carrying_both_codes_split_by_their_counts(layers, postcodes):
    source, _target, s1 = layers
    for postcode in ("10115", "10115", "10115", "10117", ""):
        AddressFactory(area=s1, postcode=postcode)
    report = build_crosswalk(source, postcodes, commit=True)
    assert _shares(source, postcodes) == {
        ("s1", "10115"): pytest.approx(0.75),
        ("s1", "10117"): pytest.approx(0.25),
    }
    crosswalk = Crosswalk.objects.get(source_layer=source, target_layer=postcodes)
    assert crosswalk.method == "address_codes"
    # One of five addresses has no postcode: 80 % of the residents are placed.
    assert report.placed_share == pytest.approx(0.8)
    assert crosswalk.address_share == pytest.approx(1.0)


def test_address_codes_work_the_other_way_round(layers, postcodes):
    source, _target, s1 = layers
    s2 = AreaFactory(layer=source, code="s2", geometry=box(13.04, 13.05))
    for area in (s1, s1, s2):
        AddressFactory(area=area, postcode="10117")
    build_crosswalk(postcodes, source, commit=True)
    assert _shares(postcodes, source) == {
        ("10117", "s1"): pytest.approx(2 / 3),
        ("10117", "s2"): pytest.approx(1 / 3),
        # No address carries 10115: its split falls back to area, all in s1.
        ("10115", "s1"): pytest.approx(1.0),
    }
    assert Crosswalk.objects.get(source_layer=postcodes).method == "mixed"


def test_address_points_split_a_source_area_whose_addresses_have_positions(layers):
    source, target, _s1 = layers
    for x in (13.005, 13.02, 13.03, 13.035):  # one point in t1, three in t2
        AddressFactory(point=Point(x, 52.005, srid=4326), postcode="")
    build_crosswalk(source, target, commit=True)
    assert _shares(source, target) == {
        ("s1", "t1"): pytest.approx(0.25),
        ("s1", "t2"): pytest.approx(0.75),
    }
    assert CrosswalkShare.objects.filter(method="address_points").count() == 2


def test_a_few_address_points_among_many_addresses_do_not_decide_the_split(layers, postcodes):
    source, target, s1 = layers
    AddressFactory(point=Point(13.005, 52.005, srid=4326), area=s1, postcode="")
    for _ in range(9):
        AddressFactory(area=s1, postcode="")
    build_crosswalk(source, target, commit=True)
    assert _shares(source, target)[("s1", "t1")] == pytest.approx(0.25, abs=1e-6)


def test_crosswalk_is_recomputed_when_the_target_layer_is_imported_again(layers):
    source, target, _s1 = layers
    build_crosswalk(source, target, commit=True)
    frame = gpd.GeoDataFrame(
        {"code": ["t1", "t2"], "name": ["t1", "t2"]},
        geometry=[shapely.box(13.00, 52.0, 13.02, 52.01), shapely.box(13.02, 52.0, 13.06, 52.01)],
        crs="EPSG:4326",
    )
    report = import_areas(frame, target, code_field="code", name_field="name", commit=True)
    assert report.crosswalks_refreshed == 1
    assert _shares(source, target)[("s1", "t1")] == pytest.approx(0.5, abs=1e-6)


def test_a_crosswalk_of_a_layer_to_itself_is_refused(layers):
    source, _target, _s1 = layers
    with pytest.raises(CrosswalkError, match="two different layers"):
        build_crosswalk(source, source)


def test_command_dry_run_reports_and_stores_nothing(layers):
    out = io.StringIO()
    call_command("build_crosswalk", "--from", "quelle", "--to", "ziel", stdout=out)
    assert "method area, 100.0 % of residents placed" in out.getvalue()
    assert not Crosswalk.objects.exists()
    with pytest.raises(CommandError, match="“nirgends” does not exist"):
        call_command("build_crosswalk", "--from", "quelle", "--to", "nirgends", stdout=out)


def test_command_refuses_an_empty_layer(layers):
    LayerFactory(slug="leer")
    with pytest.raises(CommandError, match="“leer” has no areas"):
        call_command("build_crosswalk", "--from", "quelle", "--to", "leer", stdout=io.StringIO())
    assert Layer.objects.filter(slug="leer").exists()
