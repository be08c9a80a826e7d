from django.contrib import admin

from planning_areas.admin import AreaAdmin
from planning_areas.models import Area
from providers.admin import ScopedAdmin

from .models import Responsibility


class ResponsibilityInline(admin.TabularInline):
    model = Responsibility
    autocomplete_fields = ["contact", "category"]
    extra = 0


# The area page lists the area's responsibilities: planning_areas knows nothing of them,
# so this app, which sits above it, adds the inline.
admin.site.unregister(Area)


@admin.register(Area)
class AreaWithResponsibilitiesAdmin(AreaAdmin):
    inlines = [*AreaAdmin.inlines, ResponsibilityInline]


@admin.register(Responsibility)
class ResponsibilityAdmin(ScopedAdmin):
    list_display = ["contact", "area", "category", "valid_from", "valid_until"]
    list_filter = ["area__layer", "category"]
    list_select_related = ["contact", "area", "category"]
    search_fields = ["contact__name", "area__name", "area__code"]
    autocomplete_fields = ["contact", "area", "category"]
