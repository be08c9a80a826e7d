import pytest

from tests.factories import ContactFactory, LocationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_organization_editor_may_change_only_own_services(
    org_editor_a, organization_a, organization_b
):
    own = ServiceFactory(organization=organization_a)
    other = ServiceFactory(organization=organization_b)
    assert org_editor_a.has_perm("providers.change_service", own)
    assert not org_editor_a.has_perm("providers.change_service", other)
    assert org_editor_a.has_perm(
        "providers.change_location", LocationFactory(organization=organization_a)
    )
    assert not org_editor_a.has_perm(
        "providers.delete_contact", ContactFactory(organization=organization_b)
    )


def test_editor_and_admin_may_change_everything(editor, admin_user_, organization_b):
    service = ServiceFactory(organization=organization_b)
    for user in (editor, admin_user_):
        assert user.has_perm("providers.change_service", service)
        assert user.has_perm("planning_areas.change_area")


def test_caseworker_reads_but_does_not_write(caseworker):
    service = ServiceFactory()
    assert caseworker.has_perm("providers.view_service", service)
    assert not caseworker.has_perm("providers.change_service", service)


def test_user_without_role_has_no_permissions():
    user = UserFactory()
    assert not user.has_perm("providers.view_service")
    assert not user.has_perm("providers.change_service", ServiceFactory())


def test_role_groups_exist_after_migration():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {
        "caseworker",
        "editor",
        "organization editor",
    }
