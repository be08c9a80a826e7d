"""Opening files that strangers send (uploads, import files) within limits from the settings.

Every importer and upload page reads through these functions, so one set of limits
holds everywhere: the size of the file, the unpacked size of a zip archive (the
sizes it declares and the bytes it really yields), rows, columns and non-empty
cells of a table, the dimension an Excel sheet declares, and the features of a
vector file. A file that breaks a limit or is not what its name says raises
``FileRefused`` with a message that says what to do, before much is read.

Nothing here knows about services or areas: readers give rows of text cells (CSV,
Excel) or check a file before geopandas/pyogrio reads it.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

import pyogrio
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._reader import WorkSheetParser

COPY_CHUNK = 1 << 20
SNIFF_CHARS = 8192


class FileRefused(Exception):
    """The file breaks a limit or is not what its name says; the message says why."""


@dataclass(frozen=True)
class Limits:
    """How much of a file the atlas reads; defaults from the ``ATLAS_IMPORT_MAX_*`` settings."""

    file_bytes: int
    unpacked_bytes: int
    rows: int
    columns: int
    cells: int
    cell_chars: int

    @classmethod
    def from_settings(cls, **overrides: int) -> Limits:
        limits = cls(
            file_bytes=settings.ATLAS_IMPORT_MAX_FILE_BYTES,
            unpacked_bytes=settings.ATLAS_IMPORT_MAX_UNPACKED_BYTES,
            rows=settings.ATLAS_IMPORT_MAX_ROWS,
            columns=settings.ATLAS_IMPORT_MAX_COLUMNS,
            cells=settings.ATLAS_IMPORT_MAX_CELLS,
            cell_chars=settings.ATLAS_IMPORT_MAX_CELL_CHARS,
        )
        return replace(limits, **overrides)

    @classmethod
    def for_addresses(cls, **overrides: int) -> Limits:
        """Address files: many more rows than a table of services, each with a few fields."""
        rows = settings.ATLAS_IMPORT_MAX_ADDRESS_ROWS
        return cls.from_settings(**{"rows": rows, "cells": rows * 12, **overrides})


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def check_file(path: str | Path, limits: Limits | None = None) -> Path:
    """The path if it names a non-empty regular file within the size limit."""
    limits = limits or Limits.from_settings()
    path = Path(path)
    if not path.is_file():
        raise FileRefused(_("File not found: %(path)s") % {"path": path})
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(_("%(path)s is empty.") % {"path": path.name})
    if size > limits.file_bytes:
        raise FileRefused(
            _("%(path)s has %(size)s; the atlas reads files up to %(limit)s.")
            % {
                "path": path.name,
                "size": _megabytes(size),
                "limit": _megabytes(limits.file_bytes),
            }
        )
    return path


# --- zip archives -------------------------------------------------------------------------


def open_zip(path: Path, *, what: str | None = None) -> zipfile.ZipFile:
    """Open a zip archive (an .xlsx is one too); a file that is none gets a plain message."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if what:
            message = _(
                "%(path)s is not an %(what)s (it is not a zip archive, as every .xlsx is);"
                " open it in a spreadsheet program and save it again as %(what)s."
            ) % {"path": path.name, "what": what}
        else:
            message = _("%(path)s is not a readable zip archive: %(error)s") % {
                "path": path.name,
                "error": exc,
            }
        raise FileRefused(message) from exc


def check_declared_sizes(archive: zipfile.ZipFile, name: str, limits: Limits) -> None:
    """Refuse an archive whose members declare more than the unpacked limit in total."""
    refuse_declared_size(name, sum(member.file_size for member in archive.infolist()), limits)


def refuse_declared_size(name: str, declared: int, limits: Limits) -> None:
    """Refuse a file whose declared unpacked size (zip members, gzip trailer) is over the limit."""
    if declared > limits.unpacked_bytes:
        raise FileRefused(
            _("%(path)s unpacks to %(size)s; the atlas unpacks at most %(limit)s.")
            % {
                "path": name,
                "size": _megabytes(declared),
                "limit": _megabytes(limits.unpacked_bytes),
            }
        )


@dataclass
class UnpackBudget:
    """Bytes left to unpack from one archive; counts what members really yield."""

    name: str
    left: int
    limit: int

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise FileRefused(
                _(
                    "%(path)s unpacks to more than %(limit)s (more than its members declare);"
                    " the atlas stopped reading it."
                )
                % {"path": self.name, "limit": _megabytes(self.limit)}
            )


