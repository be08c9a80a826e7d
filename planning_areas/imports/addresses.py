"""Bulk import of official addresses into the address index.

A file is read into a frame with the columns of :data:`COLUMNS` (reading),
checked as a whole (preparing: a bad row refuses the file, street-only rows and
repeated addresses are skipped and reported), copied into a temporary table with
``COPY`` and upserted in one statement (writing). Either every row is written or
none, and a dry run runs the same statements and rolls the transaction back, so
it finds every error the commit would.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from django.conf import settings
from django.db import connection, transaction

from ..address_search import district_names, street_key
from ..crosswalks import refresh_all_crosswalks
from ..models import Address, Area, Layer, Street
from .reading import ImportFileError, read_table

COLUMNS = ["street", "key", "house_number", "suffix", "postcode", "district", "lon", "lat", "code"]

# Field names of known sources, tried in this order when no field is named explicitly;
# compared without regard to case (``strname`` is ``STRNAME``).
FIELD_ALIASES = {
    "street": ["str_name", "strname", "street", "strasse", "straße", "stn"],
    "number": ["hnr", "hsnr", "house_number", "hausnummer"],
    "suffix": ["hnr_zusatz", "hsnr_zusatz", "suffix", "zusatz", "adz"],
    "postcode": ["plz", "postcode", "postleitzahl"],
    "district": ["ort_name", "ortsteil", "district"],
    "code": ["plr_id", "area_code"],
    "x": ["x", "ostwert", "rechtswert", "easting"],
    "y": ["y", "nordwert", "hochwert", "northing"],
}
LOGICAL_FIELDS = tuple(FIELD_ALIASES)
_HOUSE_NUMBER = re.compile(r"^0*(\d{0,6})\s*([A-Za-z]{0,3})$")
MAX_REPORTED_PROBLEMS = 10
# A row that names only a street: marked with "*" by many registers, and without number.
STREET_ONLY_MARK = "*"


class AddressImportError(ImportFileError):
    """The file cannot be imported; nothing was written."""


@dataclass
class AddressImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    streets_created: int = 0
    with_point: int = 0
    with_area: int = 0
    with_district: int = 0
    committed: bool = False
    problems: list[str] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    street_only: list[int] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.duplicates) + len(self.street_only)

    @property
    def unchanged(self) -> int:
        return self.rows - self.skipped - self.created - self.updated

    def skipped_lines(self) -> list[str]:
        """One line per kind of skipped row, with the count and the first row numbers."""
        lines = []
        for label, rows in (
            ("duplicate addresses skipped", self.duplicates),
            ("street-only rows (no house number) skipped", self.street_only),
        ):
            if rows:
                lines.append(f"{len(rows)} {label} (rows {_rows(rows)})")
        return lines

    def __str__(self) -> str:
        text = (
            f"{self.rows} addresses ({self.with_point} with position, {self.with_area} with "
            f"official area): {self.created} new, {self.updated} changed, {self.unchanged} "
            f"unchanged; {self.streets_created} new streets"
        )
        return "; ".join([text, *self.skipped_lines()])


def _rows(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:MAX_REPORTED_PROBLEMS]))
    more = len(rows) - MAX_REPORTED_PROBLEMS
    return shown + (f" … (+{more})" if more > 0 else "")


def _pick(columns: list[str], wanted: str | None, logical: str) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    if wanted:
        if wanted.lower() not in by_lower:
            raise AddressImportError(
                f"Field “{wanted}” ({logical}) is not in the file; it has: {', '.join(columns)}"
            )
        return by_lower[wanted.lower()]
    return next((by_lower[c] for c in FIELD_ALIASES[logical] if c in by_lower), None)


def _positions(raw: pd.DataFrame, picked: dict, srid: int | None) -> tuple[pd.Series, pd.Series]:
    """Longitude and latitude in the atlas SRID: from the geometry, or from x/y fields."""
    if "lon" in raw and "lat" in raw and not (picked["x"] and picked["y"]):
        return (
            pd.to_numeric(raw["lon"], errors="coerce"),
            pd.to_numeric(raw["lat"], errors="coerce"),
        )
    if not (picked["x"] and picked["y"]):
        return pd.Series(None, index=raw.index, dtype=float), pd.Series(
            None, index=raw.index, dtype=float
        )
    x = pd.to_numeric(raw[picked["x"]].astype(str).str.replace(",", "."), errors="coerce")
    y = pd.to_numeric(raw[picked["y"]].astype(str).str.replace(",", "."), errors="coerce")
    if not srid:
        raise AddressImportError(
            f"The file has coordinates in “{picked['x']}”/“{picked['y']}”: name their "
            "coordinate reference system with --srid (e.g. --srid 25832)."
        )
    points = gpd.GeoSeries(gpd.points_from_xy(x, y), index=raw.index, crs=f"EPSG:{srid}")
    points = points.to_crs(epsg=settings.ATLAS_SRID)
    valid = x.notna() & y.notna()
    return points.x.where(valid), points.y.where(valid)


def read_address_file(
    path: Path,
    fields: dict[str, str | None] | None = None,
    *,
    srid: int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read an address file into the import columns.

    Any file :func:`reading.read_table` reads: CSV (also gzip), GeoJSON,
    GeoPackage or Shapefile, each also zipped. ``fields`` names the source field
    for ``street``, ``number``, ``suffix``, ``postcode``, ``district``, ``code``
    (the official area code) and ``x``/``y`` (coordinates in ``srid``); missing
    names are guessed from :data:`FIELD_ALIASES`, without regard to case.
    """
    fields = fields or {}
    raw = read_table(Path(path), encoding=encoding, srid=srid)
    columns = [c for c in raw.columns if c not in ("lon", "lat")]
    picked = {name: _pick(columns, fields.get(name), name) for name in LOGICAL_FIELDS}
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
    frame["lon"], frame["lat"] = _positions(raw, picked, srid)
    frame["bad_number"] = numbers[0].isna() & column("number").ne("")
    return frame


