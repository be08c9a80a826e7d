"""Gaps (Lücken): areas whose coverage falls well below the city's median, with their figures.

An area is a gap when residents of the group live there and its value (coverage or
2SFCA, per 1,000 residents) is below ``share`` × the median of all areas with
residents (default 75 %). It is a priority when its need indicator (e.g. child
poverty, the MSS status index) is worse than that indicator's median. Every flag
carries the figures that made it, so nothing is a black box.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from django.conf import settings

from planning_areas.indicator_values import values_on_layer
from planning_areas.models import Indicator, Layer


@dataclass
class AreaFigure:
    """One area's value to judge: per 1,000 residents of the group."""

    area_id: int
    code: str
    name: str
    value: float | None
    residents: float | None


@dataclass
class GapFlag:
    area: AreaFigure
    is_gap: bool
    is_priority: bool
    need: float | None


@dataclass
class GapReport:
    share: float
    median: float | None
    threshold: float | None
    need_indicator: Indicator | None
    need_median: float | None
    flags: list[GapFlag]

    @property
    def gaps(self) -> list[GapFlag]:
        return [f for f in self.flags if f.is_gap]


def need_indicator(slug: str | None = None) -> Indicator | None:
    slug = slug if slug is not None else settings.ATLAS_MONITORING_NEED_INDICATOR
    return Indicator.objects.filter(slug=slug).first() if slug else None


def _worse(indicator: Indicator, value: float, median: float) -> bool:
    if indicator.polarity == Indicator.Polarity.HIGHER_IS_BETTER:
        return value < median
    return value > median


def find_gaps(
    figures: list[AreaFigure],
    layer: Layer,
    *,
    share: float | None = None,
    need: Indicator | None = None,
) -> GapReport:
    share = settings.ATLAS_MONITORING_GAP_SHARE if share is None else share
    judged = [f.value for f in figures if f.residents and f.value is not None]
    median = statistics.median(judged) if judged else None
    threshold = median * share if median is not None else None
    needs: dict[int, float] = {}
    need_median = None
    if need is not None:
        needs = values_on_layer(need, layer).values
        if needs:
            need_median = statistics.median(needs.values())
    flags = []
    for figure in figures:
        is_gap = bool(
            threshold is not None
            and figure.residents
            and figure.value is not None
            and figure.value < threshold
        )
        need_value = needs.get(figure.area_id)
        is_priority = bool(
            is_gap
            and need is not None
            and need_value is not None
            and need_median is not None
            and _worse(need, need_value, need_median)
        )
        flags.append(GapFlag(figure, is_gap, is_priority, need_value))
    return GapReport(share, median, threshold, need, need_median, flags)