def check_gzip(path: str | Path, limits: Limits | None = None, *, name: str | None = None) -> None:
    """Refuse a .gz file that unpacks beyond the unpacked-size limit, without storing it.

    First the size the file declares (gzip's trailer, the unpacked size modulo 4 GiB): a
    380 kB file of 400 MB blank lines is refused at once instead of after unpacking 300 MB
    (1.2-2.4 s). The trailer can lie or wrap around, so the unpacked bytes are then counted
    too, stopping at the limit.
    """
    limits = limits or Limits.from_settings()
    path = Path(path)
    name = name or path.name
    with open(path, "rb") as raw:
        if raw.seek(0, io.SEEK_END) >= 18:  # the smallest gzip file: header and trailer
            raw.seek(-4, io.SEEK_END)
            refuse_declared_size(name, int.from_bytes(raw.read(4), "little"), limits)
    budget = UnpackBudget(name, limits.unpacked_bytes, limits.unpacked_bytes)
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(COPY_CHUNK):
                budget.spend(len(chunk))
    except (OSError, EOFError) as exc:
        raise FileRefused(
            _("Cannot read %(path)s: %(error)s") % {"path": name, "error": exc}
        ) from exc


def copy_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: UnpackBudget
) -> None:
    """Write one member to ``target`` in chunks, stopping as soon as the budget is spent."""
    try:
        with archive.open(member) as source, open(target, "wb") as sink:
            while chunk := source.read(COPY_CHUNK):
                budget.spend(len(chunk))
                sink.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as exc:
        raise FileRefused(
            _("%(member)s in %(path)s cannot be unpacked: %(error)s")
            % {"member": member.filename, "path": budget.name, "error": exc}
        ) from exc


def archive_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The files of an archive, without folders and the dot files macOS adds."""
    return [
        m
        for m in archive.infolist()
        if not m.is_dir() and not Path(m.filename).name.startswith(("._", "."))
    ]


@contextmanager
def unpacked(
    path: str | Path,
    choose: Callable[[list[zipfile.ZipInfo]], tuple[list[zipfile.ZipInfo], zipfile.ZipInfo]],
    *,
    limits: Limits | None = None,
    prefix: str = "atlas-unpacked-",
) -> Iterator[Path]:
    """Unpack the members ``choose`` picks into a temporary folder; yield the main one's path.

    ``choose`` gets the archive's files and returns (members to unpack, the one to
    read). Members land under their bare file name (archive paths are never
    trusted), the declared sizes are checked first and the real bytes while
    copying, and the folder is removed when the block ends, also on errors.
    """
    limits = limits or Limits.from_settings()
    path = check_file(path, limits)
    with open_zip(path) as archive, tempfile.TemporaryDirectory(prefix=prefix) as folder:
        check_declared_sizes(archive, path.name, limits)
        wanted, main = choose(archive_members(archive))
        budget = UnpackBudget(path.name, limits.unpacked_bytes, limits.unpacked_bytes)
        for member in wanted:
            copy_member(archive, member, Path(folder) / Path(member.filename).name, budget)
        yield Path(folder) / Path(main.filename).name


# --- CSV ----------------------------------------------------------------------------------


@dataclass
class TableCounter:
    """Counts rows and non-empty cells against the limits while a table is read."""

    name: str
    limits: Limits
    rows: int = 0
    cells: int = 0

    def header(self, width: int) -> None:
        if width > self.limits.columns:
            raise FileRefused(
                _("%(path)s has %(n)d columns; the atlas reads at most %(limit)d.")
                % {"path": self.name, "n": width, "limit": self.limits.columns}
            )

    def row(self, number: int, cells: list[str]) -> None:
        self.rows += 1
        if self.rows > self.limits.rows:
            raise _too_many_rows(self.name, self.limits)
        filled = [cell for cell in cells if cell]  # builtins per row, not Python per cell
        self.cells += len(filled)
        if "\x00" in "".join(filled):
            raise FileRefused(
                _(
                    "Row %(row)d of %(path)s contains a NUL byte: it is not a text table"
                    " (or it is UTF-16; save it as UTF-8)."
                )
                % {"row": number, "path": self.name}
            )
        if filled and max(map(len, filled)) > self.limits.cell_chars:
            raise FileRefused(
                _("A cell in row %(row)d of %(path)s has more than %(limit)d characters.")
                % {"row": number, "path": self.name, "limit": self.limits.cell_chars}
            )
        if self.cells > self.limits.cells:
            raise FileRefused(
                _("%(path)s has more than %(limit)d filled cells; split it or raise the limit.")
                % {"path": self.name, "limit": self.limits.cells}
            )


def _text_stream(path: Path, encoding: str | None) -> io.TextIOWrapper:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise FileRefused(_("Unknown encoding “%(e)s”.") % {"e": encoding}) from exc
    # utf-8-sig strips the byte order mark Excel writes; newline="" as the csv module wants.
    return open(path, encoding=encoding or "utf-8-sig", newline="", errors="strict")


def _decode_error(path: Path, encoding: str | None, exc: UnicodeDecodeError) -> FileRefused:
    if encoding:
        return FileRefused(
            _("%(path)s is not %(encoding)s: %(error)s")
            % {"path": path.name, "encoding": encoding, "error": exc}
        )
    return FileRefused(
        _(
            "%(path)s is not UTF-8; set encoding in the mapping's [source] section"
            ' (e.g. encoding = "cp1252").'
        )
        % {"path": path.name}
    )


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def iter_csv(
    path: str | Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    limits: Limits | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, stripped cells) of every record, header first, streaming the file.

    Memory stays at one record; rows, columns, filled cells, cell length and NUL bytes
    are checked as the records come, so a hostile file stops at its first excess.
    """
    limits = limits or Limits.from_settings()
    path = check_file(path, limits)
    counter = TableCounter(path.name, limits)
    with _text_stream(path, encoding) as stream:
        try:
            sample = stream.read(SNIFF_CHARS)
            if encoding:
                sample = sample.removeprefix("\ufeff")
            if not sample.strip():
                raise FileRefused(_("%(path)s is empty.") % {"path": path.name})
            delimiter = delimiter or _sniff_delimiter(sample)
            _refuse_too_many_records(path, stream, delimiter, encoding, limits)
            stream.seek(0)
            if encoding and stream.read(1) != "\ufeff":
                stream.seek(0)
            reader = csv.reader(_lines(stream, limits, path.name), delimiter=delimiter)
            yield from _counted_records(reader, counter)
        except UnicodeDecodeError as exc:
            raise _decode_error(path, encoding, exc) from exc
        except csv.Error as exc:
            raise FileRefused(
                _("%(path)s is not a readable CSV file (line %(line)d): %(error)s")
                % {"path": path.name, "line": reader.line_num, "error": exc}
            ) from exc


