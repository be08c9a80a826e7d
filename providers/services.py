"""Multi-step writes on providers: idempotent upserts used by imports and the demo loader."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import models, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history


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
