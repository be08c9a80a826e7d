"""Indicator values of a layer: stored, or combined from a finer layer by the indicator's rule.

A layer without its own values of an indicator (a composed layer, a coarser level
the source does not publish) gets them from the finest layer that has them: each
source area counts in the target area that covers its point on surface, and the
values combine as the indicator says (sum, weighted mean, ratio). Indicators that
do not aggregate (``none``) stay empty there.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Max

from .models import Area, Indicator, IndicatorValue, Layer


@dataclass(frozen=True)
class LayerValues:
    """Values of one indicator per area id of a layer, and where they come from."""

    indicator: Indicator
    values: dict[int, float]
    period: datetime.date | None
    source_layer: Layer | None  # None: stored on the layer itself

    @property
    def is_aggregated(self) -> bool:
        return self.source_layer is not None


def latest_period(indicator: Indicator, layer: Layer) -> datetime.date | None:
    return (
        IndicatorValue.objects.filter(indicator=indicator, area__layer=layer)
        .aggregate(period=Max("period"))
        .get("period")
    )


def stored_values(
    indicator: Indicator, layer: Layer, period: datetime.date | None = None
) -> tuple[dict[int, float], datetime.date | None]:
    """Values stored on ``layer`` for ``period`` (the latest one by default)."""
    period = period or latest_period(indicator, layer)
    if period is None:
        return {}, None
    rows = IndicatorValue.objects.filter(
        indicator=indicator, area__layer=layer, period=period
    ).values_list("area_id", "value")
    return dict(rows), period


def finest_layer_with(indicator: Indicator, exclude: Layer | None = None) -> Layer | None:
    """The layer with the most values of ``indicator`` (the finest that has them)."""
    counts = (
        IndicatorValue.objects.filter(indicator=indicator)
        .exclude(area__layer=exclude)
        .values("area__layer")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return Layer.objects.get(pk=counts["area__layer"]) if counts else None


def area_mapping(source: Layer, target: Layer) -> dict[int, int]:
    """Source area id → the target area covering its point on surface (PostGIS)."""
    table = Area._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.id, t.id FROM "{table}" s
            JOIN "{table}" t ON t.layer_id = %s
             AND ST_Covers(t.geometry, ST_PointOnSurface(s.geometry))
            WHERE s.layer_id = %s
            """,  # noqa: S608 - table name from model metadata
            [target.pk, source.pk],
        )
        return dict(cursor.fetchall())


def combine(
    indicator: Indicator, members: dict[int, list[int]], source: Layer, period
) -> dict[int, float]:
    """Values of target areas from their member source areas, by the indicator's rule."""

    def values_of(ind: Indicator) -> dict[int, float]:
        return stored_values(ind, source, period if ind.pk == indicator.pk else None)[0]

    rule = indicator.aggregation
    result: dict[int, float] = {}
    if rule == Indicator.Aggregation.SUM:
        own = values_of(indicator)
        for target, ids in members.items():
            found = [own[i] for i in ids if i in own]
            if found:
                result[target] = sum(found)
    elif rule == Indicator.Aggregation.WEIGHTED_MEAN:
        own, weights = values_of(indicator), values_of(indicator.weight)
        for target, ids in members.items():
            pairs = [(own[i], weights[i]) for i in ids if i in own and i in weights]
            total = sum(w for _v, w in pairs)
            if total > 0:
                result[target] = sum(v * w for v, w in pairs) / total
    elif rule == Indicator.Aggregation.RATIO:
        numerator, denominator = values_of(indicator.numerator), values_of(indicator.denominator)
        for target, ids in members.items():
            common = [i for i in ids if i in numerator and i in denominator]
            below = sum(denominator[i] for i in common)
            if below > 0:
                result[target] = indicator.scale * sum(numerator[i] for i in common) / below
    return result


def values_on_layer(
    indicator: Indicator, layer: Layer, period: datetime.date | None = None
) -> LayerValues:
    """The indicator's values per area of ``layer``: stored ones, else combined."""
    stored, found_period = stored_values(indicator, layer, period)
    if stored or indicator.aggregation == Indicator.Aggregation.NONE:
        return LayerValues(indicator, stored, found_period, None)
    source = finest_layer_with(indicator, exclude=layer)
    if source is None:
        return LayerValues(indicator, {}, None, None)
    source_period = period or latest_period(indicator, source)
    members: dict[int, list[int]] = defaultdict(list)
    for source_id, target_id in area_mapping(source, layer).items():
        members[target_id].append(source_id)
    return LayerValues(
        indicator, combine(indicator, members, source, source_period), source_period, source
    )


def city_value(indicator: Indicator, layer: Layer, period=None) -> float | None:
    """The indicator for the whole municipality, combined from ``layer``'s values."""
    values = values_on_layer(indicator, layer, period)
    if not values.values:
        return None
    source = values.source_layer or layer
    ids = list(Area.objects.filter(layer=source).values_list("pk", flat=True))
    combined = combine(indicator, {0: ids}, source, values.period)
    return combined.get(0)
