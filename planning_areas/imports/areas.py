"""Importing a layer's areas from a file: planning the layer, preparing the areas, writing."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction
from django.utils.translation import gettext as _

from ..composition import rebuild_compositions
from ..crosswalks import refresh_crosswalks
from ..models import Area, Layer
from ..signals import areas_changed
from .reading import ImportFileError, read_geo_file


@dataclass
class AreaImportReport:
    layer: str
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    repaired: list[str] = field(default_factory=list)
    locations_linked: int | None = None
    rebuilt_layers: list[str] = field(default_factory=list)
    crosswalks_refreshed: int = 0
    layer_created: bool = False
    previous_edition: str | None = None
    committed: bool = False

    @property
    def has_changes(self) -> bool:
        return bool(self.created or self.changed or self.removed or self.layer_created)

    def summary_lines(self) -> list[str]:
        """The report as short sentences a person can read."""
        lines = [
            _(
                "%(layer)s: %(new)d new, %(changed)d changed, %(removed)d removed,"
                " %(same)d unchanged"
            )
            % {
                "layer": self.layer,
                "new": len(self.created),
                "changed": len(self.changed),
                "removed": len(self.removed),
                "same": self.unchanged,
            }
        ]
        if self.layer_created:
            lines.append(_("The layer “%(layer)s” is created.") % {"layer": self.layer})
        if self.previous_edition:
            lines.append(
                _("The previous edition is kept as layer “%(slug)s”.")
                % {"slug": self.previous_edition}
            )
        # Labels as in the first line (the console report is not translated yet).
        for label, codes in (("new", self.created), ("changed", self.changed)):
            if codes:
                lines.append(f"  {label}: {_preview(codes)}")
        if self.removed:
            lines.append(f"  removed: {_preview(self.removed)}")
        if self.repaired:
            lines.append(_("%(n)d invalid geometries repaired:") % {"n": len(self.repaired)})
            lines.extend(f"  {entry}" for entry in self.repaired)
        if self.locations_linked is not None:
            lines.append(
                _("Stored planning areas of all locations recomputed (%(n)d links).")
                % {"n": self.locations_linked}
            )
        if self.rebuilt_layers:
            lines.append(
                _("Composed layers rebuilt: %(layers)s")
                % {"layers": ", ".join(self.rebuilt_layers)}
            )
        if self.crosswalks_refreshed:
            lines.append(_("Crosswalks recomputed: %(n)d") % {"n": self.crosswalks_refreshed})
        if not self.committed:
            lines.append(_("Dry run: nothing was written. Pass --commit to import."))
        return lines


def _preview(codes: list[str], limit: int = 20) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" … (+{len(codes) - limit})" if len(codes) > limit else "")


Progress = Callable[[int], None]


def _as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon | None:
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    # make_valid may yield a collection: keep its polygonal parts.
    polygons = [
        g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)
    ]
    parts = []
    for g in polygons:
        parts.extend(shapely.get_parts(g))
    return shapely.MultiPolygon(parts) if parts else None


def column_named(frame: gpd.GeoDataFrame, name: str) -> str:
    """The column of ``frame`` called ``name``, compared without regard to case."""
    by_lower = {str(c).lower(): c for c in frame.columns if c != frame.geometry.name}
    if name.lower() not in by_lower:
        raise ImportFileError(
            _("Column “%(column)s” is not in the file; it has: %(columns)s")
            % {"column": name, "columns": ", ".join(map(str, by_lower.values()))}
        )
    return by_lower[name.lower()]


def prepare_areas(
    frame: gpd.GeoDataFrame, *, code_field: str, name_field: str, report: AreaImportReport
) -> dict[str, tuple[str, shapely.MultiPolygon]]:
    """Validate codes and geometries; repair invalid polygons and note them in the report."""
    code_field, name_field = column_named(frame, code_field), column_named(frame, name_field)
    areas: dict[str, tuple[str, shapely.MultiPolygon]] = {}
    empty: list[int] = []
    duplicates: dict[str, list[int]] = {}
    seen: dict[str, int] = {}
    for position, row in enumerate(frame.itertuples(index=False), start=1):
        raw_code = getattr(row, code_field)
        code = "" if raw_code is None or raw_code != raw_code else str(raw_code).strip()
        if not code:
            empty.append(position)
            continue
        if code in seen:
            duplicates.setdefault(code, [seen[code]]).append(position)
            continue
        seen[code] = position
        geom = row.geometry
        if geom is not None and not geom.is_valid:
            report.repaired.append(f"{code}: {shapely.is_valid_reason(geom)}")
            geom = shapely.make_valid(geom)
        multipolygon = _as_multipolygon(geom)
        if multipolygon is None:
            raise ImportFileError(_("Area “%(code)s” has no polygon geometry.") % {"code": code})
        name = getattr(row, name_field)
        areas[code] = (
            str(name).strip() if name == name and name is not None else code,
            multipolygon,
        )
    if empty:
        raise ImportFileError(
            _("%(n)d features have an empty code in “%(field)s” (features %(where)s).")
            % {"n": len(empty), "field": code_field, "where": _preview([str(p) for p in empty])}
        )
    if duplicates:
        raise ImportFileError(
            _("Codes occur more than once in “%(field)s”: %(codes)s")
            % {
                "field": code_field,
                "codes": "; ".join(
                    _("“%(code)s” (features %(where)s)")
                    % {"code": code, "where": ", ".join(map(str, where))}
                    for code, where in list(duplicates.items())[:10]
                ),
            }
        )
    if not areas:
        raise ImportFileError(_("The file contains no features."))
    return areas


def _to_geos(geom: shapely.MultiPolygon) -> MultiPolygon:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=settings.ATLAS_SRID)


def _parent_codes(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    codes: list[str],
    *,
    code_field: str,
    parent_code_field: str | None,
    parent_code_prefix: int | None,
) -> tuple[dict[str, str], dict[str, int]]:
    """Each code's parent code (from a field or a prefix) and the parent areas by code.

    Empty without parent options: the stored parents then stay as they are.
    """
    if not (parent_code_field or parent_code_prefix):
        return {}, {}
    if layer.parent_id is None:
        raise ImportFileError(_("Layer “%(layer)s” has no parent layer.") % {"layer": layer.slug})
    if parent_code_field:
        pairs = zip(
            frame[column_named(frame, code_field)],
            frame[column_named(frame, parent_code_field)],
            strict=True,
        )
        parent_codes = {str(c).strip(): str(p).strip() for c, p in pairs}
    else:
        parent_codes = {code: code[:parent_code_prefix] for code in codes}
    parents = dict(Area.objects.filter(layer_id=layer.parent_id).values_list("code", "pk"))
    missing = sorted({p for p in parent_codes.values() if p not in parents})
    if missing:
        raise ImportFileError(
            _("Parent codes not found on layer “%(layer)s”: %(codes)s")
            % {"layer": layer.parent.slug, "codes": ", ".join(missing[:10])}
        )
    return parent_codes, parents


def _changed(area: Area, values: dict, geom: shapely.MultiPolygon) -> bool:
    """Bring a stored area in line with the file's values; whether anything differed."""
    differs = [k for k, v in values.items() if getattr(area, k) != v]
    for key in differs:
        setattr(area, key, values[key])
    stored = shapely.from_wkb(bytes(area.geometry.wkb))
    if not stored.equals_exact(geom, 1e-9):
        area.geometry = _to_geos(geom)
        differs.append("geometry")
    return bool(differs)