_LENGTH_CHECKED = {
    "street": "street.name",
    "suffix": "house_number_suffix",
    "postcode": "postcode",
    "district": "district",
}


def _max_length(field_name: str) -> int:
    model, name = (Street, "name") if field_name == "street.name" else (Address, field_name)
    return model._meta.get_field(name).max_length


def _problems(frame: pd.DataFrame) -> list[str]:
    """Rows that make the file unusable: these refuse the import."""
    problems = []

    def report(mask: pd.Series, message: str) -> None:
        for index in frame.index[mask][:MAX_REPORTED_PROBLEMS]:
            problems.append(f"row {index + 1}: {message}")

    report(frame["street"].eq(""), "street is empty")
    report(frame["bad_number"], "house number is not a number with an optional letter")
    report(frame["house_number"].isna() & frame["suffix"].ne(""), "suffix without number")
    # The lengths the model allows: longer text would fail only at the INSERT.
    for column, field_name in _LENGTH_CHECKED.items():
        limit = _max_length(field_name)
        report(frame[column].str.len().gt(limit), f"{column} is longer than {limit} characters")
    report(frame["street"].str.contains("\x00", regex=False), "street contains a NUL byte")
    if frame["lon"].notna().any():
        lon = pd.to_numeric(frame["lon"], errors="coerce")
        lat = pd.to_numeric(frame["lat"], errors="coerce")
        outside = lon.notna() & ~(lon.between(-180, 180) & lat.between(-90, 90))
        report(outside, "coordinates are not WGS84 longitude/latitude")
    return problems


