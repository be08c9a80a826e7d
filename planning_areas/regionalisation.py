"""A first draft of Sozialräume: contiguous regions of base units, built with PySAL ``spopt``.

Max-p regionalisation (Duque, Anselin & Rey 2012, spopt's heuristic) finds as
many contiguous regions as possible that each reach a population threshold,
while keeping the units of a region similar in the chosen indicators; SKATER
(Assunção et al. 2006) cuts a spanning tree into a given number of regions.
Contiguity is rook contiguity (a shared border, not a mere corner), so that a
region's union is one polygon. The result is a mapping (``base_code, code,
name``) that ``compose_layer`` saves as a draft composed layer, which planners
then edit as CSV.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from django.utils.translation import gettext as _
from libpysal.weights import Rook
from spopt.region import MaxPHeuristic, Skater

from .composition import MappingRow
from .models import Area, IndicatorValue, Layer

ATTRIBUTE_PREFIX = "attr_"
METHODS = ("maxp", "skater")


class RegionalisationError(Exception):
    """The proposal cannot be computed as asked; the message says why."""


@dataclass
class Proposal:
    method: str
    rows: list[MappingRow]
    seconds: float
    populations: dict[str, int]
    filled: dict[str, int] = field(default_factory=dict)

    @property
    def population_range(self) -> tuple[int, int]:
        values = list(self.populations.values())
        return min(values), max(values)

    def summary_lines(self) -> list[str]:
        low, high = self.population_range
        lines = [
            _(
                "%(method)s: %(n)d regions of %(units)d units in %(seconds).1f s;"
                " residents per region %(low)s–%(high)s"
            )
            % {
                "method": self.method,
                "n": len(self.populations),
                "units": len(self.rows),
                "seconds": self.seconds,
                "low": f"{low:,}",
                "high": f"{high:,}",
            }
        ]
        for indicator, n in self.filled.items():
            lines.append(
                _("%(indicator)s: %(n)d units without a value took the median")
                % {"indicator": indicator, "n": n}
            )
        return lines


def _indicator_values(layer: Layer, slug: str) -> dict[int, float]:
    """The newest value of an indicator per area of ``layer``, by area id."""
    return dict(
        IndicatorValue.objects.filter(indicator__slug=slug, area__layer=layer)
        .latest_per_area()
        .values_list("area_id", "value")
    )


def _frame(layer: Layer, indicators: list[str]) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    areas = list(Area.objects.filter(layer=layer).order_by("code"))
    if not areas:
        raise RegionalisationError(_("The layer “%(slug)s” has no areas.") % {"slug": layer.slug})
    if any(a.population is None for a in areas):
        raise RegionalisationError(
            _("Every area of “%(slug)s” needs a population for a proposal.") % {"slug": layer.slug}
        )
    data: dict[str, list] = {
        "code": [a.code for a in areas],
        "population": [a.population for a in areas],
    }
    filled: dict[str, int] = {}
    for key in indicators:
        known_values = _indicator_values(layer, key)
        values = np.array([known_values.get(a.pk, np.nan) for a in areas], dtype=float)
        known = values[~np.isnan(values)]
        if not len(known):
            raise RegionalisationError(
                _("No area of “%(slug)s” has the indicator “%(key)s”.")
                % {"slug": layer.slug, "key": key}
            )
        # Units too small to publish a figure for take the median rather than drop out:
        # max-p needs every unit, and the median does not pull a region either way.
        filled[key] = int(np.isnan(values).sum())
        values = np.where(np.isnan(values), np.median(known), values)
        spread = values.std() or 1.0
        data[ATTRIBUTE_PREFIX + key] = (values - values.mean()) / spread
    geometries = [shapely.from_wkb(bytes(a.geometry.wkb)) for a in areas]
    frame = gpd.GeoDataFrame(data, geometry=geometries, crs=areas[0].geometry.srid)
    return frame, {k: n for k, n in filled.items() if n}


def propose_regions(
    layer: Layer,
    *,
    indicators: list[str],
    min_population: int = 20_000,
    method: str = "maxp",
    n_regions: int | None = None,
    iterations: int = 20,
    seed: int = 0,
    code_prefix: str = "SR",
) -> Proposal:
    """Contiguous regions of ``layer``'s areas as mapping rows (nothing is written).

    ``maxp``: as many regions as possible with at least ``min_population``
    residents each. ``skater``: ``n_regions`` regions (``min_population`` is not
    enforced there; the report shows the range). Runs are reproducible for a seed.
    """
    if method not in METHODS:
        raise RegionalisationError(_("Unknown method “%(m)s”.") % {"m": method})
    if not indicators:
        raise RegionalisationError(_("Choose at least one indicator the regions should share."))
    if min_population < 1:
        raise RegionalisationError(_("The minimum population must be positive."))
    if method == "skater" and not (n_regions and n_regions >= 2):
        raise RegionalisationError(_("SKATER needs a number of regions of at least 2."))
    frame, filled = _frame(layer, indicators)
    if method == "skater" and n_regions > len(frame):
        raise RegionalisationError(_("More regions asked for than there are areas."))
    if method == "maxp" and frame["population"].sum() < min_population:
        raise RegionalisationError(_("The whole layer has fewer residents than one region needs."))
    weights = Rook.from_dataframe(frame, use_index=False, silence_warnings=True)
    if weights.n_components > 1:
        raise RegionalisationError(
            _(
                "The areas of “%(slug)s” fall into %(n)d groups that touch no other;"
                " regions must be contiguous."
            )
            % {"slug": layer.slug, "n": weights.n_components}
        )
    attributes = [c for c in frame.columns if c.startswith(ATTRIBUTE_PREFIX)]
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - spopt draws from numpy's global generator
    started = time.monotonic()
    if method == "maxp":
        model = MaxPHeuristic(
            frame,
            weights,
            attributes,
            "population",
            min_population,
            top_n=2,
            max_iterations_construction=iterations,
        )
    else:
        model = Skater(frame, weights, attributes, n_clusters=n_regions, floor=1)
    model.solve()
    seconds = time.monotonic() - started
    labels = np.asarray(model.labels_)
    if method == "maxp" and (labels <= 0).any():
        # Max-p leaves units unassigned when no feasible region contains them.
        raise RegionalisationError(
            _("%(n)d units could not be placed in a region of %(min)d residents.")
            % {"n": int((labels <= 0).sum()), "min": min_population}
        )
    # Number the regions in the order of their first unit's code, so names are stable.
    order: dict[int, str] = {}
    for label in labels:
        order.setdefault(int(label), f"{code_prefix}{len(order) + 1:03d}")
    rows = [
        MappingRow(0, code, order[int(label)], _("Sozialraum %(n)s") % {"n": order[int(label)]})
        for code, label in zip(frame["code"], labels, strict=True)
    ]
    populations: dict[str, int] = {}
    for row, population in zip(rows, frame["population"], strict=True):
        populations[row.code] = populations.get(row.code, 0) + int(population)
    return Proposal(method, rows, seconds, populations, filled)
