"""Review of organisation editors' changes, history restore and deleted services."""

import pytest
from django.urls import reverse

from providers.models import (
    Contact,
    PendingChange,
    Service,
    ServiceAtLocation,
    ServiceDeletion,
)
from providers.review import ReviewError, approve
from tests.factories import CategoryFactory, ContactFactory, LocationFactory, ServiceFactory

from .test_admin_roles import service_form

pytestmark = pytest.mark.django_db


def _public_names():
    return list(Service.objects.published().values_list("name", flat=True))


def test_org_editor_change_waits_for_approval(client, org_editor_a, editor, organization_a):
    service = ServiceFactory(organization=organization_a, name="Familiencafé")
    client.force_login(org_editor_a)
    url = reverse("admin:providers_service_change", args=[service.pk])
    response = client.post(url, service_form(service, name="Familiencafé am Park"))
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.name == "Familiencafé"  # the published version stays
    assert _public_names() == ["Familiencafé"]
    pending = PendingChange.objects.get()
    assert pending.data == {"name": "Familiencafé am Park"}
    assert pending.organization == organization_a and pending.author == org_editor_a

    # The editor sees the comparison and approves.
    client.force_login(editor)
    page = client.get(reverse("admin:providers_pendingchange_change", args=[pending.pk]))
    assert "Familiencafé am Park" in page.content.decode()
    client.post(
        reverse("admin:providers_pendingchange_changelist"),
        {"action": "approve_selected", "_selected_action": [pending.pk]},
    )
    service.refresh_from_db()
    assert service.name == "Familiencafé am Park"
    pending.refresh_from_db()
    assert pending.status == "approved" and pending.reviewed_by == editor
    record = service.history.latest("history_date")
    assert record.history_user == editor
    assert "editor-a" in record.history_change_reason


def test_org_editor_new_service_is_created_only_on_approval(
    client, org_editor_a, editor, organization_a
):
    client.force_login(org_editor_a)
    category = CategoryFactory(slug="familie")
    data = service_form(
        ServiceFactory.build(organization=organization_a, name="Neues Angebot"),
        categories=[category.pk],
    )
    data.pop("external_id")
    client.post(reverse("admin:providers_service_add"), data)
    assert not Service.objects.filter(name="Neues Angebot").exists()
    pending = PendingChange.objects.get()
    assert pending.object_id is None
    service = approve(pending, editor)
    assert service.name == "Neues Angebot" and list(service.categories.all()) == [category]
    with pytest.raises(ReviewError):
        approve(pending, editor)


def test_org_editor_many_to_many_change_waits_too(client, org_editor_a, organization_a):
    service = ServiceFactory(organization=organization_a)
    category = CategoryFactory(slug="jugend")
    client.force_login(org_editor_a)
    client.post(
        reverse("admin:providers_service_change", args=[service.pk]),
        service_form(service, categories=[category.pk]),
    )
    assert not service.categories.exists()
    assert PendingChange.objects.get().data["categories"] == [category.pk]


def test_editor_changes_are_published_at_once(client, editor, organization_a):
    service = ServiceFactory(organization=organization_a, name="Alt")
    client.force_login(editor)
    client.post(
        reverse("admin:providers_service_change", args=[service.pk]),
        service_form(service, name="Neu"),
    )
    service.refresh_from_db()
    assert service.name == "Neu" and not PendingChange.objects.exists()


def test_rejected_change_leaves_the_service(client, org_editor_a, editor, organization_a):
    service = ServiceFactory(organization=organization_a, name="Bleibt")
    client.force_login(org_editor_a)
    client.post(
        reverse("admin:providers_service_change", args=[service.pk]),
        service_form(service, name="Falsch"),
    )
    client.force_login(editor)
    pending = PendingChange.objects.get()
    client.post(
        reverse("admin:providers_pendingchange_changelist"),
        {"action": "reject_selected", "_selected_action": [pending.pk]},
    )
    service.refresh_from_db()
    assert service.name == "Bleibt"
    assert PendingChange.objects.get().status == "rejected"


