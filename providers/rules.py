"""Object permissions (django-rules), shared by the admin, the API and the import pages.

Admins and editors (Redaktion) may change everything; an organisation editor only
the organisations assigned to them and their services, locations and contacts.
"""

import rules

from atlas.core.roles import (
    ORGANIZATION_EDITOR,
    can_see_internal,
    in_group,
    is_admin,
    is_caseworker,
    is_editor,
)

from .models import Organization


def organization_of(obj):
    """The organisation an object belongs to (itself for an organisation)."""
    if obj is None:
        return None
    if isinstance(obj, Organization):
        return obj
    return getattr(obj, "organization", None)


@rules.predicate
def is_organization_editor(user) -> bool:
    return in_group(user, ORGANIZATION_EDITOR) and user.edited_organizations.exists()


@rules.predicate
def edits_organization_of(user, obj) -> bool:
    """True for an organisation editor assigned to ``obj``'s organisation.

    Without an object (list and add pages) it answers whether the user edits any
    organisation; querysets are narrowed with ``editable_by``.
    """
    if not in_group(user, ORGANIZATION_EDITOR):
        return False
    if obj is None:
        return user.edited_organizations.exists()
    organization = organization_of(obj)
    return organization is not None and organization.editors.filter(pk=user.pk).exists()


can_edit_everything = is_admin | is_editor
can_edit = can_edit_everything | edits_organization_of
is_staff_reader = can_edit_everything | is_caseworker | is_organization_editor

for model in ("service", "location", "contact", "serviceatlocation"):
    rules.add_perm(f"providers.view_{model}", is_staff_reader)
    rules.add_perm(f"providers.add_{model}", can_edit)
    rules.add_perm(f"providers.change_{model}", can_edit)
    rules.add_perm(f"providers.delete_{model}", can_edit)

rules.add_perm("providers.view_organization", is_staff_reader)
rules.add_perm("providers.change_organization", can_edit)
rules.add_perm("providers.add_organization", can_edit_everything)
rules.add_perm("providers.delete_organization", can_edit_everything)

for model in ("category", "targetgroup"):
    rules.add_perm(f"providers.view_{model}", is_staff_reader)
    for action in ("add", "change", "delete"):
        rules.add_perm(f"providers.{action}_{model}", can_edit_everything)

for app, model in (
    ("planning_areas", "layer"),
    ("planning_areas", "area"),
    ("planning_areas", "indicator"),
):
    rules.add_perm(f"{app}.view_{model}", is_staff_reader)
    for action in ("add", "change", "delete"):
        rules.add_perm(f"{app}.{action}_{model}", can_edit_everything)

rules.add_perm("providers", is_staff_reader)
rules.add_perm("planning_areas", is_staff_reader)
# Responsibilities name internal contacts: only those who may read internal contacts see them.
rules.add_perm("lookup.view_responsibility", can_see_internal)
for action in ("add", "change", "delete"):
    rules.add_perm(f"lookup.{action}_responsibility", can_edit_everything)
rules.add_perm("lookup", can_see_internal)

# Editorial workflow: editors review, restore and work through tickets; organisation
# editors follow their own proposals.
rules.add_perm("providers.view_pendingchange", can_edit_everything | is_organization_editor)
rules.add_perm("providers.change_pendingchange", can_edit_everything)
rules.add_perm("providers.add_pendingchange", rules.always_deny)
rules.add_perm("providers.delete_pendingchange", can_edit_everything)
for model in ("servicedeletion", "problemreport"):
    rules.add_perm(f"providers.view_{model}", can_edit_everything)
    rules.add_perm(f"providers.change_{model}", can_edit_everything)
    rules.add_perm(f"providers.add_{model}", rules.always_deny)
    rules.add_perm(f"providers.delete_{model}", can_edit_everything)

# Import pages: editors may import anything; organisation editors their own services.
rules.add_perm("providers.import_services", can_edit_everything | is_organization_editor)
rules.add_perm("planning_areas.import_areas", can_edit_everything)
