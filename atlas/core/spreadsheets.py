"""The one cell sanitiser of every CSV and Excel file the atlas writes.

Anyone may name an organisation or a service; a name such as ``=HYPERLINK("http://evil",
"Klick")`` must arrive in a spreadsheet as text, not as a formula. Following OWASP's
guidance on CSV injection, a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading apostrophe in CSV (spreadsheet programs hide it and show
the text). In Excel files such a cell is written as an explicit string cell, so the text
stays exactly as it was and is never a formula. Numbers stay numbers.

The one large CSV, the service table (every service and location), is written by
PostgreSQL by the same rules, built from the same constants (``CsvLines``);
tests/providers/test_export_csv_lines.py holds it to the Python writer byte for byte.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
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
    ``lines``, each a complete line as ``CsvLines`` writes it."""
    yield from csv_lines([header])
    lines = iter(lines)
    while batch := list(itertools.islice(lines, lines_per_chunk)):
        yield "".join(batch)


# -- the same cells, written by PostgreSQL ---------------------------------------------


def _sql_text(text: str) -> str:
    """A constant of ours as an SQL string literal (standard_conforming_strings: only the
    quote is special; tab, CR and LF stand in it as themselves)."""
    return "'" + text.replace("'", "''") + "'"


# Cheaper than a regular expression for each of the 3.5 million cells of the service table
# at city scale: ``ascii`` of the first character, and one ``strpos`` per character.
_FORMULA = f"ascii({{x}}) IN ({', '.join(str(ord(c)) for c in FORMULA_PREFIXES)})"
_NEEDS_QUOTES = " OR ".join(f"strpos({{x}}, {_sql_text(c)}) > 0" for c in QUOTED_CHARACTERS)
_DEFUSED = f"CASE WHEN {_FORMULA} THEN '''' || {{x}} ELSE {{x}} END"
# Per kind of value, what csv_cell and the csv writer make of the value psycopg2 would
# read; {x} stands for the value.
_FORMS = {
    "text": (
        f"CASE WHEN {{x}} IS NULL THEN '' WHEN {_NEEDS_QUOTES}"
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


class CsvLines:
    """The rows of a ``values_list`` query as CSV lines, line ends included, written by
    PostgreSQL as ``csv_lines`` writes the values that psycopg2 reads: every cell as
    ``csv_cell`` makes it (formulas defused, true/false, ISO dates), quoted where the csv
    module quotes. Each row is ``(line, *passed)``: the ``passed`` columns (a data version,
    say) are read as they are, after the line.

    The first service export after a change spent 2.5 of its 4 s in Python turning 3.5
    million values into cells and text (103,701 rows); PostgreSQL does the same in about
    1 s and sends one string a row. The lines are written over the finished query, a
    derived table read in the query's order: written inside it, every line went through the
    query's grouping and its sort (54 MB spilled to disk instead of 38).

    Every column needs a name for the outer statement to read it by (a ``values_list``
    query), and the query may be ordered by its columns only. A value of a kind without a
    form here is refused when the statement is compiled, rather than written some other
    way."""

    def __init__(self, rows: QuerySet, *, passed: Iterable[str] = ()):
        self.rows = rows
        self.passed = tuple(passed)

    def sql_with_params(self) -> tuple[str, tuple]:
        quote = connections[self.rows.db].ops.quote_name
        compiler = self.rows.query.get_compiler(using=self.rows.db)
        sql, params = compiler.as_sql()
        kinds = {}
        for expression, _, alias in compiler.select:
            if alias is None:
                raise ValueError("CsvLines needs every column named (values_list)")
            kinds[alias] = expression.output_field.get_internal_type()
        if missing := set(self.passed) - set(kinds):
            raise ValueError(f"No such columns to pass: {sorted(missing)}")
        cells = []
        for alias, kind in kinds.items():
            if alias in self.passed:
                continue
            if kind not in _FORM_OF_FIELD:
                raise TypeError(f"No CSV form for a {kind}")
            cells.append(_FORMS[_FORM_OF_FIELD[kind]].replace("{x}", f"r.{quote(alias)}"))
        line = " || ',' || ".join(cells) + " || " + _sql_text("\r\n")
        selected = ", ".join([line, *(f"r.{quote(alias)}" for alias in self.passed)])
        order = []
        query = self.rows.query
        for name in query.order_by or (query.get_meta().ordering if query.default_ordering else ()):
            alias = name.removeprefix("-") if isinstance(name, str) else None
            if alias not in kinds:
                raise ValueError(f"CsvLines orders by its columns only, not by {name!r}")
            order.append(f"r.{quote(alias)}{' DESC' if name.startswith('-') else ''}")
        # The derived table's own order: PostgreSQL reads it so and sorts nothing again.
        ordered = f" ORDER BY {', '.join(order)}" if order else ""
        # Django compiled the query; the names are quoted and every value is a parameter.
        return f"SELECT {selected} FROM ({sql}) AS r{ordered}", tuple(params)  # noqa: S608

    def iterator(self, chunk_size: int = 5000) -> Iterator[tuple]:
        """The rows, fetched ``chunk_size`` at a time from a server-side cursor as
        ``QuerySet.iterator`` does (a plain cursor where the settings turn them off)."""
        connection = connections[self.rows.db]
        try:
            sql, params = self.sql_with_params()
        except EmptyResultSet:  # a query that can match nothing (``none()``)
            return
        server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
        with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(chunk_size):
                yield from rows
