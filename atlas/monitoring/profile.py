"""The Sozialraumprofil of one area: population by age, indicators against parent and city,
coverage per category and its gaps. Server-rendered on every area page."""

from __future__ import annotations

from dataclasses import dataclass, field

from planning_areas.indicator_values import city_value, values_on_layer
from planning_areas.models import Area, Indicator
from providers.models import Category

from .coverage import coverage_by_category
from .gaps import AreaFigure, find_gaps, need_indicator
from .population import PopulationError


@dataclass
class AgeBar:
    name: str
    value: float
    share: float  # of the area's residents, 0–100


@dataclass
class IndicatorRow:
    indicator: Indicator
    value: float | None
    label: str
    parent: float | None
    city: float | None


@dataclass
class CoverageRow:
    category: Category
    supply: str
    services: int
    places: float | None
    residents: float | None
    value: float | None
    parent: float | None
    city: float | None
    gap: bool
    priority: bool
    threshold: float | None


@dataclass
class AreaProfile:
    ages: list[AgeBar] = field(default_factory=list)
    indicators: list[IndicatorRow] = field(default_factory=list)
    coverage: list[CoverageRow] = field(default_factory=list)

    @property
    def gaps(self) -> list[CoverageRow]:
        return [row for row in self.coverage if row.gap]


def _ages(area: Area) -> list[AgeBar]:
    groups = [
        i
        for i in Indicator.objects.filter(aggregation=Indicator.Aggregation.SUM)
        if i.is_age_group and not (i.age_from == 0 and i.age_below is None)
    ]
    bars = []
    for indicator in sorted(groups, key=lambda i: i.age_from):
        value = values_on_layer(indicator, area.layer).values.get(area.pk)
        if value is not None:
            bars.append(AgeBar(indicator.name, value, 0.0))
    total = sum(bar.value for bar in bars)
    for bar in bars:
        bar.share = bar.value / total * 100 if total else 0.0
    return bars


def _indicators(area: Area) -> list[IndicatorRow]:
    rows = []
    for indicator in Indicator.objects.select_related("weight", "numerator", "denominator"):
        if indicator.is_age_group:
            continue
        value = values_on_layer(indicator, area.layer).values.get(area.pk)
        if value is None:
            continue
        parent = (
            values_on_layer(indicator, area.parent.layer).values.get(area.parent_id)
            if area.parent_id
            else None
        )
        rows.append(
            IndicatorRow(
                indicator,
                value,
                indicator.label(value),
                parent,
                city_value(indicator, area.layer),
            )
        )
    return rows


def _coverage(area: Area) -> list[CoverageRow]:
    rows = []
    need = need_indicator()
    categories = list(
        Category.objects.filter(children__isnull=True, services__isnull=False)
        .distinct()
        .order_by("sort_order", "name")
    )
    found = coverage_by_category(area.layer, categories)
    for category in categories:
        result = found[category.pk]
        if isinstance(result, PopulationError):
            continue
        supply = result.measure
        figures = [
            AreaFigure(a.area_id, a.code, a.name, a.value(supply), a.figures.residents)
            for a in result.areas
        ]
        report = find_gaps(figures, area.layer, need=need)
        for row, flag in zip(result.areas, report.flags, strict=True):
            if row.area_id != area.pk:
                continue
            rows.append(
                CoverageRow(
                    category,
                    supply,
                    row.figures.services,
                    row.figures.places,
                    row.figures.residents,
                    row.value(supply),
                    row.parent.per_1000(supply) if row.parent else None,
                    result.city_value,
                    flag.is_gap,
                    flag.is_priority,
                    report.threshold,
                )
            )
    return rows


def area_profile(area: Area) -> AreaProfile:
    return AreaProfile(_ages(area), _indicators(area), _coverage(area))