def test_org_editor_cannot_approve_own_change(client, org_editor_a, organization_a):
    service = ServiceFactory(organization=organization_a, name="Alt")
    client.force_login(org_editor_a)
    client.post(
        reverse("admin:providers_service_change", args=[service.pk]),
        service_form(service, name="Selbst genehmigt"),
    )
    pending = PendingChange.objects.get()
    client.post(
        reverse("admin:providers_pendingchange_changelist"),
        {"action": "approve_selected", "_selected_action": [pending.pk]},
    )
    service.refresh_from_db()
    assert service.name == "Alt"
    assert PendingChange.objects.get().status == "pending"


def _form_data(form):
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[name] = [getattr(v, "pk", v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = getattr(value, "pk", value)
    return data


def test_admin_history_restores_an_earlier_version(client, editor, organization_a):
    service = ServiceFactory(organization=organization_a, name="Erste Fassung", phone="030 1")
    first = service.history.latest("history_date")
    service.name, service.phone = "Zweite Fassung", "030 2"
    service.save()
    client.force_login(editor)
    history = client.get(reverse("admin:providers_service_history", args=[service.pk]))
    assert history.status_code == 200
    url = reverse("admin:providers_service_simple_history", args=[service.pk, first.history_id])
    page = client.get(url)
    assert page.status_code == 200
    data = _form_data(page.context["adminform"].form)
    assert data["name"] == "Erste Fassung"
    response = client.post(url, data)
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.name, service.phone) == ("Erste Fassung", "030 1")
    assert service.history.latest("history_date").history_user == editor


def test_deleted_service_is_restored_with_its_links(client, editor, organization_a):
    location = LocationFactory(organization=organization_a)
    category = CategoryFactory(slug="familie")
    service = ServiceFactory(
        organization=organization_a, name="Gelöscht", locations=[location], categories=[category]
    )
    contact = ContactFactory(organization=organization_a, service=service)
    pk = service.pk
    client.force_login(editor)
    response = client.post(reverse("admin:providers_service_delete", args=[pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Service.objects.filter(pk=pk).exists()
    deletion = ServiceDeletion.objects.get(service_id=pk)
    assert deletion.deleted_by == editor
    assert Service.history.filter(id=pk, history_type="-").exists()

    listing = client.get(reverse("admin:providers_servicedeletion_changelist"))
    assert "Gelöscht" in listing.content.decode()
    client.post(
        reverse("admin:providers_servicedeletion_changelist"),
        {"action": "restore_selected", "_selected_action": [deletion.pk]},
    )
    restored = Service.objects.get(pk=pk)
    assert restored.name == "Gelöscht" and restored.organization == organization_a
    assert list(restored.categories.all()) == [category]
    assert ServiceAtLocation.objects.filter(service=restored, location=location).exists()
    assert Contact.objects.get(pk=contact.pk).service == restored
    deletion.refresh_from_db()
    assert deletion.restored_by == editor
    assert restored.history.latest("history_date").history_user == editor


def test_bulk_delete_action_is_recorded_per_service(client, editor, organization_a):
    services = [ServiceFactory(organization=organization_a) for _ in range(3)]
    client.force_login(editor)
    client.post(
        reverse("admin:providers_service_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [s.pk for s in services],
            "post": "yes",
        },
    )
    assert not Service.objects.exists()
    deleted = Service.history.filter(history_type="-")
    assert deleted.count() == 3
    assert set(deleted.values_list("history_user", flat=True)) == {editor.pk}
    assert ServiceDeletion.objects.count() == 3


def test_bulk_mark_verified_is_recorded(client, editor, organization_a):
    services = [ServiceFactory(organization=organization_a, last_verified=None) for _ in range(2)]
    client.force_login(editor)
    client.post(
        reverse("admin:providers_service_changelist"),
        {"action": "mark_verified", "_selected_action": [s.pk for s in services]},
    )
    for service in services:
        service.refresh_from_db()
        assert service.last_verified is not None
        assert service.history.latest("history_date").history_user == editor
