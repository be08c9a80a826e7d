"""Import indicator values per area from a CSV or Excel table: all or nothing.

One row per area, keyed by its code in ``code_field``; one column per indicator.
A mapping (TOML) names the columns to import and describes their indicators::

    period = 2024-12-31                 # the date the values describe
    source = "Amt für Statistik Berlin-Brandenburg"
    licence = "CC BY 3.0 DE"

    [indicators.inhabitants-under-6]
    column = "inhabitants_age_below_6"
    name = "Einwohner*innen unter 6 Jahren"
    unit = "persons"
    aggregation = "sum"
    age_from = 0
    age_below = 6

    [indicators.child-poverty]
    column = "Child Poverty Percent"
    aggregation = "weighted_mean"
    weight = "inhabitants-under-15"      # another indicator's slug

Without a mapping, every column named like an existing indicator's slug is
imported. The whole file is checked first (unknown codes, duplicate rows,
non-numbers, missing columns); one error and nothing is written. Empty cells
are skipped (MSS leaves sparsely populated areas empty); values already stored
for other areas or periods stay.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from atlas.core.files import FileRefused, iter_csv, read_sheet

from ..models import Area, Indicator, IndicatorValue, Layer

MAX_ERRORS = 50
# Figures of a municipality stay far below this; larger ones are typing errors.
MAX_ABS_VALUE = 1e15
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")


class IndicatorImportError(Exception):
    """The file or the mapping cannot be imported; ``errors`` says every reason."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class IndicatorSpec:
    """One indicator of a mapping: where its values are and what it is."""

    slug: str
    column: str
    name: str = ""
    unit: str = ""
    description: str = ""
    source: str = ""
    licence: str = ""
    reference_date: datetime.date | None = None
    polarity: str = Indicator.Polarity.NEUTRAL
    aggregation: str = Indicator.Aggregation.NONE
    weight: str = ""
    numerator: str = ""
    denominator: str = ""
    scale: float = 1.0
    age_from: int | None = None
    age_below: int | None = None
    value_labels: dict = field(default_factory=dict)
    sort_order: int = 0


SPEC_KEYS = {f.name for f in fields(IndicatorSpec)} - {"slug"}


@dataclass
class IndicatorMapping:
    indicators: list[IndicatorSpec]
    period: datetime.date | None = None


def parse_mapping(data: dict) -> IndicatorMapping:
    """A mapping from parsed TOML; refuses unknown keys and wrong types, naming them."""
    errors = []
    unknown = set(data) - {"period", "source", "licence", "indicators"}
    if unknown:
        errors.append(_("Unknown keys in the mapping: %(keys)s") % {"keys": ", ".join(unknown)})
    period = data.get("period")
    if period is not None and not isinstance(period, datetime.date):
        errors.append(_("period must be a date such as 2024-12-31 (without quotes)."))
        period = None
    tables = data.get("indicators")
    if not isinstance(tables, dict) or not tables:
        errors.append(_("The mapping names no [indicators.<slug>] tables."))
        tables = {}
    specs = []
    for slug, table in tables.items():
        if not isinstance(table, dict):
            errors.append(_("indicators.%(slug)s must be a table.") % {"slug": slug})
            continue
        if not re.fullmatch(r"[-a-zA-Z0-9_]{1,80}", slug):
            errors.append(
                _("“%(slug)s” is not a slug (letters, digits, - and _, at most 80).")
                % {"slug": slug[:90]}
            )
            continue
        bad = set(table) - SPEC_KEYS
        if bad:
            errors.append(
                _("Unknown keys in indicators.%(slug)s: %(keys)s")
                % {"slug": slug, "keys": ", ".join(sorted(bad))}
            )
            continue
        values = {"source": data.get("source", ""), "licence": data.get("licence", "")}
        values.update(table)
        values.setdefault("column", slug)
        values.setdefault("name", slug)
        try:
            spec = IndicatorSpec(slug=slug, **values)
            _check_spec(spec)
        except (TypeError, ValueError) as exc:
            errors.append(f"indicators.{slug}: {exc}")
            continue
        specs.append(spec)
    if errors:
        raise IndicatorImportError(errors)
    return IndicatorMapping(indicators=specs, period=period)