def _plan_areas(
    layer: Layer, areas: dict, values_by_code: dict[str, dict], report: AreaImportReport
) -> tuple[list[Area], list[Area]]:
    """The areas to create and the changed ones to save; the report counts each kind."""
    existing = {area.code: area for area in Area.objects.filter(layer=layer)} if layer.pk else {}
    to_create, to_update = [], []
    for code, (_name, geom) in areas.items():
        values = values_by_code[code]
        area = existing.get(code)
        if area is None:
            report.created.append(code)
            to_create.append(Area(layer=layer, code=code, geometry=_to_geos(geom), **values))
        elif _changed(area, values, geom):
            report.changed.append(code)
            to_update.append(area)
        else:
            report.unchanged += 1
    report.removed = sorted(set(existing) - set(areas))
    return to_create, to_update


def _write_areas(
    layer: Layer,
    to_create: list[Area],
    to_update: list[Area],
    report: AreaImportReport,
    *,
    previous_edition: Layer | None,
    progress: Progress | None,
) -> None:
    """Save everything in one transaction; links, compositions and crosswalks follow."""
    with transaction.atomic():
        if previous_edition is not None:
            previous_edition.save()
        if layer.pk is None:
            layer.save()
            for area in to_create:
                area.layer = layer
        for done, area in enumerate(to_create + to_update, start=1):
            area.save()
            if progress:
                progress(done)
        if report.removed:
            for area in Area.objects.filter(layer=layer, code__in=report.removed):
                area.delete()  # one by one, so that history records each deletion
        if report.has_changes:
            # Stored links to areas (providers' locations) follow; receivers return counts.
            responses = areas_changed.send(sender=Layer, layer=layer)
            report.locations_linked = sum(r for _r, r in responses if isinstance(r, int))
            # Composed layers of these units follow them (a new edition, moved borders).
            report.rebuilt_layers = [
                r.layer for r in rebuild_compositions(layer, previous_edition=previous_edition)
            ]
            report.crosswalks_refreshed = len(refresh_crosswalks(layer))
    report.committed = True


