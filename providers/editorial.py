"""Models of the editorial workflow: pending changes, deleted services, problem reports.

Imported by ``providers.models`` so that Django registers them with the app.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class PendingChangeQuerySet(models.QuerySet):
    def pending(self) -> PendingChangeQuerySet:
        return self.filter(status=PendingChange.Status.PENDING)


class PendingChange(models.Model):
    """A change proposed by an organisation editor; the published version stays until approval.

    ``data`` holds the proposed field values as the admin form cleaned them
    (foreign keys and many-to-many as ids, geometries as EWKT); an approval
    applies them in one transaction and records the editor in the history.
    ``object_id`` is empty for a proposed new object.
    """

    class Kind(models.TextChoices):
        SAVE = "save", _("create or change")
        DELETION = "deletion", _("deletion")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("kind of object"), on_delete=models.CASCADE
    )
    object_id = models.PositiveIntegerField(_("object id"), null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=255)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SAVE)
    organization = models.ForeignKey(
        "providers.Organization",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="pending_changes",
    )
    data = models.JSONField(_("proposed values"), default=dict)
    changed_fields = models.JSONField(_("changed fields"), default=list)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("note to the author"), blank=True)

    objects = PendingChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("pending change")
        verbose_name_plural = _("pending changes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.content_type.name}: {self.object_repr}"


class ServiceDeletion(models.Model):
    """A deleted service, with what it was linked to, so that it can be restored."""

    service_id = models.PositiveIntegerField(_("service id"), db_index=True)
    name = models.CharField(_("name"), max_length=255)
    organization_name = models.CharField(_("organisation"), max_length=255, blank=True)
    links = models.JSONField(_("links at deletion"), default=dict)
    deleted_at = models.DateTimeField(_("deleted at"), auto_now_add=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    restored_at = models.DateTimeField(_("restored at"), null=True, blank=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("restored by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("deleted service")
        verbose_name_plural = _("deleted services")
        ordering = ["-deleted_at"]

    def __str__(self) -> str:
        return self.name


class ProblemReport(models.Model):
    """A ticket: someone reported that a published service is wrong."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("the service no longer exists")
        ADDRESS = "address", _("wrong address or position")
        HOURS = "hours", _("wrong opening hours")
        CONTACT = "contact", _("wrong phone, e-mail or website")
        OTHER = "other", _("something else")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        DISMISSED = "dismissed", _("dismissed")

    service = models.ForeignKey(
        "providers.Service",
        verbose_name=_("service"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="problem_reports",
    )
    kind = models.CharField(_("problem"), max_length=10, choices=Kind.choices)
    message = models.TextField(_("message"), max_length=2000)
    email = models.EmailField(
        _("e-mail for questions"), blank=True, help_text=_("Optional; only editors see it.")
    )
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution = models.TextField(_("resolution"), blank=True)
    sender_hash = models.CharField(
        _("sender fingerprint"),
        max_length=64,
        blank=True,
        db_index=True,
        editable=False,
        help_text=_("Keyed hash of the sender's address, for the rate limit; not the address."),
    )
    history = HistoricalRecords(excluded_fields=["sender_hash"])

    class Meta:
        verbose_name = _("problem report")
        verbose_name_plural = _("problem reports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.service or '–'}"
