"""Admin pages of the editorial workflow: review queue, deleted services, problem reports."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from ..editorial import PendingChange, ProblemReport, ServiceDeletion
from ..history import RestoreError, restore_deleted_service
from ..review import ReviewError, approve, current_values, reject
from .base import ScopedAdmin


@admin.register(PendingChange)
class PendingChangeAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False  # created by the workflow, never by hand

    organization_path = "organization"
    list_display = [
        "object_repr",
        "content_type",
        "kind",
        "organization",
        "author",
        "created_at",
        "status",
    ]
    list_filter = ["status", "kind", "content_type"]
    list_select_related = ["content_type", "organization", "author"]
    search_fields = ["object_repr", "organization__name"]
    readonly_fields = [
        "content_type",
        "object_id",
        "object_repr",
        "kind",
        "organization",
        "author",
        "created_at",
        "comparison",
        "status",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = [*readonly_fields, "review_note"]
    actions = ["approve_selected", "reject_selected"]

    @admin.display(description=_("proposed change"))
    def comparison(self, obj):
        current = current_values(obj)
        return format_html_join(
            "",
            "<p><strong>{}</strong>: <del>{}</del> → <ins>{}</ins></p>",
            (
                (name, current.get(name) if current.get(name) not in (None, "") else "–", value)
                for name, value in obj.data.items()
            ),
        )

    @admin.action(description=_("Approve the selected changes"), permissions=["change"])
    def approve_selected(self, request, queryset):
        done = 0
        for pending in queryset.pending():
            try:
                approve(pending, request.user)
                done += 1
            except ReviewError as exc:
                self.message_user(request, f"{pending}: {exc}", messages.ERROR)
        self.message_user(request, _("%(n)d changes approved and published.") % {"n": done})

    @admin.action(description=_("Reject the selected changes"), permissions=["change"])
    def reject_selected(self, request, queryset):
        done = 0
        for pending in queryset.pending():
            reject(pending, request.user, pending.review_note)
            done += 1
        self.message_user(request, _("%(n)d changes rejected.") % {"n": done})


@admin.register(ServiceDeletion)
class ServiceDeletionAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False  # created by the workflow, never by hand

    list_display = ["name", "organization_name", "deleted_at", "deleted_by", "restored_at"]
    list_filter = ["restored_at"]
    search_fields = ["name", "organization_name"]
    readonly_fields = [f.name for f in ServiceDeletion._meta.fields]
    actions = ["restore_selected"]

    @admin.action(description=_("Restore the selected services"), permissions=["change"])
    def restore_selected(self, request, queryset):
        restored = 0
        for deletion in queryset.filter(restored_at__isnull=True):
            try:
                restore_deleted_service(deletion, user=request.user)
                restored += 1
            except RestoreError as exc:
                self.message_user(request, f"{deletion}: {exc}", messages.ERROR)
        self.message_user(request, _("%(n)d services restored.") % {"n": restored})


@admin.register(ProblemReport)
class ProblemReportAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False  # created by the workflow, never by hand

    list_display = ["service", "kind", "status", "created_at", "assigned_to"]
    list_filter = ["status", "kind"]
    list_select_related = ["service", "assigned_to"]
    search_fields = ["message", "service__name"]
    readonly_fields = ["service", "kind", "message", "email", "created_at"]
    fields = [*readonly_fields, "status", "assigned_to", "resolution"]
    actions = ["mark_done"]

    @admin.action(description=_("Mark as done"), permissions=["change"])
    def mark_done(self, request, queryset):
        for report in queryset:
            report.status = ProblemReport.Status.DONE
            report._history_user = request.user
            report.save()
