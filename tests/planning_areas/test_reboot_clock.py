"""Caches keyed on the monotonic clock work in the first seconds after a reboot, when
``time.monotonic()`` is close to zero (it counts from boot on Linux)."""

import pytest

from planning_areas import address_search
from planning_areas.address_search import DistrictNames
from tests.factories import AddressFactory, StreetFactory

pytestmark = pytest.mark.django_db


class Clock:
    """A monotonic clock five seconds after boot that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = 5.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(address_search.time, "monotonic", clock)
    return clock


def test_district_names_load_five_seconds_after_boot(clock):
    AddressFactory(district="Altstadt")
    assert DistrictNames().get() == {"altstadt": "Altstadt"}


def test_cleared_district_names_reload_five_seconds_after_boot(clock):
    names = DistrictNames()
    assert names.get() == {}
    AddressFactory(district="Altstadt")
    names.clear()
    assert names.get() == {"altstadt": "Altstadt"}


def test_district_names_are_kept_for_their_lifetime_then_reloaded(clock):
    names = DistrictNames()
    names.get()
    AddressFactory(district="Weststadt")
    clock.now += names.ttl_seconds
    assert names.get() == {}  # still within the lifetime
    clock.now += 1
    assert names.get() == {"weststadt": "Weststadt"}


def test_the_address_search_reads_a_typed_district_right_after_boot(clock):
    address_search.district_names.clear()
    AddressFactory(street=StreetFactory(name="Musterweg"), house_number=3, district="Nordviertel")
    result = address_search.search_addresses("Musterweg 3 Nordviertel")
    assert result.query.districts == ["Nordviertel"]
    assert [s.label for s in result.suggestions] == ["Musterweg 3, 10115 Nordviertel"]
