"""Indicators (Indikatoren): figures per area and period, e.g. inhabitants under 6 or child poverty.

An indicator says how its values combine when areas are put together, so that a
coarser layer or a composed layer can be computed from a finer one:

* ``sum`` for counts (inhabitants, places),
* ``weighted_mean`` for rates and indices, weighted by another indicator (a
  child-poverty rate by the children it is a rate of),
* ``ratio`` for shares recomputed from a numerator and a denominator indicator
  (times ``scale``, e.g. 100 for per cent),
* ``none`` for figures that do not combine (ranks, categories).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from .areas import Area


class Indicator(models.Model):
    class Aggregation(models.TextChoices):
        SUM = "sum", _("sum (counts)")
        WEIGHTED_MEAN = "weighted_mean", _("weighted mean (rates, indices)")
        RATIO = "ratio", _("ratio of numerator and denominator")
        NONE = "none", _("does not aggregate")

    class Polarity(models.TextChoices):
        NEUTRAL = "neutral", _("neither")
        HIGHER_IS_BETTER = "higher_better", _("higher is better")
        HIGHER_IS_WORSE = "higher_worse", _("higher is worse")

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(
        _("unit"), max_length=40, blank=True, help_text=_("E.g. “persons” or “%”.")
    )
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("source"), max_length=500, blank=True)
    licence = models.CharField(_("licence"), max_length=200, blank=True)
    reference_date = models.DateField(
        _("reference date"),
        null=True,
        blank=True,
        help_text=_("The date the latest values describe (Stichtag)."),
    )
    polarity = models.CharField(
        _("higher values are"),
        max_length=20,
        choices=Polarity.choices,
        default=Polarity.NEUTRAL,
    )
    aggregation = models.CharField(
        _("aggregation"), max_length=20, choices=Aggregation.choices, default=Aggregation.NONE
    )
    weight = models.ForeignKey(
        "self",
        verbose_name=_("weight"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For a weighted mean: the indicator whose values weigh each area."),
    )
    numerator = models.ForeignKey(
        "self",
        verbose_name=_("numerator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    denominator = models.ForeignKey(
        "self",
        verbose_name=_("denominator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    scale = models.FloatField(
        _("scale"), default=1.0, help_text=_("A ratio is multiplied by this, e.g. 100 for %.")
    )
    age_from = models.PositiveSmallIntegerField(
        _("age from"),
        null=True,
        blank=True,
        help_text=_("For counts of residents of an age group: the youngest age counted."),
    )
    age_below = models.PositiveSmallIntegerField(
        _("age below"),
        null=True,
        blank=True,
        help_text=_("For counts of residents of an age group: the first age no longer counted."),
    )
    value_labels = models.JSONField(
        _("value labels"),
        default=dict,
        blank=True,
        help_text=_("Words for coded values, e.g. {“1”: “hoch”} for the MSS status index."),
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["sort_order", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(aggregation="weighted_mean", weight__isnull=False)
                | ~Q(aggregation="weighted_mean"),
                name="indicator_weighted_mean_has_weight",
            ),
            models.CheckConstraint(
                condition=Q(aggregation="ratio", numerator__isnull=False, denominator__isnull=False)
                | ~Q(aggregation="ratio"),
                name="indicator_ratio_has_numerator_and_denominator",
            ),
            models.CheckConstraint(
                condition=Q(age_from__isnull=True)
                | Q(age_below__isnull=True)
                | Q(age_from__lt=models.F("age_below")),
                name="indicator_age_group_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.aggregation == self.Aggregation.WEIGHTED_MEAN and self.weight_id is None:
            errors["weight"] = _("A weighted mean needs a weight indicator.")
        if self.aggregation == self.Aggregation.RATIO and not (
            self.numerator_id and self.denominator_id
        ):
            errors["denominator"] = _("A ratio needs a numerator and a denominator.")
        if self.pk and self.pk in (self.weight_id, self.numerator_id, self.denominator_id):
            errors["aggregation"] = _("An indicator cannot be computed from itself.")
        if (
            self.age_from is not None
            and self.age_below is not None
            and self.age_from >= self.age_below
        ):
            errors["age_below"] = _("The age group must end after it starts.")
        if errors:
            raise ValidationError(errors)

    def label(self, value: float | None) -> str:
        """The word for a coded value (MSS status 1 → “hoch”), else the empty string."""
        if value is None or not self.value_labels:
            return ""
        key = str(int(value)) if float(value).is_integer() else str(value)
        return self.value_labels.get(key, "")

    @property
    def is_age_group(self) -> bool:
        return self.aggregation == self.Aggregation.SUM and (
            self.age_from is not None or self.age_below is not None
        )


class IndicatorValueQuerySet(models.QuerySet):
    def latest_per_area(self) -> IndicatorValueQuerySet:
        """The newest value of each indicator in each area (no newer period exists)."""
        newer = IndicatorValue.objects.filter(
            indicator_id=OuterRef("indicator_id"),
            area_id=OuterRef("area_id"),
            period__gt=OuterRef("period"),
        )
        return self.filter(~Exists(newer))

    def on(self, period: datetime.date | None) -> IndicatorValueQuerySet:
        """Values of ``period``, or the newest of each area when ``period`` is None."""
        return self.latest_per_area() if period is None else self.filter(period=period)


class IndicatorValue(models.Model):
    """The value of one indicator in one area for one period (its reference date)."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="values"
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("planning area"),
        on_delete=models.CASCADE,
        related_name="indicator_values",
    )
    period = models.DateField(_("period"), help_text=_("The date the value describes."))
    value = models.FloatField(_("value"))

    objects = IndicatorValueQuerySet.as_manager()

    class Meta:
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        ordering = ["indicator", "area", "-period"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "area", "period"], name="indicator_value_unique_per_period"
            ),
            # PostgreSQL sorts NaN above infinity, so this refuses both.
            models.CheckConstraint(
                condition=Q(value__gt=float("-inf"), value__lt=float("inf")),
                name="indicator_value_finite",
            ),
        ]
        indexes = [models.Index(fields=["area", "indicator"], name="indicator_value_area")]

    def __str__(self) -> str:
        return f"{self.indicator.slug} {self.area.code} {self.period}: {self.value}"
