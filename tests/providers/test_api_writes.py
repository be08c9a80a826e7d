"""Writes through the API: the permission matrix and invalid payloads."""

import pytest
from django.contrib.gis.geos import Point
from rest_framework.test import APIClient

from providers.models import Contact, Location, Service
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    LocationFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "caseworker", "org_editor_a", "editor", "admin_user_")


@pytest.fixture
def actor(request):
    """Resolve an actor name to a logged-in API client (or an anonymous one)."""

    def make(name):
        client = APIClient()
        if name != "anonymous":
            client.force_authenticate(request.getfixturevalue(name))
        return client

    return make


def service_payload(organization, **extra):
    return {
        "organization": organization.pk,
        "name": "Neues Angebot",
        "description": "Beratung",
        "status": "published",
        **extra,
    }


# Expected status per actor: creating in A, changing B's service, deleting B's service.
SERVICE_MATRIX = {
    "anonymous": (403, 403, 403),
    "caseworker": (403, 403, 403),
    "org_editor_a": (202, 403, 403),  # 202: a pending change for the Redaktion
    "editor": (201, 200, 204),
    "admin_user_": (201, 200, 204),
}


@pytest.mark.parametrize("name", ACTORS)
def test_service_write_permission_matrix(name, actor, organization_a, organization_b):
    client = actor(name)
    create, change, delete = SERVICE_MATRIX[name]
    other = ServiceFactory(organization=organization_b)
    response = client.post("/api/v1/services/", service_payload(organization_a), format="json")
    assert response.status_code == create, response.content
    response = client.patch(f"/api/v1/services/{other.pk}/", {"name": "X"}, format="json")
    assert response.status_code == change, response.content
    response = client.delete(f"/api/v1/services/{other.pk}/")
    assert response.status_code == delete, response.content
    assert Service.objects.filter(pk=other.pk).exists() == (delete != 204)


def test_organization_editor_changes_and_deletes_own_services_through_review(
    org_editor_a, organization_a
):
    client = APIClient()
    client.force_authenticate(org_editor_a)
    own = ServiceFactory(organization=organization_a, status=Service.Status.DRAFT)
    response = client.patch(f"/api/v1/services/{own.pk}/", {"name": "Neu"}, format="json")
    assert response.status_code == 202
    own.refresh_from_db()
    assert own.name != "Neu"
    assert client.delete(f"/api/v1/services/{own.pk}/").status_code == 202
    assert Service.objects.filter(pk=own.pk).exists()


def test_organization_editor_cannot_create_for_another_organization(org_editor_a, organization_b):
    client = APIClient()
    client.force_authenticate(org_editor_a)
    response = client.post("/api/v1/services/", service_payload(organization_b), format="json")
    assert response.status_code == 403
    assert not Service.objects.filter(organization=organization_b).exists()


