"""The one write gate (providers.review.authorise_write) on every write path.

A matrix over the API (POST/PATCH/DELETE on services, locations, contacts) and the admin
(add, change, delete of services; deletion of locations and contacts) × anonymous,
caseworker, organisation editor of A acting on A, organisation editor of A acting on B,
editor and admin. Each case asserts the outcome (immediate, pending, refused) and what the
database holds afterwards.
"""

import pytest
from rest_framework.test import APIClient

from providers.editorial import PendingChange
from providers.models import Contact, Location, Service
from providers.review import approve
from tests.factories import ContactFactory, LocationFactory, ServiceFactory, UserFactory
from tests.providers.test_admin_roles import service_form

pytestmark = pytest.mark.django_db

IMMEDIATE, PENDING, REFUSED = "immediate", "pending", "refused"

# (actor fixture, organisation acted on, expected outcome)
ACTORS = [
    ("anonymous", "a", REFUSED),
    ("staff_caseworker", "a", REFUSED),
    ("org_editor_a", "a", PENDING),
    ("org_editor_a", "b", REFUSED),
    ("editor", "a", IMMEDIATE),
    ("admin_user_", "a", IMMEDIATE),
]
ACTOR_IDS = [f"{name}-on-{org}" for name, org, _ in ACTORS]


@pytest.fixture
def staff_caseworker(db):
    return UserFactory(username="caseworker-staff", is_staff=True, groups=["caseworker"])


@pytest.fixture
def organizations(organization_a, organization_b):
    return {"a": organization_a, "b": organization_b}


def _user(request, name):
    return None if name == "anonymous" else request.getfixturevalue(name)


def _api(request, name) -> APIClient:
    client = APIClient()
    user = _user(request, name)
    if user is not None:
        client.force_authenticate(user)
    return client


# -- API -----------------------------------------------------------------------------------

MODELS = {
    "services": Service,
    "locations": Location,
    "contacts": Contact,
}


def _existing(kind, organization):
    if kind == "services":
        return ServiceFactory(organization=organization, name="Vorher")
    if kind == "locations":
        location = LocationFactory(organization=organization, name="Vorher")
        # Published services make the location visible to everyone (as in real use).
        ServiceFactory(organization=organization, locations=[location])
        return location
    return ContactFactory(organization=organization, name="Vorher")


def _create_payload(kind, organization):
    if kind == "services":
        return {"organization": organization.pk, "name": "Neu", "status": "published"}
    if kind == "locations":
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [13.4, 52.52]},
            "properties": {"organization": organization.pk, "name": "Neu"},
        }
    return {"organization": organization.pk, "name": "Neu"}


def _change_payload(kind):
    if kind == "locations":
        return {"properties": {"name": "Geändert"}}
    return {"name": "Geändert"}


def _assert_outcome(response, outcome):
    if outcome == REFUSED:
        assert response.status_code in (401, 403), response.content
    elif outcome == PENDING:
        assert response.status_code == 202, response.content
        assert PendingChange.objects.filter(pk=response.json()["pending_change"]).exists()
    else:
        assert response.status_code in (200, 201, 204), response.content


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize(("name", "org", "outcome"), ACTORS, ids=ACTOR_IDS)
def test_api_create(request, organizations, kind, name, org, outcome):
    model = MODELS[kind]
    response = _api(request, name).post(
        f"/api/v1/{kind}/", _create_payload(kind, organizations[org]), format="json"
    )
    _assert_outcome(response, outcome)
    assert model.objects.filter(name="Neu").exists() is (outcome == IMMEDIATE)
    assert PendingChange.objects.count() == (outcome == PENDING)


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize(("name", "org", "outcome"), ACTORS, ids=ACTOR_IDS)
def test_api_change(request, organizations, kind, name, org, outcome):
    obj = _existing(kind, organizations[org])
    response = _api(request, name).patch(
        f"/api/v1/{kind}/{obj.pk}/", _change_payload(kind), format="json"
    )
    if outcome == REFUSED and response.status_code == 404:
        pass  # not even visible to this caller: refused all the same
    else:
        _assert_outcome(response, outcome)
    obj.refresh_from_db()
    assert obj.name == ("Geändert" if outcome == IMMEDIATE else "Vorher")
    assert PendingChange.objects.count() == (outcome == PENDING)


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize(("name", "org", "outcome"), ACTORS, ids=ACTOR_IDS)
def test_api_delete(request, organizations, kind, name, org, outcome):
    model = MODELS[kind]
    obj = _existing(kind, organizations[org])
    response = _api(request, name).delete(f"/api/v1/{kind}/{obj.pk}/")
    if outcome == REFUSED and response.status_code == 404:
        pass
    else:
        _assert_outcome(response, outcome)
    assert model.objects.filter(pk=obj.pk).exists() is (outcome != IMMEDIATE)
    pending = PendingChange.objects.filter(kind=PendingChange.Kind.DELETION, object_id=obj.pk)
    assert pending.exists() is (outcome == PENDING)


