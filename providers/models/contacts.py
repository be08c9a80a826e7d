"""Contact persons (Ansprechpersonen), public or for caseworkers only."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from atlas.core.roles import can_see_internal_contacts

from .common import ChoiceArrayField, Language, TimeStamped
from .organizations import Organization
from .services import Service


class ContactQuerySet(models.QuerySet):
    def public(self) -> ContactQuerySet:
        # A deleted service's contacts lose their service (SET_NULL) and would otherwise
        # pass for the organisation's own contacts on its other services' pages.
        return self.filter(visibility=Contact.Visibility.PUBLIC, deleted_service_id=None)

    def visible_to(self, user) -> ContactQuerySet:
        """Public contacts for everyone; internal ones for caseworkers and staff."""
        return self if can_see_internal_contacts(user) else self.public()


class Contact(TimeStamped):
    """An Ansprechperson. Internal contacts are visible to caseworkers only."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("public")
        INTERNAL = "internal", _("internal (caseworkers only)")

    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    internal_phone = models.CharField(
        _("internal phone"),
        max_length=60,
        blank=True,
        help_text=_("Direct line for professionals; never shown to the public."),
    )
    email = models.EmailField(_("email"), blank=True)
    languages = ChoiceArrayField(
        models.CharField(max_length=5, choices=Language.choices),
        verbose_name=_("languages"),
        default=list,
        blank=True,
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="contacts",
    )
    deleted_service_id = models.PositiveBigIntegerField(
        _("deleted service"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The service this contact belonged to was deleted; restoring it relinks."),
    )
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    publication_consent_date = models.DateField(
        _("consent to publication given on"),
        null=True,
        blank=True,
        help_text=_("Required for public contacts (GDPR Art. 6 (1) a)."),
    )
    is_demo = models.BooleanField(
        _("demo data"), default=False, help_text=_("Fictitious person created for the demo.")
    )
    history = HistoricalRecords()

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility="internal") | Q(publication_consent_date__isnull=False),
                name="contact_public_needs_consent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name

    def clean(self) -> None:
        errors = {}
        if self.visibility == self.Visibility.PUBLIC and not self.publication_consent_date:
            errors["publication_consent_date"] = _(
                "A contact can only be made public with the date the person consented."
            )
        if (
            self.service_id
            and self.organization_id
            and (self.service.organization_id != self.organization_id)
        ):
            errors["service"] = _("The service must belong to the contact's organisation.")
        if errors:
            raise ValidationError(errors)
