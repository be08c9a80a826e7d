"""Accessibility across area borders: the two-step floating catchment area (2SFCA).

Luo & Wang (2003), computed with PySAL's ``access`` library:

1. every supply location's ratio = its places ÷ the residents of the group
   living within the catchment distance of it;
2. every demand point's accessibility = the sum of the ratios of the supply
   locations within the catchment distance of it.

Demand: the residents of the group at the **point on surface of each area of the
finest layer that has the group's figures** (for Berlin the 542 Planungsräume).
The address index has no positions for most addresses, so population-weighted
address points are not available; the point on surface (a centroid moved inside
the area if needed) stands for the area. Supply: every location of a published
service of the category with its places (a service at several locations split
evenly). Distances are straight lines in metres (a local azimuthal equidistant
projection around the city, accurate to a few metres over a city's extent).
With ``decay="gaussian"`` nearer supply counts more (access's Gaussian weight with
σ = catchment ÷ 2), in both steps (the "enhanced" 2SFCA).

An area of the requested layer gets the population-weighted mean accessibility
of the demand points inside it, reported per 1,000 residents of the group.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from access import Access, weights
from django.conf import settings
from django.db import connection
from pyproj import Transformer

from planning_areas.indicator_values import area_mapping, finest_layer_with
from planning_areas.models import Area, Layer
from providers.models import Category, Location, ServiceAtLocation

from .coverage import PER, residents
from .population import PopulationGroup, category_services, population_group

DECAYS = ("none", "gaussian")


@dataclass
class AreaAccess:
    area_id: int
    code: str
    name: str
    residents: float | None
    value: float | None  # places per 1,000 residents of the group within reach


@dataclass
class Accessibility:
    layer: Layer
    category: Category
    group: PopulationGroup
    demand_layer: Layer
    catchment_m: float
    decay: str
    areas: list[AreaAccess]
    city_value: float | None
    demand_points: int
    supply_points: int


def demand_points(layer: Layer, group: PopulationGroup) -> pd.DataFrame:
    """Residents of the group at each area's point on surface (lon, lat)."""
    people = residents(layer, group).values
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, ST_X(p), ST_Y(p) FROM (
                SELECT id, ST_PointOnSurface(geometry) AS p FROM "{Area._meta.db_table}"
                WHERE layer_id = %s) s
            """,  # noqa: S608 - table name from model metadata
            [layer.pk],
        )
        rows = [(pk, x, y, people.get(pk, 0.0)) for pk, x, y in cursor.fetchall()]
    frame = pd.DataFrame(rows, columns=["id", "lon", "lat", "residents"]).set_index("id")
    return frame[frame["residents"] > 0]


def supply_points(category: Category) -> pd.DataFrame:
    """Places at each location of the category's published services (lon, lat)."""
    services_sql, params = category_services(category).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH sl AS (
                SELECT sal.location_id, s.capacity::float8
                       / count(*) OVER (PARTITION BY sal.service_id) AS places
                FROM "{ServiceAtLocation._meta.db_table}" sal
                JOIN providers_service s ON s.id = sal.service_id
                WHERE s.id IN ({services_sql}) AND s.capacity IS NOT NULL
            )
            SELECT l.id, ST_X(l.point), ST_Y(l.point), sum(sl.places)
            FROM sl JOIN "{Location._meta.db_table}" l ON l.id = sl.location_id
            WHERE l.point IS NOT NULL
            GROUP BY l.id
            """,  # noqa: S608 - table names from model metadata, services query by Django
            params,
        )
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["id", "lon", "lat", "places"]).set_index("id")


def _metres(frame: pd.DataFrame, transformer: Transformer) -> np.ndarray:
    x, y = transformer.transform(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    return np.column_stack([x, y])


def distances(demand: pd.DataFrame, supply: pd.DataFrame, catchment_m: float) -> pd.DataFrame:
    """(origin, dest, cost in metres) for every demand–supply pair within the catchment."""
    if demand.empty or supply.empty:
        return pd.DataFrame({"origin": [], "dest": [], "cost": []})
    # Imported here, not at the top: scipy.spatial takes 1–2 s to import under load, which
    # the URLconf (every process's first request) would otherwise pay. Not a cycle.
    from scipy.spatial import cKDTree

    lon0 = float(pd.concat([demand["lon"], supply["lon"]]).mean())
    lat0 = float(pd.concat([demand["lat"], supply["lat"]]).mean())
    transformer = Transformer.from_crs(
        f"EPSG:{settings.ATLAS_SRID}",
        f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m",
        always_xy=True,
    )
    near = cKDTree(_metres(demand, transformer)).sparse_distance_matrix(
        cKDTree(_metres(supply, transformer)), catchment_m, output_type="coo_matrix"
    )
    # sparse_distance_matrix leaves out pairs at distance 0 (same point): add them back.
    pairs = pd.DataFrame(
        {
            "origin": demand.index.to_numpy()[near.row],
            "dest": supply.index.to_numpy()[near.col],
            "cost": near.data,
        }
    )
    same = demand.reset_index().merge(supply.reset_index(), on=["lon", "lat"])
    if not same.empty:
        zero = pd.DataFrame({"origin": same["id_x"], "dest": same["id_y"], "cost": 0.0})
        pairs = pd.concat([pairs, zero]).drop_duplicates(["origin", "dest"])
    return pairs


def two_step_fca(
    demand: pd.DataFrame, supply: pd.DataFrame, catchment_m: float, decay: str = "none"
) -> pd.Series:
    """Places per resident within reach, per demand point id (0 where nothing is)."""
    result = pd.Series(0.0, index=demand.index)
    cost = distances(demand, supply, catchment_m)
    if cost.empty:
        return result
    model = Access(
        demand_df=demand[["residents"]],
        demand_value="residents",
        supply_df=supply[["places"]],
        supply_value="places",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    weight = weights.gaussian(catchment_m / 2) if decay == "gaussian" else None
    scores = model.two_stage_fca(
        name="fca", cost="cost", max_cost=catchment_m, weight_fn=weight, normalize=False
    )
    column = scores.columns[0] if isinstance(scores, pd.DataFrame) else None
    values = scores[column] if column is not None else scores
    result.update(values.fillna(0.0))
    return result


def accessibility(
    layer: Layer,
    category: Category,
    population: str | None = None,
    *,
    catchment_m: float | None = None,
    decay: str = "none",
) -> Accessibility:
    """2SFCA of ``category`` per area of ``layer`` (see the module docstring)."""
    catchment_m = float(catchment_m or settings.ATLAS_MONITORING_CATCHMENT_METRES)
    if decay not in DECAYS:
        raise ValueError(decay)
    group = population_group(category, population)
    demand_layer = finest_layer_with(group.indicators[0]) or layer
    demand = demand_points(demand_layer, group)
    supply = supply_points(category)
    scores = two_step_fca(demand, supply, catchment_m, decay)
    mapping = (
        {pk: pk for pk in demand.index}
        if demand_layer.pk == layer.pk
        else area_mapping(demand_layer, layer)
    )
    weighted: dict[int, float] = defaultdict(float)
    people: dict[int, float] = defaultdict(float)
    for point, score in scores.items():
        target = mapping.get(point)
        if target is None:
            continue
        population_here = float(demand.at[point, "residents"])
        weighted[target] += score * population_here
        people[target] += population_here
    rows = [
        AreaAccess(
            pk,
            code,
            name,
            people.get(pk),
            weighted[pk] / people[pk] * PER if people.get(pk) else None,
        )
        for pk, code, name in Area.objects.filter(layer=layer)
        .order_by("code")
        .values_list("pk", "code", "name")
    ]
    total = float(demand["residents"].sum()) if not demand.empty else 0.0
    city = float((scores * demand["residents"]).sum()) / total * PER if total else None
    if city is not None and not math.isfinite(city):
        city = None
    return Accessibility(
        layer,
        category,
        group,
        demand_layer,
        catchment_m,
        decay,
        rows,
        city,
        len(demand),
        len(supply),
    )
