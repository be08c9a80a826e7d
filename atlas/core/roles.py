"""Roles of the atlas and what they may see.

Groups: ``caseworker`` reads internal contacts; ``editor`` (Redaktion) edits the
whole atlas; ``organization editor`` edits the organisations assigned to them
(``Organization.editors``). Superusers are admins.
"""

import rules

CASEWORKER = "caseworker"
EDITOR = "editor"
ORGANIZATION_EDITOR = "organization editor"
ROLE_GROUPS = (CASEWORKER, EDITOR, ORGANIZATION_EDITOR)


def in_group(user, name: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    # Cache per user object: lookups run once per request, not once per contact.
    cache = getattr(user, "_atlas_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._atlas_groups = cache
    return name in cache


@rules.predicate
def is_caseworker(user) -> bool:
    return in_group(user, CASEWORKER)


@rules.predicate
def is_editor(user) -> bool:
    return in_group(user, EDITOR)


@rules.predicate
def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_superuser)


can_see_internal = is_admin | is_editor | is_caseworker


def can_see_internal_contacts(user) -> bool:
    return can_see_internal(user)


# The caseworker lookup (page and its API: address suggestions and lookups) answers with
# internal contacts and takes addresses of families, so it is for the roles that may read
# internal contacts: caseworkers, editors and admins; organisation editors and other
# logged-in users are refused.
can_use_lookup = can_see_internal
