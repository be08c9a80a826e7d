"""Figures moved to another layer say how, on the pages (issue 14 item 3): exact where the
areas nest or are composed, which crosswalk and its placed share where estimated."""

import datetime

import pytest
from django.test import Client

from planning_areas.crosswalks import build_crosswalk
from tests.factories import AreaFactory, LayerFactory

from .conftest import box

pytestmark = pytest.mark.django_db

CROSSWALK_EN = "estimate by crosswalk (area-weighted; PLR → Postcodes, 100.0 % placed)"
CROSSWALK_DE = "Schätzung per Umschlüsselung (flächengewichtet; PLR → Postcodes, 100,0 % verortet)"


@pytest.fixture
def postcodes(town):
    """Two postcode areas across the town: P1 holds A and the west half of B, P2 the rest."""
    layer = LayerFactory(slug="plz", name="Postcodes", level=1)
    AreaFactory(layer=layer, code="P1", name="P1", geometry=box(13.39, 52.49, 13.415, 52.52))
    AreaFactory(layer=layer, code="P2", name="P2", geometry=box(13.415, 52.49, 13.52, 52.52))
    build_crosswalk(town["plr"], layer, commit=True)
    for current in (town["plr"], town["district"], layer):
        current.valid_from = datetime.date(2020, 1, 1)
        current.save()
    return layer


def analysis(client, **params) -> str:
    response = client.get("/analyse/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_figures_stored_on_the_layer_state_no_method(client, postcodes):
    html = analysis(client, layer="plr", measure="coverage", category="kita")
    assert "Method:" not in html


def test_coverage_on_a_coarser_layer_says_its_residents_are_exact(client, postcodes):
    html = analysis(client, layer="bezirk", measure="coverage", category="kita")
    # Beside the legend and in the table's caption.
    assert html.count("Method: residents of the group: exact sum of the areas within") == 2


def test_coverage_along_a_crosswalk_names_it_and_its_placed_share(client, postcodes):
    html = analysis(client, layer="plz", measure="coverage", category="kita")
    assert html.count(f"Method: residents of the group: {CROSSWALK_EN}") == 2


def test_an_indicator_along_a_crosswalk_names_it_in_german_too(postcodes):
    german = Client(headers={"accept-language": "de"})
    html = analysis(german, layer="plz", measure="indicator", indicator="kids")
    assert html.count(f"Methode: {CROSSWALK_DE}") == 2


def test_area_page_states_the_method_beside_every_moved_figure(client, postcodes):
    html = client.get("/gebiete/plz/P1/").content.decode()
    profile = html[html.index("sozialraumprofil") :]
    ages, coverage_part = profile.split('id="coverage-title"', 1)
    coverage_part, indicators = coverage_part.split('id="indicators-title"', 1)
    assert f"Method: {CROSSWALK_EN}" in ages
    assert f"Residents: {CROSSWALK_EN}" in coverage_part
    assert CROSSWALK_EN in indicators  # child poverty, a weighted mean moved the same way
    stored = client.get("/gebiete/plr/A/").content.decode()
    assert "estimate" not in stored and "Method" not in stored
