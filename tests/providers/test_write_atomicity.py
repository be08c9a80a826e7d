"""A write and the data derived from it commit together: an interrupted write leaves nothing.

The derived update (a location's stored planning areas, computed after the row is saved) is
made to fail the way a database stop would (an OperationalError); afterwards the location,
its history and its areas are all as before.
"""

import pytest
from django.contrib.gis.geos import Point
from django.db import OperationalError
from rest_framework.test import APIClient

from providers.models import Location, LocationQuerySet
from tests.factories import AreaFactory, LocationFactory, ServiceFactory, square

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def location(organization_a):
    west = AreaFactory(code="W", geometry=square(13.0, 52.0, 0.1))
    AreaFactory(code="E", geometry=square(14.0, 52.0, 0.1))
    location = LocationFactory(organization=organization_a, point=Point(13.05, 52.05))
    ServiceFactory(organization=organization_a, locations=[location])
    assert list(location.areas.values_list("code", flat=True)) == ["W"]
    return location, west


@pytest.fixture
def derived_update_fails(monkeypatch):
    def fail(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(LocationQuerySet, "refresh_areas", fail)


def assert_unchanged(location, west, history_rows):
    stored = Location.objects.get(pk=location.pk)
    assert stored.point.coords == pytest.approx((13.05, 52.05))
    assert list(stored.areas.all()) == [west]
    assert stored.history.count() == history_rows


def test_an_interrupted_api_patch_leaves_the_location_as_it_was(
    location, editor, derived_update_fails
):
    location, west = location
    history_rows = location.history.count()
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(editor)
    response = client.patch(
        f"/api/v1/locations/{location.pk}/",
        {"geometry": {"type": "Point", "coordinates": [14.05, 52.05]}},
        format="json",
    )
    assert response.status_code >= 500
    assert_unchanged(location, west, history_rows)


def test_an_interrupted_save_leaves_the_location_as_it_was(location, derived_update_fails):
    location, west = location
    history_rows = location.history.count()
    location.point = Point(14.05, 52.05)
    with pytest.raises(OperationalError):
        location.save()
    assert_unchanged(location, west, history_rows)