def _check_spec(spec: IndicatorSpec) -> None:
    texts = ("column", "name", "unit", "description", "source", "licence")
    limits = {"name": 200, "unit": 40, "source": 500, "licence": 200, "column": 300}
    for key in texts + ("weight", "numerator", "denominator"):
        value = getattr(spec, key)
        if not isinstance(value, str):
            raise ValueError(_("%(key)s must be text.") % {"key": key})
        if "\x00" in value:
            raise ValueError(_("%(key)s contains a NUL byte.") % {"key": key})
        if key in limits and len(value) > limits[key]:
            raise ValueError(
                _("%(key)s is longer than %(limit)s characters.")
                % {"key": key, "limit": limits[key]}
            )
    if spec.aggregation not in Indicator.Aggregation.values:
        raise ValueError(
            _("aggregation must be one of %(choices)s.")
            % {"choices": ", ".join(Indicator.Aggregation.values)}
        )
    if spec.polarity not in Indicator.Polarity.values:
        raise ValueError(
            _("polarity must be one of %(choices)s.")
            % {"choices": ", ".join(Indicator.Polarity.values)}
        )
    if spec.aggregation == Indicator.Aggregation.WEIGHTED_MEAN and not spec.weight:
        raise ValueError(_("a weighted mean needs weight = <indicator slug>."))
    if spec.aggregation == Indicator.Aggregation.RATIO and not (
        spec.numerator and spec.denominator
    ):
        raise ValueError(_("a ratio needs numerator and denominator."))
    if not isinstance(spec.scale, int | float) or not math.isfinite(spec.scale):
        raise ValueError(_("scale must be a number."))
    for key in ("age_from", "age_below", "sort_order"):
        value = getattr(spec, key)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= 150):
            raise ValueError(_("%(key)s must be a whole number from 0 to 150.") % {"key": key})
    if spec.age_from is not None and spec.age_below is not None and spec.age_from >= spec.age_below:
        raise ValueError(_("age_below must be above age_from."))
    if spec.reference_date is not None and not isinstance(spec.reference_date, datetime.date):
        raise ValueError(_("reference_date must be a date."))
    if not isinstance(spec.value_labels, dict) or not all(
        isinstance(v, str) for v in spec.value_labels.values()
    ):
        raise ValueError(_("value_labels must map codes to words."))


def read_mapping(path: str | Path) -> IndicatorMapping:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndicatorImportError([_("Mapping not found: %(path)s") % {"path": path}]) from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise IndicatorImportError(
            [_("The mapping %(path)s is not valid TOML: %(error)s") % {"path": path, "error": exc}]
        ) from exc
    return parse_mapping(data)


# -- reading the table ------------------------------------------------------------


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number as the file shows it, cells)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < MAX_ABS_VALUE:
        return str(int(value))
    return str(value).strip()


