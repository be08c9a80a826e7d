"""Multi-step writes on planning areas: importing a layer's areas from a file."""

from __future__ import annotations

import codecs
import datetime
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction
from django.utils.translation import gettext as _

from .composition import rebuild_compositions
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
    rebuilt_layers: list[str] = field(default_factory=list)
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
        if not self.committed:
            lines.append(_("Dry run: nothing was written. Pass --commit to import."))
        return lines


def _preview(codes: list[str], limit: int = 20) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" … (+{len(codes) - limit})" if len(codes) > limit else "")


Progress = Callable[[int], None]


SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@contextmanager
def _unpacked(path: Path) -> Iterator[Path]:
    """Yield the path to read: the file itself, or the one Shapefile inside a zip archive."""
    if path.suffix.lower() != ".zip":
        yield path
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise AreaImportError(
            _("%(path)s is not a readable zip archive: %(error)s")
            % {"path": path.name, "error": exc}
        ) from exc
    with archive, tempfile.TemporaryDirectory(prefix="atlas-areas-") as tmp:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir() and not Path(m.filename).name.startswith(("._", "."))
        ]
        shapefiles = [m for m in members if m.filename.lower().endswith(".shp")]
        others = [m for m in members if m.filename.lower().endswith((".gpkg", ".geojson", ".json"))]
        candidates = shapefiles or others
        if not candidates:
            raise AreaImportError(
                _(
                    "The zip archive %(path)s contains no .shp file (nor a GeoPackage or GeoJSON);"
                    " it holds: %(members)s"
                )
                % {
                    "path": path.name,
                    "members": ", ".join(m.filename for m in members[:10]) or _("nothing"),
                }
            )
        if len(candidates) > 1:
            raise AreaImportError(
                _("The zip archive %(path)s holds several layers (%(names)s); zip one at a time.")
                % {"path": path.name, "names": ", ".join(m.filename for m in candidates)}
            )
        chosen = candidates[0]
        stem = chosen.filename[: -len(Path(chosen.filename).suffix)]
        for member in members:
            if member.filename == chosen.filename or member.filename.startswith(stem + "."):
                # Extract under a flat, safe name: archive paths are never trusted.
                target = Path(tmp) / Path(member.filename).name
                with archive.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
        yield Path(tmp) / Path(chosen.filename).name


def _declared_shapefile_encoding(shp: Path) -> str | None:
    """The encoding a Shapefile declares (.cpg or the DBF language driver byte), if any."""
    for suffix in (".cpg", ".CPG"):
        cpg = shp.with_suffix(suffix)
        if cpg.exists():
            declared = cpg.read_text(encoding="ascii", errors="replace").strip()
            return declared or None
    dbf = next((shp.with_suffix(s) for s in (".dbf", ".DBF") if shp.with_suffix(s).exists()), None)
    if dbf is None:
        return None
    with open(dbf, "rb") as handle:
        header = handle.read(32)
    # Byte 29 is the language driver id; 0 means "not declared".
    return "declared-by-ldid" if len(header) > 29 and header[29] else None


