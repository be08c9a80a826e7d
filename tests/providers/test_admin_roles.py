"""The permission matrix on the admin: anonymous, caseworker, organisation editor, editor, admin."""

import pytest
from django.urls import reverse

from atlas.core.roles import CASEWORKER
from providers.models import Organization, PendingChange, Service
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    LocationFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_caseworker(db):
    return UserFactory(username="caseworker-staff", is_staff=True, groups=[CASEWORKER])


@pytest.fixture
def services(organization_a, organization_b):
    return {
        "a": ServiceFactory(organization=organization_a, name="Angebot A"),
        "b": ServiceFactory(organization=organization_b, name="Angebot B"),
    }


def _user(request, role):
    return None if role == "anonymous" else request.getfixturevalue(role)


ROLES = ["anonymous", "staff_caseworker", "org_editor_a", "editor", "admin_user_"]


def _client(client, user):
    if user is not None:
        client.force_login(user)
    return client


def service_form(service, **changes):
    data = {
        "organization": service.organization_id,
        "name": service.name,
        "description": service.description,
        "status": service.status,
        "opening_hours": "",
        "is_free": "on",
        "fees": "",
        "website": "",
        "email": "",
        "phone": "",
        "valid_from": "",
        "valid_until": "",
        "last_verified": service.last_verified.isoformat() if service.last_verified else "",
        "external_id": service.external_id,
        "min_age": "",
        "max_age": "",
        "serviceatlocation_set-TOTAL_FORMS": "0",
        "serviceatlocation_set-INITIAL_FORMS": "0",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 302),
        ("staff_caseworker", 200),
        ("org_editor_a", 200),
        ("editor", 200),
        ("admin_user_", 200),
    ],
)
def test_service_changelist_access(client, request, services, role, expected):
    response = _client(client, _user(request, role)).get(
        reverse("admin:providers_service_changelist")
    )
    assert response.status_code == expected
    if expected == 200:
        content = response.content.decode()
        assert "Angebot A" in content
        # Organisation editors see only their organisations' services.
        assert ("Angebot B" in content) is (role != "org_editor_a")


@pytest.mark.parametrize(
    ("role", "can_open", "can_save"),
    [
        ("staff_caseworker", True, False),
        ("org_editor_a", False, False),
        ("editor", True, True),
        ("admin_user_", True, True),
    ],
)
def test_change_page_of_another_organisations_service(
    client, request, services, role, can_open, can_save
):
    client = _client(client, _user(request, role))
    url = reverse("admin:providers_service_change", args=[services["b"].pk])
    response = client.get(url)
    if can_open:
        assert response.status_code == 200
        assert ('name="_save"' in response.content.decode()) is can_save
    else:
        # Outside the narrowed queryset: the admin answers "does not exist".
        assert response.status_code == 302
    response = client.post(url, service_form(services["b"], name="Übernommen"))
    services["b"].refresh_from_db()
    assert (services["b"].name == "Übernommen") is can_save
    assert not PendingChange.objects.exists()
    if not can_save and can_open:
        assert response.status_code == 403


