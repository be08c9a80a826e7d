"""Multi-step writes on planning areas: importing a layer's areas from a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Area, Layer


class AreaImportError(Exception):
    """The file cannot be imported as it is; the message says why and what to do."""


@dataclass
class AreaImportReport:
    layer: str
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    repaired: list[str] = field(default_factory=list)
    locations_linked: int | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.created or self.changed or self.removed)


def read_area_file(path: str | Path, *, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a Shapefile, GeoPackage or GeoJSON and return it in the atlas SRID.

    Refuses files without a coordinate reference system rather than guessing.
    """
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        frame = gpd.read_file(path, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise AreaImportError(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}
        ) from exc
    if frame.crs is None:
        raise AreaImportError(
            _("%(path)s declares no coordinate reference system; pass it with --srid.")
            % {"path": path}
        )
    return frame.to_crs(epsg=settings.ATLAS_SRID)


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


def prepare_areas(
    frame: gpd.GeoDataFrame, *, code_field: str, name_field: str, report: AreaImportReport
) -> dict[str, tuple[str, shapely.MultiPolygon]]:
    """Validate codes and geometries; repair invalid polygons and note them in the report."""
    for column in (code_field, name_field):
        if column not in frame.columns:
            raise AreaImportError(
                _("Column “%(column)s” is not in the file; it has: %(columns)s")
                % {
                    "column": column,
                    "columns": ", ".join(c for c in frame.columns if c != "geometry"),
                }
            )
    areas: dict[str, tuple[str, shapely.MultiPolygon]] = {}
    for position, row in enumerate(frame.itertuples(index=False), start=1):
        raw_code = getattr(row, code_field)
        code = "" if raw_code is None or raw_code != raw_code else str(raw_code).strip()
        if not code:
            raise AreaImportError(_("Feature %(n)d has an empty code.") % {"n": position})
        if code in areas:
            raise AreaImportError(_("The code “%(code)s” occurs more than once.") % {"code": code})
        geom = row.geometry
        if geom is not None and not geom.is_valid:
            report.repaired.append(f"{code}: {shapely.is_valid_reason(geom)}")
            geom = shapely.make_valid(geom)
        multipolygon = _as_multipolygon(geom)
        if multipolygon is None:
            raise AreaImportError(_("Area “%(code)s” has no polygon geometry.") % {"code": code})
        name = getattr(row, name_field)
        areas[code] = (
            str(name).strip() if name == name and name is not None else code,
            multipolygon,
        )
    if not areas:
        raise AreaImportError(_("The file contains no features."))
    return areas


def _to_geos(geom: shapely.MultiPolygon) -> MultiPolygon:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=settings.ATLAS_SRID)


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
) -> AreaImportReport:
    """Bring ``layer`` in line with ``frame``: create, change and remove areas.

    Without ``commit`` nothing is written and the report says what would change.
    With it, everything happens in one transaction and the stored area
    membership of every location is recomputed. ``attributes`` maps a code to
    extra field values (``population``, ``indicators``).
    """
    report = AreaImportReport(layer=layer.slug)
    areas = prepare_areas(frame, code_field=code_field, name_field=name_field, report=report)
    attributes = attributes or {}

    parent_codes: dict[str, str] = {}
    if parent_code_field or parent_code_prefix:
        if layer.parent_id is None:
            raise AreaImportError(
                _("Layer “%(layer)s” has no parent layer.") % {"layer": layer.slug}
            )
        if parent_code_field:
            if parent_code_field not in frame.columns:
                raise AreaImportError(
                    _("Column “%(column)s” is not in the file.") % {"column": parent_code_field}
                )
            parent_codes = {
                str(c).strip(): str(p).strip()
                for c, p in zip(frame[code_field], frame[parent_code_field], strict=True)
            }
        else:
            parent_codes = {code: code[:parent_code_prefix] for code in areas}
    parents = (
        dict(Area.objects.filter(layer_id=layer.parent_id).values_list("code", "pk"))
        if parent_codes
        else {}
    )
    missing = sorted({p for p in parent_codes.values() if p not in parents})
    if missing:
        raise AreaImportError(
            _("Parent codes not found on layer “%(layer)s”: %(codes)s")
            % {"layer": layer.parent.slug, "codes": ", ".join(missing[:10])}
        )

    existing = {area.code: area for area in Area.objects.filter(layer=layer)} if layer.pk else {}
    to_create, to_update = [], []
    for code, (name, geom) in areas.items():
        values = {
            "name": name,
            "parent_id": parents.get(parent_codes.get(code)),
            **attributes.get(code, {}),
        }
        area = existing.get(code)
        if area is None:
            report.created.append(code)
            to_create.append(Area(layer=layer, code=code, geometry=_to_geos(geom), **values))
            continue
        differs = [k for k, v in values.items() if getattr(area, k) != v]
        stored = shapely.from_wkb(bytes(area.geometry.wkb))
        if not stored.equals_exact(geom, 1e-9):
            area.geometry = _to_geos(geom)
            differs.append("geometry")
        if differs:
            for key in differs:
                if key != "geometry":
                    setattr(area, key, values[key])
            report.changed.append(code)
            to_update.append(area)
        else:
            report.unchanged += 1
    report.removed = sorted(set(existing) - set(areas))

    if not commit:
        return report
    with transaction.atomic():
        for area in to_create + to_update:
            area.save()
        if report.removed:
            Area.objects.filter(layer=layer, code__in=report.removed).delete()
        if report.has_changes:
            from providers.models import Location

            report.locations_linked = Location.objects.all().refresh_areas()
    return report