def _dbf_is_utf8(shp: Path) -> bool:
    dbf = next((shp.with_suffix(s) for s in (".dbf", ".DBF") if shp.with_suffix(s).exists()), None)
    if dbf is None:
        return True
    try:
        dbf.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _gdal_encoding(encoding: str) -> str:
    """GDAL's name for a Python codec name (GDAL knows “ISO-8859-1”, not “latin-1”)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise AreaImportError(
            _("Unknown encoding “%(encoding)s”; pass e.g. --encoding latin-1 or utf-8.")
            % {"encoding": encoding}
        ) from exc
    if name.startswith("iso8859-"):
        return "ISO-8859-" + name.removeprefix("iso8859-")
    return name.upper()


def read_area_file(
    path: str | Path,
    *,
    encoding: str | None = None,
    srid: int | None = None,
    source_layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a Shapefile (also zipped), GeoPackage or GeoJSON and return it in the atlas SRID.

    A file without a coordinate reference system is refused unless ``srid`` says
    which one it is; a Shapefile whose attribute encoding is neither declared
    (``.cpg``) nor given, and whose table is not UTF-8, is refused too, rather
    than guessed and stored garbled.
    """
    path = Path(path)
    if not path.exists():
        raise AreaImportError(_("File not found: %(path)s") % {"path": path})
    if path.is_file() and path.stat().st_size == 0:
        raise AreaImportError(_("%(path)s is empty.") % {"path": path.name})
    with _unpacked(path) as readable:
        if readable.suffix.lower() == ".shp":
            if not readable.with_suffix(".prj").exists() and not srid:
                raise AreaImportError(
                    _(
                        "%(path)s has no .prj file, so its coordinate reference system is"
                        " unknown; pass it with --srid (e.g. --srid 25833 for ETRS89 / UTM 33N)."
                    )
                    % {"path": path.name}
                )
            if (
                not encoding
                and _declared_shapefile_encoding(readable) is None
                and not _dbf_is_utf8(readable)
            ):
                raise AreaImportError(
                    _(
                        "%(path)s declares no attribute encoding (no .cpg file) and its table is"
                        " not UTF-8; pass it with --encoding (most likely --encoding latin-1)."
                    )
                    % {"path": path.name}
                )
        kwargs: dict = {}
        if encoding:
            kwargs["encoding"] = _gdal_encoding(encoding)
        if source_layer:
            kwargs["layer"] = source_layer
        else:
            try:
                layers = pyogrio.list_layers(readable)
            except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
                raise AreaImportError(
                    _("Cannot read %(path)s: %(error)s") % {"path": path.name, "error": exc}
                ) from exc
            spatial = [str(name) for name, geometry_type in layers if geometry_type]
            if len(spatial) > 1:
                raise AreaImportError(
                    _("%(path)s holds several layers (%(names)s); choose one with --source-layer.")
                    % {"path": path.name, "names": ", ".join(spatial)}
                )
        try:
            frame = gpd.read_file(readable, engine="pyogrio", **kwargs)
        except LookupError as exc:
            raise AreaImportError(
                _("Unknown encoding “%(encoding)s”; pass e.g. --encoding latin-1 or utf-8.")
                % {"encoding": encoding}
            ) from exc
        except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
            raise AreaImportError(
                _("Cannot read %(path)s: %(error)s") % {"path": path.name, "error": exc}
            ) from exc
    if frame.crs is None and srid:
        try:
            frame = frame.set_crs(epsg=srid)
        except Exception as exc:  # pyproj.CRSError and friends
            raise AreaImportError(
                _("--srid %(srid)s is not a known EPSG code.") % {"srid": srid}
            ) from exc
    if frame.crs is None:
        raise AreaImportError(
            _(
                "%(path)s declares no coordinate reference system; pass it with --srid"
                " (e.g. --srid 25833 for ETRS89 / UTM 33N)."
            )
            % {"path": path.name}
        )
    if frame.geometry.isna().all() and len(frame):
        raise AreaImportError(_("%(path)s has no geometries.") % {"path": path.name})
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
            raise AreaImportError(_("Area “%(code)s” has no polygon geometry.") % {"code": code})
        name = getattr(row, name_field)
        areas[code] = (
            str(name).strip() if name == name and name is not None else code,
            multipolygon,
        )
    if empty:
        raise AreaImportError(
            _("%(n)d features have an empty code in “%(field)s” (features %(where)s).")
            % {"n": len(empty), "field": code_field, "where": _preview([str(p) for p in empty])}
        )
    if duplicates:
        raise AreaImportError(
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
    progress: Progress | None = None,
    previous_edition: Layer | None = None,
) -> AreaImportReport:
    """Bring ``layer`` in line with ``frame``: create, change and remove areas.

    Without ``commit`` nothing is written and the report says what would change.
    With it, everything happens in one transaction and the stored area
    membership of every location is recomputed. ``attributes`` maps a code to
    extra field values (``population``, ``indicators``). An unsaved ``layer``
    is created on commit; ``previous_edition`` is an existing layer that is kept
    (renamed, its validity ended) while ``layer`` takes its slug.
    ``progress`` is called with the number of areas written so far.
    """
    report = AreaImportReport(layer=layer.slug, layer_created=layer.pk is None)
    if previous_edition is not None:
        report.previous_edition = previous_edition.slug
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
        values = {"name": name, **attributes.get(code, {})}
        if parent_codes:
            # Without parent options the stored parents stay as they are.
            values["parent_id"] = parents.get(parent_codes.get(code))
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
            from providers.models import Location

            report.locations_linked = Location.objects.all().refresh_areas()
            # Composed layers of these units follow them (a new edition, moved borders).
            report.rebuilt_layers = [
                r.layer for r in rebuild_compositions(layer, previous_edition=previous_edition)
            ]
    report.committed = True
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