def test_org_editor_cannot_publish_through_the_api(org_editor_a, organization_a, editor):
    draft = ServiceFactory(organization=organization_a, status=Service.Status.DRAFT)
    client = APIClient()
    client.force_authenticate(org_editor_a)
    response = client.patch(f"/api/v1/services/{draft.pk}/", {"status": "published"})
    assert response.status_code == 202
    draft.refresh_from_db()
    assert draft.status == Service.Status.DRAFT
    assert APIClient().get(f"/api/v1/services/{draft.pk}/").status_code == 404
    approve(PendingChange.objects.get(), editor)
    draft.refresh_from_db()
    assert draft.status == Service.Status.PUBLISHED


def test_org_editor_cannot_make_an_internal_contact_public(org_editor_a, organization_a):
    contact = ContactFactory(organization=organization_a, name="Intern")
    client = APIClient()
    client.force_authenticate(org_editor_a)
    response = client.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"visibility": "public", "publication_consent_date": "2025-01-01"},
        format="json",
    )
    assert response.status_code == 202
    contact.refresh_from_db()
    assert contact.visibility == Contact.Visibility.INTERNAL
    public = APIClient().get("/api/v1/contacts/").json()
    assert "Intern" not in str(public)


def test_org_editor_cannot_create_a_contact_without_organisation(org_editor_a):
    client = APIClient()
    client.force_authenticate(org_editor_a)
    response = client.post("/api/v1/contacts/", {"name": "Niemandes"}, format="json")
    assert response.status_code in (400, 403)
    assert not Contact.objects.filter(name="Niemandes").exists()
    assert not PendingChange.objects.exists()


def test_an_approved_deletion_deletes(org_editor_a, organization_a, editor):
    service = ServiceFactory(organization=organization_a)
    client = APIClient()
    client.force_authenticate(org_editor_a)
    assert client.delete(f"/api/v1/services/{service.pk}/").status_code == 202
    assert Service.objects.filter(pk=service.pk).exists()
    approve(PendingChange.objects.get(), editor)
    assert not Service.objects.filter(pk=service.pk).exists()


# -- admin ---------------------------------------------------------------------------------


def _admin(client, request, name):
    user = _user(request, name)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(("name", "org", "outcome"), ACTORS, ids=ACTOR_IDS)
def test_admin_add_service(client, request, organizations, name, org, outcome):
    template = ServiceFactory.build(organization=organizations[org], name="Neu")
    data = service_form(template, external_id="")
    response = _admin(client, request, name).post("/admin/providers/service/add/", data)
    if outcome == REFUSED:
        # 403, the login page, or the form again with the organisation refused as a choice.
        assert response.status_code in (200, 302, 403)
        assert response.status_code != 302 or "/login/" in response["Location"]
    else:
        assert response.status_code == 302, response.content.decode()[:2000]
    assert Service.objects.filter(name="Neu").exists() is (outcome == IMMEDIATE)
    assert PendingChange.objects.count() == (outcome == PENDING)


@pytest.mark.parametrize(("name", "org", "outcome"), ACTORS, ids=ACTOR_IDS)
def test_admin_change_service(client, request, organizations, name, org, outcome):
    service = ServiceFactory(organization=organizations[org], name="Vorher")
    url = f"/admin/providers/service/{service.pk}/change/"
    response = _admin(client, request, name).post(url, service_form(service, name="Geändert"))
    assert response.status_code in (302, 403, 404)
    service.refresh_from_db()
    assert service.name == ("Geändert" if outcome == IMMEDIATE else "Vorher")
    assert PendingChange.objects.count() == (outcome == PENDING)


@pytest.mark.parametrize(
    ("model", "factory"),
    [
        ("service", lambda org: ServiceFactory(organization=org)),
        ("location", lambda org: LocationFactory(organization=org)),
        ("contact", lambda org: ContactFactory(organization=org)),
    ],
)
@pytest.mark.parametrize(("name", "org", "outcome"), ACTORS, ids=ACTOR_IDS)
def test_admin_delete(client, request, organizations, model, factory, name, org, outcome):
    obj = factory(organizations[org])
    url = f"/admin/providers/{model}/{obj.pk}/delete/"
    response = _admin(client, request, name).post(url, {"post": "yes"})
    assert response.status_code in (302, 403, 404)
    assert type(obj).objects.filter(pk=obj.pk).exists() is (outcome != IMMEDIATE)
    pending = PendingChange.objects.filter(kind=PendingChange.Kind.DELETION, object_id=obj.pk)
    assert pending.exists() is (outcome == PENDING)


def test_admin_offers_org_editors_no_bulk_deletion(client, org_editor_a, organization_a):
    ServiceFactory(organization=organization_a)
    client.force_login(org_editor_a)
    page = client.get("/admin/providers/service/").content.decode()
    assert 'value="delete_selected"' not in page


# -- responsibilities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status"),
    [("org_editor_a", 403), ("staff_caseworker", 200), ("editor", 200), ("admin_user_", 200)],
)
def test_responsibilities_admin_only_for_those_who_read_internal_contacts(
    client, request, name, status
):
    client.force_login(request.getfixturevalue(name))
    assert client.get("/admin/lookup/responsibility/").status_code == status