def test_organization_editor_cannot_move_own_service_to_another_organization(
    org_editor_a, organization_a, organization_b
):
    client = APIClient()
    client.force_authenticate(org_editor_a)
    own = ServiceFactory(organization=organization_a)
    response = client.patch(
        f"/api/v1/services/{own.pk}/", {"organization": organization_b.pk}, format="json"
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.organization == organization_a


def test_created_service_links_categories_and_locations(editor, organization_a):
    client = APIClient()
    client.force_authenticate(editor)
    CategoryFactory(slug="kita")
    location = LocationFactory(organization=organization_a)
    payload = service_payload(organization_a, categories=["kita"], locations=[location.pk])
    response = client.post("/api/v1/services/", payload, format="json")
    assert response.status_code == 201, response.content
    service = Service.objects.get(pk=response.json()["id"])
    assert list(service.categories.values_list("slug", flat=True)) == ["kita"]
    assert list(service.locations.all()) == [location]
    assert service.history.first().history_user == editor


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"min_age": 10, "max_age": 5}, "max_age"),
        ({"opening_hours": "immer offen"}, "opening_hours"),
        ({"categories": ["gibt-es-nicht"]}, "categories"),
        ({"name": ""}, "name"),
        ({"status": "geheim"}, "status"),
        ({"is_free": True, "fees": "5 €"}, "fees"),
        ({"valid_from": "2025-02-01", "valid_until": "2025-01-01"}, "valid_until"),
    ],
)
def test_invalid_service_payloads_are_400_naming_the_field(editor, organization_a, payload, field):
    client = APIClient()
    client.force_authenticate(editor)
    response = client.post(
        "/api/v1/services/", service_payload(organization_a, **payload), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()


LOCATION = {"type": "Point", "coordinates": [13.4, 52.52]}


def location_payload(organization, point=LOCATION):
    return {
        "type": "Feature",
        "geometry": point,
        "properties": {"organization": organization.pk, "name": "Standort"},
    }


@pytest.mark.parametrize("name", ACTORS)
def test_location_write_permission_matrix(name, actor, organization_a, organization_b):
    client = actor(name)
    expected = SERVICE_MATRIX[name]
    other = LocationFactory(organization=organization_b)
    response = client.post("/api/v1/locations/", location_payload(organization_a), format="json")
    assert response.status_code == expected[0], response.content
    response = client.patch(
        f"/api/v1/locations/{other.pk}/", {"properties": {"name": "X"}}, format="json"
    )
    assert response.status_code in (expected[1], 404 if name == "anonymous" else expected[1])
    response = client.delete(f"/api/v1/locations/{other.pk}/")
    assert response.status_code in (expected[2], 404 if name == "anonymous" else expected[2])
    assert Location.objects.filter(pk=other.pk).exists() == (expected[2] != 204)


@pytest.mark.parametrize(
    "point",
    [
        {"type": "Point", "coordinates": [13.4]},
        {"type": "Point", "coordinates": [200, 52]},
        {"type": "Point", "coordinates": ["a", "b"]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        {
            "type": "Point",
            "coordinates": [390000, 5820000],
            "crs": {"type": "name", "properties": {"name": "EPSG:25833"}},
        },
        "POINT(13.4 52.5)",
        None,
    ],
)
def test_location_with_invalid_geometry_or_srid_is_400(editor, organization_a, point):
    client = APIClient()
    client.force_authenticate(editor)
    response = client.post(
        "/api/v1/locations/", location_payload(organization_a, point), format="json"
    )
    assert response.status_code == 400, response.content
    assert "point" in response.json()


def test_created_location_gets_its_areas(editor, organization_a):
    from tests.factories import AreaFactory, square

    area = AreaFactory(geometry=square(13.3, 52.5, 0.2))
    client = APIClient()
    client.force_authenticate(editor)
    response = client.post("/api/v1/locations/", location_payload(organization_a), format="json")
    assert response.status_code == 201, response.content
    location = Location.objects.get(pk=response.json()["id"])
    assert location.point == Point(13.4, 52.52, srid=4326)
    assert list(location.areas.all()) == [area]


def contact_payload(organization, **extra):
    return {"organization": organization.pk, "name": "Frau Beispiel", **extra}


@pytest.mark.parametrize("name", ACTORS)
def test_contact_write_permission_matrix(name, actor, organization_a, organization_b):
    client = actor(name)
    expected = SERVICE_MATRIX[name]
    other = ContactFactory(
        organization=organization_b,
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date="2025-01-01",
    )
    response = client.post("/api/v1/contacts/", contact_payload(organization_a), format="json")
    assert response.status_code == expected[0], response.content
    response = client.patch(f"/api/v1/contacts/{other.pk}/", {"name": "X"}, format="json")
    assert response.status_code == expected[1], response.content
    response = client.delete(f"/api/v1/contacts/{other.pk}/")
    assert response.status_code == expected[2], response.content


def test_public_contact_needs_consent_date(editor, organization_a):
    client = APIClient()
    client.force_authenticate(editor)
    response = client.post(
        "/api/v1/contacts/", contact_payload(organization_a, visibility="public"), format="json"
    )
    assert response.status_code == 400
    assert "publication_consent_date" in response.json()


def test_organization_editor_proposes_changes_to_own_internal_contact(org_editor_a, organization_a):
    contact = ContactFactory(organization=organization_a)
    client = APIClient()
    client.force_authenticate(org_editor_a)
    response = client.patch(
        f"/api/v1/contacts/{contact.pk}/", {"internal_phone": "030 1"}, format="json"
    )
    assert response.status_code == 202
    contact.refresh_from_db()
    assert contact.internal_phone != "030 1"


def test_contacts_list_hides_internal_contacts_and_fields_from_the_public(caseworker):
    organization_contact = ContactFactory(name="Intern", internal_phone="030 999")
    ContactFactory(
        organization=organization_contact.organization,
        name="Öffentlich",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date="2025-01-01",
    )
    public = APIClient().get("/api/v1/contacts/").json()
    assert [c["name"] for c in public["results"]] == ["Öffentlich"]
    assert "internal_phone" not in public["results"][0]
    assert APIClient().get(f"/api/v1/contacts/{organization_contact.pk}/").status_code == 404
    client = APIClient()
    client.force_authenticate(caseworker)
    internal = client.get("/api/v1/contacts/").json()
    assert {c["name"] for c in internal["results"]} == {"Intern", "Öffentlich"}
    assert any(c.get("internal_phone") == "030 999" for c in internal["results"])


def test_organizations_are_changed_by_their_editors_only(
    org_editor_a, organization_a, organization_b
):
    client = APIClient()
    client.force_authenticate(org_editor_a)
    ServiceFactory(organization=organization_b)
    url = "/api/v1/organizations/"
    assert (
        client.patch(f"{url}{organization_a.pk}/", {"phone": "1"}, format="json").status_code == 202
    )
    assert (
        client.patch(f"{url}{organization_b.pk}/", {"phone": "1"}, format="json").status_code == 403
    )
    assert client.post(url, {"name": "Neu"}, format="json").status_code == 403
    assert APIClient().post(url, {"name": "Neu"}, format="json").status_code == 403