def plan_layer(options: AreaImportOptions) -> tuple[Layer, Layer | None]:
    """The layer to import into (unsaved if new) and the previous edition to keep, if any.

    A layer whose current edition started before ``valid_from`` keeps that
    edition under a dated slug (``<slug>-bis-<year>``), valid until the day
    before the new one; the new edition takes the slug. Nothing is saved here.
    """
    parent = None
    if options.parent_layer:
        parent = Layer.objects.filter(slug=options.parent_layer).first()
        if parent is None:
            raise AreaImportError(
                _("The parent layer “%(slug)s” does not exist.") % {"slug": options.parent_layer}
            )
    if (options.parent_code_field or options.parent_code_prefix) and parent is None:
        existing_parent = Layer.objects.filter(slug=options.layer, parent__isnull=False).first()
        if existing_parent is None:
            raise AreaImportError(
                _("--parent-code-field and --parent-code-prefix need --parent-layer.")
            )
    if options.parent_code_field and options.parent_code_prefix:
        raise AreaImportError(_("Pass either --parent-code-field or --parent-code-prefix."))
    layer = Layer.objects.filter(slug=options.layer).first()
    previous = None
    if layer is None:
        if not options.layer_name:
            raise AreaImportError(
                _("The layer “%(slug)s” does not exist; pass --layer-name to create it.")
                % {"slug": options.layer}
            )
        layer = Layer(
            slug=options.layer,
            name=options.layer_name,
            level=options.level or ((parent.level + 1) if parent else 1),
            parent=parent,
            valid_from=options.valid_from,
            valid_until=options.valid_until,
            source=options.source or "",
            licence=options.licence or "",
        )
    else:
        starts_new_edition = (
            options.valid_from is not None
            and layer.valid_from is not None
            and options.valid_from > layer.valid_from
            and layer.areas.exists()
        )
        if starts_new_edition:
            previous = layer
            ended = options.valid_from - datetime.timedelta(days=1)
            previous.slug = f"{layer.slug}-bis-{ended.year}"[:80]
            previous.valid_until = ended
            previous.name = f"{layer.name} (bis {ended:%d.%m.%Y})"[:120]
            if Layer.objects.filter(slug=previous.slug).exists():
                raise AreaImportError(
                    _("A layer “%(slug)s” exists already; cannot keep the previous edition.")
                    % {"slug": previous.slug}
                )
            layer = Layer(
                slug=options.layer,
                name=options.layer_name or Layer.objects.get(pk=previous.pk).name,
                level=options.level or previous.level,
                parent=parent or previous.parent,
                valid_from=options.valid_from,
                valid_until=options.valid_until,
                source=previous.source,
                licence=previous.licence,
            )
        else:
            for attr in ("valid_from", "valid_until", "source", "licence"):
                if getattr(options, attr) is not None:
                    setattr(layer, attr, getattr(options, attr))
            if options.layer_name:
                layer.name = options.layer_name
            if parent is not None:
                layer.parent = parent
    if layer.valid_from and layer.valid_until and layer.valid_from > layer.valid_until:
        raise AreaImportError(_("--valid-until must not be before --valid-from."))
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
    """Write extra values (``population``, ``indicators``) onto a layer's areas by code.

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
    frame = read_area_file(
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
