"""The caseworker lookup: address or point → areas, responsible contacts, nearby services.

Read-only by design: a lookup is personal data (someone's home address), so
nothing here writes to the database or logs the address or the point.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.gis.db.models.functions import PointOnSurface
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils.translation import gettext as _

from atlas.core.geography import GeographyDistance
from planning_areas.models import Address, Area, Layer
from providers.models import (
    Category,
    Contact,
    Location,
    Service,
    ServiceAtLocation,
    ServiceQuerySet,
)

from .models import Responsibility

DEFAULT_SERVICE_LIMIT = 10
MAX_SERVICE_LIMIT = 50
# Nearest services further away than this are not "nearby" (a point in the sea).
MAX_SERVICE_DISTANCE_M = 15_000


@dataclass
class AreaHit:
    area: Area
    approximate: bool = False


@dataclass
class ResponsibleContact:
    contact: Contact
    area: Area
    category: Category | None
    inherited: bool


@dataclass
class NearbyService:
    service: Service
    location: Location
    distance_m: float


@dataclass
class LookupResult:
    address: Address | None = None
    point: Point | None = None
    approximate: bool = False
    areas: list[AreaHit] = field(default_factory=list)
    missing_layers: list[Layer] = field(default_factory=list)
    contacts: list[ResponsibleContact] = field(default_factory=list)
    services: list[NearbyService] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def most_specific_area(self) -> Area | None:
        return self.areas[0].area if self.areas else None


def _areas_without_geometry():
    return Area.objects.defer("geometry").select_related("layer")


def _current_layers() -> list[Layer]:
    return list(Layer.objects.current().order_by("-level", "name"))


def areas_at_point(point: Point, layers: list[Layer]) -> list[Area]:
    """The area on each of ``layers`` covering ``point``, most specific layer first."""
    found = (
        _areas_without_geometry()
        .filter(layer__in=layers)
        .containing(point)
        .order_by("-layer__level", "layer__name", "code")
    )
    per_layer: dict[int, Area] = {}
    for area in found:
        per_layer.setdefault(area.layer_id, area)
    return list(per_layer.values())


# Parent levels fetched in the same query as the area itself; deeper chains continue one by one.
_CHAIN_DEPTH = 4


def _area_chain(area_id: int) -> tuple[list[Area], Point | None]:
    """The area, its parents (without their large geometries) and a point inside the area."""
    related = ["layer"]
    deferred = ["geometry"]
    prefix = ""
    for _level in range(_CHAIN_DEPTH - 1):
        prefix += "parent__"
        related.append(f"{prefix}layer")
        deferred.append(f"{prefix}geometry")
    area = (
        Area.objects.select_related(*related)
        .defer(*deferred)
        .annotate(inside=PointOnSurface("geometry"))
        .get(pk=area_id)
    )
    chain, seen = [], set()
    node: Area | None = area
    while node is not None and node.pk not in seen:
        chain.append(node)
        seen.add(node.pk)
        if not node.parent_id:
            break
        cached = Area.parent.is_cached(node)
        node = (
            node.parent if cached else _areas_without_geometry().filter(pk=node.parent_id).first()
        )
    return chain, area.inside


def lookup_point(
    point: Point, *, user, category: Category | None = None, limit: int = DEFAULT_SERVICE_LIMIT
) -> LookupResult:
    """What applies at ``point``: its areas, who is responsible and what is nearby."""
    result = LookupResult(point=point)
    layers = _current_layers()
    result.areas = [AreaHit(a) for a in areas_at_point(point, layers)]
    _note_missing_layers(result, layers)
    if not result.areas and layers:
        result.messages.append(_("The point lies outside every planning area of the atlas."))
    result.contacts = responsible_contacts(
        [hit.area for hit in result.areas], user=user, category=category
    )
    result.services = nearest_services(point, category=category, limit=limit)
    if not result.services:
        result.messages.append(
            _("No published services within %(km)d km.") % {"km": MAX_SERVICE_DISTANCE_M // 1000}
        )
    return result


def lookup_address(
    address: Address,
    *,
    user,
    category: Category | None = None,
    limit: int = DEFAULT_SERVICE_LIMIT,
) -> LookupResult:
    """The lookup for an address: by its position, or else by its official area."""
    if address.point is not None:
        result = lookup_point(address.point, user=user, category=category, limit=limit)
        result.address = address
        return result

    result = LookupResult(address=address, approximate=True)
    layers = _current_layers()
    if address.area_id is None:
        result.messages.append(
            _("The address has neither a position nor an official planning area.")
        )
        _note_missing_layers(result, layers)
        return result
    chain, representative = _area_chain(address.area_id)
    current_ids = {layer.pk for layer in layers}
    result.areas = [AreaHit(a) for a in chain if a.layer_id in current_ids]
    result.point = representative
    # Layers outside the official hierarchy (or a newer edition) follow from a point
    # inside the official area: right for most addresses, so marked as approximate.
    covered = {hit.area.layer_id for hit in result.areas}
    others = [layer for layer in layers if layer.pk not in covered]
    if others and representative is not None:
        result.areas += [
            AreaHit(a, approximate=True) for a in areas_at_point(representative, others)
        ]
        result.areas.sort(key=lambda hit: -hit.area.layer.level)
    if chain[0].layer_id not in current_ids:
        result.messages.append(
            _(
                "The official planning area of this address is on the layer “%(layer)s”, "
                "which is no longer current; the current areas were derived from a point "
                "inside it."
            )
            % {"layer": chain[0].layer.name}
        )
    _note_missing_layers(result, layers)
    result.contacts = responsible_contacts(
        [hit.area for hit in result.areas], user=user, category=category
    )
    result.services = services_in_area(chain[0], representative, category=category, limit=limit)
    result.messages.append(
        _(
            "The address has no position: services are those in its planning area, with "
            "distances from a point inside the area (approximate)."
        )
    )
    return result


def _note_missing_layers(result: LookupResult, layers: list[Layer]) -> None:
    if not layers:
        result.messages.append(
            _("No layer of planning areas is current, so no areas can be named.")
        )
        return
    found = {hit.area.layer_id for hit in result.areas}
    result.missing_layers = [layer for layer in layers if layer.pk not in found]


def _category_ids(category: Category | None) -> set[int] | None:
    if category is None:
        return None
    ids = set(category.descendant_ids())
    node = category
    while node.parent_id and node.parent_id not in ids:
        ids.add(node.parent_id)
        node = Category.objects.only("pk", "parent_id").get(pk=node.parent_id)
    return ids


def responsible_contacts(
    areas: list[Area], *, user, category: Category | None = None
) -> list[ResponsibleContact]:
    """Contacts responsible for ``areas`` today, the most specific area first.

    ``areas`` run from the most specific to the coarsest; contacts of coarser
    areas are the fallback and marked ``inherited``. A contact responsible on
    several levels appears once, at the most specific. With ``category``, only
    responsibilities for everything or for that category (its parents and
    children included) count. Internal contacts only reach users allowed to
    see them.
    """
    if not areas:
        return []
    rank = {area.pk: index for index, area in enumerate(areas)}
    responsibilities = (
        Responsibility.objects.current()
        .filter(area__in=list(rank), contact__in=Contact.objects.visible_to(user))
        .select_related("contact__organization", "category")
    )
    category_ids = _category_ids(category)
    if category_ids is not None:
        responsibilities = responsibilities.filter(
            Q(category__isnull=True) | Q(category__in=category_ids)
        )
    by_pk = {area.pk: area for area in areas}
    ordered = sorted(
        responsibilities, key=lambda r: (rank[r.area_id], r.category_id is None, r.contact.name)
    )
    result, seen = [], set()
    for responsibility in ordered:
        if responsibility.contact_id in seen:
            continue
        seen.add(responsibility.contact_id)
        result.append(
            ResponsibleContact(
                contact=responsibility.contact,
                area=by_pk[responsibility.area_id],
                category=responsibility.category,
                inherited=rank[responsibility.area_id] > 0,
            )
        )
    return result


@contextmanager
def _serial_query():
    """A cursor in a transaction without parallel workers.

    These queries touch a few hundred rows; starting parallel workers costs more
    than the whole query (measured: 35 ms instead of 6 ms under load).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
        yield cursor


