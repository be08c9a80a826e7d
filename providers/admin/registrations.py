from django.contrib import admin, messages
from django.db.models import Count
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_update_with_history

from ..history import revert_links, version_links
from ..imports.views import service_import_view
from ..models import (
    Category,
    Contact,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TargetGroup,
)
from ..rules import can_edit_everything
from .base import ScopedAdmin, ScopedGeoAdmin, ScopedInline
from .exports import EXPORT_ACTIONS


class StaleFilter(admin.SimpleListFilter):
    title = _("verification")
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", _("not verified for 12 months")), ("no", _("recently verified"))]

    def queryset(self, request, queryset):
        stale = Service.objects.stale().values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=stale)
        if self.value() == "no":
            return queryset.exclude(pk__in=stale)
        return queryset


class ServiceInline(ScopedInline):
    model = Service
    fields = ["name", "status", "last_verified"]
    extra = 0
    show_change_link = True


class ContactInline(ScopedInline):
    model = Contact
    fields = ["name", "role", "phone", "email", "visibility", "publication_consent_date"]
    extra = 0
    show_change_link = True


class ServiceAtLocationInline(ScopedInline):
    model = ServiceAtLocation
    autocomplete_fields = ["location"]
    extra = 0


@admin.register(Category)
class CategoryAdmin(ScopedAdmin):
    list_display = ["name", "parent", "slug", "icon", "colour", "sort_order"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


@admin.register(TargetGroup)
class TargetGroupAdmin(ScopedAdmin):
    list_display = ["name", "slug", "sort_order"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Organization)
class OrganizationAdmin(ScopedAdmin):
    organization_path = "pk"
    reviewed = True
    actions = EXPORT_ACTIONS
    list_display = ["name", "kind", "service_count", "website", "external_id"]
    list_filter = ["kind"]
    search_fields = ["name", "external_id", "email"]
    filter_horizontal = ["editors"]
    inlines = [ServiceInline, ContactInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_service_count=Count("services"))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("providers.add_organization"):
            fields.append("editors")  # organisation editors cannot appoint further editors
        return fields

    @admin.display(description=_("services"), ordering="_service_count")
    def service_count(self, obj):
        return obj._service_count


@admin.register(Service)
class ServiceAdmin(ScopedAdmin):
    organization_path = "organization"
    reviewed = True

    # Reverting to a historical version: the form shows that version's categories and target
    # groups (not today's), and a saved revert restores its locations too (the revert form
    # has no inlines).
    def get_form(self, request, obj=None, **kwargs):
        record = self._reverted_version(request)
        if obj is not None and record is not None:
            links = version_links(record)
            obj._prefetched_objects_cache = {
                "categories": Category.objects.filter(pk__in=links["categories"]),
                "target_groups": TargetGroup.objects.filter(pk__in=links["target_groups"]),
            }
        return super().get_form(request, obj, **kwargs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        reverted = request.method == "POST" and response.status_code == 302
        if reverted and getattr(request, "_atlas_pending", None) is None:
            record = self._reverted_version(request)
            revert_links(Service.objects.get(pk=object_id), record)
        return response

    def _reverted_version(self, request):
        match = request.resolver_match
        if match is None or not match.url_name.endswith("_simple_history"):
            return None
        # simple_history's URL passes (object_id, version_id) positionally.
        version_id = match.kwargs.get("version_id") or match.args[-1]
        return Service.history.filter(history_id=version_id).first()

    actions = [*EXPORT_ACTIONS, "mark_verified", "publish", "archive"]
    list_display = ["name", "organization", "status", "is_free", "last_verified", "is_stale_flag"]
    list_filter = [
        "status",
        StaleFilter,
        "categories",
        "target_groups",
        "is_free",
        "organization__kind",
    ]
    list_select_related = ["organization"]
    search_fields = ["name", "description", "organization__name", "external_id"]
    autocomplete_fields = ["organization", "categories", "target_groups"]
    date_hierarchy = "updated_at"
    inlines = [ServiceAtLocationInline, ContactInline]
    fieldsets = [
        (None, {"fields": ["organization", "name", "description", "status"]}),
        (
            _("Classification"),
            {
                "fields": [
                    "categories",
                    "target_groups",
                    "min_age",
                    "max_age",
                    "languages",
                    "legal_basis",
                ]
            },
        ),
        (
            _("Access"),
            {"fields": ["opening_hours", "is_free", "fees", "website", "email", "phone"]},
        ),
        (
            _("Validity and review"),
            {"fields": ["valid_from", "valid_until", "last_verified", "external_id"]},
        ),
    ]

    @admin.display(description=_("stale"), boolean=True)
    def is_stale_flag(self, obj):
        return obj.is_stale

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(lambda request: service_import_view(self, request)),
                name="providers_service_import",
            ),
            *super().get_urls(),
        ]

    def has_publish_permission(self, request):
        return bool(can_edit_everything(request.user))

    def _bulk_update(self, request, queryset, reason: str, **values) -> int:
        # One history record per service, with the user and the reason.
        services = list(queryset)
        for service in services:
            for name, value in values.items():
                setattr(service, name, value)
        bulk_update_with_history(
            services,
            Service,
            list(values),
            default_user=request.user,
            default_change_reason=reason,
        )
        return len(services)

    @admin.action(description=_("Confirm: verified today"), permissions=["change"])
    def mark_verified(self, request, queryset):
        done = self._bulk_update(
            request, queryset, _("verified"), last_verified=timezone.localdate()
        )
        self.message_user(request, _("%(n)d services marked as verified.") % {"n": done})

    @admin.action(description=_("Publish"), permissions=["publish"])
    def publish(self, request, queryset):
        done = self._bulk_update(request, queryset, _("published"), status=Service.Status.PUBLISHED)
        self.message_user(request, _("%(n)d services published.") % {"n": done})

    @admin.action(description=_("Archive"), permissions=["publish"])
    def archive(self, request, queryset):
        done = self._bulk_update(request, queryset, _("archived"), status=Service.Status.ARCHIVED)
        self.message_user(request, _("%(n)d services archived.") % {"n": done})


@admin.register(Location)
class LocationAdmin(ScopedGeoAdmin):
    organization_path = "organization"
    reviewed = True
    actions = EXPORT_ACTIONS
    list_display = [
        "name",
        "street",
        "house_number",
        "postcode",
        "organization",
        "wheelchair",
        "is_outside_areas",
    ]
    list_filter = ["wheelchair", "is_outside_areas", "city"]
    list_select_related = ["organization"]
    search_fields = ["name", "street", "postcode", "external_id"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["area_list"]

    @admin.display(description=_("planning areas"))
    def area_list(self, obj):
        if not obj.pk:
            return "–"
        areas = obj.areas.select_related("layer").order_by("layer__level")
        return ", ".join(f"{a.layer.name}: {a}" for a in areas) or _("outside all planning areas")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.pk and obj.is_outside_areas:
            self.message_user(
                request,
                _("“%(name)s” lies outside every planning area. Check the position.")
                % {"name": obj.name},
                messages.WARNING,
            )


@admin.register(Contact)
class ContactAdmin(ScopedAdmin):
    organization_path = "organization"
    reviewed = True
    actions = EXPORT_ACTIONS
    list_display = ["name", "role", "organization", "service", "visibility", "is_demo"]
    list_filter = ["visibility", "is_demo"]
    list_select_related = ["organization", "service"]
    search_fields = ["name", "role", "email", "organization__name"]
    autocomplete_fields = ["organization", "service"]
