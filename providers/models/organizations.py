"""Organisations (Träger) running services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .common import TimeStamped


class OrganizationQuerySet(models.QuerySet):
    def visible_to(self, user) -> OrganizationQuerySet:
        """All organisations for staff roles; for the public those with a published service."""
        # Service is defined after (and in terms of) this model: reach it by the relation.
        Service = self.model._meta.get_field("services").related_model  # noqa: N806

        if user.has_perm("providers.view_organization"):
            return self
        return self.filter(
            Exists(Service.objects.published().filter(organization_id=OuterRef("pk")))
        )


class Organization(TimeStamped):
    """A Träger: the body that runs services."""

    class Kind(models.TextChoices):
        PUBLIC = "public", _("public body")
        FREE = "free", _("independent non-profit (freier Träger)")
        OTHER = "other", _("other")

    name = models.CharField(_("name"), max_length=255, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FREE)
    description = models.TextField(_("description"), blank=True)
    website = models.URLField(_("website"), max_length=500, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        blank=True,
        help_text=_("Key of this organisation in the source it was imported from."),
    )
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("editors"),
        blank=True,
        related_name="edited_organizations",
        help_text=_("Users who may edit this organisation's services, locations and contacts."),
    )
    history = HistoricalRecords()

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="organization_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(name__regex=r"\S"), name="organization_name_not_blank"
            ),
        ]

    def __str__(self) -> str:
        return self.name
