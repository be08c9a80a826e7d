"""Categories and target groups from a list of entries (a mapping's sections or the command).

One entry is a dict: ``slug`` and ``name`` always; categories also take ``parent`` (a
slug), ``icon``, ``colour`` (``#rrggbb``), ``description``, ``sort_order``. Entries are
validated by the models before anything is written, so a dry run finds every error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from ..models import Category, TargetGroup

FIELDS = {
    Category: {"slug", "name", "parent", "icon", "colour", "description", "sort_order"},
    TargetGroup: {"slug", "name", "description", "sort_order"},
}


class TaxonomyError(ValueError):
    """Entries that cannot be stored; the message names each and why."""


@dataclass
class TaxonomyReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return _("%(new)d new, %(changed)d changed, %(same)d unchanged") % {
            "new": len(self.created),
            "changed": len(self.updated),
            "same": len(self.unchanged),
        }


def _label(model) -> str:
    return str(model._meta.verbose_name)


def _values(model: type[models.Model], entry: dict, parents: dict[str, Category | None]) -> dict:
    unknown = set(entry) - FIELDS[model]
    if unknown:
        raise TaxonomyError(
            _("%(what)s “%(slug)s”: unknown keys %(keys)s; allowed: %(allowed)s")
            % {
                "what": _label(model),
                "slug": entry.get("slug", ""),
                "keys": ", ".join(sorted(unknown)),
                "allowed": ", ".join(sorted(FIELDS[model])),
            }
        )
    values = {k: v for k, v in entry.items() if k not in ("slug", "parent")}
    if "name" not in values:
        values["name"] = ""
    if model is Category and "parent" in entry:
        values["parent"] = parents.get(str(entry["parent"]))
    return values


def _parents(entries: list[dict]) -> dict[str, Category | None]:
    """Parents by slug: stored categories, and those the same list creates (unsaved yet)."""
    wanted = {str(e["parent"]) for e in entries if e.get("parent")}
    return {c.slug: c for c in Category.objects.filter(slug__in=wanted)}


def plan(model: type[models.Model], entries: list[dict], *, update: bool) -> list:
    """Validate ``entries``; return (slug, object, changed fields) to write. Nothing is saved.

    Without ``update`` existing entries are left as they are (a mapping only adds).
    """
    errors, planned = [], []
    parents = _parents(entries) if model is Category else {}
    new_slugs = {str(e.get("slug", "")) for e in entries}
    existing = {o.slug: o for o in model.objects.filter(slug__in=new_slugs)}
    for entry in entries:
        slug = str(entry.get("slug", ""))
        parent = entry.get("parent")
        if model is Category and parent and parent not in parents and parent not in new_slugs:
            errors.append(
                _("category “%(slug)s”: parent “%(parent)s” does not exist")
                % {"slug": slug, "parent": parent}
            )
            continue
        try:
            values = _values(model, entry, parents)
        except TaxonomyError as exc:
            errors.append(str(exc))
            continue
        obj = existing.get(slug)
        if obj is not None and not update:
            planned.append((slug, obj, []))
            continue
        obj = obj or model(slug=slug)
        changed = [k for k, v in values.items() if getattr(obj, k) != v]
        for name in changed:
            setattr(obj, name, values[name])
        try:
            obj.full_clean(exclude={"parent"} if parent and parent not in parents else None)
        except ValidationError as exc:
            errors.extend(
                f"{_label(model)} “{slug}”: {name}: {' '.join(texts)}"
                for name, texts in exc.message_dict.items()
            )
            continue
        planned.append((slug, obj, changed))
    if errors:
        raise TaxonomyError("; ".join(errors))
    return planned


def apply(
    model: type[models.Model], entries: list[dict], *, commit: bool, update: bool = True
) -> TaxonomyReport:
    """Create (and with ``update`` change) ``entries`` of ``model``; a dry run unless ``commit``.

    Categories are written parents first, so a list may create a parent and its children.
    """
    planned = plan(model, entries, update=update)
    report = TaxonomyReport()
    for slug, obj, changed in planned:
        if obj.pk is None:
            report.created.append(slug)
        elif changed:
            report.updated.append(slug)
        else:
            report.unchanged.append(slug)
    if not commit:
        return report
    with transaction.atomic():
        by_slug = {}
        for slug, obj, changed in _parents_first(planned, entries):
            if model is Category and obj.parent_id is None:
                parent = next((e.get("parent") for e in entries if e.get("slug") == slug), None)
                if parent in by_slug:
                    obj.parent = by_slug[parent]
            if obj.pk is None or changed:
                obj.save()
            by_slug[slug] = obj
    return report


def _parents_first(planned: list, entries: list[dict]) -> list:
    parent_of = {str(e.get("slug")): e.get("parent") for e in entries}
    depth = {}

    def level(slug: str, seen=()) -> int:
        parent = parent_of.get(slug)
        if not parent or parent not in parent_of or parent in seen:
            return 0
        return 1 + level(parent, (*seen, slug))

    for slug, *_rest in planned:
        depth[slug] = level(slug)
    return sorted(planned, key=lambda item: depth[item[0]])
