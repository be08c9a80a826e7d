"""Writing an import: idempotent upserts (also used by the demo loader) and the service import's
organisations, locations, services and their links, in that order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import models, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..models import Category, Location, Organization, Service, ServiceAtLocation, TargetGroup
from .preparing import PreparedRow


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_keys: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return f"{self.created} new, {self.updated} changed, {self.unchanged} unchanged"


def upsert_by_key(
    model: type[models.Model],
    rows: Mapping[str, Mapping[str, object]],
    *,
    key: str = "external_id",
    queryset: models.QuerySet | None = None,
    user=None,
    reason: str | None = None,
) -> tuple[dict[str, models.Model], UpsertResult]:
    """Create or update ``model`` objects so that each key's fields equal ``rows[key]``.

    Objects whose fields already match are left alone, so a repeated import
    writes nothing (and records no history). Every write is recorded in the
    history with ``user`` and ``reason``. Returns the objects by key.
    """
    queryset = queryset if queryset is not None else model.objects.all()
    existing = {getattr(obj, key): obj for obj in queryset.filter(**{f"{key}__in": list(rows)})}
    result = UpsertResult()
    to_create, to_update, changed_fields = [], [], set()
    for row_key, fields in rows.items():
        obj = existing.get(row_key)
        if obj is None:
            to_create.append(model(**{key: row_key}, **fields))
            result.changed_keys.add(row_key)
            continue
        differs = [name for name, value in fields.items() if getattr(obj, name) != value]
        if differs:
            for name in differs:
                setattr(obj, name, fields[name])
            changed_fields.update(differs)
            to_update.append(obj)
            result.changed_keys.add(row_key)
        else:
            result.unchanged += 1
    with transaction.atomic():
        if to_create:
            bulk_create_with_history(
                to_create, model, batch_size=1000, default_user=user, default_change_reason=reason
            )
            result.created = len(to_create)
        if to_update:
            bulk_update_with_history(
                to_update,
                model,
                sorted(changed_fields),
                batch_size=1000,
                default_user=user,
                default_change_reason=reason,
            )
            result.updated = len(to_update)
    objects = {getattr(obj, key): obj for obj in queryset.filter(**{f"{key}__in": list(rows)})}
    return objects, result


def sync_m2m(
    through: type[models.Model],
    source_field: str,
    target_field: str,
    pairs: Iterable[tuple[int, int]],
    *,
    source_ids: Iterable[int],
) -> int:
    """Make the links of ``source_ids`` in ``through`` exactly ``pairs``; return links changed."""
    wanted = set(pairs)
    source_ids = list(source_ids)
    current = set(
        through.objects.filter(**{f"{source_field}__in": source_ids}).values_list(
            source_field, target_field
        )
    )
    stale, missing = current - wanted, wanted - current
    with transaction.atomic():
        for source_id, target_id in stale:
            through.objects.filter(**{source_field: source_id, target_field: target_id}).delete()
        through.objects.bulk_create(
            [through(**{source_field: s, target_field: t}) for s, t in missing], batch_size=2000
        )
    return len(stale) + len(missing)


@dataclass
class WriteResult:
    organizations: UpsertResult
    locations: UpsertResult
    services: UpsertResult
    links_changed: int


def write_services(
    prepared: dict[str, PreparedRow], *, user, reason: str, update_organizations: bool = True
) -> WriteResult:
    """Store prepared rows: organisations, then locations, then services and their links.

    Call inside a transaction (the import is all or nothing). Each write is recorded
    in the history with ``user`` and ``reason``. Without ``update_organizations``
    existing organisations are linked as they are (see :func:`_organizations`).
    """
    organizations, org_result = _organizations(
        _merged_organizations(prepared), user=user, reason=reason, update=update_organizations
    )
    owner = {key: organizations[row.organization_key].pk for key, row in prepared.items()}
    locations, loc_result = upsert_by_key(
        Location,
        {key: {**row.location, "organization_id": owner[key]} for key, row in prepared.items()},
        user=user,
        reason=reason,
    )
    Location.objects.filter(
        pk__in=[locations[k].pk for k in loc_result.changed_keys]
    ).refresh_areas()
    services, svc_result = upsert_by_key(
        Service,
        {key: {**row.service, "organization_id": owner[key]} for key, row in prepared.items()},
        user=user,
        reason=reason,
    )
    links = _sync_links(prepared, services, locations)
    return WriteResult(org_result, loc_result, svc_result, links)


def _organizations(rows: dict[str, dict], *, user, reason: str, update: bool):
    """Upsert the organisations; without ``update`` only the new ones. A profile's later
    service files name Träger that an earlier file describes (spelt differently): linking
    them as they are keeps a second load of the profile from rewriting them back and forth."""
    known = {}
    if not update:
        known = {o.external_id: o for o in Organization.objects.filter(external_id__in=list(rows))}
    organizations, result = upsert_by_key(
        Organization,
        {key: row for key, row in rows.items() if key not in known},
        user=user,
        reason=reason,
    )
    organizations.update(known)
    result.unchanged += len(known)
    return organizations, result


def _merged_organizations(prepared: dict[str, PreparedRow]) -> dict[str, dict]:
    """One row per Träger: public if any row says so, the first website any row gives."""
    rows: dict[str, dict] = {}
    for row in prepared.values():
        merged = rows.setdefault(row.organization_key, dict(row.organization))
        if row.organization["kind"] == Organization.Kind.PUBLIC:
            merged["kind"] = Organization.Kind.PUBLIC
        merged["website"] = merged["website"] or row.organization["website"]
    return rows


def _sync_links(prepared: dict[str, PreparedRow], services: dict, locations: dict) -> int:
    categories = dict(Category.objects.values_list("slug", "pk"))
    groups = dict(TargetGroup.objects.values_list("slug", "pk"))
    ids = [s.pk for s in services.values()]
    links = sync_m2m(
        Service.categories.through,
        "service_id",
        "category_id",
        [(services[k].pk, categories[c]) for k, r in prepared.items() for c in r.categories],
        source_ids=ids,
    )
    links += sync_m2m(
        Service.target_groups.through,
        "service_id",
        "targetgroup_id",
        [(services[k].pk, groups[g]) for k, r in prepared.items() for g in r.target_groups],
        source_ids=ids,
    )
    # Locations an editor added by hand stay linked: the import only adds its own.
    current = set(
        ServiceAtLocation.objects.filter(service_id__in=ids).values_list(
            "service_id", "location_id"
        )
    )
    links += sync_m2m(
        ServiceAtLocation,
        "service_id",
        "location_id",
        current | {(services[k].pk, locations[k].pk) for k in prepared},
        source_ids=ids,
    )
    return links
