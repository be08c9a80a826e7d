"""Reading tables of services from CSV, Excel and GeoJSON files into plain rows.

Every reader returns the same shape: column names and a list of ``SourceRow``
(its number as a person finds it in the file, its values as text, and a WGS84
point if the file carried a geometry). Files that cannot be read as they are
raise ``TableError`` with a message that says what to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from atlas.core.files import (
    FileRefused,
    Limits,
    Sheet,
    TableCounter,
    check_file,
    check_vector,
    iter_csv,
    read_sheet,
)


class TableError(Exception):
    """The file cannot be read as a table; the message says why and what to do."""


@dataclass(slots=True)
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
    limits: Limits | None = None,
) -> Table:
    """Read a CSV, Excel (.xlsx) or GeoJSON file, chosen by its extension, within ``limits``."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        check_file(path, limits)
        if suffix in (".csv", ".txt", ".tsv"):
            return read_csv(path, delimiter=delimiter, encoding=encoding, limits=limits)
        if suffix in (".xlsx", ".xlsm"):
            return read_excel(path, sheet=sheet, header_rows=header_rows, limits=limits)
        if suffix in (".geojson", ".json"):
            return read_geojson(path, srid=srid, limits=limits)
    except FileRefused as exc:
        raise TableError(str(exc)) from exc
    raise TableError(
        _("Cannot read “%(suffix)s” files; use CSV, Excel (.xlsx) or GeoJSON.")
        % {"suffix": suffix or path.name}
    )


def _filled(columns: list[str], cells: list) -> dict[str, str]:
    """The row's non-empty cells by column (rows keep no empty cells: wide files stay small)."""
    return {column: cell for column, cell in zip(columns, cells, strict=False) if column and cell}


def read_csv(
    path: Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    limits: Limits | None = None,
) -> Table:
    records = iter_csv(path, delimiter=delimiter, encoding=encoding, limits=limits)
    try:
        _number, header = next(records)
    except StopIteration as exc:
        raise TableError(_("%(path)s has no header row.") % {"path": path.name}) from exc
    columns = header
    _check_header(columns, path.name)
    rows = [
        SourceRow(number=number, values=_filled(columns, cells))
        for number, cells in records
        if any(cells)
    ]
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


def _header_grid(sheet: Sheet, header_rows: int) -> tuple[list[list[str]], list[str]]:
    """The header rows as text, merged cells filled across their range; and the merged ranges."""
    by_number = dict(sheet.rows)
    grid = [[_text(v) for v in by_number.get(r, [])] for r in range(1, header_rows + 1)]
    width = max((len(r) for r in grid), default=0)
    for merged in sheet.merged:
        width = max(width, merged[3] if merged[0] <= header_rows else 0)
    grid = [row + [""] * (width - len(row)) for row in grid]
    merged_in_header = []
    for min_row, min_col, max_row, max_col in sheet.merged:
        if min_row > header_rows:
            continue
        value = grid[min_row - 1][min_col - 1]
        for r in range(min_row, min(max_row, header_rows) + 1):
            for c in range(min_col, max_col + 1):
                grid[r - 1][c - 1] = value
        if max_col > min_col:
            merged_in_header.append(
                f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
            )
    return grid, merged_in_header


def _stacked_columns(grid: list[list[str]]) -> list[str]:
    columns = []
    for c in range(max((len(r) for r in grid), default=0)):
        parts = []
        for row in grid:
            part = row[c] if c < len(row) else ""
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        columns.append(" / ".join(parts))
    return columns


def read_excel(
    path: Path, *, sheet: str | None = None, header_rows: int = 1, limits: Limits | None = None
) -> Table:
    """Read the first (or the named) sheet; ``header_rows`` > 1 joins stacked headers.

    Merged header cells are filled across their range. If that still leaves
    columns without a name of their own (a group header merged over several
    columns), the file is refused with the cell range and what to do.
    """
    header_rows = max(1, header_rows)
    worksheet = read_sheet(path, sheet=sheet, limits=limits)
    grid, merged_in_header = _header_grid(worksheet, header_rows)
    columns = _stacked_columns(grid)
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates and merged_in_header:
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
    rows = []
    for number, record in worksheet.rows:
        if number <= header_rows:
            continue
        values = _filled(columns, [_text(v) for v in record])
        if values:
            rows.append(SourceRow(number=number, values=values))
    return Table(columns=[c for c in columns if c], rows=rows)


def read_geojson(path: Path, *, srid: int | None = None, limits: Limits | None = None) -> Table:
    """Read a GeoJSON file in any CRS it declares (or ``srid``), as WGS84 points."""
    check_vector(path, limits=limits)
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
    counter = TableCounter(path.name, limits or Limits.from_settings())
    rows = []
    for number, (record, geometry) in enumerate(
        zip(frame[columns].to_dict("records"), frame.geometry, strict=True), start=1
    ):
        point = None
        if geometry is not None and not geometry.is_empty:
            if not isinstance(geometry, shapely.Point):
                geometry = geometry.representative_point()
            point = (geometry.x, geometry.y)
        values = {k: _text(v) for k, v in record.items()}
        counter.row(number, list(values.values()))
        rows.append(
            SourceRow(number=number, values={k: v for k, v in values.items() if v}, point=point)
        )
    return Table(columns=columns, rows=rows)