def test_anonymous_is_sent_to_login_for_every_admin_page(client, services):
    for url in (
        reverse("admin:providers_service_change", args=[services["a"].pk]),
        reverse("admin:providers_service_add"),
        reverse("admin:providers_servicedeletion_changelist"),
        reverse("admin:providers_problemreport_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_user_without_role_is_refused(client, services):
    client.force_login(UserFactory(username="staff-no-role", is_staff=True))
    assert client.get(reverse("admin:providers_service_changelist")).status_code == 403


def test_caseworker_cannot_add_or_delete(client, staff_caseworker, services):
    client.force_login(staff_caseworker)
    assert client.get(reverse("admin:providers_service_add")).status_code == 403
    url = reverse("admin:providers_service_delete", args=[services["a"].pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Service.objects.filter(pk=services["a"].pk).exists()


def test_org_editor_cannot_delete_other_organisations_service(client, org_editor_a, services):
    client.force_login(org_editor_a)
    url = reverse("admin:providers_service_delete", args=[services["b"].pk])
    client.post(url, {"post": "yes"})
    assert Service.objects.filter(pk=services["b"].pk).exists()


def test_org_editor_forms_offer_only_own_organisations(client, org_editor_a, services):
    client.force_login(org_editor_a)
    response = client.get(reverse("admin:providers_service_add"))
    assert response.status_code == 200
    choices = response.context["adminform"].form.fields["organization"].queryset
    assert list(choices.values_list("name", flat=True)) == ["Träger A e.V."]
    response = client.get(reverse("admin:providers_contact_add"))
    field = response.context["adminform"].form.fields["service"]
    assert set(field.queryset) == {services["a"]}


def test_org_editor_cannot_move_a_service_to_another_organisation(
    client, org_editor_a, organization_b, services
):
    client.force_login(org_editor_a)
    url = reverse("admin:providers_service_change", args=[services["a"].pk])
    response = client.post(url, service_form(services["a"], organization=organization_b.pk))
    assert response.status_code == 200  # the form shows the error
    assert "organization" in response.context["adminform"].form.errors
    services["a"].refresh_from_db()
    assert services["a"].organization != organization_b
    assert not PendingChange.objects.exists()


def test_org_editor_cannot_appoint_editors(client, org_editor_a, organization_a):
    client.force_login(org_editor_a)
    response = client.get(reverse("admin:providers_organization_change", args=[organization_a.pk]))
    assert response.status_code == 200
    assert "editors" not in response.context["adminform"].form.fields


def test_locations_and_contacts_are_scoped_too(
    client, org_editor_a, organization_a, organization_b
):
    LocationFactory(organization=organization_a, name="Ort A")
    LocationFactory(organization=organization_b, name="Ort B")
    ContactFactory(organization=organization_a, name="Person A")
    ContactFactory(organization=organization_b, name="Person B")
    client.force_login(org_editor_a)
    locations = client.get(reverse("admin:providers_location_changelist")).content.decode()
    contacts = client.get(reverse("admin:providers_contact_changelist")).content.decode()
    assert "Ort A" in locations and "Ort B" not in locations
    assert "Person A" in contacts and "Person B" not in contacts


def test_org_editor_cannot_see_history_of_other_organisations_service(
    client, org_editor_a, services
):
    client.force_login(org_editor_a)
    record = services["b"].history.first()
    url = reverse(
        "admin:providers_service_simple_history", args=[services["b"].pk, record.history_id]
    )
    assert client.get(url).status_code == 403


def test_category_admin_is_for_editors_only(client, org_editor_a, editor):
    category = CategoryFactory()
    url = reverse("admin:providers_category_change", args=[category.pk])
    client.force_login(org_editor_a)
    response = client.get(url)
    assert 'name="_save"' not in response.content.decode()
    client.force_login(editor)
    assert 'name="_save"' in client.get(url).content.decode()


def test_editorial_pages_are_for_editors(client, org_editor_a, staff_caseworker, editor):
    for url in (
        reverse("admin:providers_servicedeletion_changelist"),
        reverse("admin:providers_problemreport_changelist"),
    ):
        for user, expected in ((org_editor_a, 403), (staff_caseworker, 403), (editor, 200)):
            client.force_login(user)
            assert client.get(url).status_code == expected, (url, user)


def test_organisation_rows_unchanged_by_refused_requests(client, org_editor_a, organization_b):
    client.force_login(org_editor_a)
    before = list(Organization.objects.values_list("pk", "name", "updated_at"))
    client.post(
        reverse("admin:providers_organization_change", args=[organization_b.pk]),
        {"name": "Gekapert", "kind": "free"},
    )
    assert list(Organization.objects.values_list("pk", "name", "updated_at")) == before
