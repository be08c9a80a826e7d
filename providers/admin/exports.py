"""Admin actions: export the selected (filtered) rows as CSV, Excel or GeoJSON."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from atlas.core.roles import can_see_internal_contacts

from ..exports import CONTENT_TYPES, export
from ..review import needs_review


def _respond(modeladmin, request, queryset, fmt: str) -> HttpResponse:
    # Internal contact data goes to caseworkers and editors, and to organisation
    # editors for their own contacts (the queryset is narrowed to those already).
    internal = can_see_internal_contacts(request.user) or needs_review(request.user)
    content = export(queryset, fmt, internal=internal)
    name = f"{modeladmin.opts.model_name}s-{timezone.localdate():%Y-%m-%d}.{fmt}"
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@admin.action(description=_("Export selected as CSV"), permissions=["view"])
def export_csv(modeladmin, request, queryset):
    return _respond(modeladmin, request, queryset, "csv")


@admin.action(description=_("Export selected as Excel"), permissions=["view"])
def export_xlsx(modeladmin, request, queryset):
    return _respond(modeladmin, request, queryset, "xlsx")


@admin.action(description=_("Export selected as GeoJSON"), permissions=["view"])
def export_geojson(modeladmin, request, queryset):
    return _respond(modeladmin, request, queryset, "geojson")


EXPORT_ACTIONS = [export_csv, export_xlsx, export_geojson]
