"""The Berlin demo data set, built from the real open data in ``shared/data``.

Every step is idempotent: objects are keyed by official codes or external ids and
only written when they differ, so a second run changes nothing.
"""

from __future__ import annotations

import datetime
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import transaction
from django.utils.text import slugify

from atlas.lookup.models import Responsibility
from planning_areas.composition import compose_layer, read_mapping
from planning_areas.imports.addresses import import_addresses, read_address_file
from planning_areas.imports.areas import set_area_attributes
from planning_areas.imports.indicators import import_indicators
from planning_areas.models import Area, CompositionUnit, Crosswalk, Layer
from providers.imports.writing import sync_m2m, upsert_by_key
from providers.models import (
    Category,
    Contact,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TargetGroup,
)

Log = Callable[[str], None]

LOR_2021 = datetime.date(2021, 1, 1)
LOR_2006 = datetime.date(2006, 1, 1)
LOR_2006_END = datetime.date(2020, 12, 31)
LOR_SOURCE = "Amt für Statistik Berlin-Brandenburg / Geoportal Berlin, LOR"
LOR_LICENCE = "CC BY 3.0 DE"


def data_dir() -> Path:
    """Where the open data lies: ATLAS_DEMO_DATA, else ``shared/data`` beside the checkout."""
    configured = os.environ.get("ATLAS_DEMO_DATA")
    if configured:
        return Path(configured)
    for candidate in (settings.BASE_DIR.parent / "shared" / "data", settings.BASE_DIR / "data"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "Demo data not found: set ATLAS_DEMO_DATA to the folder with the Berlin open data."
    )


@dataclass(frozen=True)
class LayerSpec:
    slug: str
    name: str
    level: int
    parent: str | None
    path: str
    code_field: str
    name_field: str
    population_file: str


LAYERS = [
    LayerSpec(
        "bezirke",
        "Bezirke",
        1,
        None,
        "lor-geojson-wgs84/berlin-lor-districts.geojson",
        "id",
        "name",
        "berlin-lor-population-2024-02-t2-districts.csv",
    ),
    LayerSpec(
        "prognoseraeume-2021",
        "Prognoseräume (LOR 2021)",
        2,
        "bezirke",
        "lor-2021-shp/lor_prognoseraeume_2021.shp",
        "PGR_ID",
        "PGR_NAME",
        "berlin-lor-population-2024-02-t2-forecast-areas.csv",
    ),
    LayerSpec(
        "bezirksregionen-2021",
        "Bezirksregionen (LOR 2021)",
        3,
        "prognoseraeume-2021",
        "lor-2021-shp/lor_bezirksregionen_2021.shp",
        "BZR_ID",
        "BZR_NAME",
        "berlin-lor-population-2024-02-t2-district-regions.csv",
    ),
    LayerSpec(
        "planungsraeume-2021",
        "Planungsräume (LOR 2021)",
        4,
        "bezirksregionen-2021",
        "lor-2021-shp/lor_planungsraeume_2021.shp",
        "PLR_ID",
        "PLR_NAME",
        "berlin-lor-population-2024-02-t2-planning-areas.csv",
    ),
]
# The old edition (LOR 2006, valid until 2020), kept beside the new one for old data.
LAYERS_2006 = [
    LayerSpec(
        "bezirksregionen-2006",
        "Bezirksregionen (LOR 2006)",
        3,
        "bezirke",
        "lor-geojson-wgs84/berlin-lor-district-regions-until-2020.geojson",
        "id",
        "name",
        "",
    ),
    LayerSpec(
        "planungsraeume-2006",
        "Planungsräume (LOR 2006)",
        4,
        "bezirksregionen-2006",
        "lor-geojson-wgs84/berlin-lor-planning-areas-until-2020.geojson",
        "id",
        "name",
        "",
    ),
]
PARENT_PREFIX = {
    "prognoseraeume-2021": 2,
    "bezirksregionen-2021": 4,
    "planungsraeume-2021": 6,
    "bezirksregionen-2006": 2,
    "planungsraeume-2006": 6,
}

# Indicator tables of the demo: (file under the data folder, layer, code column, mapping).
# The mappings lie in fixtures/indicators/; a municipality profile lists the same.
INDICATOR_FILES = [
    (f"population-lor/{spec.population_file}", spec.slug, "id", "berlin-population-2024.toml")
    for spec in LAYERS
] + [("population-lor/mss_2021_easy.csv", "planungsraeume-2021", "PLR_ID", "berlin-mss-2021.toml")]


