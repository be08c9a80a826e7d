"""Admin base classes: object permissions (django-rules), organisation scoping and review.

* Every permission question goes to ``user.has_perm(perm, obj)``, answered by the
  predicates in ``providers.rules``; caseworkers therefore get read-only pages.
* Organisation editors see only their organisations' objects (querysets narrowed),
  may pick only their own organisations, services and locations in forms, and
  their saves become ``PendingChange`` records that an editor approves.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.gis.db import models as gis_models
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from atlas.core.admin import RulesPermissionMixin
from atlas.core.roles import is_caseworker
from planning_areas.admin_base import AtlasGeoAdmin, MapViewMixin

from ..models import Location, Organization, Service
from ..review import (
    UNCHANGED,
    authorise_write,
    propose_change,
    propose_deletion,
    write_needs_review,
)
from ..rules import can_edit_everything, organization_of

SCOPED_FOREIGN_KEYS = {
    "organization": (Organization, "pk"),
    "service": (Service, "organization"),
    "location": (Location, "organization"),
}


def sees_everything(user) -> bool:
    return bool(can_edit_everything(user) or is_caseworker(user))


def scope_queryset(queryset: QuerySet, user, organization_path: str | None) -> QuerySet:
    """Narrow ``queryset`` to what ``user`` may see: all for editors and caseworkers,
    their organisations' objects for organisation editors, nothing for anyone else."""
    if organization_path is None or sees_everything(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    organizations = user.edited_organizations.values("pk")
    if organization_path == "pk":
        return queryset.filter(pk__in=organizations)
    return queryset.filter(**{f"{organization_path}__in": organizations})


class ScopedAdmin(RulesPermissionMixin, SimpleHistoryAdmin):
    """History, rules permissions and organisation scoping for one model's admin.

    ``organization_path`` is the lookup from the model to its organisation
    ("pk" for organisations themselves, None for unscoped models).
    """

    organization_path: str | None = None
    reviewed = False  # saves by organisation editors become pending changes

    def has_add_permission(self, request):
        return request.user.has_perm(self._perm("add"))

    def has_view_permission(self, request, obj=None):
        # Organisation editors see exactly the objects they may edit, also on pages
        # that bypass the narrowed queryset (e.g. a historical version's form).
        if obj is not None and self.organization_path and not sees_everything(request.user):
            organization = organization_of(obj)
            return (
                organization is not None
                and request.user.has_perm(self._perm("view"))
                and organization.editors.filter(pk=request.user.pk).exists()
            )
        return super().has_view_permission(request, obj)

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, self.organization_path)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        limit_choices(field, db_field.name, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        limit_choices(field, db_field.name, request.user)
        return field

    # Review: the published version stays until an editor approves. Saves and deletions ask
    # the one write gate (providers.review.authorise_write), as the API does.
    def _pending(self, request) -> bool:
        return self.reviewed and write_needs_review(request.user, self.model)

    def _authorise(self, request, action: str, obj) -> bool:
        if not self.reviewed:
            return False
        original = self.model._default_manager.filter(pk=obj.pk).first() if obj.pk else None
        scoped = self.organization_path not in (None, "pk") and action != "delete"
        organization = organization_of(obj) if scoped else UNCHANGED
        return authorise_write(
            request.user, action, self.model, instance=original, organization=organization
        )

    def save_model(self, request, obj, form, change):
        if self._authorise(request, "change" if change else "add", obj):
            request._atlas_pending = propose_change(obj, form, request.user, change=change)
            form.save_m2m = lambda: None  # many-to-many values wait in the proposal too
            return
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        if self._authorise(request, "delete", obj):
            request._atlas_pending = propose_deletion(obj, request.user)
            return
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        if self._pending(request):
            for obj in queryset:
                self.delete_model(request, obj)
            return
        super().delete_queryset(request, queryset)

    def get_actions(self, request):
        # The bulk deletion reports "deleted" at once; proposals go one object at a time.
        actions = super().get_actions(request)
        if self._pending(request):
            actions.pop("delete_selected", None)
        return actions

    def log_deletions(self, request, queryset):
        # Django logs before deleting: a proposed deletion is no deletion.
        if not self._pending(request):
            super().log_deletions(request, queryset)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_atlas_pending", None) is not None:
            messages.info(
                request,
                _(
                    "Your deletion has been sent to the editors for review. The object stays"
                    " until they approve it."
                ),
            )
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        return super().response_delete(request, obj_display, obj_id)

    def save_related(self, request, form, formsets, change):
        if getattr(request, "_atlas_pending", None) is not None:
            return
        super().save_related(request, form, formsets, change)

    def log_addition(self, request, obj, message):
        if getattr(request, "_atlas_pending", None) is None:
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if getattr(request, "_atlas_pending", None) is None:
            return super().log_change(request, obj, message)
        return None

    def _pending_response(self, request):
        messages.info(
            request,
            _(
                "Your change has been sent to the editors for review. The published version"
                " stays visible until they approve it."
            ),
        )
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        )

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_atlas_pending", None) is not None:
            return self._pending_response(request)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "_atlas_pending", None) is not None:
            return self._pending_response(request)
        return super().response_change(request, obj)

    def get_inlines(self, request, obj):
        # Inline rows would be saved at once, past the review: organisation editors
        # change links through the editors instead.
        if self._pending(request):
            return []
        return super().get_inlines(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if self._pending(request) and obj is not None:
            fields += [f for f in ("external_id",) if f not in fields and _has_field(obj, f)]
        return fields


class ScopedGeoAdmin(MapViewMixin, ScopedAdmin):
    """ScopedAdmin with django-leaflet map widgets for geometries."""


class ScopedInline(admin.TabularInline):
    """An inline whose foreign-key choices are limited to the user's organisations."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        limit_choices(field, db_field.name, request.user)
        return field

    def get_queryset(self, request):
        path = getattr(self, "organization_path", None)
        return scope_queryset(super().get_queryset(request), request.user, path)


def limit_choices(field, name: str, user) -> None:
    """Offer organisation editors only their own organisations, services and locations."""
    if field is None or name not in SCOPED_FOREIGN_KEYS or sees_everything(user):
        return
    model, path = SCOPED_FOREIGN_KEYS[name]
    if getattr(field, "queryset", None) is not None and field.queryset.model is model:
        field.queryset = scope_queryset(field.queryset, user, path)


def _has_field(obj, name: str) -> bool:
    try:
        obj._meta.get_field(name)
    except Exception:  # FieldDoesNotExist
        return False
    return True


__all__ = [
    "AtlasGeoAdmin",
    "ScopedAdmin",
    "ScopedGeoAdmin",
    "ScopedInline",
    "gis_models",
    "limit_choices",
    "scope_queryset",
    "sees_everything",
]
