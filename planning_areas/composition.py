"""Composed layers (Baukasten Planungsraum): a department's areas built from base units.

A mapping (``base_code, code, name``) says which base unit of one layer belongs
to which composed area. The composed geometries are unions of the base units,
computed in PostGIS; the assignment is stored (``Composition``) so that the
composed areas are rebuilt when the base units change.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction
from django.utils.translation import gettext as _

from .crosswalks import refresh_crosswalks
from .models import Area, Composition, CompositionUnit, Layer
from .signals import areas_changed

MAPPING_COLUMNS = ("base_code", "code", "name")
MAX_MAPPING_BYTES = 5 * 1024 * 1024
MAX_MAPPING_ROWS = 100_000
CODE_PATTERN = re.compile(r"[\w.\-/]{1,40}")
# Names are shown on maps, pages and exports: refuse anything that looks like markup
# or carries control characters rather than store it and rely on every reader escaping.
NAME_FORBIDDEN = re.compile(r"[<>\x00-\x1f\x7f]")


class CompositionError(Exception):
    """The mapping cannot be used as it is; the message says why."""


@dataclass(frozen=True)
class MappingRow:
    line: int
    base_code: str
    code: str
    name: str


def read_mapping(data: bytes | str | Path) -> list[MappingRow]:
    """Parse a mapping CSV (comma, semicolon or tab separated, UTF-8) into rows.

    Raises ``CompositionError`` for an empty or oversized file, a file that is not
    UTF-8 text, missing columns, empty or malformed codes and names with markup or
    control characters; every problem found is listed, not only the first.
    """
    text = _mapping_text(data)
    first_line = text.splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        index = _mapping_columns(next(reader))
        rows, problems = _mapping_rows(reader, index)
    except csv.Error as exc:
        raise CompositionError(
            _("The mapping file is not a readable CSV: %(e)s") % {"e": exc}
        ) from exc
    if problems:
        raise CompositionError("; ".join(problems[:20]) + (" …" if len(problems) > 20 else ""))
    if not rows:
        raise CompositionError(_("The mapping file has a header but no rows."))
    return rows


def _mapping_text(data: bytes | str | Path) -> str:
    """The mapping as text: at most 5 MB, UTF-8 (a byte-order mark dropped), no NUL bytes."""
    if isinstance(data, Path):
        if data.stat().st_size > MAX_MAPPING_BYTES:
            raise CompositionError(_("The mapping file is larger than 5 MB."))
        data = data.read_bytes()
    if isinstance(data, bytes):
        if len(data) > MAX_MAPPING_BYTES:
            raise CompositionError(_("The mapping file is larger than 5 MB."))
        if b"\x00" in data:
            raise _nul_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CompositionError(
                _("The mapping file is not UTF-8 text (byte %(pos)d); save it as CSV UTF-8.")
                % {"pos": exc.start}
            ) from exc
    else:
        text = data.lstrip("\ufeff")
        if "\x00" in text:
            raise _nul_bytes()
    if not text.strip():
        raise CompositionError(_("The mapping file is empty."))
    return text


def _nul_bytes() -> CompositionError:
    return CompositionError(_("The mapping file contains NUL bytes; it is not a CSV file."))


def _mapping_columns(first_record: list[str]) -> dict[str, int]:
    """The position of each needed column in the header (case and spaces ignored)."""
    header = [h.strip().lower() for h in first_record]
    missing = [c for c in MAPPING_COLUMNS if c not in header]
    if missing:
        raise CompositionError(
            _("The mapping needs the columns %(needed)s; missing: %(missing)s (found: %(found)s).")
            % {
                "needed": ", ".join(MAPPING_COLUMNS),
                "missing": ", ".join(missing),
                "found": ", ".join(h for h in header if h)[:200] or _("nothing"),
            }
        )
    return {c: header.index(c) for c in MAPPING_COLUMNS}


def _mapping_rows(reader, index: dict[str, int]) -> tuple[list[MappingRow], list[str]]:
    """The non-blank records as rows, and a message per malformed code or name."""
    rows: list[MappingRow] = []
    problems: list[str] = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= MAX_MAPPING_ROWS:
            raise CompositionError(
                _("The mapping has more than %(n)d rows.") % {"n": MAX_MAPPING_ROWS}
            )
        values = {c: (record[i].strip() if i < len(record) else "") for c, i in index.items()}
        problems += _row_problems(line, values)
        rows.append(MappingRow(line, values["base_code"], values["code"], values["name"]))
    return rows, problems


def _row_problems(line: int, values: dict[str, str]) -> list[str]:
    problems = [
        _("line %(line)d: “%(column)s” must be 1–40 letters, digits, . - _ /")
        % {"line": line, "column": column}
        for column in ("base_code", "code")
        if not CODE_PATTERN.fullmatch(values[column])
    ]
    if NAME_FORBIDDEN.search(values["name"]) or len(values["name"]) > 200:
        problems.append(
            _(
                "line %(line)d: the name must be plain text of at most 200 characters"
                " (no < > or control characters)"
            )
            % {"line": line}
        )
    return problems


@dataclass
class ComposedArea:
    code: str
    name: str
    base_codes: list[str]
    geometry: GEOSGeometry | None = None
    parts: int = 0
    area_m2: float = 0.0
    population: int | None = None
    parent_id: int | None = None


@dataclass
class CompositionReport:
    layer: str
    base_layer: str
    areas: list[ComposedArea] = field(default_factory=list)
    assigned_twice: dict[str, list[str]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    conflicting_names: dict[str, list[str]] = field(default_factory=dict)
    parent_layer: str | None = None
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def disconnected(self) -> list[ComposedArea]:
        return [a for a in self.areas if a.parts > 1]

    @property
    def errors(self) -> list[str]:
        """What makes the mapping unusable: units assigned twice, unknown codes, two names."""
        errors = []
        if self.assigned_twice:
            errors.append(
                _("Base units assigned more than once: %(units)s")
                % {
                    "units": _preview(
                        [f"{b} → {', '.join(c)}" for b, c in self.assigned_twice.items()]
                    )
                }
            )
        if self.unknown:
            errors.append(
                _("Codes not found on layer “%(layer)s”: %(codes)s")
                % {"layer": self.base_layer, "codes": _preview(self.unknown)}
            )
        if self.conflicting_names:
            errors.append(
                _("Areas given different names: %(areas)s")
                % {
                    "areas": _preview(
                        [f"{c} ({' / '.join(n)})" for c, n in self.conflicting_names.items()]
                    )
                }
            )
        return errors

    def summary_lines(self) -> list[str]:
        lines = [
            _("%(layer)s: %(n)d areas composed of %(units)d units of “%(base)s”")
            % {
                "layer": self.layer,
                "n": len(self.areas),
                "units": sum(len(a.base_codes) for a in self.areas),
                "base": self.base_layer,
            }
        ]
        lines.extend(self.errors)
        if self.left_out:
            lines.append(
                _("Base units left out (in no area): %(n)d: %(codes)s")
                % {"n": len(self.left_out), "codes": _preview(self.left_out)}
            )
        if self.disconnected:
            lines.append(
                _("Areas made of disconnected parts: %(areas)s")
                % {"areas": _preview([f"{a.code} ({a.parts})" for a in self.disconnected])}
            )
        if self.parent_layer:
            lines.append(_("Parent areas on layer “%(layer)s”.") % {"layer": self.parent_layer})
        if self.committed:
            lines.append(
                _("Written: %(new)d new, %(changed)d changed, %(removed)d removed.")
                % {
                    "new": len(self.created),
                    "changed": len(self.changed),
                    "removed": len(self.removed),
                }
            )
        else:
            lines.append(_("Dry run: nothing was written. Pass --commit to write."))
        return lines


def _preview(items: list[str], limit: int = 15) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "")


def _check_mapping(rows: list[MappingRow], base_codes: set[str], report: CompositionReport):
    """Group the rows by composed area and note what is wrong with them."""
    targets: dict[str, list[str]] = defaultdict(list)
    names: dict[str, list[str]] = defaultdict(list)
    members: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.code not in targets.get(row.base_code, []):
            targets[row.base_code].append(row.code)
        if row.name and row.name not in names[row.code]:
            names[row.code].append(row.name)
        if row.base_code not in members[row.code]:
            members[row.code].append(row.base_code)
    report.assigned_twice = {b: c for b, c in targets.items() if len(c) > 1}
    report.unknown = sorted(set(targets) - base_codes)
    report.left_out = sorted(base_codes - set(targets))
    report.conflicting_names = {c: n for c, n in names.items() if len(n) > 1}
    return {
        code: ComposedArea(code, (names[code] or [code])[0], [b for b in bases if b in base_codes])
        for code, bases in members.items()
    }


def _union(base_layer: Layer, areas: dict[str, ComposedArea]) -> None:
    """Fill in geometry, parts, area and population of each composed area from PostGIS."""
    pairs = [(b, a.code) for a in areas.values() for b in a.base_codes]
    if not pairs:
        return
    table = connection.ops.quote_name(Area._meta.db_table)
    sql = f"""
        WITH m(base_code, code) AS (SELECT * FROM unnest(%(base)s::text[], %(codes)s::text[])),
        grouped AS (
            SELECT m.code,
                   ST_Multi(ST_CollectionExtract(ST_Union(a.geometry), 3)) AS geom,
                   CASE WHEN count(a.population) = count(*) THEN sum(a.population) END AS pop
            FROM m JOIN {table} a ON a.layer_id = %(layer)s AND a.code = m.base_code
            GROUP BY m.code
        )
        SELECT code, ST_AsEWKB(geom), ST_NumGeometries(geom), ST_Area(geom::geography), pop
        FROM grouped
    """  # noqa: S608 - the table name comes from model metadata; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "base": [p[0] for p in pairs],
                "codes": [p[1] for p in pairs],
                "layer": base_layer.pk,
            },
        )
        for code, ewkb, parts, area_m2, population in cursor.fetchall():
            target = areas[code]
            target.geometry = GEOSGeometry(memoryview(ewkb))
            target.parts = parts
            target.area_m2 = area_m2
            target.population = int(population) if population is not None else None


def _ancestor_layers(layer: Layer) -> list[Layer]:
    chain, node, seen = [], layer.parent, {layer.pk}
    while node is not None and node.pk not in seen:
        chain.append(node)
        seen.add(node.pk)
        node = node.parent
    return chain


def _choose_parents(base_layer: Layer, areas: dict[str, ComposedArea]) -> Layer | None:
    """Link the composed areas into the base layer's hierarchy where they nest.

    The parent layer is the nearest ancestor layer of the base layer that is
    coarser than the composition (fewer areas) and in which every composed area
    lies within one area; without one, the composed areas have no parent.
    """
    parent_of = dict(Area.objects.filter(layer=base_layer).values_list("code", "parent_id"))
    current = {code: parent_of.get(code) for a in areas.values() for code in a.base_codes}
    for ancestor in _ancestor_layers(base_layer):
        groups = {a.code: {current.get(b) for b in a.base_codes} for a in areas.values()}
        distinct = {p for g in groups.values() for p in g}
        nests = all(len(g) == 1 and None not in g for g in groups.values())
        if nests and len(distinct) < len(areas):
            for code, group in groups.items():
                areas[code].parent_id = next(iter(group))
            return ancestor
        up = dict(Area.objects.filter(layer=ancestor).values_list("pk", "parent_id"))
        current = {b: up.get(p) for b, p in current.items()}
    return None


def plan_composition(
    base_layer: Layer, rows: list[MappingRow], *, layer_slug: str, ignore_unknown: bool = False
) -> CompositionReport:
    """Check a mapping against the base layer and compute the composed areas (no writes)."""
    report = CompositionReport(layer=layer_slug, base_layer=base_layer.slug)
    if layer_slug == base_layer.slug:
        raise CompositionError(_("A layer cannot be composed of its own areas."))
    base_codes = set(Area.objects.filter(layer=base_layer).values_list("code", flat=True))
    if not base_codes:
        raise CompositionError(
            _("The base layer “%(layer)s” has no areas.") % {"layer": base_layer.slug}
        )
    areas = _check_mapping(rows, base_codes, report)
    if ignore_unknown:
        report.unknown = []
    areas = {code: a for code, a in areas.items() if a.base_codes}
    if not report.errors:
        _union(base_layer, areas)
        parent_layer = _choose_parents(base_layer, areas)
        report.parent_layer = parent_layer.slug if parent_layer else None
    report.areas = sorted(areas.values(), key=lambda a: a.code)
    return report


def compose_layer(
    base_layer: Layer,
    rows: list[MappingRow],
    *,
    layer_slug: str,
    layer_name: str | None = None,
    commit: bool = False,
    is_draft: bool = False,
    note: str = "",
    ignore_unknown: bool = False,
) -> CompositionReport:
    """Compose ``layer_slug`` from ``base_layer`` as ``rows`` say; write only with ``commit``.

    The commit is all or nothing: a mapping with errors (units assigned twice,
    unknown codes, conflicting names) writes nothing. An existing composed layer
    of the same base keeps its validity dates and gets its areas replaced; a new
    one takes the base layer's validity.
    """
    existing = Layer.objects.filter(slug=layer_slug).first()
    composition = Composition.objects.filter(layer=existing).first() if existing else None
    if existing is not None and composition is None:
        raise CompositionError(
            _("The layer “%(slug)s” exists and is not a composed layer; choose another slug.")
            % {"slug": layer_slug}
        )
    if composition is not None and composition.base_layer_id != base_layer.pk:
        raise CompositionError(
            _("The layer “%(slug)s” is composed of “%(base)s”, not of “%(other)s”.")
            % {"slug": layer_slug, "base": composition.base_layer.slug, "other": base_layer.slug}
        )
    if existing is None and not layer_name:
        raise CompositionError(
            _("The layer “%(slug)s” does not exist; give its name to create it.")
            % {"slug": layer_slug}
        )
    report = plan_composition(
        base_layer, rows, layer_slug=layer_slug, ignore_unknown=ignore_unknown
    )
    if not commit:
        return report
    if report.errors:
        raise CompositionError(" ".join(report.errors))
    if not report.areas:
        raise CompositionError(_("The mapping assigns no base unit of this layer."))
    with transaction.atomic():
        layer = _write(base_layer, report, existing, layer_slug, layer_name, is_draft, note)
        refresh_crosswalks(layer)
    report.committed = True
    areas_changed.send(sender=Layer, layer=layer)
    return report


def _write(
    base_layer: Layer,
    report: CompositionReport,
    layer: Layer | None,
    slug: str,
    name: str | None,
    is_draft: bool,
    note: str,
) -> Layer:
    parent_layer = Layer.objects.get(slug=report.parent_layer) if report.parent_layer else None
    level = parent_layer.level + 1 if parent_layer else max(1, base_layer.level - 1)
    if layer is None:
        layer = Layer.objects.create(
            slug=slug,
            name=name,
            level=level,
            parent=parent_layer,
            valid_from=base_layer.valid_from,
            valid_until=base_layer.valid_until,
            source=_("Composed of “%(base)s”") % {"base": base_layer.name},
            licence=base_layer.licence,
        )
    elif (layer.name, layer.level, layer.parent_id) != (
        name or layer.name,
        level,
        parent_layer.pk if parent_layer else None,
    ):
        layer.name = name or layer.name
        layer.level = level
        layer.parent = parent_layer
        layer.save()
    stored = {a.code: a for a in Area.objects.filter(layer=layer)}
    for composed in report.areas:
        values = {
            "name": composed.name,
            "geometry": composed.geometry,
            "population": composed.population,
            "parent_id": composed.parent_id,
        }
        area = stored.get(composed.code)
        if area is None:
            Area.objects.create(layer=layer, code=composed.code, **values)
            report.created.append(composed.code)
            continue
        differs = [
            k
            for k, v in values.items()
            if (
                not area.geometry.equals_exact(v, 1e-6)
                if k == "geometry"
                else getattr(area, k) != v
            )
        ]
        if differs:
            for k in differs:
                setattr(area, k, values[k])
            area.save()
            report.changed.append(composed.code)
    wanted = {a.code for a in report.areas}
    for code, area in stored.items():
        if code not in wanted:
            area.delete()  # one by one, so that history records each deletion
            report.removed.append(code)
    composition, _created = Composition.objects.update_or_create(
        layer=layer, defaults={"base_layer": base_layer, "is_draft": is_draft, "note": note}
    )
    composition.units.all().delete()
    CompositionUnit.objects.bulk_create(
        CompositionUnit(composition=composition, base_code=b, code=a.code)
        for a in report.areas
        for b in a.base_codes
    )
    return layer


def mapping_rows(composition: Composition) -> list[MappingRow]:
    """The stored assignment as mapping rows (names from the composed areas)."""
    names = dict(Area.objects.filter(layer=composition.layer).values_list("code", "name"))
    return [
        MappingRow(0, unit.base_code, unit.code, names.get(unit.code, unit.code))
        for unit in composition.units.all()
    ]


def export_mapping(composition: Composition) -> str:
    """The mapping CSV of a composed layer, to edit and load again with ``compose_layer``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MAPPING_COLUMNS)
    for row in sorted(mapping_rows(composition), key=lambda r: (r.code, r.base_code)):
        writer.writerow([row.base_code, row.code, row.name])
    return out.getvalue()


def rebuild_compositions(
    base_layer: Layer, previous_edition: Layer | None = None
) -> list[CompositionReport]:
    """Rebuild every layer composed of ``base_layer`` after its units changed.

    Compositions of a ``previous_edition`` of the base layer follow the new
    edition (their codes are looked up on it). Codes that no longer exist are
    dropped and reported, new units are reported as left out; the rebuild does
    not fail on them, since the import that triggered it is already decided.
    """
    if previous_edition is not None:
        Composition.objects.filter(base_layer=previous_edition).update(base_layer=base_layer)
    reports = []
    for composition in Composition.objects.filter(base_layer=base_layer).select_related("layer"):
        rows = mapping_rows(composition)
        reports.append(
            compose_layer(
                base_layer,
                rows,
                layer_slug=composition.layer.slug,
                commit=True,
                is_draft=composition.is_draft,
                note=composition.note,
                ignore_unknown=True,
            )
        )
    return reports
