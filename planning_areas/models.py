"""Planning areas: layers (Gliederungen), areas (Planungsräume) and responsibilities."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def _valid_on(day: datetime.date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=day)) & (
        Q(valid_until__isnull=True) | Q(valid_until__gte=day)
    )


class LayerQuerySet(models.QuerySet):
    def current(self, day: datetime.date | None = None) -> LayerQuerySet:
        """Layers valid on ``day`` (today by default)."""
        return self.filter(_valid_on(day or timezone.localdate()))


class Layer(models.Model):
    """A Gliederung: one level of one edition of a city's planning areas."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    level = models.PositiveSmallIntegerField(
        _("level"),
        default=1,
        help_text=_("1 for the coarsest layer (e.g. districts), counting up."),
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent layer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    description = models.TextField(_("description"), blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=500, blank=True)
    licence = models.CharField(_("licence"), max_length=200, blank=True)
    history = HistoricalRecords()

    objects = LayerQuerySet.as_manager()

    class Meta:
        verbose_name = _("layer")
        verbose_name_plural = _("layers")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValidationError(
                {"valid_until": _("The end of validity must not be before its start.")}
            )
        if self.parent_id and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A layer cannot be its own parent.")})

    @property
    def is_current(self) -> bool:
        today = timezone.localdate()
        return (self.valid_from is None or self.valid_from <= today) and (
            self.valid_until is None or self.valid_until >= today
        )


class AreaQuerySet(models.QuerySet):
    def containing(self, point: Point) -> AreaQuerySet:
        """Areas on any layer whose geometry covers ``point`` (index-backed ST_Covers)."""
        return self.filter(geometry__covers=point)

    def current(self, day: datetime.date | None = None) -> AreaQuerySet:
        day = day or timezone.localdate()
        return self.filter(
            (Q(layer__valid_from__isnull=True) | Q(layer__valid_from__lte=day))
            & (Q(layer__valid_until__isnull=True) | Q(layer__valid_until__gte=day))
        )

    def by_key(self, layer_slug: str, code: str) -> AreaQuerySet:
        return self.filter(layer__slug=layer_slug, code=code)

    def descendant_ids(self, areas) -> set[int]:
        """Ids of ``areas`` and of all areas below them (children, grandchildren, …)."""
        ids = {area.pk for area in areas}
        frontier = set(ids)
        while frontier:
            frontier = set(self.filter(parent_id__in=frontier).values_list("pk", flat=True)) - ids
            ids |= frontier
        return ids


class Area(models.Model):
    """A Planungsraum (or district, region…) on one layer, keyed by its official code."""

    layer = models.ForeignKey(
        Layer, verbose_name=_("layer"), on_delete=models.CASCADE, related_name="areas"
    )
    code = models.CharField(
        _("code"), max_length=40, help_text=_("Official key, as a string with leading zeros.")
    )
    name = models.CharField(_("name"), max_length=200, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent area"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
    )
    geometry = models.MultiPolygonField(_("geometry"), srid=settings.ATLAS_SRID, spatial_index=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    indicators = models.JSONField(
        _("indicators"),
        default=dict,
        blank=True,
        help_text=_("Further figures, e.g. inhabitants under 18 or social-monitoring indices."),
    )
    history = HistoricalRecords()

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("planning area")
        verbose_name_plural = _("planning areas")
        ordering = ["layer__level", "code"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "code"], name="area_unique_code_per_layer")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        if self.parent_id is None:
            return
        if self.parent_id == self.pk:
            raise ValidationError({"parent": _("An area cannot be its own parent.")})
        if self.layer.parent_id and self.parent.layer_id != self.layer.parent_id:
            raise ValidationError(
                {
                    "parent": _("The parent area must lie on the parent layer “%(layer)s”.")
                    % {"layer": self.layer.parent}
                }
            )

    def ancestors(self) -> list[Area]:
        """Parent, grandparent, … up to the top layer."""
        chain, node, seen = [], self.parent, {self.pk}
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain


class ResponsibilityQuerySet(models.QuerySet):
    def current(self, day: datetime.date | None = None) -> ResponsibilityQuerySet:
        return self.filter(_valid_on(day or timezone.localdate()))


class Responsibility(models.Model):
    """A Zuständigkeit: a contact person responsible for an area, optionally for one category."""

    contact = models.ForeignKey(
        "providers.Contact",
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
        "providers.Category",
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
    history = HistoricalRecords()

    objects = ResponsibilityQuerySet.as_manager()

    class Meta:
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