def indicator_mapping_dir() -> Path:
    return settings.BASE_DIR / "fixtures" / "indicators"


def _population(path: Path) -> dict[str, dict]:
    """Inhabitants per area code from an Einwohnerregister CSV (the Area.population field)."""
    frame = pd.read_csv(path, dtype={"id": str})
    return {row.id: {"population": int(row.inhabitants)} for row in frame.itertuples(index=False)}


def load_indicators(base: Path, log: Log) -> None:
    """Run the indicator import (the one of ``manage.py import_indicators``) for every table."""
    for name, layer, code_field, mapping in INDICATOR_FILES:
        report = import_indicators(
            base / name,
            layer=layer,
            code_field=code_field,
            mapping=indicator_mapping_dir() / mapping,
            commit=True,
        )
        log(f"Indicators {Path(name).name}: {report}")


def _import_areas(path: Path, log: Log, **options) -> None:
    """Run ``manage.py import_areas`` (the same command an operator uses) with --commit."""
    out = io.StringIO()
    call_command("import_areas", str(path), commit=True, stdout=out, **options)
    for line in out.getvalue().splitlines():
        log(line)


def load_layers(base: Path, log: Log) -> None:
    for spec in LAYERS:
        _import_areas(
            base / spec.path,
            log,
            layer=spec.slug,
            layer_name=spec.name,
            level=spec.level,
            parent_layer=spec.parent,
            parent_code_prefix=PARENT_PREFIX.get(spec.slug),
            code_field=spec.code_field,
            name_field=spec.name_field,
            valid_from=None if spec.slug == "bezirke" else LOR_2021,
            source=LOR_SOURCE,
            licence=LOR_LICENCE,
        )
        attributes = _population(base / "population-lor" / spec.population_file)
        changed = set_area_attributes(Layer.objects.get(slug=spec.slug), attributes)
        log(f"  population: {changed} changed")
    with tempfile.TemporaryDirectory(prefix="atlas-lor2006-") as tmp:
        regions = base / LAYERS_2006[0].path
        planning_areas = _corrected_lor_2006(base / LAYERS_2006[1].path, regions, Path(tmp), log)
        for spec, path in zip(LAYERS_2006, (regions, planning_areas), strict=True):
            _import_areas(
                path,
                log,
                layer=spec.slug,
                layer_name=spec.name,
                level=spec.level,
                parent_layer=spec.parent,
                parent_code_prefix=PARENT_PREFIX.get(spec.slug),
                code_field=spec.code_field,
                name_field=spec.name_field,
                valid_from=LOR_2006,
                valid_until=LOR_2006_END,
                source=LOR_SOURCE,
                licence=LOR_LICENCE,
            )


# Known errors in the published old edition: (code as published, Bezirksregion the
# polygon really lies in) → official code. The Charlottenburg "Schloßstraße" is
# published with the code of the Steglitz "Schloßstraße" (06010102); its LOR 2006
# key is 04030417. import_areas rightly refuses the duplicate, so the demo corrects
# a copy of the file and says so.
LOR_2006_CORRECTIONS = {("06010102", "040304"): "04030417"}


POSTCODES = LayerSpec(
    "postleitzahlen",
    "Postleitzahlgebiete",
    1,
    None,
    "berlin-plz-ortsteile-shp/plz.shp",
    "plz",
    "plz",
    "",
)
POSTCODE_SOURCE = "Geoportal Berlin / Postleitzahlen (re_postleit)"


def load_postcode_areas(base: Path, log: Log) -> None:
    """Postcode areas, a layer that does not nest with the LOR (for crosswalks).

    The published file holds postcode 14193 as two polygons; import_areas rightly
    refuses duplicate codes, so the demo merges them in a copy and says so.
    """
    frame = gpd.read_file(base / POSTCODES.path, engine="pyogrio")
    merged = frame.dissolve(by="plz", as_index=False)[["plz", "geometry"]]
    log(f"Postcodes: {len(frame) - len(merged)} split postcode areas merged in a copy")
    with tempfile.TemporaryDirectory(prefix="atlas-plz-") as tmp:
        target = Path(tmp) / "plz.geojson"
        merged.to_file(target, driver="GeoJSON", engine="pyogrio")
        _import_areas(
            target,
            log,
            layer=POSTCODES.slug,
            layer_name=POSTCODES.name,
            level=POSTCODES.level,
            code_field=POSTCODES.code_field,
            name_field=POSTCODES.name_field,
            source=POSTCODE_SOURCE,
            licence="dl-de/by-2-0",
        )


