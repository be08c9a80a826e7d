"""Reading the files municipalities publish: Shapefile (also zipped), GeoPackage, GeoJSON, CSV.

The one reader of the area and address imports. Geometries come back two-dimensional
(Z and M dropped: the columns are 2D and PostGIS refuses a Z value at commit) in the
atlas SRID. Zip archives are unpacked member by member under flat names into a
temporary folder; archive paths are never trusted.
"""

from __future__ import annotations

import codecs
import gzip
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from django.conf import settings
from django.utils.translation import gettext as _

from atlas.core import files

# Address files are the largest this reader sees; areas are far below their limits.
LIMITS = files.Limits.for_addresses


class ImportFileError(ValueError):
    """The file cannot be imported as it is; the message says why and what to do."""


GEO_SUFFIXES = (".gpkg", ".geojson", ".json")
TABLE_SUFFIXES = (".csv", ".csv.gz")


def _full_suffix(name: str) -> str:
    lowered = name.lower()
    for suffix in (".csv.gz", *TABLE_SUFFIXES, *GEO_SUFFIXES, ".shp", ".zip"):
        if lowered.endswith(suffix):
            return suffix
    return Path(lowered).suffix


def _members_of(members: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    return [
        m for m in members if not m.is_dir() and not Path(m.filename).name.startswith(("._", "."))
    ]


def _choose_member(path: Path, members: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    shapefiles = [m for m in members if m.filename.lower().endswith(".shp")]
    others = [m for m in members if _full_suffix(m.filename) in GEO_SUFFIXES + TABLE_SUFFIXES]
    candidates = shapefiles or others
    if not candidates:
        raise ImportFileError(
            _(
                "The zip archive %(path)s contains no .shp file (nor a GeoPackage, GeoJSON or"
                " CSV file); it holds: %(members)s"
            )
            % {
                "path": path.name,
                "members": ", ".join(m.filename for m in members[:10]) or _("nothing"),
            }
        )
    if len(candidates) > 1:
        raise ImportFileError(
            _("The zip archive %(path)s holds several layers (%(names)s); zip one at a time.")
            % {"path": path.name, "names": ", ".join(m.filename for m in candidates)}
        )
    return candidates[0]


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
    """Yield the path to read: the file itself, or the one data file inside a zip archive.

    Zips are unpacked by ``atlas.core.files`` within the unpacked-size limit (declared
    and real sizes), under flat names; every file is checked against the size limit.
    """
    try:
        if path.is_dir():  # a folder GDAL reads as one data source
            yield path
            return
        if path.suffix.lower() != ".zip":
            yield files.check_file(path, LIMITS())
            return
        with files.unpacked(path, _chooser(path), limits=LIMITS(), prefix="atlas-import-") as one:
            yield one
    except files.FileRefused as exc:
        raise ImportFileError(str(exc)) from exc


def _chooser(path: Path):
    def choose(members: list[zipfile.ZipInfo]) -> tuple[list[zipfile.ZipInfo], zipfile.ZipInfo]:
        chosen = _choose_member(path, _members_of(members))
        stem = chosen.filename[: -len(Path(chosen.filename).suffix)]
        wanted = [
            m for m in members if m.filename == chosen.filename or m.filename.startswith(stem + ".")
        ]
        return wanted, chosen

    return choose


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
        raise ImportFileError(
            _("Unknown encoding “%(encoding)s”; pass e.g. --encoding latin-1 or utf-8.")
            % {"encoding": encoding}
        ) from exc
    if name.startswith("iso8859-"):
        return "ISO-8859-" + name.removeprefix("iso8859-")
    return name.upper()


def _check_shapefile(readable: Path, name: str, *, encoding: str | None, srid: int | None) -> None:
    if not readable.with_suffix(".prj").exists() and not srid:
        raise ImportFileError(
            _(
                "%(path)s has no .prj file, so its coordinate reference system is"
                " unknown; pass it with --srid (e.g. --srid 25833 for ETRS89 / UTM 33N)."
            )
            % {"path": name}
        )
    if (
        not encoding
        and _declared_shapefile_encoding(readable) is None
        and not _dbf_is_utf8(readable)
    ):
        raise ImportFileError(
            _(
                "%(path)s declares no attribute encoding (no .cpg file) and its table is"
                " not UTF-8; pass it with --encoding (most likely --encoding latin-1)."
            )
            % {"path": name}
        )


def _check_single_layer(readable: Path, name: str) -> None:
    try:
        layers = pyogrio.list_layers(readable)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise ImportFileError(
            _("Cannot read %(path)s: %(error)s") % {"path": name, "error": exc}
        ) from exc
    spatial = [str(layer) for layer, geometry_type in layers if geometry_type]
    if len(spatial) > 1:
        raise ImportFileError(
            _("%(path)s holds several layers (%(names)s); choose one with --source-layer.")
            % {"path": name, "names": ", ".join(spatial)}
        )


def _read_frame(readable: Path, name: str, kwargs: dict, encoding: str | None) -> gpd.GeoDataFrame:
    try:
        return gpd.read_file(readable, engine="pyogrio", **kwargs)
    except LookupError as exc:
        raise ImportFileError(
            _("Unknown encoding “%(encoding)s”; pass e.g. --encoding latin-1 or utf-8.")
            % {"encoding": encoding}
        ) from exc
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise ImportFileError(
            _("Cannot read %(path)s: %(error)s") % {"path": name, "error": exc}
        ) from exc


def _with_crs(frame: gpd.GeoDataFrame, name: str, srid: int | None) -> gpd.GeoDataFrame:
    if frame.crs is None and srid:
        try:
            frame = frame.set_crs(epsg=srid)
        except Exception as exc:  # pyproj.CRSError and friends
            raise ImportFileError(
                _("--srid %(srid)s is not a known EPSG code.") % {"srid": srid}
            ) from exc
    if frame.crs is None:
        raise ImportFileError(
            _(
                "%(path)s declares no coordinate reference system; pass it with --srid"
                " (e.g. --srid 25833 for ETRS89 / UTM 33N)."
            )
            % {"path": name}
        )
    return frame


def _flat(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame with 2D geometries: a Z (or M) value would only fail at commit."""
    if frame.geometry.has_z.any():
        frame = frame.set_geometry(shapely.force_2d(frame.geometry.values), crs=frame.crs)
    return frame


def read_geo_file(
    path: str | Path,
    *,
    encoding: str | None = None,
    srid: int | None = None,
    source_layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a Shapefile (also zipped), GeoPackage or GeoJSON, 2D, in the atlas SRID.

    A file without a coordinate reference system is refused unless ``srid`` says
    which one it is; a Shapefile whose attribute encoding is neither declared
    (``.cpg``) nor given, and whose table is not UTF-8, is refused too, rather
    than guessed and stored garbled.
    """
    path = Path(path)
    _check_exists(path)
    with unpacked(path) as readable:
        if readable.suffix.lower() == ".shp":
            _check_shapefile(readable, path.name, encoding=encoding, srid=srid)
        kwargs: dict = {}
        if encoding:
            kwargs["encoding"] = _gdal_encoding(encoding)
        if source_layer:
            kwargs["layer"] = source_layer
        else:
            _check_single_layer(readable, path.name)
        try:
            files.check_vector(readable, layer=source_layer, limits=LIMITS())
        except files.FileRefused as exc:
            raise ImportFileError(str(exc)) from exc
        frame = _read_frame(readable, path.name, kwargs, encoding)
    frame = _with_crs(frame, path.name, srid)
    if frame.geometry.isna().all() and len(frame):
        raise ImportFileError(_("%(path)s has no geometries.") % {"path": path.name})
    return _flat(frame).to_crs(epsg=settings.ATLAS_SRID)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise ImportFileError(_("File not found: %(path)s") % {"path": path})
    if path.is_file() and path.stat().st_size == 0:
        raise ImportFileError(_("%(path)s is empty.") % {"path": path.name})


def _delimiter(readable: Path, encoding: str) -> str:
    """The delimiter of the header line: the most frequent of , ; tab and |."""
    opener = gzip.open if readable.name.lower().endswith(".gz") else open
    with opener(readable, "rt", encoding=encoding, errors="replace") as handle:
        header = handle.readline()
    return max((",", ";", "\t", "|"), key=header.count)


def _check_gzip_size(readable: Path, name: str) -> None:
    """Refuse a .gz that unpacks beyond the unpacked-size limit (counted, never stored)."""
    try:
        files.check_gzip(readable, LIMITS(), name=name)
    except files.FileRefused as exc:
        raise ImportFileError(str(exc)) from exc


def _read_csv(readable: Path, name: str, encoding: str | None) -> pd.DataFrame:
    encoding = encoding or "utf-8-sig"
    limit = LIMITS().rows
    if readable.name.lower().endswith(".gz"):
        _check_gzip_size(readable, name)
    elif files.more_records_than(readable, limit + 1, encoding):  # the header is a record
        # A 1,100,000-row address file was refused after pandas read 1,000,001 rows
        # (1.1-1.8 s); its line breaks are counted in ~50 ms.
        raise _too_many_address_rows(name, limit)
    try:
        frame = pd.read_csv(
            readable,
            dtype=str,
            keep_default_na=False,
            sep=_delimiter(readable, encoding),
            encoding=encoding,
            nrows=limit + 1,  # one more than allowed tells a file that is too long
        )
    except (
        OSError,
        LookupError,
        UnicodeDecodeError,
        ValueError,
        EOFError,
        pd.errors.ParserError,
    ) as exc:
        raise ImportFileError(
            _("Cannot read %(path)s: %(error)s") % {"path": name, "error": exc}
        ) from exc
    if len(frame) > limit:
        raise _too_many_address_rows(name, limit)
    return frame


def _too_many_address_rows(name: str, limit: int) -> ImportFileError:
    return ImportFileError(
        _("%(path)s has more than %(limit)d rows; split it or raise the limit.")
        % {"path": name, "limit": limit}
    )


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    srid: int | None = None,
    source_layer: str | None = None,
) -> pd.DataFrame:
    """Read any file :func:`read_geo_file` reads, or a CSV (also gzip, also zipped).

    Point geometries become ``lon``/``lat`` columns in the atlas SRID; a CSV
    comes back as text columns as they are (its delimiter is guessed).
    """
    path = Path(path)
    _check_exists(path)
    with unpacked(path) as readable:
        if _full_suffix(readable.name) in TABLE_SUFFIXES:
            return _read_csv(readable, path.name, encoding)
        if _full_suffix(readable.name) not in (*GEO_SUFFIXES, ".shp"):
            raise ImportFileError(
                _(
                    "Unknown file type “%(path)s”: use a CSV (.csv, .csv.gz), GeoJSON,"
                    " GeoPackage or Shapefile, each also zipped."
                )
                % {"path": path.name}
            )
        frame = read_geo_file(readable, encoding=encoding, srid=srid, source_layer=source_layer)
    points = frame.geometry.representative_point()
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table["lon"] = points.x.where(frame.geometry.notna())
    table["lat"] = points.y.where(frame.geometry.notna())
    for column in table.columns:
        if column not in ("lon", "lat"):
            table[column] = table[column].map(_cell)
    return table


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
