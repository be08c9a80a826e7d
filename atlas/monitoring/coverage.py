"""Coverage (Versorgungsquote) per area: services, places, residents of the group, per 1,000.

Computed in PostGIS from the stored location→area links, on any layer: a service
counts in each area one of its locations lies in; its places are split evenly
over its locations, so places add up to the city total. Parent areas and the city
come from the same statement (GROUPING SETS), so a coarser layer's figures equal
its children's combined (exactly, for layers that nest).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection

from planning_areas.indicator_values import STORED, values_on_layer
from planning_areas.models import Area, Layer
from providers.models import Category, Location, Service, ServiceAtLocation

from .population import (
    PopulationError,
    PopulationGroup,
    category_trees,
    population_group,
    population_groups,
)

PER = 1000


@dataclass
class Figures:
    services: int = 0
    places: float | None = None
    residents: float | None = None
    services_with_capacity: int = 0

    def per_1000(self, measure: str) -> float | None:
        supply = self.places if measure == "places" else self.services
        if supply is None or not self.residents:
            return None
        return supply / self.residents * PER


@dataclass
class AreaCoverage:
    area_id: int
    code: str
    name: str
    parent_id: int | None
    figures: Figures
    parent: Figures | None = None

    def value(self, measure: str) -> float | None:
        return self.figures.per_1000(measure)


@dataclass
class Coverage:
    layer: Layer
    category: Category
    group: PopulationGroup
    measure: str  # "places" when the category's services state capacities, else "services"
    areas: list[AreaCoverage]
    city: Figures
    residents_source: str = ""  # slug of the layer whose values were combined, if any
    residents_method: str = STORED  # how they were combined (indicator_values methods)
    residents_method_label: str = ""  # the same in words, naming a crosswalk: for the pages
    notes: list[str] = field(default_factory=list)

    @property
    def city_value(self) -> float | None:
        return self.city.per_1000(self.measure)


def _supply_sql(services_sql: str) -> str:
    link = Location.areas.through._meta.db_table
    categories = Service.categories.through._meta.db_table
    return f"""
        WITH tree(root, category) AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[])),
        svc AS (
            SELECT DISTINCT tree.root, s.id, s.capacity
            FROM tree
            JOIN "{categories}" sc ON sc.category_id = tree.category
            JOIN "{Service._meta.db_table}" s ON s.id = sc.service_id
            WHERE s.id IN ({services_sql})
        ),
        sl AS (
            SELECT svc.root, sal.service_id, sal.location_id, svc.capacity,
                   count(*) OVER (PARTITION BY svc.root, sal.service_id) AS n
            FROM "{ServiceAtLocation._meta.db_table}" sal JOIN svc ON svc.id = sal.service_id
        )
        SELECT sl.root, a.id, a.parent_id,
               GROUPING(a.id) AS by_parent, GROUPING(a.parent_id) AS by_city,
               count(DISTINCT sl.service_id),
               sum(sl.capacity::float8 / sl.n),
               count(DISTINCT sl.service_id) FILTER (WHERE sl.capacity IS NOT NULL)
        FROM sl
        JOIN "{link}" la ON la.location_id = sl.location_id
        JOIN "{Area._meta.db_table}" a ON a.id = la.area_id
        WHERE a.layer_id = %s
        GROUP BY sl.root, GROUPING SETS ((a.id, a.parent_id), (a.parent_id), ())
    """  # noqa: S608 - table names from model metadata, the services query compiled by Django


@dataclass
class Supply:
    """Services and places of one category per area id, per parent id and for the city
    (residents not yet set)."""

    per_area: dict[int, Figures] = field(default_factory=dict)
    per_parent: dict[int | None, Figures] = field(default_factory=dict)
    city: Figures = field(default_factory=lambda: Figures(places=None))


def supplies(layer: Layer, categories: list[Category]) -> dict[int, Supply]:
    """The supply of every category (with the categories below it) on ``layer``, by
    category id: one statement for all of them (a service counts once per category)."""
    pairs = category_trees(categories)
    services_sql, params = Service.objects.published().values("pk").query.sql_with_params()
    found = {category.pk: Supply() for category in categories}
    with connection.cursor() as cursor:
        cursor.execute(
            _supply_sql(services_sql),
            [[root for root, _ in pairs], [c for _, c in pairs], *params, layer.pk],
        )
        for root, area_id, parent_id, by_parent, by_city, services, places, capacity in cursor:
            figures = Figures(services, places, None, capacity)
            if by_city:
                found[root].city = figures
            elif by_parent:
                found[root].per_parent[parent_id] = figures
            else:
                found[root].per_area[area_id] = figures
    return found


class Residents(NamedTuple):
    values: dict[int, float]  # per area id
    source: str  # slug of the layer they were combined from, "" when stored
    method: str  # how they were combined (indicator_values methods)
    method_label: str  # the same in words, naming a crosswalk and its placed share


def residents(layer: Layer, group: PopulationGroup) -> Residents:
    """Residents of the group per area id (sum of the group's indicators) and, if they
    were combined from another layer, that layer's slug and how they were combined."""
    totals: dict[int, float] = defaultdict(float)
    source, method, label = "", STORED, ""
    for indicator in group.indicators:
        found = values_on_layer(indicator, layer)
        if found.source_layer is not None:
            source, method, label = found.source_layer.slug, found.method, found.method_label
        for area_id, value in found.values.items():
            totals[area_id] += value
    return Residents(dict(totals), source, method, label)


def coverage(
    layer: Layer,
    category: Category,
    population: str | None = None,
    *,
    shared: dict | None = None,
) -> Coverage:
    """Coverage of ``category`` on every area of ``layer`` (see the module docstring).

    ``shared`` (a dict the caller keeps for one request) lets several categories on one
    layer reuse the residents of the same group and the list of areas. Raises
    ``PopulationError`` when no population group fits.
    """
    group = population_group(category, population)
    supply = supplies(layer, [category])[category.pk]
    return _coverage(layer, category, group, supply, {} if shared is None else shared)


def coverage_by_category(
    layer: Layer, categories: list[Category], population: str | None = None
) -> dict[int, Coverage | PopulationError]:
    """``coverage`` of every category on ``layer`` by category id (or the error saying why
    a category has no population group), from one statement for the supply of all."""
    groups = population_groups(categories, population)
    with_group = [c for c in categories if isinstance(groups[c.pk], PopulationGroup)]
    found = supplies(layer, with_group)
    shared: dict = {}
    return {
        category.pk: (
            _coverage(layer, category, groups[category.pk], found[category.pk], shared)
            if category.pk in found
            else groups[category.pk]
        )
        for category in categories
    }


def _coverage(
    layer: Layer, category: Category, group: PopulationGroup, supply: Supply, shared: dict
) -> Coverage:
    per_area, per_parent, city = supply.per_area, supply.per_parent, supply.city
    key = (layer.pk, tuple(group.slugs))
    if key not in shared:
        shared[key] = residents(layer, group)
    people, source, method, label = shared[key]
    measure = "places" if city.services_with_capacity else "services"
    if ("areas", layer.pk) not in shared:
        shared[("areas", layer.pk)] = list(
            Area.objects.filter(layer=layer)
            .order_by("code")
            .values_list("pk", "code", "name", "parent_id")
        )
    areas = shared[("areas", layer.pk)]
    parent_people: dict[int | None, float] = defaultdict(float)
    for pk, _code, _name, parent_id in areas:
        parent_people[parent_id] += people.get(pk, 0.0)
    rows = []
    for pk, code, name, parent_id in areas:
        figures = per_area.get(pk) or Figures(places=0.0 if measure == "places" else None)
        figures.residents = people.get(pk)
        parent = None
        if parent_id is not None:
            parent = per_parent.get(parent_id) or Figures()
            parent.residents = parent_people[parent_id]
        rows.append(AreaCoverage(pk, code, name, parent_id, figures, parent))
    city.residents = sum(people.values()) if people else None
    if measure == "places" and city.places is None:
        city.places = 0.0
    return Coverage(layer, category, group, measure, rows, city, source, method, label)
