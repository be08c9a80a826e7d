import datetime

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from planning_areas.models import Area
from providers.models import Contact, Location, Service
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    ContactFactory,
    LayerFactory,
    LocationFactory,
    OrganizationFactory,
    ServiceFactory,
    square,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value", ["Mo-Fr 09:00-17:00", "Mo,We 14:00-18:00; Sa 10:00-13:00", "24/7", ""]
)
def test_valid_opening_hours_pass_validation(value):
    service = ServiceFactory.build(opening_hours=value)
    service.full_clean(exclude=["organization"])


@pytest.mark.parametrize("value", ["Montag bis Freitag", "Mo-Fr 25:00-26:00", "Mo-Fr 9-17 Uhr"])
def test_invalid_opening_hours_give_clear_error(value):
    service = ServiceFactory.build(opening_hours=value)
    with pytest.raises(ValidationError) as excinfo:
        service.full_clean(exclude=["organization"])
    assert "opening_hours" in excinfo.value.message_dict
    assert "opening_hours syntax" in excinfo.value.message_dict["opening_hours"][0]


def test_public_contact_without_consent_date_is_rejected():
    contact = ContactFactory.build(
        visibility=Contact.Visibility.PUBLIC, publication_consent_date=None
    )
    with pytest.raises(ValidationError) as excinfo:
        contact.full_clean(exclude=["organization"])
    assert "publication_consent_date" in excinfo.value.message_dict


def test_public_contact_without_consent_is_refused_by_the_database_too():
    with pytest.raises(IntegrityError):
        ContactFactory(visibility=Contact.Visibility.PUBLIC, publication_consent_date=None)


def test_public_contact_with_consent_date_is_valid():
    contact = ContactFactory(
        visibility=Contact.Visibility.PUBLIC, publication_consent_date=datetime.date(2024, 1, 1)
    )
    contact.full_clean()


def test_contact_service_must_belong_to_its_organization():
    service = ServiceFactory()
    contact = ContactFactory.build(service=service, organization=OrganizationFactory())
    with pytest.raises(ValidationError) as excinfo:
        contact.full_clean()
    assert "service" in excinfo.value.message_dict


def test_age_range_must_be_ordered():
    service = ServiceFactory.build(min_age=12, max_age=6)
    with pytest.raises(ValidationError) as excinfo:
        service.full_clean(exclude=["organization"])
    assert "max_age" in excinfo.value.message_dict


def test_legal_basis_accepts_only_listed_paragraphs():
    service = ServiceFactory.build(legal_basis=["SGB VIII § 16", "SGB XX § 1"])
    with pytest.raises(ValidationError) as excinfo:
        service.full_clean(exclude=["organization"])
    assert "legal_basis" in excinfo.value.message_dict


def test_published_excludes_drafts_and_expired_offers():
    today = datetime.date.today()
    visible = ServiceFactory()
    ServiceFactory(status=Service.Status.DRAFT)
    ServiceFactory(valid_until=today - datetime.timedelta(days=1))
    ServiceFactory(valid_from=today + datetime.timedelta(days=1))
    assert list(Service.objects.published()) == [visible]


def test_stale_services_are_those_not_verified_for_a_year():
    old = ServiceFactory(last_verified=datetime.date.today() - datetime.timedelta(days=400))
    never = ServiceFactory(last_verified=None)
    fresh = ServiceFactory()
    assert set(Service.objects.stale()) == {old, never}
    assert old.is_stale and not fresh.is_stale


def test_category_filter_includes_subcategories():
    parent = CategoryFactory(slug="familie")
    child = CategoryFactory(slug="familienzentrum", parent=parent)
    in_child = ServiceFactory(categories=[child])
    ServiceFactory(categories=[CategoryFactory()])
    assert list(Service.objects.in_category_ids(parent.descendant_ids())) == [in_child]


def test_category_cannot_be_its_own_ancestor():
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError):
        parent.full_clean()


def test_location_areas_are_stored_on_save():
    district = AreaFactory(layer=LayerFactory(slug="bezirke"), geometry=square(13.0, 52.0, 1.0))
    block = AreaFactory(layer=LayerFactory(slug="plr"), geometry=square(13.3, 52.5, 0.2))
    location = LocationFactory(point=Point(13.4, 52.6, srid=4326))
    assert set(location.areas.all()) == {district, block}
    assert location.is_outside_areas is False


def test_location_areas_follow_when_the_location_moves():
    west = AreaFactory(geometry=square(13.0, 52.0, 0.1))
    east = AreaFactory(geometry=square(14.0, 52.0, 0.1))
    location = LocationFactory(point=Point(13.05, 52.05, srid=4326))
    assert list(location.areas.all()) == [west]
    location.point = Point(14.05, 52.05, srid=4326)
    location.save()
    assert list(location.areas.all()) == [east]


def test_location_outside_every_area_is_allowed_but_flagged():
    AreaFactory(geometry=square(13.0, 52.0, 0.1))
    location = LocationFactory(point=Point(8.0, 50.0, srid=4326))
    assert location.is_outside_areas is True
    assert list(Location.objects.filter(is_outside_areas=True)) == [location]
    assert location.areas.count() == 0


def test_refresh_areas_relinks_locations_in_bulk():
    locations = [LocationFactory(point=Point(13.05, 52.05, srid=4326)) for _ in range(3)]
    area = AreaFactory(geometry=square(13.0, 52.0, 0.1))  # created after the locations
    assert Location.objects.filter(areas=area).count() == 0
    written = Location.objects.all().refresh_areas()
    assert written == 3
    assert set(Location.objects.filter(areas=area)) == set(locations)
    assert not Area.objects.get(pk=area.pk).locations.filter(is_outside_areas=True).exists()