def _published_in(category: Category | None) -> ServiceQuerySet:
    """Published services (``ServiceQuerySet.published``, the one definition), in
    ``category`` or below it when given."""
    services = Service.objects.published()
    category_ids = _category_ids(category)
    if category_ids is not None:
        services = services.in_category_ids(category_ids)
    return services


def nearest_services(
    point: Point, *, category: Category | None = None, limit: int = DEFAULT_SERVICE_LIMIT
) -> list[NearbyService]:
    """The ``limit`` published services nearest to ``point`` (at most MAX_SERVICE_DISTANCE_M
    away), with distances in metres.

    "Nearest" is the site's and the API's definition (``Location.objects.within`` and
    ``nearest_first``: index-backed ST_DWithin and KNN on geography). Candidates are the
    nearest locations offering a published service; more than ``limit`` because a location
    may offer several services and a service lie at several locations.
    """
    services = _published_in(category)
    offering = ServiceAtLocation.objects.filter(location_id=OuterRef("pk"), service__in=services)
    with _serial_query():
        candidates = dict(
            Location.objects.filter(Exists(offering))
            .within(point, MAX_SERVICE_DISTANCE_M)
            .nearest_first(point)
            .values_list("pk", "distance")[: max(limit * 5, 50)]
        )
        links = ServiceAtLocation.objects.filter(
            location_id__in=candidates, service__in=services
        ).values_list("service_id", "location_id", "service__name")
        rows = sorted(
            ((s, loc, candidates[loc], name) for s, loc, name in links),
            key=lambda row: (row[2], row[3], row[0]),
        )
    return _hydrate([row[:3] for row in rows], limit)


