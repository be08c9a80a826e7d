from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Category,
    Contact,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TargetGroup,
)


class AtlasGeoAdmin(LeafletGeoAdminMixin, SimpleHistoryAdmin):
    """Admin with django-leaflet map widgets and django-simple-history's history view."""


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


class ServiceInline(admin.TabularInline):
    model = Service
    fields = ["name", "status", "last_verified"]
    extra = 0
    show_change_link = True


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["name", "role", "phone", "email", "visibility", "publication_consent_date"]
    extra = 0
    show_change_link = True


class ServiceAtLocationInline(admin.TabularInline):
    model = ServiceAtLocation
    autocomplete_fields = ["location"]
    extra = 0


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ["name", "parent", "slug", "icon", "colour", "sort_order"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


@admin.register(TargetGroup)
class TargetGroupAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "sort_order"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "service_count", "website", "external_id"]
    list_filter = ["kind"]
    search_fields = ["name", "external_id", "email"]
    filter_horizontal = ["editors"]
    inlines = [ServiceInline, ContactInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_service_count=Count("services"))

    @admin.display(description=_("services"), ordering="_service_count")
    def service_count(self, obj):
        return obj._service_count


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
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


@admin.register(Location)
class LocationAdmin(AtlasGeoAdmin):
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
        if obj.is_outside_areas:
            self.message_user(
                request,
                _("“%(name)s” lies outside every planning area. Check the position.")
                % {"name": obj.name},
                messages.WARNING,
            )


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ["name", "role", "organization", "service", "visibility", "is_demo"]
    list_filter = ["visibility", "is_demo"]
    list_select_related = ["organization", "service"]
    search_fields = ["name", "role", "email", "organization__name"]
    autocomplete_fields = ["organization", "service"]
