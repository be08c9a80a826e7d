"""Indicator values of a layer: stored, or moved from another layer by the indicator's rule.

A layer without its own values of an indicator (a composed layer, a coarser level
the source does not publish, another edition, postcode areas) gets them from the
finest layer that has them, and says how (``LayerValues.method``):

* ``nested``: the source areas nest in the target's (parent links): exact;
* ``composed``: the target is composed of the source's units (Baukasten): exact;
* ``crosswalk_<method>``: a stored crosswalk splits each source area's residents
  over the target areas (by address codes, address points or area): an estimate;
* ``point_on_surface``: without a crosswalk, each source area counts wholly in the
  target area covering its point on surface: a rough estimate.

The values combine as the indicator says (sum, weighted mean, ratio), each source
area weighted by its share. Indicators that do not aggregate (``none``) stay empty.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Max
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Area, Composition, Crosswalk, CrosswalkShare, Indicator, IndicatorValue, Layer

STORED = "stored"
NESTED = "nested"
COMPOSED = "composed"
POINT_ON_SURFACE = "point_on_surface"
EXACT_METHODS = {STORED, NESTED, COMPOSED}
METHOD_LABELS = {
    STORED: _("as published"),
    NESTED: _("exact sum of the areas within"),
    COMPOSED: _("exact sum of the composing units"),
    POINT_ON_SURFACE: _("estimate: each area counted where its centre lies"),
}


def method_label(
    method: str | None, source: Layer | None = None, target: Layer | None = None
) -> str:
    """The words for a method, in the active language, to show beside a moved figure.

    A crosswalk names its kind and, given the two layers, which crosswalk it is and the
    share of residents it could place (e.g. "estimate by crosswalk (addresses carrying
    both codes; Planungsräume 2021 → Planungsräume 2006, 99.8 % placed)").
    """
    if not method:
        return ""
    if method.startswith("crosswalk_"):
        kinds = dict(Crosswalk.Method.choices)
        kind = kinds.get(method.removeprefix("crosswalk_"), method)
        crosswalk = (
            Crosswalk.objects.filter(source_layer=source, target_layer=target).first()
            if source is not None and target is not None
            else None
        )
        if crosswalk is None:
            return gettext("estimate by crosswalk (%(method)s)") % {"method": kind}
        return gettext(
            "estimate by crosswalk (%(method)s; %(source)s → %(target)s, %(placed)s %% placed)"
        ) % {
            "method": kind,
            "source": source.name,
            "target": target.name,
            "placed": number_format(crosswalk.placed_share * 100, 1),
        }
    return str(METHOD_LABELS.get(method, method))


# Target area id → [(source area id, share of the source area's figures)].
Members = dict[int, list[tuple[int, float]]]


@dataclass(frozen=True)
class LayerValues:
    """Values of one indicator per area id of a layer, and where they come from."""

    indicator: Indicator
    values: dict[int, float]
    period: datetime.date | None
    source_layer: Layer | None  # None: stored on the layer itself
    method: str = STORED
    layer: Layer | None = None  # the layer the values are for

    @property
    def is_aggregated(self) -> bool:
        return self.source_layer is not None

    @property
    def is_exact(self) -> bool:
        return self.method in EXACT_METHODS

    @property
    def method_label(self) -> str:
        return method_label(self.method, self.source_layer, self.layer)


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


def _ancestor_layer_ids(layer: Layer) -> list[int]:
    chain, node, seen = [], layer.parent, {layer.pk}
    while node is not None and node.pk not in seen:
        chain.append(node.pk)
        seen.add(node.pk)
        node = node.parent
    return chain


def memberships(source: Layer, target: Layer) -> tuple[Members, str]:
    """Which source areas make up each target area, with their shares, and how it is known."""
    members: Members = defaultdict(list)
    composition = Composition.objects.filter(layer=target, base_layer=source).first()
    if composition is not None:
        source_ids = dict(Area.objects.filter(layer=source).values_list("code", "pk"))
        target_ids = dict(Area.objects.filter(layer=target).values_list("code", "pk"))
        for base_code, code in composition.units.values_list("base_code", "code"):
            if base_code in source_ids and code in target_ids:
                members[target_ids[code]].append((source_ids[base_code], 1.0))
        return members, COMPOSED
    ancestors = _ancestor_layer_ids(source)
    if target.pk in ancestors:
        current = dict(Area.objects.filter(layer=source).values_list("pk", "parent_id"))
        for layer_id in ancestors:
            if layer_id == target.pk:
                break
            up = dict(Area.objects.filter(layer_id=layer_id).values_list("pk", "parent_id"))
            current = {s: up.get(p) for s, p in current.items()}
        for source_id, target_id in current.items():
            if target_id is not None:
                members[target_id].append((source_id, 1.0))
        return members, NESTED
    crosswalk = Crosswalk.objects.filter(source_layer=source, target_layer=target).first()
    if crosswalk is not None:
        shares = CrosswalkShare.objects.filter(crosswalk=crosswalk).values_list(
            "source_id", "target_id", "share"
        )
        for source_id, target_id, share in shares:
            members[target_id].append((source_id, share))
        return members, f"crosswalk_{crosswalk.method}"
    for source_id, target_id in area_mapping(source, target).items():
        members[target_id].append((source_id, 1.0))
    return members, POINT_ON_SURFACE


def combine(indicator: Indicator, members: Members, source: Layer, period) -> dict[int, float]:
    """Values of target areas from their (weighted) source areas, by the indicator's rule."""

    def values_of(ind: Indicator) -> dict[int, float]:
        return stored_values(ind, source, period if ind.pk == indicator.pk else None)[0]

    rule = indicator.aggregation
    result: dict[int, float] = {}
    if rule == Indicator.Aggregation.SUM:
        own = values_of(indicator)
        for target, shares in members.items():
            found = [own[i] * share for i, share in shares if i in own]
            if found:
                result[target] = sum(found)
    elif rule == Indicator.Aggregation.WEIGHTED_MEAN:
        own, weights = values_of(indicator), values_of(indicator.weight)
        for target, shares in members.items():
            pairs = [(own[i], weights[i] * s) for i, s in shares if i in own and i in weights]
            total = sum(w for _v, w in pairs)
            if total > 0:
                result[target] = sum(v * w for v, w in pairs) / total
    elif rule == Indicator.Aggregation.RATIO:
        numerator, denominator = values_of(indicator.numerator), values_of(indicator.denominator)
        for target, shares in members.items():
            common = [(i, s) for i, s in shares if i in numerator and i in denominator]
            below = sum(denominator[i] * s for i, s in common)
            if below > 0:
                result[target] = indicator.scale * sum(numerator[i] * s for i, s in common) / below
    return result