def read_table(path: str | Path) -> Table:
    """A CSV (UTF-8, delimiter sniffed) or Excel (.xlsx) file's first sheet, as text cells,
    read by the one safe reader (``atlas.core.files``) within the import limits."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            return _table(iter_csv(path), path.name)
        if suffix in (".xlsx", ".xlsm"):
            sheet = read_sheet(path)
            return _table(
                ((number, [_cell_text(v) for v in cells]) for number, cells in sheet.rows),
                path.name,
            )
    except FileRefused as exc:
        raise IndicatorImportError([str(exc)]) from exc
    raise IndicatorImportError(
        [_("Cannot read “%(suffix)s” files; use CSV or Excel (.xlsx).") % {"suffix": suffix}]
    )


def _table(grid: Iterable[tuple[int, list[str]]], name: str) -> Table:
    iterator = iter(grid)
    header = None
    for _number, cells in iterator:
        if any(c.strip() for c in cells):
            header = [c.strip() for c in cells]
            break
    if header is None:
        raise IndicatorImportError([_("%(name)s has no header row.") % {"name": name}])
    while header and not header[-1]:
        header.pop()
    duplicates = sorted({c for c in header if c and header.count(c) > 1})
    if duplicates:
        raise IndicatorImportError(
            [
                _("Columns occur twice in the header: %(columns)s")
                % {"columns": ", ".join(duplicates)}
            ]
        )
    rows = []
    for number, cells in iterator:
        if not any(c.strip() for c in cells):
            continue
        rows.append(
            (
                number,
                {col: (cells[i].strip() if i < len(cells) else "") for i, col in enumerate(header)},
            )
        )
    return Table(columns=header, rows=rows)


def parse_number(text: str) -> float | None:
    """A finite number from a cell (a decimal comma allowed), None for an empty cell.

    Raises ValueError for anything else: words, "nan", "inf", thousands separators,
    figures beyond ±10¹⁵.
    """
    text = text.strip()
    if not text:
        return None
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if not NUMBER.fullmatch(text):
        raise ValueError(text)
    number = float(text)
    if not math.isfinite(number) or abs(number) > MAX_ABS_VALUE:
        raise ValueError(text)
    return number


# -- the import -------------------------------------------------------------------


@dataclass
class IndicatorImportReport:
    layer: str
    rows: int = 0
    indicators_created: list[str] = field(default_factory=list)
    indicators_changed: list[str] = field(default_factory=list)
    values_created: int = 0
    values_changed: int = 0
    values_unchanged: int = 0
    empty_cells: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def summary_lines(self) -> list[str]:
        lines = [str(self)]
        if self.ignored_columns:
            lines.append(
                _("Ignored columns: %(columns)s")
                % {"columns": ", ".join(self.ignored_columns[:40])}
            )
        return lines

    def __str__(self) -> str:
        return _(
            "%(rows)s rows for layer %(layer)s: indicators %(new_i)s new, %(changed_i)s changed; "
            "values %(new)s new, %(changed)s changed, %(same)s unchanged, %(empty)s empty cells"
        ) % {
            "rows": self.rows,
            "layer": self.layer,
            "new_i": len(self.indicators_created),
            "changed_i": len(self.indicators_changed),
            "new": self.values_created,
            "changed": self.values_changed,
            "same": self.values_unchanged,
            "empty": self.empty_cells,
        }


def _short(text: str, limit: int = 40) -> str:
    text = text.replace("\x00", "\\0")
    return text if len(text) <= limit else f"{text[:limit]}…"


def _specs_without_mapping(table: Table, code_field: str) -> tuple[list[IndicatorSpec], list[str]]:
    known = {i.slug: i for i in Indicator.objects.filter(slug__in=table.columns)}
    specs = [IndicatorSpec(slug=c, column=c) for c in table.columns if c in known]
    ignored = [c for c in table.columns if c not in known and c != code_field]
    return specs, ignored


def _resolve_codes(
    table: Table, layer: Layer, code_field: str, errors: list[str]
) -> dict[int, int]:
    """Row number → area id; unknown codes and duplicate rows go to ``errors``."""
    codes = dict(Area.objects.filter(layer=layer).values_list("code", "pk"))
    lengths = {len(c) for c in codes}
    # Excel drops leading zeros of numeric codes; put them back when every code has one length.
    pad = lengths.pop() if len(lengths) == 1 else None
    seen: dict[str, int] = {}
    result = {}
    unknown = []
    for number, cells in table.rows:
        code = cells.get(code_field, "").strip()
        if code not in codes and pad and code.isdigit() and len(code) < pad:
            code = code.zfill(pad)
        if code in seen:
            errors.append(
                _("Row %(row)s: the code “%(code)s” occurs already in row %(first)s.")
                % {"row": number, "code": _short(code), "first": seen[code]}
            )
            continue
        seen[code] = number
        if code not in codes:
            unknown.append((number, code))
            continue
        result[number] = codes[code]
    for number, code in unknown[:MAX_ERRORS]:
        errors.append(
            _("Row %(row)s: no area with the code “%(code)s” on layer %(layer)s.")
            % {"row": number, "code": _short(code) or _("(empty)"), "layer": layer.slug}
        )
    if len(unknown) > MAX_ERRORS:
        errors.append(_("… and %(n)s more unknown codes.") % {"n": len(unknown) - MAX_ERRORS})
    return result


def _indicator_fields(spec: IndicatorSpec) -> dict:
    return {
        "name": spec.name or spec.slug,
        "unit": spec.unit,
        "description": spec.description,
        "source": spec.source,
        "licence": spec.licence,
        "reference_date": spec.reference_date,
        "polarity": spec.polarity,
        "aggregation": spec.aggregation,
        "scale": float(spec.scale),
        "age_from": spec.age_from,
        "age_below": spec.age_below,
        "value_labels": spec.value_labels,
        "sort_order": spec.sort_order,
    }


REFERENCES = ("weight", "numerator", "denominator")


def _layer(layer: Layer | str) -> Layer:
    if isinstance(layer, Layer):
        return layer
    found = Layer.objects.filter(slug=layer).first()
    if found is None:
        raise IndicatorImportError(
            [_("The layer “%(slug)s” does not exist.") % {"slug": _short(layer)}]
        )
    return found


def _check_code_column(table: Table, code_field: str) -> None:
    if code_field not in table.columns:
        raise IndicatorImportError(
            [
                _("The code column “%(column)s” is not in the file; its columns are: %(columns)s")
                % {
                    "column": _short(code_field),
                    "columns": ", ".join(_short(c) for c in table.columns[:30]),
                }
            ]
        )


def _choose_specs(
    table: Table,
    code_field: str,
    mapping: IndicatorMapping | None,
    report: IndicatorImportReport,
    errors: list[str],
) -> list[IndicatorSpec]:
    """The indicators to import: the mapping's, else the columns named like indicators."""
    if mapping is None:
        specs, report.ignored_columns = _specs_without_mapping(table, code_field)
        if not specs:
            errors.append(
                _(
                    "No column is named like an existing indicator; give a mapping "
                    "(--mapping FILE.toml) that describes the indicators."
                )
            )
        return specs
    specs = mapping.indicators
    missing = [s.column for s in specs if s.column not in table.columns]
    if missing:
        errors.append(
            _("Columns of the mapping missing from the file: %(columns)s")
            % {"columns": ", ".join(_short(c) for c in missing)}
        )
    used = {s.column for s in specs} | {code_field}
    report.ignored_columns = [c for c in table.columns if c not in used]
    return specs