def import_areas(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    *,
    code_field: str,
    name_field: str,
    parent_code_prefix: int | None = None,
    parent_code_field: str | None = None,
    commit: bool = False,
    attributes: dict[str, dict] | None = None,
    progress: Progress | None = None,
    previous_edition: Layer | None = None,
) -> AreaImportReport:
    """Bring ``layer`` in line with ``frame``: create, change and remove areas.

    Without ``commit`` nothing is written and the report says what would change.
    With it, everything happens in one transaction and the stored area
    membership of every location is recomputed. ``attributes`` maps a code to
    extra field values (e.g. ``population``). An unsaved ``layer``
    is created on commit; ``previous_edition`` is an existing layer that is kept
    (renamed, its validity ended) while ``layer`` takes its slug.
    ``progress`` is called with the number of areas written so far.
    """
    report = AreaImportReport(layer=layer.slug, layer_created=layer.pk is None)
    if previous_edition is not None:
        report.previous_edition = previous_edition.slug
    areas = prepare_areas(frame, code_field=code_field, name_field=name_field, report=report)
    parent_codes, parents = _parent_codes(
        frame,
        layer,
        list(areas),
        code_field=code_field,
        parent_code_field=parent_code_field,
        parent_code_prefix=parent_code_prefix,
    )
    values_by_code = {}
    for code, (name, _geom) in areas.items():
        values = {"name": name, **(attributes or {}).get(code, {})}
        if parent_codes:
            values["parent_id"] = parents.get(parent_codes.get(code))
        values_by_code[code] = values
    to_create, to_update = _plan_areas(layer, areas, values_by_code, report)
    if commit:
        _write_areas(
            layer,
            to_create,
            to_update,
            report,
            previous_edition=previous_edition,
            progress=progress,
        )
    return report


@dataclass
class AreaImportOptions:
    """What ``import_areas`` (command and admin page) is asked to do."""

    layer: str
    code_field: str
    name_field: str
    layer_name: str | None = None
    level: int | None = None
    parent_layer: str | None = None
    parent_code_field: str | None = None
    parent_code_prefix: int | None = None
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    srid: int | None = None
    encoding: str | None = None
    source_layer: str | None = None
    source: str | None = None
    licence: str | None = None
    commit: bool = False


def _parent_layer(options: AreaImportOptions) -> Layer | None:
    parent = None
    if options.parent_layer:
        parent = Layer.objects.filter(slug=options.parent_layer).first()
        if parent is None:
            raise ImportFileError(
                _("The parent layer “%(slug)s” does not exist.") % {"slug": options.parent_layer}
            )
    if (options.parent_code_field or options.parent_code_prefix) and parent is None:
        existing_parent = Layer.objects.filter(slug=options.layer, parent__isnull=False).first()
        if existing_parent is None:
            raise ImportFileError(
                _("--parent-code-field and --parent-code-prefix need --parent-layer.")
            )
    if options.parent_code_field and options.parent_code_prefix:
        raise ImportFileError(_("Pass either --parent-code-field or --parent-code-prefix."))
    return parent


def _new_layer(options: AreaImportOptions, parent: Layer | None) -> Layer:
    if not options.layer_name:
        raise ImportFileError(
            _("The layer “%(slug)s” does not exist; pass --layer-name to create it.")
            % {"slug": options.layer}
        )
    return Layer(
        slug=options.layer,
        name=options.layer_name,
        level=options.level or ((parent.level + 1) if parent else 1),
        parent=parent,
        valid_from=options.valid_from,
        valid_until=options.valid_until,
        source=options.source or "",
        licence=options.licence or "",
    )


