"""The analysis table behind /analyse/: columns, rows, sorting and class breaks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from django import forms
from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from planning_areas.indicator_values import STORED, values_on_layer
from planning_areas.models import Area, Indicator, Layer
from providers.models import Category

from .analysis import coverage_table

# Viridis in five steps: ordered in lightness, readable with every common colour-vision
# deficiency and in greyscale print.
PALETTE = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
SCHEMES = {"quantiles": _("Quantiles"), "natural": _("Natural breaks (Fisher-Jenks)")}
MEASURES = {
    "coverage": _("Coverage (services in the area)"),
    "2sfca": _("Accessibility (2SFCA, across borders)"),
    "indicator": _("Indicator"),
}


class AnalysisForm(forms.Form):
    layer = forms.ModelChoiceField(
        Layer.objects.none(), to_field_name="slug", label=_("Layer"), required=False
    )
    measure = forms.ChoiceField(choices=list(MEASURES.items()), label=_("Figure"), required=False)
    category = forms.ModelChoiceField(
        Category.objects.order_by("sort_order", "name"),
        to_field_name="slug",
        label=_("Category"),
        required=False,
    )
    indicator = forms.ModelChoiceField(
        Indicator.objects.all(), to_field_name="slug", label=_("Indicator"), required=False
    )
    scheme = forms.ChoiceField(choices=list(SCHEMES.items()), label=_("Classes"), required=False)
    sort = forms.SlugField(required=False, max_length=20)
    order = forms.ChoiceField(choices=[("asc", "asc"), ("desc", "desc")], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Current today, not on the day the module was imported.
        self.fields["layer"].queryset = Layer.objects.current()

    def clean(self):
        data = super().clean()
        data["layer"] = data.get("layer") or default_layer()
        data["measure"] = data.get("measure") or "coverage"
        data["scheme"] = data.get("scheme") or "quantiles"
        if data["measure"] == "indicator":
            data["indicator"] = data.get("indicator") or Indicator.objects.first()
            if data["indicator"] is None:
                raise forms.ValidationError(_("There are no indicators yet."))
        else:
            data["category"] = data.get("category") or default_category()
            if data["category"] is None:
                raise forms.ValidationError(_("There are no categories yet."))
        return data


def default_layer() -> Layer | None:
    """A middle layer: the finest current one with at most 200 areas."""
    layers = Layer.objects.current().annotate(n=Count("areas")).order_by("-level")
    return next((layer for layer in layers if 0 < layer.n <= 200), layers.first())


def default_category() -> Category | None:
    with_capacity = Category.objects.filter(services__capacity__isnull=False).order_by("name")
    return with_capacity.first() or Category.objects.order_by("sort_order", "name").first()


@dataclass
class Column:
    key: str
    label: str
    number: bool = True


@dataclass
class ClassBreak:
    lower: float
    upper: float
    colour: str
    count: int


@dataclass
class Analysis:
    title: str
    unit: str
    columns: list[Column]
    rows: list[dict]  # per area: code, name, url args, the column values, "value", "klass"
    classes: list[ClassBreak] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    # Dark means worse: coverage and higher-is-better figures run dark → light, figures
    # where higher is worse light → dark.
    higher_is_worse: bool = False
    # How figures moved to this layer came here (exact or which estimate), shown beside the
    # legend and the table; empty when they are stored on the layer.
    method: str = ""


def _coverage_analysis(layer: Layer, category: Category, measure: str) -> Analysis:
    table = coverage_table(layer, category, measure="2sfca" if measure == "2sfca" else "container")
    data = table.data
    supply = _("places") if data["supply"] == "places" else _("services")
    unit = _("%(supply)s per 1,000 residents (%(group)s)") % {
        "supply": supply,
        "group": data["population"]["label"],
    }
    columns = [Column("residents", _("Residents of the group"))]
    if measure == "coverage":
        columns += [Column("services", _("Services")), Column("places", _("Places"))]
    columns += [Column("value", unit)]
    if measure == "coverage":
        columns.append(Column("parent_value", _("Parent area")))
    columns += [
        Column("gap", _("Gap"), number=False),
        Column("priority", _("Priority"), number=False),
        Column("need", _("Need indicator")),
    ]
    rows = []
    for row in data["results"]:
        parent = row.get("parent")
        rows.append(
            {
                "code": row["code"],
                "name": row["name"],
                "residents": row["residents"],
                "services": row.get("services"),
                "places": row.get("places"),
                "value": row["per_1000"],
                "parent_value": parent["per_1000"] if parent else None,
                "gap": row["gap"],
                "priority": row["priority"],
                "need": row["need"],
            }
        )
    gaps = data["gaps"]
    notes = []
    if gaps["median"] is not None:
        notes.append(
            _(
                "Gap: below %(share)s %% of the median of all areas with residents "
                "(%(median)s; threshold %(threshold)s). Priority: a gap whose need "
                "indicator “%(need)s” is worse than its median (%(need_median)s)."
            )
            % {
                "share": round(gaps["share_of_median"] * 100),
                "median": _fmt(gaps["median"]),
                "threshold": _fmt(gaps["threshold"]),
                "need": _need_name(gaps["need_indicator"]),
                "need_median": _fmt(gaps["need_median"]),
            }
        )
    if measure == "2sfca":
        notes.append(
            _(
                "2SFCA (two-step floating catchment area): places within %(m)s m, shared by "
                "the residents who can reach them; demand at %(demand)s."
            )
            % {"m": int(data["catchment_m"]), "demand": data["demand"]}
        )
    city = data["city"]["per_1000"]
    title = f"{category.name}: {MEASURES[measure]}"
    population = data["population"]
    method = ""
    if population["method"] not in (None, STORED):
        method = _("residents of the group: %(method)s") % {"method": population["method_label"]}
    return Analysis(
        title, unit, columns, rows, notes=notes, meta={"city": city, **gaps}, method=method
    )


def _need_name(slug: str | None) -> str:
    indicator = Indicator.objects.filter(slug=slug).first() if slug else None
    return indicator.name if indicator else "–"


def _indicator_analysis(layer: Layer, indicator: Indicator) -> Analysis:
    found = values_on_layer(indicator, layer)
    unit = indicator.unit or ""
    rows = [
        {
            "code": code,
            "name": name,
            "value": found.values.get(pk),
            "label": indicator.label(found.values.get(pk)),
        }
        for pk, code, name in Area.objects.filter(layer=layer)
        .order_by("code")
        .values_list("pk", "code", "name")
    ]
    columns = [Column("value", f"{indicator.name} ({unit})" if unit else indicator.name)]
    if indicator.value_labels:
        columns.append(Column("label", _("Meaning"), number=False))
    notes = [f"{_('Source')}: {indicator.source}"] if indicator.source else []
    if found.source_layer is not None:
        notes.append(
            _("Combined from the layer “%(layer)s” (%(rule)s).")
            % {"layer": found.source_layer.name, "rule": indicator.get_aggregation_display()}
        )
    return Analysis(
        indicator.name,
        unit,
        columns,
        rows,
        notes=notes,
        higher_is_worse=indicator.polarity == Indicator.Polarity.HIGHER_IS_WORSE,
        method=found.method_label if found.is_aggregated else "",
    )


def classify(analysis: Analysis, scheme: str, k: int = 5) -> None:
    """Class breaks of the rows' values (mapclassify); sets each row's ``klass``."""
    values = [r["value"] for r in analysis.rows if _finite(r["value"])]
    for row in analysis.rows:
        row["klass"] = None
    if not values:
        return
    # Imported here, not at the top: mapclassify pulls in scikit-learn and takes 2–11 s to
    # import on this machine, which the URLconf (and so every process's first request,
    # whatever its URL) would otherwise pay. Not a cycle.
    import mapclassify

    y = np.array(values, dtype=float)
    k = max(1, min(k, len(np.unique(y))))
    if k == 1:
        bins = np.array([y.max()])
    elif scheme == "natural":
        bins = mapclassify.FisherJenks(y, k=k).bins
    else:
        bins = mapclassify.Quantiles(y, k=k).bins
    bins = list(dict.fromkeys(float(b) for b in bins))
    colours = PALETTE if len(bins) == len(PALETTE) else _spread(len(bins))
    if analysis.higher_is_worse:
        colours = colours[::-1]
    lower = float(y.min())
    counts = [0] * len(bins)
    for row in analysis.rows:
        if not _finite(row["value"]):
            continue
        index = next((i for i, b in enumerate(bins) if row["value"] <= b), len(bins) - 1)
        row["klass"] = index
        counts[index] += 1
    for i, upper in enumerate(bins):
        analysis.classes.append(ClassBreak(lower, upper, colours[i], counts[i]))
        lower = upper


def _spread(n: int) -> list[str]:
    if n == 1:
        return [PALETTE[2]]
    return [PALETTE[round(i * (len(PALETTE) - 1) / (n - 1))] for i in range(n)]


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:,.1f}".replace(",", " ")


def sort_rows(analysis: Analysis, key: str | None, order: str | None) -> None:
    keys = {c.key for c in analysis.columns} | {"name", "code"}
    if key not in keys:
        return
    present = [r for r in analysis.rows if r.get(key) is not None]
    missing = [r for r in analysis.rows if r.get(key) is None]
    present.sort(key=lambda r: r[key], reverse=order == "desc")
    analysis.rows = present + missing


def build(form: AnalysisForm) -> Analysis:
    data = form.cleaned_data
    if data["measure"] == "indicator":
        analysis = _indicator_analysis(data["layer"], data["indicator"])
    else:
        analysis = _coverage_analysis(data["layer"], data["category"], data["measure"])
    classify(analysis, data["scheme"])
    sort_rows(analysis, data.get("sort"), data.get("order"))
    analysis.meta["catchment"] = settings.ATLAS_MONITORING_CATCHMENT_METRES
    return analysis