def _corrected_lor_2006(path: Path, regions_path: Path, tmp: Path, log: Log) -> Path:
    frame = gpd.read_file(path, engine="pyogrio")
    regions = gpd.read_file(regions_path, engine="pyogrio")
    points = frame.geometry.representative_point()
    corrected = 0
    for (code, region_code), fixed in LOR_2006_CORRECTIONS.items():
        region = regions.loc[regions["id"] == region_code, "geometry"]
        if region.empty:
            continue
        wrong = (frame["id"] == code) & points.within(region.iloc[0])
        corrected += int(wrong.sum())
        frame.loc[wrong, "id"] = fixed
    if not corrected:
        return path
    log(f"LOR 2006: {corrected} wrongly published code corrected in a copy of {path.name}")
    target = tmp / path.name
    columns = ["id", "name", "geometry"]
    target.write_text(frame[columns].to_json(drop_id=True), encoding="utf-8")
    return target


CATEGORIES = [
    # slug, name, parent, icon, colour
    ("familie", "Familie", None, "family", "#e31a1c"),
    ("familienzentrum", "Familienzentren", "familie", "family", "#e31a1c"),
    ("familienberatung", "Familienberatung", "familie", "counselling", "#fb9a99"),
    ("kinderbetreuung", "Kinderbetreuung", None, "child", "#ff7f00"),
    ("kita", "Kindertagesstätten", "kinderbetreuung", "child", "#ff7f00"),
    ("jugend", "Jugend", None, "youth", "#1f78b4"),
    ("jugendfreizeit", "Jugendfreizeiteinrichtungen", "jugend", "youth", "#1f78b4"),
    (
        "spielplatz-kinderfarm",
        "Abenteuerspielplätze und Kinderfarmen",
        "jugend",
        "playground",
        "#a6cee3",
    ),
    ("nachbarschaft", "Nachbarschaft und Begegnung", None, "community", "#33a02c"),
    (
        "stadtteilzentrum",
        "Stadtteilzentren und Nachbarschaftshäuser",
        "nachbarschaft",
        "community",
        "#33a02c",
    ),
    ("quartiersmanagement", "Quartiersmanagement", "nachbarschaft", "community", "#b2df8a"),
    ("kultur", "Kultur und Vereine", "nachbarschaft", "culture", "#b2df8a"),
    ("senioren", "Senior*innen", None, "senior", "#6a3d9a"),
    ("beratung", "Beratung", None, "counselling", "#cab2d6"),
]
CATEGORY_NAMES = {slug: name for slug, name, *_rest in CATEGORIES}
TARGET_GROUPS = [
    ("kinder", "Kinder"),
    ("jugendliche", "Jugendliche"),
    ("junge-erwachsene", "Junge Erwachsene"),
    ("familien", "Familien und Eltern"),
    ("senioren", "Senior*innen"),
    ("alle", "Alle"),
]


def load_taxonomies(log: Log) -> None:
    existing = {c.slug: c for c in Category.objects.select_related("parent")}
    for order, (slug, name, parent, icon, colour) in enumerate(CATEGORIES):
        wanted = {"name": name, "icon": icon, "colour": colour, "sort_order": order}
        current = existing.get(slug)
        if (
            current is None
            or any(getattr(current, k) != v for k, v in wanted.items())
            or (current.parent.slug if current.parent else None) != parent
        ):
            wanted["parent"] = Category.objects.get(slug=parent) if parent else None
            existing[slug], _created = Category.objects.update_or_create(slug=slug, defaults=wanted)
    groups = {g.slug: g for g in TargetGroup.objects.all()}
    for order, (slug, name) in enumerate(TARGET_GROUPS):
        current = groups.get(slug)
        if current is None or (current.name, current.sort_order) != (name, order):
            TargetGroup.objects.update_or_create(
                slug=slug, defaults={"name": name, "sort_order": order}
            )
    log(f"Categories: {Category.objects.count()}, target groups: {TargetGroup.objects.count()}")


