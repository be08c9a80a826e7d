"""A municipality profile: one TOML file that says which files make up a city's atlas.

``load_profile`` reads the profile, then runs every step (layers with their
population, indicators, composed layers, categories and target groups, the
address index, service files through their mappings, demo contacts,
crosswalks) inside one transaction: committed with
``commit``, rolled back otherwise. The dry run therefore runs the very
statements of the commit and finds every error it would. File paths are
relative to the profile's ``data`` folder (default: the profile's own folder).
The format is described in the README ("A new municipality").
"""

from __future__ import annotations

import string
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import shapely
from django.apps import apps
from django.db import connection, transaction
from django.test import override_settings

from atlas.demo_contacts import load_demo_contacts
from planning_areas.composition import CompositionError, compose_layer, read_mapping
from planning_areas.crosswalks import CrosswalkError, build_crosswalk
from planning_areas.imports.addresses import import_addresses, read_address_file
from planning_areas.imports.areas import (
    AreaImportOptions,
    import_area_file,
    set_area_attributes,
)
from planning_areas.imports.indicators import IndicatorImportError, import_indicators
from planning_areas.imports.reading import ImportFileError, read_geo_file
from planning_areas.models import Area, CompositionUnit, Crosswalk, Layer
from providers.imports import taxonomy
from providers.imports.service_import import Mapping, ServiceImportError, import_services
from providers.models import Category, TargetGroup

Log = Callable[[str], None]


class ProfileError(Exception):
    """The profile or one of its files cannot be loaded; nothing was written."""


SECTIONS = {
    "municipality",
    "layers",
    "addresses",
    "categories",
    "target_groups",
    "services",
    "indicators",
    "crosswalks",
    "compositions",
    "demo_contacts",
}
LAYER_KEYS = {
    "slug",
    "name",
    "file",
    "code_field",
    "name_field",
    "level",
    "parent",
    "parent_code_field",
    "parent_code_prefix",
    "valid_from",
    "valid_until",
    "source",
    "licence",
    "srid",
    "encoding",
    "source_layer",
    "recode",
    "merge_duplicate_codes",
    "population",
}


def _unknown(where: str, entry: dict, allowed: set[str]) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ProfileError(f"{where}: unknown entries {', '.join(unknown)}")


def _required(where: str, entry: dict, *keys: str) -> None:
    missing = [key for key in keys if not entry.get(key)]
    if missing:
        raise ProfileError(f"{where}: {', '.join(missing)} missing")