def _too_many_rows(name: str, limits: Limits) -> FileRefused:
    return FileRefused(
        _("%(path)s has more than %(limit)d rows; split it or raise the limit.")
        % {"path": name, "limit": limits.rows}
    )


def more_records_than(path: Path, limit: int, encoding: str | None = None) -> bool | None:
    """Whether a plain-text table has more than ``limit`` records, judged from its bytes.

    Parsing and checking each record costs ~10-25 µs in Python: a 7.8 MB CSV of 230,000
    short rows took 2.4-3.0 s to reach the limit at row 100,001 (target: refused within
    2 s), while counting its line breaks takes ~40 ms. Without a quote character no line
    break can sit inside a cell, so every break ends a record (header and blank lines are
    records too, as in ``TableCounter``). True: surely more; False: surely not (there are
    not even that many breaks); None: cannot tell (quoted cells may span lines, or the
    encoding is not ASCII-compatible, e.g. UTF-16).
    """
    if not _ascii_compatible(encoding or "utf-8"):
        return None
    breaks, quoted = 0, False
    with open(path, "rb") as raw:
        while chunk := raw.read(COPY_CHUNK):
            breaks += chunk.count(b"\n")
            quoted = quoted or b'"' in chunk
    if breaks <= limit:
        return False
    return None if quoted else True


def _ascii_compatible(encoding: str) -> bool:
    try:
        encoder = codecs.getincrementalencoder(encoding)()
    except LookupError:
        return False
    encoder.encode("x")  # a byte-order mark (utf-8-sig) comes out first
    return encoder.encode('\n"') == b'\n"'


def _refuse_too_many_records(
    path: Path, stream, delimiter: str, encoding: str | None, limits: Limits
) -> None:
    """Refuse a CSV of more records than the row limit before any record is parsed: from
    its bytes (``more_records_than``) or, with quoted cells, by letting the C csv parser
    count the records first (no Python per cell)."""
    verdict = more_records_than(path, limits.rows, encoding)
    if verdict is None:
        stream.seek(0)
        records = csv.reader(_lines(stream, limits, path.name), delimiter=delimiter)
        verdict = next(islice(records, limits.rows, None), None) is not None
    if verdict:
        raise _too_many_rows(path.name, limits)


def _lines(stream, limits: Limits, name: str) -> Iterator[str]:
    """The stream's lines, refusing one longer than a whole record may be.

    The csv module builds a record's full list of cells before anyone can count
    them; a line of millions of separators would cost hundreds of megabytes.
    """
    longest = limits.cell_chars * 4
    while line := stream.readline(longest + 1):
        if len(line) > longest:
            raise FileRefused(
                _("%(path)s has a line longer than %(limit)d characters; is it a CSV table?")
                % {"path": name, "limit": longest}
            )
        yield line


def _counted_records(reader, counter: TableCounter) -> Iterator[tuple[int, list[str]]]:
    first = True
    for record in reader:
        cells = [cell.strip() for cell in record]
        if first:
            counter.header(len(cells))
            first = False
        counter.row(reader.line_num, cells)
        yield reader.line_num, cells