def _check_references(
    specs: list[IndicatorSpec], existing: dict[str, Indicator], errors: list[str]
) -> None:
    defined = {s.slug for s in specs}
    for spec in specs:
        for ref in REFERENCES:
            target = getattr(spec, ref)
            if target and target not in defined and target not in existing:
                errors.append(
                    _("indicators.%(slug)s: %(ref)s “%(target)s” is no indicator.")
                    % {"slug": spec.slug, "ref": ref, "target": _short(target)}
                )
            if target == spec.slug:
                errors.append(
                    _("indicators.%(slug)s cannot be computed from itself.") % {"slug": spec.slug}
                )


def _periods(
    specs: list[IndicatorSpec],
    period: datetime.date | None,
    existing: dict[str, Indicator],
    errors: list[str],
) -> dict[str, datetime.date | None]:
    """The period of each indicator's values: given, else its reference date."""
    periods = {}
    for spec in specs:
        chosen = period or spec.reference_date
        if chosen is None and spec.slug in existing:
            chosen = existing[spec.slug].reference_date
        if chosen is None:
            errors.append(
                _(
                    "No period for %(slug)s: set period in the mapping or --period, "
                    "or a reference date on the indicator."
                )
                % {"slug": spec.slug}
            )
        periods[spec.slug] = chosen
    return periods


def _read_values(
    table: Table,
    specs: list[IndicatorSpec],
    areas: dict[int, int],
    report: IndicatorImportReport,
    errors: list[str],
) -> dict[tuple[str, int], float]:
    """(indicator slug, area id) → value for every filled cell; bad cells go to ``errors``."""
    values: dict[tuple[str, int], float] = {}
    bad_numbers = 0
    for number, cells in table.rows:
        area_id = areas.get(number)
        for spec in specs:
            text = cells.get(spec.column)
            if text is None:
                continue
            try:
                value = parse_number(text)
            except ValueError:
                bad_numbers += 1
                if bad_numbers <= MAX_ERRORS:
                    errors.append(
                        _("Row %(row)s, column “%(column)s”: “%(value)s” is not a number.")
                        % {"row": number, "column": _short(spec.column), "value": _short(text)}
                    )
                continue
            if value is None:
                report.empty_cells += 1
            elif area_id is not None:
                values[(spec.slug, area_id)] = value
    if bad_numbers > MAX_ERRORS:
        errors.append(
            _("… and %(n)s more cells that are not numbers.") % {"n": bad_numbers - MAX_ERRORS}
        )
    return values