@dataclass
class Profile:
    """A parsed profile; ``file()`` resolves the paths it names."""

    path: Path
    data: Path
    name: str
    state: str = ""
    srid: int | None = None
    layers: list[dict] = field(default_factory=list)
    addresses: dict | None = None
    categories: list[dict] = field(default_factory=list)
    target_groups: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    indicators: list[dict] = field(default_factory=list)
    crosswalks: list[dict] = field(default_factory=list)
    compositions: list[dict] = field(default_factory=list)
    demo_contacts: dict | None = None

    @classmethod
    def load(cls, path: str | Path, *, data: str | Path | None = None) -> Profile:
        """Read and check a profile; ``data`` overrides the folder its files lie in."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ProfileError(f"Profile not found: {path}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{path.name} is not valid TOML: {exc}") from exc
        _unknown(path.name, raw, SECTIONS)
        municipality = raw.get("municipality") or {}
        _unknown("[municipality]", municipality, {"name", "state", "srid", "data"})
        _required("[municipality]", municipality, "name")
        base = path.parent / municipality.get("data", ".")
        profile = cls(
            path=path,
            data=Path(data) if data else base,
            name=str(municipality["name"]),
            state=str(municipality.get("state", "")),
            srid=municipality.get("srid"),
            layers=list(raw.get("layers") or []),
            addresses=raw.get("addresses"),
            categories=list(raw.get("categories") or []),
            target_groups=list(raw.get("target_groups") or []),
            services=list(raw.get("services") or []),
            indicators=list(raw.get("indicators") or []),
            crosswalks=list(raw.get("crosswalks") or []),
            compositions=list(raw.get("compositions") or []),
            demo_contacts=raw.get("demo_contacts"),
        )
        profile.check()
        return profile

    def check(self) -> None:
        """Refuse unknown keys and missing files before anything is read."""
        for number, layer in enumerate(self.layers, start=1):
            where = f"[[layers]] #{number} ({layer.get('slug', '?')})"
            _unknown(where, layer, LAYER_KEYS)
            _required(where, layer, "slug", "name", "file", "code_field", "name_field")
            self.file(layer["file"], where)
            population = layer.get("population")
            if population:
                _unknown(f"{where} population", population, {"file", "code_field", "column"})
                _required(f"{where} population", population, "file", "code_field", "column")
                self.file(population["file"], where)
        if self.addresses:
            _unknown("[addresses]", self.addresses, {"files", "layer", "district_layer", "strict"})
            for entry in self.addresses.get("files") or []:
                _unknown("[[addresses.files]]", entry, {"file", "fields", "srid", "encoding"})
                self.file(entry["file"], "[[addresses.files]]")
        for entry in self.services:
            _unknown(
                "[[services]]",
                entry,
                {"file", "mapping", "keywords", "name_if_empty", "organizations"},
            )
            if entry.get("organizations", "update") not in ("update", "keep"):
                raise ProfileError('[[services]] organizations: "update" or "keep"')
            _required("[[services]]", entry, "file", "mapping")
            self.file(entry["file"], "[[services]]")
            self.file(entry["mapping"], "[[services]]", relative_to=self.path.parent)
        for entry in self.indicators:
            _unknown("[[indicators]]", entry, {"file", "layer", "code_field", "mapping", "period"})
            _required("[[indicators]]", entry, "file", "layer", "code_field")
            self.file(entry["file"], "[[indicators]]")
            if entry.get("mapping"):
                self.file(entry["mapping"], "[[indicators]]", relative_to=self.path.parent)
        for entry in self.compositions:
            _unknown(
                "[[compositions]]", entry, {"slug", "name", "base", "mapping", "draft", "note"}
            )
            _required("[[compositions]]", entry, "slug", "name", "base", "mapping")
            self.file(entry["mapping"], "[[compositions]]", relative_to=self.path.parent)
        for entry in self.crosswalks:
            _unknown("[[crosswalks]]", entry, {"from", "to"})
            _required("[[crosswalks]]", entry, "from", "to")

    def file(self, name: str, where: str, *, relative_to: Path | None = None) -> Path:
        path = (relative_to or self.data) / name
        if not path.exists():
            raise ProfileError(f"{where}: file not found: {path}")
        return path


@dataclass
class Step:
    name: str
    lines: list[str]
    seconds: float


@dataclass
class ProfileReport:
    profile: str
    steps: list[Step] = field(default_factory=list)
    committed: bool = False

    def lines(self) -> list[str]:
        out = []
        for step in self.steps:
            out.append(f"== {step.name} ({step.seconds:.1f} s)")
            out.extend(f"   {line}" for line in step.lines)
        total = sum(step.seconds for step in self.steps)
        out.append(f"{len(self.steps)} steps in {total:.1f} s")
        out.append(
            "Committed: everything was written."
            if self.committed
            else "Dry run: every step ran and was rolled back. Pass --commit to write."
        )
        return out


# --- layers -------------------------------------------------------------------------------


def _recoded(profile: Profile, layer: dict, path: Path, folder: Path, lines: list[str]) -> Path:
    """A copy of the file with codes corrected by the area of the parent layer they lie in.

    For published files with a known error: ``{code, inside, to}`` gives the feature
    coded ``code`` whose interior lies in parent area ``inside`` the code ``to``.
    """
    frame = read_geo_file(path, srid=layer.get("srid") or profile.srid)
    code_column = layer["code_field"]
    points = frame.geometry.representative_point()
    changed = 0
    for fix in layer["recode"]:
        parent = Area.objects.filter(layer__slug=layer.get("parent"), code=fix["inside"]).first()
        if parent is None:
            continue
        inside = shapely.from_wkb(bytes(parent.geometry.wkb))
        wrong = (frame[code_column].astype(str) == str(fix["code"])) & points.within(inside)
        changed += int(wrong.sum())
        frame.loc[wrong, code_column] = str(fix["to"])
    if not changed:
        return path
    lines.append(f"{changed} published code(s) corrected in a copy of {path.name}")
    target = folder / f"{path.stem}.geojson"
    wanted = [layer["code_field"], layer["name_field"], layer.get("parent_code_field")]
    columns = [c for c in wanted if c] + [frame.geometry.name]
    target.write_text(frame[columns].to_json(drop_id=True), encoding="utf-8")
    return target


def _population(profile: Profile, layer: dict) -> dict[str, dict]:
    """Inhabitants per area code (the areas' population field) from the layer's table."""
    spec = layer.get("population")
    if not spec:
        return {}
    path = profile.file(spec["file"], layer["slug"])
    frame = pd.read_csv(path, dtype={spec["code_field"]: str})
    return {
        str(code): {"population": int(value)}
        for code, value in zip(frame[spec["code_field"]], frame[spec["column"]], strict=True)
        if pd.notna(value)
    }


def _merged(profile: Profile, layer: dict, path: Path, folder: Path, lines: list[str]) -> Path:
    """A copy of the file in which features sharing a code are one (multi)polygon."""
    frame = read_geo_file(path, srid=layer.get("srid") or profile.srid)
    code = layer["code_field"]
    columns = list(dict.fromkeys([code, layer["name_field"]]))
    merged = frame.dissolve(by=code, as_index=False)[[*columns, frame.geometry.name]]
    lines.append(f"{len(frame) - len(merged)} features sharing a code merged in a copy")
    target = folder / f"{path.stem}.geojson"
    target.write_text(merged.to_json(drop_id=True), encoding="utf-8")
    return target


def _layer_options(profile: Profile, layer: dict) -> AreaImportOptions:
    return AreaImportOptions(
        layer=layer["slug"],
        layer_name=layer["name"],
        code_field=layer["code_field"],
        name_field=layer["name_field"],
        level=layer.get("level"),
        parent_layer=layer.get("parent"),
        parent_code_field=layer.get("parent_code_field"),
        parent_code_prefix=layer.get("parent_code_prefix"),
        valid_from=layer.get("valid_from"),
        valid_until=layer.get("valid_until"),
        srid=layer.get("srid") or profile.srid,
        encoding=layer.get("encoding"),
        source_layer=layer.get("source_layer"),
        source=layer.get("source"),
        licence=layer.get("licence"),
        commit=True,
    )


def load_layer(profile: Profile, layer: dict) -> list[str]:
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="atlas-profile-") as folder:
        path = profile.file(layer["file"], layer["slug"])
        if layer.get("recode"):
            path = _recoded(profile, layer, path, Path(folder), lines)
        if layer.get("merge_duplicate_codes"):
            path = _merged(profile, layer, path, Path(folder), lines)
        report = import_area_file(path, _layer_options(profile, layer))
    lines.extend(str(line) for line in report.summary_lines())
    population = _population(profile, layer)
    if population:
        changed = set_area_attributes(Layer.objects.get(slug=layer["slug"]), population)
        lines.append(f"population: {changed} areas changed")
    return lines


def load_indicators(profile: Profile, entry: dict) -> list[str]:
    """One indicator table through ``import_indicators`` (monitoring's importer)."""
    mapping = entry.get("mapping")
    report = import_indicators(
        profile.file(entry["file"], "[[indicators]]"),
        layer=entry["layer"],
        code_field=entry["code_field"],
        mapping=profile.file(mapping, "[[indicators]]", relative_to=profile.path.parent)
        if mapping
        else None,
        period=entry.get("period"),
        commit=True,
    )
    return [str(report)]


def load_composition(profile: Profile, entry: dict) -> list[str]:
    """A layer composed of a base layer's units (Baukasten), composed again only when its
    mapping differs from the stored one."""
    rows = read_mapping(
        profile.file(entry["mapping"], "[[compositions]]", relative_to=profile.path.parent)
    )
    stored = set(
        CompositionUnit.objects.filter(composition__layer__slug=entry["slug"]).values_list(
            "base_code", "code"
        )
    )
    if stored == {(row.base_code, row.code) for row in rows}:
        return [f"{entry['slug']}: composition unchanged"]
    report = compose_layer(
        _layer_named(entry["base"], "[[compositions]] base"),
        rows,
        layer_slug=entry["slug"],
        layer_name=entry["name"],
        commit=True,
        is_draft=bool(entry.get("draft")),
        note=entry.get("note", ""),
    )
    return [str(line) for line in report.summary_lines()]


def load_crosswalks(profile: Profile) -> list[str]:
    """The crosswalks the profile names, built where they are missing."""
    lines = []
    for entry in profile.crosswalks:
        source = _layer_named(entry["from"], "[[crosswalks]] from")
        target = _layer_named(entry["to"], "[[crosswalks]] to")
        if Crosswalk.objects.filter(source_layer=source, target_layer=target).exists():
            lines.append(f"{source.slug} → {target.slug}: exists")
            continue
        lines.append(
            f"{source.slug} → {target.slug}: {build_crosswalk(source, target, commit=True)}"
        )
    return lines


# --- addresses, taxonomies, services ------------------------------------------------------


def _layer_named(slug: str | None, where: str) -> Layer | None:
    if not slug:
        return None
    layer = Layer.objects.filter(slug=slug).first()
    if layer is None:
        raise ProfileError(f"{where}: layer “{slug}” is neither imported nor in the profile")
    return layer


def load_addresses(profile: Profile) -> list[str]:
    spec = profile.addresses or {}
    layer = _layer_named(spec.get("layer"), "[addresses] layer")
    district_layer = _layer_named(spec.get("district_layer"), "[addresses] district_layer")
    lines = []
    for entry in spec.get("files") or []:
        path = profile.file(entry["file"], "[[addresses.files]]")
        frame = read_address_file(
            path,
            entry.get("fields") or {},
            srid=entry.get("srid") or profile.srid,
            encoding=entry.get("encoding"),
        )
        report = import_addresses(
            frame,
            layer=layer,
            district_layer=district_layer,
            source=path.name,
            strict=bool(spec.get("strict")),
            commit=True,
        )
        lines.append(f"{path.name}: {report}")
    return lines


def load_taxonomies(profile: Profile) -> list[str]:
    """Categories and target groups, in the profile's order, through the one taxonomy writer
    (``manage.py taxonomy`` and the mappings use it too); changed only where they differ."""
    lines = []
    for model, entries in ((Category, profile.categories), (TargetGroup, profile.target_groups)):
        ordered = [{**entry, "sort_order": order} for order, entry in enumerate(entries)]
        try:
            report = taxonomy.apply(model, ordered, commit=True, update=True)
        except taxonomy.TaxonomyError as exc:
            raise ProfileError(str(exc)) from exc
        lines.append(f"{model._meta.verbose_name_plural}: {report}")
    return lines


def _filled_name(entry: dict, row: dict, category: str) -> str:
    """The row's name, or ``name_if_empty`` filled from the row and its category name;
    empty when a field the pattern uses is empty too (such a row is left out)."""
    name = row.get("name")
    name = "" if name is None or name != name else str(name).strip()
    pattern = entry.get("name_if_empty")
    if name or not pattern:
        return name
    values = {k: ("" if v is None or v != v else str(v).strip()) for k, v in row.items()}
    values["category"] = category
    used = [field for _text, field, _spec, _conv in string.Formatter().parse(pattern) if field]
    if any(not values.get(field) for field in used):
        return ""
    return pattern.format(**values)


def classify_source(entry: dict, path: Path, folder: Path, lines: list[str]) -> Path:
    """A copy of a source without classification (OpenStreetMap, say) with the columns
    ``atlas_categories`` and ``atlas_target_groups`` from keyword rules (first match wins),
    empty names filled from ``name_if_empty`` (a format over the row and ``category``) and
    rows that stay nameless left out (nothing is stored without a name)."""
    frame = read_geo_file(path)
    names = dict(Category.objects.values_list("slug", "name"))
    categories, groups, filled = [], [], []
    for row in frame.drop(columns=frame.geometry.name).to_dict("records"):
        rule = _first_rule(entry.get("keywords") or [], row)
        categories.append(",".join(rule.get("categories", [])))
        groups.append(",".join(rule.get("target_groups", [])))
        category = names.get(next(iter(rule.get("categories", [])), ""), "")
        filled.append(_filled_name(entry, row, category))
    frame["atlas_categories"], frame["atlas_target_groups"] = categories, groups
    frame["name"] = filled
    nameless = frame["name"].eq("")
    if nameless.any():
        lines.append(f"{int(nameless.sum())} rows without a name left out")
        frame = frame[~nameless]
    for column in frame.columns.drop(frame.geometry.name):
        # Whole numbers that a missing value made floats (postcodes, ids) are written whole.
        if frame[column].dtype.kind == "f" and frame[column].dropna().map(float.is_integer).all():
            frame[column] = frame[column].map(lambda v: "" if v != v else str(int(v)))
    target = folder / f"{path.stem}.geojson"
    target.write_text(frame.to_json(drop_id=True), encoding="utf-8")
    return target


def _first_rule(rules: list[dict], row: dict) -> dict:
    for rule in rules:
        text = f"{row.get(rule.get('column', 'name')) or ''} ".lower()
        if not rule.get("words") or any(word in text for word in rule["words"]):
            return rule
    return {}


def load_services(profile: Profile, entry: dict) -> list[str]:
    path = profile.file(entry["file"], "[[services]]")
    mapping_path = profile.file(entry["mapping"], "[[services]]", relative_to=profile.path.parent)
    notes: list[str] = []
    try:
        mapping = Mapping.load(mapping_path)
        with tempfile.TemporaryDirectory(prefix="atlas-profile-") as folder:
            if entry.get("keywords") or entry.get("name_if_empty"):
                path = classify_source(entry, path, Path(folder), notes)
            report = import_services(
                path,
                mapping,
                commit=True,
                update_organizations=entry.get("organizations", "update") == "update",
            )
    except ServiceImportError as exc:
        raise ProfileError(f"{Path(entry['file']).name}: {exc}") from exc
    lines = notes + [str(line) for line in report.summary_lines() if "Dry run" not in str(line)]
    if report.rejected:
        raise ProfileError("\n".join([f"{Path(entry['file']).name}:", *lines]))
    return lines


# --- the whole profile --------------------------------------------------------------------


def steps(profile: Profile, *, addresses: bool = True) -> Iterator[tuple[str, Callable[[], list]]]:
    """The steps of a profile in order: each a name and a function returning report lines."""
    for layer in profile.layers:
        yield f"layer {layer['slug']}", lambda layer=layer: load_layer(profile, layer)
    for entry in profile.indicators:
        name = f"indicators {Path(entry['file']).name} ({entry['layer']})"
        yield name, lambda e=entry: load_indicators(profile, e)
    for entry in profile.compositions:
        yield f"composition {entry['slug']}", lambda e=entry: load_composition(profile, e)
    if profile.categories or profile.target_groups:
        yield "categories and target groups", lambda: load_taxonomies(profile)
    if addresses and profile.addresses:
        # Before the services: rows without coordinates are geocoded against the index.
        yield "addresses", lambda: load_addresses(profile)
    for entry in profile.services:
        yield f"services {Path(entry['file']).name}", lambda e=entry: load_services(profile, e)
    if profile.demo_contacts:
        yield "demo contacts", lambda: load_demo_contacts(profile.demo_contacts)
    if addresses and profile.crosswalks:
        # Crosswalks are counted from the addresses: without them they would differ.
        yield "crosswalks", lambda: load_crosswalks(profile)
    yield "statistics", analyze_written_tables


@contextmanager
def _municipality(profile: Profile) -> Iterator[None]:
    """Locations and addresses written now name the profile's city and state."""
    with override_settings(ATLAS_DEFAULT_CITY=profile.name, ATLAS_STATE=profile.state):
        yield


def load_profile(
    profile: Profile, *, commit: bool = False, addresses: bool = True, log: Log | None = None
) -> ProfileReport:
    """Run every step of ``profile`` in one transaction; roll back unless ``commit``."""
    report = ProfileReport(profile=profile.name)
    with _municipality(profile), transaction.atomic():
        for name, run in steps(profile, addresses=addresses):
            started = time.monotonic()
            try:
                lines = run()
            except (
                ImportFileError,
                ServiceImportError,
                IndicatorImportError,
                CrosswalkError,
                CompositionError,
            ) as exc:
                raise ProfileError(f"{name}: {exc}") from exc
            step = Step(name, [str(line) for line in lines], time.monotonic() - started)
            report.steps.append(step)
            if log:
                log(f"== {step.name} ({step.seconds:.1f} s)")
                for line in step.lines:
                    log(f"   {line}")
        if commit:
            report.committed = True
        else:
            transaction.set_rollback(True)
    return report


def analyze_written_tables() -> list[str]:
    """Refresh the planner's statistics of every table of the atlas's apps.

    A profile fills empty tables in one go; until autovacuum notices (if it runs at all),
    PostgreSQL plans with the empty tables' estimates: on the Berlin demo the map's area
    outlines with their service counts took 18–22 s instead of 0.8 s. ANALYZE is
    transactional, so a dry run's statistics roll back with its rows.
    """
    tables = [
        model._meta.db_table
        for app in ("planning_areas", "providers")
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
        if not model._meta.proxy and model._meta.managed
    ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
    return [f"ANALYZE of {len(tables)} tables"]
