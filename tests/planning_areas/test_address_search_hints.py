"""Search without postcodes in the index; postcode and district rank, never empty the result."""

import pytest
from django.contrib.gis.geos import Point

from planning_areas.address_search import district_names, parse_query, search_addresses, street_key
from planning_areas.models import Address, Street

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_district_names():
    district_names.clear()
    yield
    district_names.clear()


def _address(name: str, number: int, *, postcode: str = "", district: str = "") -> Address:
    street, _created = Street.objects.get_or_create(name=name, key=street_key(name))
    return Address.objects.create(
        street=street,
        house_number=number,
        postcode=postcode,
        district=district,
        point=Point(6.95, 50.93, srid=4326),
    )


def test_a_typed_postcode_finds_the_address_in_an_index_without_postcodes():
    _address("Domstraße", 20)
    result = search_addresses("Domstraße 20, 50667 Köln")
    assert [(s.street, s.house_number) for s in result.suggestions][:1] == [("Domstraße", 20)]
    assert result.message == ""


def test_a_postcode_unknown_to_an_index_with_postcodes_says_so():
    _address("Domstraße", 20, postcode="50667")
    result = search_addresses("Domstraße 20, 80331")
    assert result.suggestions == []
    assert "80331" in result.message


def test_an_exact_house_number_outranks_a_district_hint():
    _address("Domstraße", 1, district="Altstadt-Nord")
    _address("Domstraße", 44, district="Deutz")
    best = search_addresses("Domstraße 1 Deutz").suggestions[0]
    assert (best.house_number, best.district) == (1, "Altstadt-Nord")


def test_the_municipality_name_and_country_are_ignored_in_typed_text(settings):
    settings.ATLAS_MUNICIPALITY_NAME = "Frankfurt am Main"
    parsed = parse_query("Zeil 5, Frankfurt am Main, Deutschland", {})
    assert parsed.street_keys == ["zeil"]
    assert parsed.house_number == 5


def test_berlin_is_a_street_word_where_the_atlas_does_not_serve_berlin(settings):
    settings.ATLAS_MUNICIPALITY_NAME = "Köln"
    assert parse_query("Berliner Straße 5 Köln", {}).street_keys == ["berlinerstrasse"]
    assert parse_query("Berlin 5", {}).street_keys == ["berlin"]


def test_ignored_words_come_from_settings(settings):
    settings.ATLAS_MUNICIPALITY_NAME = ""
    settings.ATLAS_DEFAULT_CITY = ""
    settings.ATLAS_ADDRESS_IGNORED_WORDS = ["Nordrhein-Westfalen"]
    assert parse_query("Domstr. 1 Nordrhein-Westfalen", {}).street_keys == ["domstrasse"]
