"""Bulk import of official addresses into the address index.

A file is read into a frame with the columns of :data:`COLUMNS`, checked as a
whole, copied into a temporary table with ``COPY`` and upserted in one
statement. Either every row is written or none: the first problem aborts the
import before anything changes, and a dry run rolls the transaction back.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.db import connection, transaction

from .address_search import district_names, street_key
from .models import Address, Area, Layer, Street

COLUMNS = ["street", "key", "house_number", "suffix", "postcode", "district", "lon", "lat", "code"]

# Field names of known sources, tried in this order when no field is named explicitly.
FIELD_ALIASES = {
    "street": ["str_name", "STRNAME", "street", "strasse", "Straße"],
    "number": ["hnr", "HSNR", "house_number", "hausnummer"],
    "suffix": ["hnr_zusatz", "HSNR_ZUSATZ", "suffix", "zusatz"],
    "postcode": ["plz", "PLZ", "postcode"],
    "district": ["ort_name", "ORTSTEIL", "district", "ortsteil"],
    "code": ["PLR_ID", "area_code"],
}
_HOUSE_NUMBER = re.compile(r"^0*(\d{0,6})\s*([A-Za-z]{0,3})$")
MAX_REPORTED_PROBLEMS = 10


class AddressImportError(ValueError):
    """The file cannot be imported; nothing was written."""


@dataclass
class AddressImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    streets_created: int = 0
    with_point: int = 0
    with_area: int = 0
    committed: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.rows - self.created - self.updated

    def __str__(self) -> str:
        return (
            f"{self.rows} addresses ({self.with_point} with position, {self.with_area} with "
            f"official area): {self.created} new, {self.updated} changed, {self.unchanged} "
            f"unchanged; {self.streets_created} new streets"
        )


def _pick(columns: list[str], wanted: str | None, logical: str) -> str | None:
    if wanted:
        if wanted not in columns:
            raise AddressImportError(
                f"Field “{wanted}” ({logical}) is not in the file; it has: {', '.join(columns)}"
            )
        return wanted
    return next((c for c in FIELD_ALIASES[logical] if c in columns), None)


def read_address_file(path: Path, fields: dict[str, str | None] | None = None) -> pd.DataFrame:
    """Read a CSV (optionally gzip) or GeoJSON file of addresses into the import columns.

    ``fields`` names the source field for ``street``, ``number``, ``suffix``,
    ``postcode``, ``district`` and ``code`` (the official area code); missing
    names are guessed from :data:`FIELD_ALIASES`. GeoJSON points must be WGS84.
    """
    fields = fields or {}
    path = Path(path)
    if not path.is_file():
        raise AddressImportError(f"File not found: {path}")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".geojson", ".json")):
            raw = _read_geojson(path)
        elif ".csv" in suffixes:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            raise AddressImportError(
                f"Unknown file type “{path.name}”: use .csv, .csv.gz or .geojson"
            )
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, AddressImportError):
            raise
        raise AddressImportError(f"Cannot read {path.name}: {exc}") from exc
    columns = list(raw.columns)
    picked = {name: _pick(columns, fields.get(name), name) for name in FIELD_ALIASES}
    for required in ("street", "number"):
        if picked[required] is None:
            raise AddressImportError(
                f"No {required} field found; name it with --{required}-field. "
                f"The file has: {', '.join(columns)}"
            )

    def column(name: str) -> pd.Series:
        source = picked[name]
        if source is None:
            return pd.Series([""] * len(raw), index=raw.index, dtype=object)
        return raw[source].fillna("").astype(str).str.strip()

    frame = pd.DataFrame(index=raw.index)
    frame["street"] = column("street").str.replace(r"\s+", " ", regex=True)
    numbers = column("number").str.extract(_HOUSE_NUMBER)
    frame["house_number"] = pd.to_numeric(numbers[0].replace("", None), errors="coerce")
    frame["suffix"] = (numbers[1].fillna("") + column("suffix")).str.upper()
    frame["postcode"] = column("postcode")
    frame["district"] = column("district")
    frame["code"] = column("code")
    frame["lon"] = raw["lon"] if "lon" in raw else None
    frame["lat"] = raw["lat"] if "lat" in raw else None
    frame["bad_number"] = numbers[0].isna() & column("number").ne("")
    return frame


def _read_geojson(path: Path) -> pd.DataFrame:
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise AddressImportError(f"{path.name} is not a GeoJSON FeatureCollection")
    crs = ((data.get("crs") or {}).get("properties") or {}).get("name", "")
    if crs and not crs.endswith(("CRS84", "4326")):
        raise AddressImportError(f"{path.name} is in {crs}; convert it to WGS84 first")
    records = []
    for feature in data.get("features") or []:
        properties = dict(feature.get("properties") or {})
        geometry = feature.get("geometry") or {}
        coordinates = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        properties["lon"], properties["lat"] = (coordinates or [None, None])[:2]
        records.append(properties)
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        if column not in ("lon", "lat"):
            frame[column] = frame[column].fillna("").astype(str)
    return frame


def _problems(frame: pd.DataFrame) -> list[str]:
    problems = []

    def report(mask: pd.Series, message: str) -> None:
        for index in frame.index[mask][:MAX_REPORTED_PROBLEMS]:
            problems.append(f"row {index + 1}: {message}")

    report(frame["street"].eq(""), "street is empty")
    report(frame["bad_number"], "house number is not a number with an optional letter")
    report(frame["house_number"].isna() & frame["suffix"].ne(""), "suffix without number")
    if frame["lon"].notna().any():
        lon = pd.to_numeric(frame["lon"], errors="coerce")
        lat = pd.to_numeric(frame["lat"], errors="coerce")
        outside = lon.notna() & ~(lon.between(-180, 180) & lat.between(-90, 90))
        report(outside, "coordinates are not WGS84 longitude/latitude")
    duplicated = frame.duplicated(["street", "house_number", "suffix", "postcode"], keep="first")
    report(duplicated, "the same address appears twice")
    return problems


def import_addresses(
    frame: pd.DataFrame,
    *,
    layer: Layer | None = None,
    source: str = "",
    commit: bool = False,
) -> AddressImportReport:
    """Upsert the addresses of ``frame`` (from :func:`read_address_file`) in one transaction.

    Addresses are keyed by street, house number, suffix and postcode. An existing
    address keeps its position or official area when the file has none, so a file
    with positions and one with area codes can enrich the same addresses. Official
    area codes are resolved on ``layer``; an unknown code aborts the import.
    """
    report = AddressImportReport(rows=len(frame))
    report.problems = _problems(frame)
    has_codes = frame["code"].ne("").any()
    if has_codes and layer is None:
        report.problems.append("the file has official area codes: name their layer with --layer")
    if report.problems:
        raise AddressImportError("; ".join(report.problems[:MAX_REPORTED_PROBLEMS]))
    if frame.empty:
        return report

    keys = {name: street_key(name) for name in frame["street"].unique()}
    staged = frame.assign(key=frame["street"].map(keys))[COLUMNS].copy()
    staged["house_number"] = staged["house_number"].astype("Int64")
    buffer = io.StringIO()
    staged.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    street_table = Street._meta.db_table
    address_table = Address._meta.db_table
    area_table = Area._meta.db_table

    with transaction.atomic(), connection.cursor() as cursor:
        # Several files may be imported in one outer transaction: start from a fresh table.
        cursor.execute("DROP TABLE IF EXISTS address_import")
        cursor.execute(
            """
            CREATE TEMP TABLE address_import (
                street text, key text, house_number integer, suffix text, postcode text,
                district text, lon double precision, lat double precision, code text
            ) ON COMMIT DROP
            """
        )
        cursor.copy_expert(
            "COPY address_import FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL "
            "(street, key, suffix, postcode, district, code))",
            buffer,
        )
        if has_codes:
            cursor.execute(
                f"""
                SELECT DISTINCT i.code FROM address_import i
                LEFT JOIN "{area_table}" a ON a.layer_id = %s AND a.code = i.code
                WHERE i.code <> '' AND a.id IS NULL ORDER BY 1 LIMIT 10
                """,  # noqa: S608 - table names from model metadata, values as parameters
                [layer.pk],
            )
            unknown = [row[0] for row in cursor.fetchall()]
            if unknown:
                raise AddressImportError(
                    f"Area codes not found on layer “{layer.slug}”: {', '.join(unknown)}"
                )
        cursor.execute(
            f"""
            INSERT INTO "{street_table}" (name, key)
            SELECT DISTINCT street, key FROM address_import
            ON CONFLICT (name) DO UPDATE SET key = EXCLUDED.key
            WHERE "{street_table}".key IS DISTINCT FROM EXCLUDED.key
            RETURNING (xmax = 0)
            """  # noqa: S608
        )
        report.streets_created = sum(1 for (inserted,) in cursor.fetchall() if inserted)
        cursor.execute(
            f"""
            WITH upserted AS (
                INSERT INTO "{address_table}" AS old
                    (street_id, house_number, house_number_suffix, postcode, district,
                     point, area_id, source)
                SELECT s.id, i.house_number, i.suffix, i.postcode, i.district,
                       CASE WHEN i.lon IS NULL THEN NULL
                            ELSE ST_SetSRID(ST_MakePoint(i.lon, i.lat), %(srid)s) END,
                       a.id, %(source)s
                FROM address_import i
                JOIN "{street_table}" s ON s.name = i.street
                LEFT JOIN "{area_table}" a ON a.layer_id = %(layer)s AND a.code = i.code
                ON CONFLICT (street_id, house_number, house_number_suffix, postcode)
                DO UPDATE SET
                    district = COALESCE(NULLIF(EXCLUDED.district, ''), old.district),
                    point = COALESCE(EXCLUDED.point, old.point),
                    area_id = COALESCE(EXCLUDED.area_id, old.area_id)
                WHERE (old.district, old.area_id, ST_AsEWKB(old.point)) IS DISTINCT FROM
                      (COALESCE(NULLIF(EXCLUDED.district, ''), old.district),
                       COALESCE(EXCLUDED.area_id, old.area_id),
                       ST_AsEWKB(COALESCE(EXCLUDED.point, old.point)))
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
            FROM upserted
            """,  # noqa: S608
            {
                "srid": settings.ATLAS_SRID,
                "source": source[:200],
                "layer": layer.pk if layer else None,
            },
        )
        report.created, report.updated = cursor.fetchone()
        if report.created or report.updated:
            # Fresh statistics, or the planner keeps treating the index as empty.
            cursor.execute(f'ANALYZE "{street_table}", "{address_table}"')
        report.with_point = int(frame["lon"].notna().sum())
        report.with_area = int(frame["code"].ne("").sum())
        if commit:
            report.committed = True
        else:
            transaction.set_rollback(True)
    if commit:
        district_names.clear()
    return report