def _text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _url(value) -> str:
    text = _text(value)
    if text and not text.startswith(("http://", "https://")):
        text = f"http://{text}"
    return text if " " not in text else ""


@dataclass
class Facility:
    """One row of a source, reduced to what the demo stores."""

    key: str
    name: str
    organization: str
    organization_kind: str
    organization_website: str
    street: str
    house_number: str
    postcode: str
    point: Point
    categories: list[str]
    target_groups: list[str]
    description: str = ""
    phone: str = ""
    website: str = ""
    min_age: int | None = None
    max_age: int | None = None
    capacity: int | None = None
    last_verified: datetime.date | None = None
    source: str = ""
    licence: str = ""


PUBLIC_TRAEGER = {"öffentlicher Träger", "Eigenbetrieb"}


def _points(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(path, engine="pyogrio").to_crs(epsg=settings.ATLAS_SRID)


def youth_centres(base: Path) -> list[Facility]:
    frame = _points(base / "berlin-services-geoportal" / "jugendfreizeiteinrichtungen.geojson")
    result = []
    for row in frame.to_dict("records"):
        is_playground = row["e_art"].startswith("PbS")
        places = _text(row["e_platz"])
        result.append(
            Facility(
                key=f"jfe:{row['e_nr']}",
                name=_text(row["e_name"]),
                organization=_text(row["t_name"]) or _text(row["e_name"]),
                organization_kind="public" if row["t_art"] in PUBLIC_TRAEGER else "free",
                organization_website=_url(row["t_web"]),
                street=_text(row["e_strasse"]),
                house_number=" ".join(p for p in (_text(row["e_hnr"]), _text(row["e_zus"])) if p),
                postcode=_text(row["e_plz"]),
                point=Point(row["geometry"].x, row["geometry"].y, srid=settings.ATLAS_SRID),
                categories=["spielplatz-kinderfarm" if is_playground else "jugendfreizeit"],
                target_groups=["kinder", "jugendliche"],
                description=f"{row['e_art']}." + (f" Plätze: {places}." if places else ""),
                phone=_text(row["e_tel"]),
                website=_url(row["e_web"]),
                capacity=_places(row["e_platz"]),
                last_verified=datetime.date(2022, 12, 31),
                source="Geoportal Berlin / Jugendfreizeiteinrichtungen",
                licence="dl-de/by-2-0",
            )
        )
    return result


def _places(value) -> int | None:
    """The ``e_platz`` of a Geoportal row as a whole number, None when it states none."""
    text = _text(value)
    return int(float(text)) if text else None


def kitas(base: Path) -> list[Facility]:
    frame = _points(base / "berlin-services-geoportal" / "kindertagesstaetten.geojson")
    result = []
    for row in frame.to_dict("records"):
        concept = ", ".join(p for p in (_text(row["ang_1"]), _text(row["ang_2"])) if p)
        places = _text(row["e_platz"])
        description = "Kindertagesstätte."
        if concept:
            description += f" Pädagogischer Ansatz: {concept}."
        if places:
            description += f" Plätze: {places}."
        result.append(
            Facility(
                key=f"kita:{row['e_nr']}",
                name=_text(row["e_name"]),
                organization=_text(row["t_name"]) or _text(row["e_name"]),
                organization_kind="public" if row["t_art"] in PUBLIC_TRAEGER else "free",
                organization_website=_url(row["t_web"]),
                street=_text(row["e_strasse"]),
                house_number=" ".join(
                    p for p in (_text(row["e_hnr"]), _text(row["e_zusatz"])) if p
                ),
                postcode=_text(row["e_plz"]),
                point=Point(row["geometry"].x, row["geometry"].y, srid=settings.ATLAS_SRID),
                categories=["kita"],
                target_groups=["kinder", "familien"],
                description=description,
                phone=_text(row["e_tel"]),
                website=_url(row["e_web"]),
                min_age=0,
                max_age=6,
                capacity=_places(row["e_platz"]),
                last_verified=datetime.date(2022, 12, 31),
                source="Geoportal Berlin / Kindertagesstätten",
                licence="dl-de/by-2-0",
            )
        )
    return result


# Keyword → (category, target groups) for OSM community centres, first match wins.
COMMUNITY_KEYWORDS = [
    (
        ("familienzentrum", "familien", "eltern", "mütter", "kinderhaus"),
        "familienzentrum",
        ["familien"],
    ),
    (("jugend", "kids", "kinder", "teen", "youth"), "jugendfreizeit", ["kinder", "jugendliche"]),
    (("senior", "begegnungsstätte für ältere"), "senioren", ["senioren"]),
    (("quartiersmanagement", "qm "), "quartiersmanagement", ["alle"]),
    (
        ("stadtteil", "nachbarschaft", "kiez", "bürgerhaus", "begegnung", "gemeinschaft"),
        "stadtteilzentrum",
        ["alle"],
    ),
    (("beratung",), "beratung", ["alle"]),
]


def community_centres(base: Path) -> list[Facility]:
    frame = _points(
        base
        / "berlin-osm-community-centres"
        / "berlin-points-of-interest-community-centers-details.geojson"
    )
    result = []
    for row in frame.to_dict("records"):
        name = _text(row["name"])
        lowered = f"{name.lower()} "
        category, groups = "kultur", ["alle"]
        for keywords, slug, target in COMMUNITY_KEYWORDS:
            if any(k in lowered for k in keywords):
                category, groups = slug, target
                break
        street, _sep, number = _text(row["street"]).rpartition(" ")
        if not any(ch.isdigit() for ch in number):
            street, number = _text(row["street"]), ""
        zip_code = row["zip-code"]
        if not name:
            # OpenStreetMap knows some centres only by their tag: name them by what and where,
            # or leave them out (nothing may be stored without a name).
            if not street:
                continue
            name = f"{CATEGORY_NAMES[category]}, {' '.join(p for p in (street, number) if p)}"
        result.append(
            Facility(
                key=f"osm:{row['id']}",
                name=name,
                organization=name,
                organization_kind="other",
                organization_website="",
                street=street,
                house_number=number,
                postcode=str(int(zip_code)) if pd.notna(zip_code) else "",
                point=Point(row["geometry"].x, row["geometry"].y, srid=settings.ATLAS_SRID),
                categories=[category],
                target_groups=groups,
                description="Treffpunkt aus OpenStreetMap (amenity=community_centre).",
                source="OpenStreetMap-Mitwirkende",
                licence="ODbL 1.0",
            )
        )
    return result


def _organization_key(name: str) -> str:
    return f"traeger:{slugify(name)[:80]}"


def load_facilities(facilities: list[Facility], log: Log) -> None:
    # A Träger may run youth centres and Kitas: merge what the sources say of it.
    organization_rows: dict[str, dict] = {}
    for f in facilities:
        row = organization_rows.setdefault(
            _organization_key(f.organization),
            {"name": f.organization[:255], "kind": f.organization_kind, "website": ""},
        )
        if f.organization_kind == "public":
            row["kind"] = "public"
        row["website"] = row["website"] or f.organization_website[:500]
    organizations, org_result = upsert_by_key(Organization, organization_rows)
    locations, loc_result = upsert_by_key(
        Location,
        {
            f.key: {
                "name": f.name[:255],
                "organization_id": organizations[_organization_key(f.organization)].pk,
                "street": f.street[:200],
                "house_number": f.house_number[:20],
                "postcode": f.postcode[:10],
                "city": "Berlin",
                "point": f.point,
            }
            for f in facilities
        },
    )
    changed_locations = [locations[k].pk for k in loc_result.changed_keys]
    Location.objects.filter(pk__in=changed_locations).refresh_areas()
    services, svc_result = upsert_by_key(
        Service,
        {
            f.key: {
                "name": f.name[:255],
                "organization_id": organizations[_organization_key(f.organization)].pk,
                "description": f.description,
                "phone": f.phone[:60],
                "website": f.website[:500],
                "min_age": f.min_age,
                "max_age": f.max_age,
                "capacity": f.capacity,
                "source": f.source,
                "licence": f.licence,
                "status": Service.Status.PUBLISHED,
                "last_verified": f.last_verified,
                "languages": ["de"],
            }
            for f in facilities
        },
    )
    categories = dict(Category.objects.values_list("slug", "pk"))
    groups = dict(TargetGroup.objects.values_list("slug", "pk"))
    service_ids = [s.pk for s in services.values()]
    links = sync_m2m(
        Service.categories.through,
        "service_id",
        "category_id",
        [(services[f.key].pk, categories[c]) for f in facilities for c in f.categories],
        source_ids=service_ids,
    )
    links += sync_m2m(
        Service.target_groups.through,
        "service_id",
        "targetgroup_id",
        [(services[f.key].pk, groups[g]) for f in facilities for g in f.target_groups],
        source_ids=service_ids,
    )
    links += sync_m2m(
        ServiceAtLocation,
        "service_id",
        "location_id",
        [(services[f.key].pk, locations[f.key].pk) for f in facilities],
        source_ids=service_ids,
    )
    log(
        f"  organisations: {org_result}; locations: {loc_result}; "
        f"services: {svc_result}; links changed: {links}"
    )


DEMO_NOTE = "Fiktive Demo-Person – keine echten Kontaktdaten."
FIRST_NAMES = ["Alex", "Sascha", "Kim", "Robin", "Charlie", "Toni", "Luca", "Jona", "Maxi", "Sam"]
LAST_NAMES = ["Beispiel", "Muster", "Demo", "Platzhalter", "Probe", "Testmann", "Vorlage"]


def _demo_person(index: int) -> str:
    return f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[index % len(LAST_NAMES)]} (Demo)"


