"""One table of coverage (container or 2SFCA) with gaps, shared by the API, page and export."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from planning_areas.indicator_values import method_label
from planning_areas.models import Layer
from providers.models import Category

from .accessibility import DECAYS, accessibility
from .coverage import Figures, coverage
from .gaps import AreaFigure, find_gaps, need_indicator

MEASURES = ("container", "2sfca")
MIN_CATCHMENT, MAX_CATCHMENT = 100, 10_000


class CoverageQueryForm(forms.Form):
    """The parameters of /api/v1/coverage/ and the analysis page; names the bad one."""

    layer = forms.SlugField(max_length=80)
    category = forms.SlugField(max_length=80)
    population = forms.SlugField(max_length=80, required=False)
    measure = forms.ChoiceField(choices=[(m, m) for m in MEASURES], required=False)
    catchment = forms.IntegerField(required=False, min_value=MIN_CATCHMENT, max_value=MAX_CATCHMENT)
    decay = forms.ChoiceField(choices=[(d, d) for d in DECAYS], required=False)

    def clean_layer(self):
        layer = Layer.objects.filter(slug=self.cleaned_data["layer"]).first()
        if layer is None:
            raise forms.ValidationError(_("Unknown layer; see /api/v1/layers/ for the slugs."))
        return layer

    def clean_category(self):
        category = Category.objects.filter(slug=self.cleaned_data["category"]).first()
        if category is None:
            raise forms.ValidationError(
                _("Unknown category; see /api/v1/categories/ for the slugs.")
            )
        return category


def _figures(figures: Figures | None, supply: str) -> dict | None:
    if figures is None:
        return None
    return {
        "services": figures.services,
        "places": figures.places,
        "residents": figures.residents,
        "per_1000": figures.per_1000(supply),
    }


@dataclass
class CoverageTable:
    data: dict  # JSON-ready, the API's answer

    @property
    def rows(self) -> list[dict]:
        return self.data["results"]


def coverage_table(
    layer: Layer,
    category: Category,
    *,
    population: str | None = None,
    measure: str = "container",
    catchment: int | None = None,
    decay: str = "none",
) -> CoverageTable:
    """Coverage of ``category`` per area of ``layer`` with the gap flags and their figures.

    Raises ``PopulationError`` when no population group fits.
    """
    need = need_indicator()
    residents_method = residents_label = None  # 2SFCA states its demand points instead
    if measure == "2sfca":
        result = accessibility(
            layer, category, population, catchment_m=catchment, decay=decay or "none"
        )
        group = result.group
        figures = [
            AreaFigure(a.area_id, a.code, a.name, a.value, a.residents) for a in result.areas
        ]
        rows = [
            {"code": a.code, "name": a.name, "residents": a.residents, "per_1000": a.value}
            for a in result.areas
        ]
        extra = {
            "supply": "places",
            "catchment_m": result.catchment_m,
            "decay": result.decay,
            "demand": _("residents at the point on surface of each area of “%(layer)s”")
            % {"layer": result.demand_layer.slug},
            "city": {"per_1000": result.city_value},
        }
    else:
        result = coverage(layer, category, population)
        group = result.group
        supply = result.measure
        figures = [
            AreaFigure(a.area_id, a.code, a.name, a.value(supply), a.figures.residents)
            for a in result.areas
        ]
        rows = [
            {
                "code": a.code,
                "name": a.name,
                **_figures(a.figures, supply),
                "parent": _figures(a.parent, supply),
            }
            for a in result.areas
        ]
        extra = {"supply": supply, "city": _figures(result.city, supply)}
        residents_method = result.residents_method
        residents_label = result.residents_method_label or method_label(residents_method)
    report = find_gaps(figures, layer, need=need)
    for row, flag in zip(rows, report.flags, strict=True):
        row.update({"gap": flag.is_gap, "priority": flag.is_priority, "need": flag.need})
    data = {
        "layer": layer.slug,
        "category": category.slug,
        "measure": measure,
        "population": {
            "indicators": group.slugs,
            "label": group.label,
            "age_from": group.age_from,
            "age_below": group.age_below,
            # How the residents reached this layer: stored, exact (nested, composed)
            # or estimated along a crosswalk.
            "method": residents_method,
            "method_label": residents_label or "",
        },
        **extra,
        "gaps": {
            "share_of_median": report.share,
            "median": report.median,
            "threshold": report.threshold,
            "need_indicator": need.slug if need else None,
            "need_median": report.need_median,
            "count": len(report.gaps),
        },
        "results": rows,
    }
    return CoverageTable(data)


def table_for(form: CoverageQueryForm) -> CoverageTable:
    """Compute the table a valid form asks for (PopulationError when no group fits)."""
    data = form.cleaned_data
    return coverage_table(
        data["layer"],
        data["category"],
        population=data.get("population") or None,
        measure=data.get("measure") or "container",
        catchment=data.get("catchment") or settings.ATLAS_MONITORING_CATCHMENT_METRES,
        decay=data.get("decay") or "none",
    )
