"""Importing services (with their organisations and locations) from a table and a mapping.

Reading (``reading``), preparing each row (``preparing``, checked by the models) and
writing (``writing``) are separate modules; this one runs them. The import is
idempotent by external id, reports every rejected row with the reason, and is all or
nothing: one bad row and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Category, Organization, Service, TargetGroup
from . import taxonomy
from .mapping import Mapping, ServiceImportError
from .preparing import PreparedRow, RowReader
from .reading import Table, TableError, read_table
from .writing import write_services

__all__ = ["Mapping", "ServiceImportError", "ServiceImportReport", "import_services"]

Progress = Callable[[int], None]


@dataclass
class RowError:
    number: int
    key: str
    messages: list[str]

    def __str__(self) -> str:
        key = f" ({self.key})" if self.key else ""
        return _("row %(n)d%(key)s: %(messages)s") % {
            "n": self.number,
            "key": key,
            "messages": "; ".join(self.messages),
        }


@dataclass
class ServiceImportReport:
    rows: int = 0
    rejected: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    organizations: str = ""
    locations: str = ""
    services: str = ""
    links_changed: int = 0
    categories_created: list[str] = field(default_factory=list)
    target_groups_created: list[str] = field(default_factory=list)
    new_services: int = 0
    changed_services: int = 0
    unchanged_services: int = 0
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary_lines(self) -> list[str]:
        lines = [
            _("%(rows)d rows read, %(rejected)d rejected.")
            % {"rows": self.rows, "rejected": len(self.rejected)}
        ]
        for error in self.rejected[:200]:
            lines.append(f"  {error}")
        if len(self.rejected) > 200:
            lines.append(_("  … and %(n)d more rejected rows") % {"n": len(self.rejected) - 200})
        if self.rejected:
            lines.append(_("Nothing was imported: correct the rejected rows and try again."))
            return lines
        lines.append(
            _("Services: %(new)d new, %(changed)d changed, %(same)d unchanged")
            % {
                "new": self.new_services,
                "changed": self.changed_services,
                "same": self.unchanged_services,
            }
        )
        if self.committed:
            lines.append(_("Organisations: %(r)s") % {"r": self.organizations})
            lines.append(_("Locations: %(r)s") % {"r": self.locations})
        if self.categories_created:
            lines.append(
                _("Categories created: %(slugs)s") % {"slugs": ", ".join(self.categories_created)}
            )
        if self.target_groups_created:
            lines.append(
                _("Target groups created: %(slugs)s")
                % {"slugs": ", ".join(self.target_groups_created)}
            )
        lines.extend(f"  {note}" for note in self.notes[:50])
        if not self.committed:
            lines.append(_("Dry run: nothing was written. Pass --commit to import."))
        return lines


def import_services(
    path: str | Path,
    mapping: Mapping,
    *,
    commit: bool = False,
    user=None,
    progress: Progress | None = None,
    allowed_organizations: set[int] | None = None,
    update_organizations: bool = True,
) -> ServiceImportReport:
    """Read ``path`` with ``mapping`` and create or update its services.

    A dry run unless ``commit``. All or nothing: with any rejected row,
    nothing is written. ``allowed_organizations`` (ids) restricts an
    organisation editor to services of their own organisations. Without
    ``update_organizations`` existing organisations are linked, not rewritten.
    """
    table = _read(path, mapping)
    report = ServiceImportReport(rows=len(table.rows))
    prepared, first_row = _prepare(table, RowReader(mapping), report, progress)
    if not report.rejected and allowed_organizations is not None:
        _check_organization_scope(prepared, allowed_organizations, report, first_row)
    if report.rejected:
        return report
    _count_changes(prepared, report)
    categories, groups = _taxonomies(mapping, commit=False)
    report.categories_created, report.target_groups_created = categories.created, groups.created
    if not commit:
        return report
    reason = _("import from %(file)s") % {"file": Path(path).name}
    with transaction.atomic():
        _taxonomies(mapping, commit=True)
        written = write_services(
            prepared, user=user, reason=reason, update_organizations=update_organizations
        )
    report.organizations = str(written.organizations)
    report.locations = str(written.locations)
    report.services = str(written.services)
    report.links_changed = written.links_changed
    report.committed = True
    return report


def _read(path: str | Path, mapping: Mapping) -> Table:
    try:
        table = read_table(
            path,
            delimiter=mapping.source.get("delimiter"),
            encoding=mapping.source.get("encoding"),
            sheet=mapping.source.get("sheet"),
            header_rows=int(mapping.source.get("header_rows", 1)),
            srid=mapping.source.get("srid"),
        )
    except TableError as exc:
        raise ServiceImportError(str(exc)) from exc
    mapping.check_columns(table)
    if not table.rows:
        raise ServiceImportError(_("The file has no data rows."))
    return table


def _prepare(
    table: Table, reader: RowReader, report: ServiceImportReport, progress: Progress | None
) -> tuple[dict[str, PreparedRow], dict[str, int]]:
    """Every row read and checked; rejected ones go to the report. Returns rows by key and
    the row number where each key first occurs."""
    prepared: dict[str, PreparedRow] = {}
    first_row: dict[str, int] = {}
    for done, row in enumerate(table.rows, start=1):
        result, errors, info = reader.read(row)
        key = result.key if result else info
        if result is not None and result.key in prepared:
            errors = [_("external id occurs already in row %(n)d") % {"n": first_row[result.key]}]
            result = None
        if errors:
            report.rejected.append(RowError(row.number, key if not result else "", errors))
        else:
            prepared[result.key] = result
            first_row[result.key] = row.number
            if info:
                report.notes.append(f"{_('row')} {row.number}: {info}")
        if progress:
            progress(done)
    return prepared, first_row


def _count_changes(prepared: dict[str, PreparedRow], report: ServiceImportReport) -> None:
    existing = {s.external_id: s for s in Service.objects.filter(external_id__in=list(prepared))}
    for key, row in prepared.items():
        service = existing.get(key)
        if service is None:
            report.new_services += 1
        elif any(getattr(service, k) != v for k, v in row.service.items()):
            report.changed_services += 1
        else:
            report.unchanged_services += 1


def _check_organization_scope(prepared, allowed: set[int], report, first_row) -> None:
    keys = {row.organization_key for row in prepared.values()}
    known = dict(Organization.objects.filter(external_id__in=keys).values_list("external_id", "pk"))
    for key, row in prepared.items():
        pk = known.get(row.organization_key)
        if pk is None or pk not in allowed:
            report.rejected.append(
                RowError(
                    first_row[key],
                    key,
                    [
                        _(
                            "you may only import services of your own organisations, not of"
                            " “%(org)s”"
                        )
                        % {"org": row.organization["name"]}
                    ],
                )
            )


def _taxonomies(mapping: Mapping, *, commit: bool):
    """The mapping's own categories and target groups, created if missing (never changed)."""
    try:
        return (
            taxonomy.apply(Category, mapping.categories, commit=commit, update=False),
            taxonomy.apply(TargetGroup, mapping.target_groups, commit=commit, update=False),
        )
    except taxonomy.TaxonomyError as exc:
        raise ServiceImportError(str(exc)) from exc
