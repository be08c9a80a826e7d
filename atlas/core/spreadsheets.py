"""The one cell sanitiser of every CSV and Excel file the atlas writes.

Anyone may name an organisation or a service; a name such as ``=HYPERLINK("http://evil",
"Klick")`` must arrive in a spreadsheet as text, not as a formula. Following OWASP's
guidance on CSV injection, a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading apostrophe in CSV (spreadsheet programs hide it and show
the text). In Excel files such a cell is written as an explicit string cell, so the text
stays exactly as it was and is never a formula. Numbers stay numbers.

The one large CSV, the service table (every service and location), is written by
PostgreSQL by the same rules, built from the same constants (``CsvLine``);
tests/providers/test_export_csv_lines.py holds it to the Python writer byte for byte.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator

from django.db.models import Func, TextField
from openpyxl.cell import WriteOnlyCell

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What makes the csv module's writer (QUOTE_MINIMAL, excel dialect) quote a cell: the
# delimiter, the quote character and the characters of its line terminator.
QUOTED_CHARACTERS = (",", '"', "\r", "\n")


def plain(value):
    """A cell's value before sanitising: empty for None, true/false, ISO dates, else as is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    return str(value)


def is_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def csv_cell(value):
    """A CSV cell: formula-like text behind an apostrophe."""
    # Written out rather than through is_formula: it runs for every cell of every export
    # (34 a row), and text, most cells, needs no conversion.
    if type(value) is not str:
        if value is None:
            return ""
        value = plain(value)
        if not isinstance(value, str):  # numbers stay numbers
            return value
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def xlsx_row(sheet, values: Iterable) -> list:
    """A row for ``sheet.append`` of a write-only workbook: formula-like text as a string
    cell (openpyxl would otherwise store any text starting with ``=`` as a formula)."""
    row = []
    for value in values:
        value = plain(value)
        if is_formula(value):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            value = cell
        row.append(value)
    return row


def csv_lines(
    rows: Iterable[Iterable], *, delimiter: str = ",", rows_per_chunk: int = 500
) -> Iterator[str]:
    """CSV text in chunks of ``rows_per_chunk`` lines (for streaming), every cell through
    ``csv_cell``; the first line starts with a byte-order mark so that Excel reads UTF-8.

    Chunks, not single lines: a stream of one write (and one gzip call, one file write) per
    line cost about 1 s of the 6 s of the first CSV export of 103,701 services."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    buffer.write("\ufeff")
    rows = iter(rows)
    while batch := list(itertools.islice(rows, rows_per_chunk)):
        writer.writerows(map(csv_row, batch))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows at all: the byte-order mark alone
        yield buffer.getvalue()


def csv_row(values: Iterable) -> list:
    return [csv_cell(v) for v in values]


def csv_text(
    header: list[str], lines: Iterable[str], *, lines_per_chunk: int = 500
) -> Iterator[str]:
    """CSV text in chunks: the byte-order mark and ``header`` (``csv_lines``), then
    ``lines``, each a complete line as ``CsvLine`` builds it."""
    yield from csv_lines([header])
    lines = iter(lines)
    while batch := list(itertools.islice(lines, lines_per_chunk)):
        yield "".join(batch)


# -- the same cells, written by PostgreSQL ---------------------------------------------


def _sql_text(text: str) -> str:
    """A constant of ours as an SQL string literal (standard_conforming_strings: only the
    quote is special; tab, CR and LF stand in it as themselves)."""
    return "'" + text.replace("'", "''") + "'"


def _sql_class(characters: Iterable[str]) -> str:
    """A bracket expression of single characters for PostgreSQL's ``~``, ``-`` last,
    where it stands for itself."""
    ordered = sorted(set(characters), key=lambda c: c == "-")
    if any(len(c) != 1 or c in "]^\\" for c in ordered):
        raise ValueError(f"not a plain character class: {ordered!r}")
    return "[" + "".join(ordered) + "]"


_FORMULA = _sql_text("^" + _sql_class(FORMULA_PREFIXES))
_NEEDS_QUOTES = _sql_text(_sql_class(QUOTED_CHARACTERS))
_DEFUSED = f"CASE WHEN {{x}} ~ {_FORMULA} THEN '''' || {{x}} ELSE {{x}} END"
# Per kind of value, what csv_cell and the csv writer make of the value psycopg2 would
# read; {x} stands for the value.
_FORMS = {
    "text": (
        f"CASE WHEN {{x}} IS NULL THEN '' WHEN {{x}} ~ {_NEEDS_QUOTES}"
        f""" THEN '"' || replace({_DEFUSED}, '"', '""') || '"' ELSE {_DEFUSED} END"""
    ),
    "integer": "coalesce(({x})::text, '')",
    # Python writes repr(float): integral values end in ".0"; otherwise PostgreSQL's
    # shortest form is the same, exponents too, for magnitudes below 1e15.
    "float": (
        "coalesce(CASE WHEN ({x})::text ~ '^-?[0-9]+$' THEN ({x})::text || '.0'"
        " ELSE ({x})::text END, '')"
    ),
    "boolean": "CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' ELSE '' END",
    # isoformat(), whatever DateStyle and TimeZone the server runs with (Django reads
    # timestamps in UTC).
    "date": "coalesce(to_char({x}, 'YYYY-MM-DD'), '')",
    "datetime": (
        """coalesce(to_char(({x}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')"""
        " || CASE WHEN to_char({x}, 'US') = '000000' THEN '' ELSE '.' || to_char({x}, 'US')"
        " END || '+00:00', '')"
    ),
}
_FORM_OF_FIELD = {
    **dict.fromkeys(("CharField", "TextField", "SlugField", "EmailField", "URLField"), "text"),
    **dict.fromkeys(
        (
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveBigIntegerField",
            "PositiveSmallIntegerField",
        ),
        "integer",
    ),
    "FloatField": "float",
    "BooleanField": "boolean",
    "DateField": "date",
    "DateTimeField": "datetime",
}


class CsvLine(Func):
    """One CSV line of its expressions, line end included, built by PostgreSQL as
    ``csv_lines`` writes the values that psycopg2 reads: every cell as ``csv_cell`` makes
    it (formulas defused, true/false, ISO dates), quoted where the csv module quotes.

    The first service export after a change spent 2.5 of its 4 s in Python turning 3.5
    million values into cells and text (103,701 rows); PostgreSQL does the same in 0.9 s
    and sends one string a row. A value of a kind without a form here is refused when the
    statement is compiled, rather than written some other way."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        cells, params = [], []
        for expression in self.get_source_expressions():
            sql, cell_params = compiler.compile(expression)
            kind = expression.output_field.get_internal_type()
            if kind not in _FORM_OF_FIELD:
                raise TypeError(f"No CSV form for a {kind}")
            form = _FORMS[_FORM_OF_FIELD[kind]]
            cells.append(form.replace("{x}", f"({sql})"))
            params.extend(list(cell_params) * form.count("{x}"))
        return " || ',' || ".join(cells) + " || " + _sql_text("\r\n"), params