def values_on_layer(
    indicator: Indicator, layer: Layer, period: datetime.date | None = None
) -> LayerValues:
    """The indicator's values per area of ``layer``: stored ones, else combined."""
    stored, found_period = stored_values(indicator, layer, period)
    if stored or indicator.aggregation == Indicator.Aggregation.NONE:
        return LayerValues(indicator, stored, found_period, None, layer=layer)
    source = finest_layer_with(indicator, exclude=layer)
    if source is None and indicator.aggregation == Indicator.Aggregation.RATIO:
        # A ratio need not be stored anywhere: its numerator's values say where to start.
        source = finest_layer_with(indicator.numerator, exclude=layer)
    if source is None:
        return LayerValues(indicator, {}, None, None, layer=layer)
    source_period = period or latest_period(indicator, source)
    members, method = memberships(source, layer)
    return LayerValues(
        indicator,
        combine(indicator, members, source, source_period),
        source_period,
        source,
        method,
        layer,
    )


def city_value(indicator: Indicator, layer: Layer, period=None) -> float | None:
    """The indicator for the whole municipality, combined from ``layer``'s values."""
    values = values_on_layer(indicator, layer, period)
    if not values.values:
        return None
    source = values.source_layer or layer
    ids = list(Area.objects.filter(layer=source).values_list("pk", flat=True))
    combined = combine(indicator, {0: [(i, 1.0) for i in ids]}, source, values.period)
    return combined.get(0)