def _indicator_differs(current: Indicator, spec: IndicatorSpec) -> bool:
    return any(getattr(current, k) != v for k, v in _indicator_fields(spec).items()) or any(
        getattr(getattr(current, ref), "slug", "") != getattr(spec, ref) for ref in REFERENCES
    )


def _plan_values(
    values: dict[tuple[str, int], float],
    periods: dict,
    layer: Layer,
    report: IndicatorImportReport,
) -> tuple[list[tuple[str, int, float]], list[tuple[int, float]]]:
    """Values to create and (pk, value) pairs to change; counts the unchanged ones."""
    stored = {
        (slug, area_id, period_): (pk, value)
        for pk, slug, area_id, period_, value in IndicatorValue.objects.filter(
            indicator__slug__in={slug for slug, _area in values}, area__layer=layer
        ).values_list("pk", "indicator__slug", "area_id", "period", "value")
    }
    to_create, to_update = [], []
    for (slug, area_id), value in values.items():
        old = stored.get((slug, area_id, periods[slug]))
        if old is None:
            to_create.append((slug, area_id, value))
        elif old[1] != value:
            to_update.append((old[0], value))
        else:
            report.values_unchanged += 1
    report.values_created = len(to_create)
    report.values_changed = len(to_update)
    return to_create, to_update


def import_indicators(
    path: str | Path,
    *,
    layer: Layer | str,
    code_field: str,
    mapping: IndicatorMapping | str | Path | None = None,
    period: datetime.date | None = None,
    commit: bool = False,
) -> IndicatorImportReport:
    """Check the whole file, then (with ``commit``) write indicators and values in one
    transaction. Raises ``IndicatorImportError`` with every problem found; nothing is
    written then. The one entry point of the command, the demo and the profiles.
    """
    layer = _layer(layer)
    if mapping is not None and not isinstance(mapping, IndicatorMapping):
        mapping = read_mapping(mapping)
    table = read_table(path)
    _check_code_column(table, code_field)
    report = IndicatorImportReport(layer=layer.slug, rows=len(table.rows))
    errors: list[str] = []
    specs = _choose_specs(table, code_field, mapping, report, errors)
    existing = {i.slug: i for i in Indicator.objects.select_related(*REFERENCES)}
    _check_references(specs, existing, errors)
    periods = _periods(specs, period or (mapping.period if mapping else None), existing, errors)
    areas = _resolve_codes(table, layer, code_field, errors)
    values = _read_values(table, specs, areas, report, errors)
    if errors:
        raise IndicatorImportError(errors)
    if mapping is not None:
        report.indicators_created = [s.slug for s in specs if s.slug not in existing]
        report.indicators_changed = [
            s.slug for s in specs if s.slug in existing and _indicator_differs(existing[s.slug], s)
        ]
    to_create, to_update = _plan_values(values, periods, layer, report)
    if not commit:
        return report
    with transaction.atomic():
        indicators = _write_indicators(specs, existing, mapping is not None)
        IndicatorValue.objects.bulk_create(
            [
                IndicatorValue(
                    indicator=indicators[slug], area_id=area_id, period=periods[slug], value=value
                )
                for slug, area_id, value in to_create
            ],
            batch_size=5000,
        )
        IndicatorValue.objects.bulk_update(
            [IndicatorValue(pk=pk, value=value) for pk, value in to_update],
            ["value"],
            batch_size=5000,
        )
    report.committed = True
    return report


def _write_indicators(
    specs: list[IndicatorSpec], existing: dict[str, Indicator], describe: bool
) -> dict[str, Indicator]:
    """Create or update the mapping's indicators (references after all exist)."""
    result = dict(existing)
    if not describe:
        return result
    for spec in specs:
        indicator = result.get(spec.slug) or Indicator(slug=spec.slug)
        for key, value in _indicator_fields(spec).items():
            setattr(indicator, key, value)
        for ref in REFERENCES:
            setattr(indicator, f"{ref}_id", None)
        # Referenced indicators may come later in the mapping: save without them first.
        aggregation = indicator.aggregation
        indicator.aggregation = Indicator.Aggregation.NONE
        indicator.save()
        indicator.aggregation = aggregation
        result[spec.slug] = indicator
    for spec in specs:
        indicator = result[spec.slug]
        for ref in REFERENCES:
            target = getattr(spec, ref)
            setattr(indicator, ref, result[target] if target else None)
        indicator.full_clean()
        indicator.save()
    return result