# --- Excel --------------------------------------------------------------------------------


@dataclass
class Sheet:
    """The rows of one worksheet (row number, cell values by column) and its merged ranges."""

    names: list[str]
    rows: list[tuple[int, list]] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # rows, then columns


def _check_dimension(worksheet, name: str, limits: Limits) -> None:
    """Refuse a sheet whose declared dimension exceeds the limits (XFD1048576 and the like)."""
    max_row, max_col = worksheet.max_row or 0, worksheet.max_column or 0
    if max_col > limits.columns or max_row > limits.rows + 1:
        raise FileRefused(
            _(
                "The sheet in %(path)s declares %(rows)d rows and %(cols)d columns; the atlas"
                " reads at most %(max_rows)d rows and %(max_cols)d columns. Delete the empty rows"
                " and columns after the table (or a stray cell far away) and save it again."
            )
            % {
                "path": name,
                "rows": max_row,
                "cols": max_col,
                "max_rows": limits.rows,
                "max_cols": limits.columns,
            }
        )


def _choose_sheet(workbook, sheet: str | None):
    if sheet and sheet not in workbook.sheetnames:
        raise FileRefused(
            _("There is no sheet “%(sheet)s”; the workbook has: %(names)s")
            % {"sheet": sheet, "names": ", ".join(workbook.sheetnames)}
        )
    return workbook[sheet] if sheet else workbook.worksheets[0]


def read_sheet(
    path: str | Path, *, sheet: str | None = None, limits: Limits | None = None
) -> Sheet:
    """Read one worksheet of an .xlsx file, streaming its XML within the limits.

    The archive's declared sizes and the sheet's declared dimension are checked
    before any cell is read; then rows are parsed one at a time (the parser of
    openpyxl's read-only mode, which also collects the merged ranges) and counted,
    with no padding of missing rows or cells, so a stray cell at XFD1048576 costs
    nothing and a sheet that lies about its dimension still stops at the limits.
    """
    limits = limits or Limits.from_settings()
    path = check_file(path, limits)
    with open_zip(path, what=_("Excel workbook (.xlsx)")) as archive:
        check_declared_sizes(archive, path.name, limits)
    workbook = None
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        worksheet = _choose_sheet(workbook, sheet)
        _check_dimension(worksheet, path.name, limits)
        result = Sheet(names=list(workbook.sheetnames))
        with worksheet._get_source() as source:
            parser = WorkSheetParser(
                source,
                worksheet._shared_strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            _collect_rows(parser, result, TableCounter(path.name, limits))
            if parser.merged_cells is not None:
                result.merged = [_bounds(r.ref) for r in parser.merged_cells.mergeCell]
    except FileRefused:
        raise
    except Exception as exc:  # openpyxl raises many unrelated types for broken workbooks
        raise FileRefused(
            _("%(path)s is not a readable Excel file: %(error)s")
            % {"path": path.name, "error": exc}
        ) from exc
    finally:
        if workbook is not None:
            workbook.close()
    return result


def _collect_rows(parser: WorkSheetParser, sheet: Sheet, counter: TableCounter) -> None:
    for number, cells in parser.parse():
        width = max((cell["column"] for cell in cells), default=0)
        counter.header(width)
        values = [None] * width
        for cell in cells:
            values[cell["column"] - 1] = cell["value"]
        counter.row(number, [str(v) for v in values if v is not None])
        sheet.rows.append((number, values))


def _bounds(ref: str) -> tuple[int, int, int, int]:
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    return min_row, min_col, max_row, max_col


# --- vector files (what geopandas/pyogrio read) -------------------------------------------


def check_vector(path: str | Path, *, layer: str | None = None, limits: Limits | None = None):
    """Refuse a vector file with more features or fields than the limits, before reading it.

    Returns pyogrio's ``read_info`` for the layer, so callers need not ask twice.
    """
    limits = limits or Limits.from_settings()
    path = Path(path)
    try:
        info = pyogrio.read_info(path, layer=layer, force_feature_count=True)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise FileRefused(
            _("Cannot read %(path)s: %(error)s") % {"path": path.name, "error": exc}
        ) from exc
    features, fields = max(int(info["features"]), 0), len(info["fields"])
    if features > limits.rows:
        raise FileRefused(
            _("%(path)s has %(n)d features; the atlas reads at most %(limit)d.")
            % {"path": path.name, "n": features, "limit": limits.rows}
        )
    if fields > limits.columns:
        raise FileRefused(
            _("%(path)s has %(n)d fields; the atlas reads at most %(limit)d.")
            % {"path": path.name, "n": fields, "limit": limits.columns}
        )
    if features * fields > limits.cells:
        raise FileRefused(
            _("%(path)s has more than %(limit)d cells; split it or raise the limit.")
            % {"path": path.name, "limit": limits.cells}
        )
    return info