def load_demo_contacts(log: Log) -> None:
    """Fictitious youth-office contacts and responsibilities, clearly marked as demo data."""
    districts = list(Area.objects.filter(layer__slug="bezirke").order_by("code"))
    regions = Area.objects.filter(layer__slug="bezirksregionen-2021").order_by("code")
    forecast = Area.objects.filter(layer__slug="prognoseraeume-2021").order_by("code")
    family_counselling = Category.objects.get(slug="familienberatung")
    offices, _result = upsert_by_key(
        Organization,
        {
            f"demo-jugendamt:{d.code}": {
                "name": f"Jugendamt {d.name} (Demo)",
                "kind": Organization.Kind.PUBLIC,
                "description": "Demo-Organisation: fiktives Jugendamt für Testzwecke.",
            }
            for d in districts
        },
    )
    consent = datetime.date(2024, 1, 15)
    wanted: list[tuple[str, dict, list[tuple[Area, Category | None]]]] = []
    for i, district in enumerate(districts):
        office = offices[f"demo-jugendamt:{district.code}"]
        wanted.append(
            (
                f"demo-kinderschutz:{district.code}",
                {
                    "name": f"Kinderschutz-Hotline {district.name} (Demo)",
                    "role": "Kinderschutz-Hotline",
                    "organization": office,
                    "visibility": Contact.Visibility.PUBLIC,
                    "publication_consent_date": consent,
                    "phone": f"030 9999{i:02d}-100",
                    "internal_phone": f"030 9999{i:02d}-199",
                },
                [(district, None)],
            )
        )
    for i, area in enumerate(forecast):
        office = offices[f"demo-jugendamt:{area.code[:2]}"]
        wanted.append(
            (
                f"demo-efb:{area.code}",
                {
                    "name": _demo_person(i + 3),
                    "role": f"Erziehungs- und Familienberatung {area.name}",
                    "organization": office,
                    "visibility": Contact.Visibility.PUBLIC,
                    "publication_consent_date": consent,
                    "phone": f"030 9998{i:03d}-0",
                    "internal_phone": f"030 9998{i:03d}-1",
                },
                [(area, family_counselling)],
            )
        )
    for i, area in enumerate(regions):
        office = offices[f"demo-jugendamt:{area.code[:2]}"]
        wanted.append(
            (
                f"demo-rsd:{area.code}",
                {
                    "name": _demo_person(i),
                    "role": f"Regionaler Sozialer Dienst – {area.name}",
                    "organization": office,
                    "visibility": Contact.Visibility.INTERNAL,
                    "publication_consent_date": None,
                    "phone": "",
                    "internal_phone": f"030 9997{i:03d}-0",
                },
                [(area, None)],
            )
        )
    with transaction.atomic():
        created = changed = 0
        for key, fields, responsibilities in wanted:
            contact = Contact.objects.filter(is_demo=True, email=_demo_email(key)).first()
            fields = {**fields, "email": _demo_email(key), "is_demo": True}
            if contact is None:
                contact = Contact.objects.create(**fields)
                created += 1
            elif any(getattr(contact, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(contact, k, v)
                contact.save()
                changed += 1
            for area, category in responsibilities:
                Responsibility.objects.get_or_create(
                    contact=contact,
                    area=area,
                    category=category,
                    defaults={"valid_from": LOR_2021, "note": DEMO_NOTE},
                )
    log(
        f"Demo contacts: {created} new, {changed} changed; responsibilities: "
        f"{Responsibility.objects.filter(contact__is_demo=True).count()}"
    )


def _demo_email(key: str) -> str:
    # The e-mail doubles as the stable key of a demo contact.
    return f"{slugify(key)}@demo.example"


ADDRESS_FILES = [
    # Every Berlin address with its official Planungsraum (no positions) …
    "addresses-berlin-rbs/adressen.csv.gz",
    # … and the RBS points of Wannsee, which add positions to the same addresses.
    "addresses-berlin-rbs/addresses_sample.geojson",
]


def load_addresses(base: Path, log: Log) -> None:
    layer = Layer.objects.get(slug="planungsraeume-2021")
    with transaction.atomic():
        for name in ADDRESS_FILES:
            path = base / name
            report = import_addresses(
                read_address_file(path), layer=layer, source=path.name, commit=True
            )
            log(f"Addresses {path.name}: {report}")


DEMO_CROSSWALKS = [
    ("planungsraeume-2021", "planungsraeume-2006"),
    ("planungsraeume-2021", "postleitzahlen"),
]


def load_crosswalks(log: Log) -> None:
    """The crosswalks the demo shows figures along (only built when missing)."""
    for source, target in DEMO_CROSSWALKS:
        if Crosswalk.objects.filter(source_layer__slug=source, target_layer__slug=target).exists():
            continue
        out = io.StringIO()
        call_command("build_crosswalk", "--from", source, "--to", target, "--commit", stdout=out)
        for line in out.getvalue().splitlines():
            log(line)


# A composed layer (Baukasten): the draft Sozialräume that `manage.py propose_regions
# --from planungsraeume-2021 --indicators child_poverty_percent,unemployment_percent`
# proposed (max-p, at least 20,000 residents), exported with `export_mapping`.
DEMO_COMPOSITION = (
    "sozialraeume-entwurf",
    "Sozialräume (Entwurf)",
    "planungsraeume-2021",
    "sozialraeume-entwurf.csv",
    "Vorschlag von propose_regions (max-p, spopt): zusammenhängende Regionen aus Planungsräumen"
    " mit mindestens 20.000 Einwohner*innen, ähnlich in Kinderarmut und Arbeitslosigkeit.",
)


def load_composition(log: Log) -> None:
    """The demo's composed layer, composed again only when its mapping changed."""
    slug, name, base_slug, filename, note = DEMO_COMPOSITION
    rows = read_mapping(settings.BASE_DIR / "fixtures" / "berlin" / filename)
    stored = set(
        CompositionUnit.objects.filter(composition__layer__slug=slug).values_list(
            "base_code", "code"
        )
    )
    if stored == {(r.base_code, r.code) for r in rows}:
        log(f"{slug}: composition unchanged")
        return
    report = compose_layer(
        Layer.objects.get(slug=base_slug),
        rows,
        layer_slug=slug,
        layer_name=name,
        commit=True,
        is_draft=True,
        note=note,
    )
    for line in report.summary_lines():
        log(line)


def load_all(log: Log = print, *, addresses: bool = True) -> None:
    base = data_dir()
    load_layers(base, log)
    load_postcode_areas(base, log)
    load_indicators(base, log)
    load_composition(log)
    load_taxonomies(log)
    facilities = []
    for label, reader in (
        ("Jugendfreizeiteinrichtungen", youth_centres),
        ("Kitas", kitas),
        ("OSM community centres", community_centres),
    ):
        records = reader(base)
        log(f"{label}: {len(records)} records")
        facilities.extend(records)
    load_facilities(facilities, log)
    load_demo_contacts(log)
    if addresses:
        load_addresses(base, log)
        # Only with the addresses: the postcode crosswalk is counted from them, and
        # the test set-ups that skip addresses need not pay for the intersections.
        load_crosswalks(log)