def _skippable(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Masks of the street-only rows and of the repeated addresses (after their first row)."""
    street_only = frame["house_number"].isna() & frame["street"].str.contains(
        STREET_ONLY_MARK, regex=False
    )
    duplicated = frame.duplicated(["street", "house_number", "suffix", "postcode"], keep="first")
    return street_only, duplicated & ~street_only


def prepare_addresses(
    frame: pd.DataFrame, report: AddressImportReport, *, strict: bool = False
) -> pd.DataFrame:
    """The rows to write: problems refuse the file; street-only rows and repeated
    addresses are skipped and counted, or refuse the file when ``strict``."""
    report.rows = len(frame)
    report.problems = _problems(frame)
    street_only, duplicated = _skippable(frame)
    report.street_only = [int(i) + 1 for i in frame.index[street_only]]
    report.duplicates = [int(i) + 1 for i in frame.index[duplicated]]
    if strict:
        report.problems += [f"{line} (--strict refuses them)" for line in report.skipped_lines()]
    if report.problems:
        raise AddressImportError("; ".join(report.problems[:MAX_REPORTED_PROBLEMS]))
    return frame[~(street_only | duplicated)]


def _staged_csv(frame: pd.DataFrame) -> io.StringIO:
    keys = {name: street_key(name) for name in frame["street"].unique()}
    staged = frame.assign(key=frame["street"].map(keys))[COLUMNS].copy()
    staged["house_number"] = staged["house_number"].astype("Int64")
    buffer = io.StringIO()
    staged.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    return buffer


def _stage(cursor, frame: pd.DataFrame) -> None:
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
        _staged_csv(frame),
    )


def _check_area_codes(cursor, layer: Layer) -> None:
    cursor.execute(
        f"""
        SELECT DISTINCT i.code FROM address_import i
        LEFT JOIN "{Area._meta.db_table}" a ON a.layer_id = %s AND a.code = i.code
        WHERE i.code <> '' AND a.id IS NULL ORDER BY 1 LIMIT 10
        """,  # noqa: S608 - table names from model metadata, values as parameters
        [layer.pk],
    )
    unknown = [row[0] for row in cursor.fetchall()]
    if unknown:
        raise AddressImportError(
            f"Area codes not found on layer “{layer.slug}”: {', '.join(unknown)}"
        )


def _name_districts(cursor, district_layer: Layer) -> int:
    """Name each positioned address's district after the area of ``district_layer`` it lies in."""
    cursor.execute(
        f"""
        UPDATE address_import i SET district = a.name
        FROM "{Area._meta.db_table}" a
        WHERE i.lon IS NOT NULL AND a.layer_id = %s
          AND ST_Intersects(a.geometry, ST_SetSRID(ST_MakePoint(i.lon, i.lat), %s))
        """,  # noqa: S608 - table names from model metadata, values as parameters
        [district_layer.pk, settings.ATLAS_SRID],
    )
    return cursor.rowcount


def _upsert_streets(cursor) -> int:
    street_table = Street._meta.db_table
    cursor.execute(
        f"""
        INSERT INTO "{street_table}" (name, key)
        SELECT DISTINCT street, key FROM address_import
        ON CONFLICT (name) DO UPDATE SET key = EXCLUDED.key
        WHERE "{street_table}".key IS DISTINCT FROM EXCLUDED.key
        RETURNING (xmax = 0)
        """  # noqa: S608
    )
    return sum(1 for (inserted,) in cursor.fetchall() if inserted)


def _upsert_addresses(cursor, *, layer: Layer | None, source: str) -> tuple[int, int]:
    cursor.execute(
        f"""
        WITH upserted AS (
            INSERT INTO "{Address._meta.db_table}" AS old
                (street_id, house_number, house_number_suffix, postcode, district,
                 point, area_id, source)
            SELECT s.id, i.house_number, i.suffix, i.postcode, i.district,
                   CASE WHEN i.lon IS NULL THEN NULL
                        ELSE ST_SetSRID(ST_MakePoint(i.lon, i.lat), %(srid)s) END,
                   a.id, %(source)s
            FROM address_import i
            JOIN "{Street._meta.db_table}" s ON s.name = i.street
            LEFT JOIN "{Area._meta.db_table}" a ON a.layer_id = %(layer)s AND a.code = i.code
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
    return cursor.fetchone()


def import_addresses(
    frame: pd.DataFrame,
    *,
    layer: Layer | None = None,
    district_layer: Layer | None = None,
    source: str = "",
    strict: bool = False,
    commit: bool = False,
) -> AddressImportReport:
    """Upsert the addresses of ``frame`` (from :func:`read_address_file`) in one transaction.

    Addresses are keyed by street, house number, suffix and postcode. An existing
    address keeps its position or official area when the file has none, so a file
    with positions and one with area codes can enrich the same addresses. Official
    area codes are resolved on ``layer``; an unknown code aborts the import. With
    ``district_layer`` each positioned address is named after the area it lies in.
    Street-only rows and repeated addresses are skipped and reported (refused
    when ``strict``).
    """
    report = AddressImportReport()
    rows = prepare_addresses(frame, report, strict=strict)
    has_codes = rows["code"].ne("").any()
    if has_codes and layer is None:
        raise AddressImportError("the file has official area codes: name their layer with --layer")
    if rows.empty:
        return report
    with transaction.atomic(), connection.cursor() as cursor:
        _stage(cursor, rows)
        if has_codes:
            _check_area_codes(cursor, layer)
        if district_layer is not None:
            report.with_district = _name_districts(cursor, district_layer)
        report.streets_created = _upsert_streets(cursor)
        report.created, report.updated = _upsert_addresses(cursor, layer=layer, source=source)
        if report.created or report.updated:
            # Fresh statistics, or the planner keeps treating the index as empty.
            cursor.execute(
                f'ANALYZE "{Street._meta.db_table}", "{Address._meta.db_table}"'  # noqa: S608
            )
        report.with_point = int(rows["lon"].notna().sum())
        report.with_area = int(rows["code"].ne("").sum())
        if commit:
            report.committed = True
            if report.created or report.updated:
                # Crosswalks count addresses: recompute them in the same transaction.
                refresh_all_crosswalks()
        else:
            transaction.set_rollback(True)
    if commit:
        district_names.clear()
    return report
