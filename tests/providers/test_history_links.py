"""History keeps a service's links: reverting restores categories, target groups and
locations; restoring a deleted service links its problem reports again."""

import pytest
from django.urls import reverse

from providers.editorial import ProblemReport
from providers.history import restore_deleted_service
from providers.models import Contact, Service, ServiceAtLocation, ServiceDeletion
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    LocationFactory,
    ServiceFactory,
    TargetGroupFactory,
)

from .test_review_and_history import _form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed_service(organization_a):
    """A service whose first version had other categories, target groups and locations."""
    old = {
        "category": CategoryFactory(slug="alt"),
        "group": TargetGroupFactory(slug="alt-gruppe"),
        "location": LocationFactory(organization=organization_a, name="Alter Standort"),
    }
    new = {
        "category": CategoryFactory(slug="neu"),
        "group": TargetGroupFactory(slug="neu-gruppe"),
        "location": LocationFactory(organization=organization_a, name="Neuer Standort"),
    }
    service = ServiceFactory(
        organization=organization_a,
        name="Erste Fassung",
        categories=[old["category"]],
        locations=[old["location"]],
    )
    service.target_groups.set([old["group"]])
    first = service.history.latest("history_date")
    service.name = "Zweite Fassung"
    service.save()
    service.categories.set([new["category"]])
    service.target_groups.set([new["group"]])
    ServiceAtLocation.objects.filter(service=service).delete()
    ServiceAtLocation.objects.create(service=service, location=new["location"])
    return service, first, old


def test_a_version_remembers_its_categories_target_groups_and_locations(changed_service):
    service, first, old = changed_service
    assert [row.category_id for row in first.categories.all()] == [old["category"].pk]
    assert [row.targetgroup_id for row in first.target_groups.all()] == [old["group"].pk]


def test_reverting_in_the_admin_restores_the_links(client, editor, changed_service):
    service, first, old = changed_service
    client.force_login(editor)
    url = reverse("admin:providers_service_simple_history", args=[service.pk, first.history_id])
    page = client.get(url)
    assert page.status_code == 200
    data = _form_data(page.context["adminform"].form)
    assert data["categories"] == [old["category"].pk]  # the form shows the old version's links
    response = client.post(url, data)
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.name == "Erste Fassung"
    assert list(service.categories.all()) == [old["category"]]
    assert list(service.target_groups.all()) == [old["group"]]
    assert list(service.locations.all()) == [old["location"]]


def test_restoring_a_deleted_service_links_its_problem_reports_again(organization_a, editor):
    service = ServiceFactory(organization=organization_a)
    report = ProblemReport.objects.create(service=service, kind="other", message="Falsche Zeit")
    pk = service.pk
    service.delete()
    report.refresh_from_db()
    assert report.service is None
    restored = restore_deleted_service(ServiceDeletion.objects.get(service_id=pk), user=editor)
    report.refresh_from_db()
    assert report.service == restored
    assert Service.objects.filter(pk=pk).exists()


def test_a_deleted_services_contacts_stay_off_the_organisations_other_pages(
    client, organization_a, editor
):
    deleted = ServiceFactory(organization=organization_a, name="Wird gelöscht")
    other = ServiceFactory(organization=organization_a, name="Bleibt")
    ContactFactory(
        organization=organization_a,
        service=deleted,
        name="Frau Nurfürdasgelöschte",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date="2025-01-01",
    )
    pk = deleted.pk
    deleted.delete()
    page = client.get(reverse("atlas:service_detail", args=[other.pk])).content.decode()
    assert "Nurfürdasgelöschte" not in page
    assert "Nurfürdasgelöschte" not in client.get("/api/v1/contacts/").content.decode()
    restored = restore_deleted_service(ServiceDeletion.objects.get(service_id=pk), user=editor)
    page = client.get(reverse("atlas:service_detail", args=[restored.pk])).content.decode()
    assert "Nurfürdasgelöschte" in page
