"""Responsibilities (Zuständigkeiten): who answers for an area, optionally for one category.

They join planning areas and contact persons, so they live above both apps.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from planning_areas.models import Area, valid_on
from providers.models import Category, Contact


class ResponsibilityQuerySet(models.QuerySet):
    def current(self, day: datetime.date | None = None) -> ResponsibilityQuerySet:
        return self.filter(valid_on(day or timezone.localdate()))


class Responsibility(models.Model):
    """A Zuständigkeit: a contact person responsible for an area, optionally for one category."""

    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact person"),
        on_delete=models.CASCADE,
        related_name="responsibilities",
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("planning area"),
        on_delete=models.CASCADE,
        related_name="responsibilities",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responsibilities",
        help_text=_("Leave empty if the person is responsible for everything in the area."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    # The table names from the time the model lived in planning_areas: moving the model
    # moved no data.
    history = HistoricalRecords(table_name="planning_areas_historicalresponsibility")

    objects = ResponsibilityQuerySet.as_manager()

    class Meta:
        db_table = "planning_areas_responsibility"
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")
        ordering = ["area__layer__level", "area__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="responsibility_validity_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact} → {self.area}"

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValidationError(
                {"valid_until": _("The end of validity must not be before its start.")}
            )
