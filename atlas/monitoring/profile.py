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
    method: str = ""  # how the value came to this layer, when it is not stored here


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
    method: str = ""  # how the residents came to this layer, when they are not stored here


@dataclass
class AreaProfile:
    ages: list[AgeBar] = field(default_factory=list)
    ages_method: str = ""  # how the age groups came to this layer, when not stored here
    indicators: list[IndicatorRow] = field(default_factory=list)
    coverage: list[CoverageRow] = field(default_factory=list)

    @property
    def gaps(self) -> list[CoverageRow]:
        return [row for row in self.coverage if row.gap]


def _ages(area: Area) -> tuple[list[AgeBar], str]:
    groups = [
        i
        for i in Indicator.objects.filter(aggregation=Indicator.Aggregation.SUM)
        if i.is_age_group and not (i.age_from == 0 and i.age_below is None)
    ]
    bars, method = [], ""
    for indicator in sorted(groups, key=lambda i: i.age_from):
        found = values_on_layer(indicator, area.layer)
        value = found.values.get(area.pk)
        if value is not None:
            bars.append(AgeBar(indicator.name, value, 0.0))
            method = found.method_label if found.is_aggregated else method
    total = sum(bar.value for bar in bars)
    for bar in bars:
        bar.share = bar.value / total * 100 if total else 0.0
    return bars, method


def _indicators(area: Area) -> list[IndicatorRow]:
    rows = []
    for indicator in Indicator.objects.select_related("weight", "numerator", "denominator"):
        if indicator.is_age_group:
            continue
        found = values_on_layer(indicator, area.layer)
        value = found.values.get(area.pk)
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
                found.method_label if found.is_aggregated else "",
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
                    result.residents_method_label if result.residents_source else "",
                )
            )
    return rows


def area_profile(area: Area) -> AreaProfile:
    ages, ages_method = _ages(area)
    return AreaProfile(ages, ages_method, _indicators(area), _coverage(area))