def _starts_new_edition(layer: Layer, options: AreaImportOptions) -> bool:
    return (
        options.valid_from is not None
        and layer.valid_from is not None
        and options.valid_from > layer.valid_from
        and layer.areas.exists()
    )


def _new_edition(
    layer: Layer, options: AreaImportOptions, parent: Layer | None
) -> tuple[Layer, Layer]:
    """The new edition (unsaved, taking the slug) and the previous one under a dated slug."""
    previous = layer
    ended = options.valid_from - datetime.timedelta(days=1)
    previous.slug = f"{layer.slug}-bis-{ended.year}"[:80]
    previous.valid_until = ended
    previous.name = f"{layer.name} (bis {ended:%d.%m.%Y})"[:120]
    if Layer.objects.filter(slug=previous.slug).exists():
        raise ImportFileError(
            _("A layer “%(slug)s” exists already; cannot keep the previous edition.")
            % {"slug": previous.slug}
        )
    edition = Layer(
        slug=options.layer,
        name=options.layer_name or Layer.objects.get(pk=previous.pk).name,
        level=options.level or previous.level,
        parent=parent or previous.parent,
        valid_from=options.valid_from,
        valid_until=options.valid_until,
        source=previous.source,
        licence=previous.licence,
    )
    return edition, previous


def _updated_layer(layer: Layer, options: AreaImportOptions, parent: Layer | None) -> Layer:
    for attr in ("valid_from", "valid_until", "source", "licence"):
        if getattr(options, attr) is not None:
            setattr(layer, attr, getattr(options, attr))
    if options.layer_name:
        layer.name = options.layer_name
    if parent is not None:
        layer.parent = parent
    return layer


def plan_layer(options: AreaImportOptions) -> tuple[Layer, Layer | None]:
    """The layer to import into (unsaved if new) and the previous edition to keep, if any.

    A layer whose current edition started before ``valid_from`` keeps that
    edition under a dated slug (``<slug>-bis-<year>``), valid until the day
    before the new one; the new edition takes the slug. Nothing is saved here.
    """
    parent = _parent_layer(options)
    layer = Layer.objects.filter(slug=options.layer).first()
    previous = None
    if layer is None:
        layer = _new_layer(options, parent)
    elif _starts_new_edition(layer, options):
        layer, previous = _new_edition(layer, options, parent)
    else:
        layer = _updated_layer(layer, options, parent)
    if layer.valid_from and layer.valid_until and layer.valid_from > layer.valid_until:
        raise ImportFileError(_("--valid-until must not be before --valid-from."))
    return layer, previous


def _layer_differs(layer: Layer) -> bool:
    stored = Layer.objects.get(pk=layer.pk)
    fields = (
        "name",
        "slug",
        "level",
        "parent_id",
        "valid_from",
        "valid_until",
        "source",
        "licence",
    )
    return any(getattr(stored, f) != getattr(layer, f) for f in fields)


def set_area_attributes(layer: Layer, attributes: dict[str, dict]) -> int:
    """Write extra field values (e.g. ``population``) onto a layer's areas by code.

    Only areas whose values differ are saved; returns how many were.
    """
    changed = 0
    with transaction.atomic():
        for area in Area.objects.filter(layer=layer, code__in=list(attributes)).defer("geometry"):
            values = attributes[area.code]
            if any(getattr(area, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(area, k, v)
                area.save(update_fields=list(values))
                changed += 1
    return changed


def import_area_file(
    path: str | Path,
    options: AreaImportOptions,
    *,
    attributes: dict[str, dict] | None = None,
    progress: Progress | None = None,
) -> AreaImportReport:
    """Read ``path`` and import it as ``options`` say: the one entry point of the command,
    the admin upload page and the demo loader. A dry run unless ``options.commit``.
    """
    frame = read_geo_file(
        path, encoding=options.encoding, srid=options.srid, source_layer=options.source_layer
    )
    layer, previous = plan_layer(options)
    with transaction.atomic():
        if layer.pk and options.commit and _layer_differs(layer):
            layer.save()
        report = import_areas(
            frame,
            layer,
            code_field=options.code_field,
            name_field=options.name_field,
            parent_code_prefix=options.parent_code_prefix,
            parent_code_field=options.parent_code_field,
            commit=options.commit,
            attributes=attributes,
            progress=progress,
            previous_edition=previous,
        )
    return report
