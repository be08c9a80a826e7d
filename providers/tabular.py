"""Reading tables of services from CSV, Excel and GeoJSON files into plain rows.

Every reader returns the same shape: column names and a list of ``SourceRow``
(its number as a person finds it in the file, its values as text, and a WGS84
point if the file carried a geometry). Files that cannot be read as they are
raise ``TableError`` with a message that says what to change.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _


class TableError(Exception):
    """The file cannot be read as a table; the message says why and what to do."""


@dataclass
class SourceRow:
    number: int
    values: dict[str, str]
    point: tuple[float, float] | None = None  # (lon, lat) in WGS84


@dataclass
class Table:
    columns: list[str]
    rows: list[SourceRow]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    header_rows: int = 1,
    srid: int | None = None,
) -> Table:
    """Read a CSV, Excel (.xlsx) or GeoJSON file, chosen by its extension."""
    path = Path(path)
    if not path.exists():
        raise TableError(_("File not found: %(path)s") % {"path": path})
    if path.stat().st_size == 0:
        raise TableError(_("%(path)s is empty.") % {"path": path.name})
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return read_csv(path, delimiter=delimiter, encoding=encoding)
    if suffix in (".xlsx", ".xlsm"):
        return read_excel(path, sheet=sheet, header_rows=header_rows)
    if suffix in (".geojson", ".json"):
        return read_geojson(path, srid=srid)
    raise TableError(
        _("Cannot read “%(suffix)s” files; use CSV, Excel (.xlsx) or GeoJSON.")
        % {"suffix": suffix or path.name}
    )


def read_csv(path: Path, *, delimiter: str | None = None, encoding: str | None = None) -> Table:
    raw = path.read_bytes()
    if encoding:
        try:
            text = raw.decode(encoding)
        except LookupError as exc:
            raise TableError(_("Unknown encoding “%(e)s”.") % {"e": encoding}) from exc
        except UnicodeDecodeError as exc:
            raise TableError(
                _("%(path)s is not %(encoding)s: %(error)s")
                % {"path": path.name, "encoding": encoding, "error": exc}
            ) from exc
        text = text.removeprefix("\ufeff")
    else:
        try:
            text = raw.decode("utf-8-sig")  # strips a byte order mark, as Excel writes it
        except UnicodeDecodeError as exc:
            raise TableError(
                _(
                    "%(path)s is not UTF-8; set encoding in the mapping's [source] section"
                    ' (e.g. encoding = "cp1252").'
                )
                % {"path": path.name}
            ) from exc
    if not text.strip():
        raise TableError(_("%(path)s is empty.") % {"path": path.name})
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise TableError(_("%(path)s has no header row.") % {"path": path.name}) from exc
    columns = [c.strip() for c in header]
    _check_header(columns, path.name)
    rows = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        values = {
            col: (record[i].strip() if i < len(record) else "") for i, col in enumerate(columns)
        }
        rows.append(SourceRow(number=number, values=values))
    return Table(columns=columns, rows=rows)


def _check_header(columns: list[str], name: str) -> None:
    if not any(columns):
        raise TableError(_("%(path)s has an empty header row.") % {"path": name})
    seen = set()
    for column in columns:
        if column and column in seen:
            raise TableError(
                _("The column “%(column)s” occurs twice in the header of %(path)s.")
                % {"column": column, "path": name}
            )
        seen.add(column)


def read_excel(path: Path, *, sheet: str | None = None, header_rows: int = 1) -> Table:
    """Read the first (or the named) sheet; ``header_rows`` > 1 joins stacked headers.

    Merged header cells are filled across their range. If that still leaves
    columns without a name of their own (a group header merged over several
    columns), the file is refused with the cell range and what to do.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=False, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise TableError(
            _("%(path)s is not a readable Excel file: %(error)s")
            % {"path": path.name, "error": exc}
        ) from exc
    if sheet:
        if sheet not in workbook.sheetnames:
            raise TableError(
                _("There is no sheet “%(sheet)s”; the workbook has: %(names)s")
                % {"sheet": sheet, "names": ", ".join(workbook.sheetnames)}
            )
        worksheet = workbook[sheet]
    else:
        worksheet = workbook.worksheets[0]
    header_rows = max(1, header_rows)
    grid = [
        [_text(cell.value) for cell in row]
        for row in worksheet.iter_rows(min_row=1, max_row=header_rows)
    ]
    merged_in_header = []
    for merged in worksheet.merged_cells.ranges:
        if merged.min_row > header_rows:
            continue
        value = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row, min(merged.max_row, header_rows) + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                grid[r - 1][c - 1] = value
        if merged.max_col > merged.min_col:
            merged_in_header.append(merged.coord)
    width = max((len(r) for r in grid), default=0)
    columns = []
    for c in range(width):
        parts = []
        for r in range(header_rows):
            part = grid[r][c] if c < len(grid[r]) else ""
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        columns.append(" / ".join(parts))
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        if merged_in_header:
            raise TableError(
                _(
                    "Header cells %(ranges)s of %(path)s are merged, so several columns share"
                    " the name “%(names)s”. Unmerge them and give each column its own name, or,"
                    " if a second header row names them, set header_rows = 2 in the mapping's"
                    " [source] section."
                )
                % {
                    "ranges": ", ".join(merged_in_header),
                    "path": path.name,
                    "names": "”, “".join(duplicates),
                }
            )
        _check_header(columns, path.name)
    _check_header(columns, path.name)
    rows = []
    for number, record in enumerate(
        worksheet.iter_rows(min_row=header_rows + 1, values_only=True), start=header_rows + 1
    ):
        cells = [_text(v) for v in record]
        if not any(cells):
            continue
        values = {col: (cells[i] if i < len(cells) else "") for i, col in enumerate(columns) if col}
        rows.append(SourceRow(number=number, values=values))
    return Table(columns=[c for c in columns if c], rows=rows)


def read_geojson(path: Path, *, srid: int | None = None) -> Table:
    """Read a GeoJSON file in any CRS it declares (or ``srid``), as WGS84 points."""
    import geopandas as gpd
    import shapely

    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise TableError(
            _("Cannot read %(path)s: %(error)s") % {"path": path.name, "error": exc}
        ) from exc
    if frame.crs is None:
        if not srid:
            raise TableError(
                _("%(path)s declares no coordinate reference system; set srid in the mapping.")
                % {"path": path.name}
            )
        frame = frame.set_crs(epsg=srid)
    frame = frame.to_crs(epsg=settings.ATLAS_SRID)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    rows = []
    for number, (record, geometry) in enumerate(
        zip(frame[columns].to_dict("records"), frame.geometry, strict=True), start=1
    ):
        point = None
        if geometry is not None and not geometry.is_empty:
            if not isinstance(geometry, shapely.Point):
                geometry = geometry.representative_point()
            point = (geometry.x, geometry.y)
        rows.append(
            SourceRow(number=number, values={k: _text(v) for k, v in record.items()}, point=point)
        )
    return Table(columns=columns, rows=rows)
