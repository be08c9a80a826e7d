"""Geocoding against the address index: a postcode ranks, it filters only where postcodes exist."""

import pytest
from django.contrib.gis.geos import Point

from planning_areas.address_search import street_key
from planning_areas.models import Address, Street
from providers.imports.geocoding import AddressIndexGeocoder

pytestmark = pytest.mark.django_db


def _address(name: str, number: int, postcode: str, x: float) -> Address:
    street, _created = Street.objects.get_or_create(name=name, key=street_key(name))
    return Address.objects.create(
        street=street, house_number=number, postcode=postcode, point=Point(x, 50.9, srid=4326)
    )


def test_an_index_without_postcodes_geocodes_a_row_with_a_postcode():
    _address("Domstraße", 20, "", 6.95)
    result = AddressIndexGeocoder().geocode("Domstr.", "20", "50667")
    assert result.error == ""
    assert result.point == (6.95, 50.9)


def test_the_row_postcode_picks_the_right_of_two_equally_named_streets():
    _address("Hauptstraße", 1, "50667", 6.95)
    _address("Hauptstraße", 1, "51143", 7.05)
    assert AddressIndexGeocoder().geocode("Hauptstraße", "1", "51143").point == (7.05, 50.9)
    assert AddressIndexGeocoder().geocode("Hauptstraße", "1", "50667").point == (6.95, 50.9)


def test_a_postcode_that_none_of_the_known_postcodes_matches_is_not_found():
    _address("Hauptstraße", 1, "50667", 6.95)
    result = AddressIndexGeocoder().geocode("Hauptstraße", "1", "99999")
    assert result.point is None
    assert "not found in the address index" in result.error


def test_an_address_without_postcode_wins_over_one_with_another_postcode():
    _address("Hauptstraße", 1, "50667", 6.95)
    _address("Hauptstraße", 1, "", 7.05)
    assert AddressIndexGeocoder().geocode("Hauptstraße", "1", "51143").point == (7.05, 50.9)