def services_in_area(
    area: Area,
    origin: Point | None,
    *,
    category: Category | None = None,
    limit: int = DEFAULT_SERVICE_LIMIT,
) -> list[NearbyService]:
    """Published services at locations inside ``area``, nearest to ``origin`` first."""
    if origin is None:
        return []
    services = _published_in(category)
    with _serial_query():
        rows = list(
            ServiceAtLocation.objects.filter(location__areas=area, service__in=services)
            .annotate(distance=GeographyDistance("location__point", origin))
            .order_by("distance", "service__name")
            .values_list("service_id", "location_id", "distance")[: limit * 3]
        )
    return _hydrate(rows, limit)


def _hydrate(rows: list[tuple[int, int, float]], limit: int) -> list[NearbyService]:
    """Services and locations for (service id, location id, distance) rows; each service once."""
    picked, seen = [], set()
    for service_id, location_id, distance in rows:
        if service_id not in seen:
            seen.add(service_id)
            picked.append((service_id, location_id, distance))
        if len(picked) == limit:
            break
    services = (
        Service.objects.select_related("organization")
        .only("pk", "name", "phone", "website", "organization__name")
        .prefetch_related(
            Prefetch("categories", queryset=Category.objects.only("pk", "slug", "name"))
        )
        .in_bulk([row[0] for row in picked])
    )
    locations = Location.objects.only(
        "pk", "name", "street", "house_number", "postcode", "city", "point"
    ).in_bulk([row[1] for row in picked])
    return [
        NearbyService(services[s], locations[loc], distance)
        for s, loc, distance in picked
        if s in services and loc in locations
    ]


def find_address(pk: int) -> Address | None:
    return Address.objects.select_related("street").filter(pk=pk).first()
