"""History beyond what django-simple-history records by itself: deleted services and restores."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from .models import Contact, Location, ProblemReport, Service, ServiceAtLocation, ServiceDeletion


class RestoreError(Exception):
    """The deleted service cannot be restored; the message says why."""


def _current_user():
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def remember_deletion(service: Service) -> ServiceDeletion:
    """Record a service about to be deleted, with its categories, groups, locations, contacts.

    Its contacts stay (a restore relinks them) but are marked, so that they are not taken
    for the organisation's own contacts meanwhile."""
    service.contacts.update(deleted_service_id=service.pk)
    return ServiceDeletion.objects.create(
        service_id=service.pk,
        name=service.name,
        organization_name=service.organization.name if service.organization_id else "",
        deleted_by=_current_user(),
        links={
            "categories": list(service.categories.values_list("pk", flat=True)),
            "target_groups": list(service.target_groups.values_list("pk", flat=True)),
            "locations": list(
                ServiceAtLocation.objects.filter(service=service).values_list(
                    "location_id", "description"
                )
            ),
            "contacts": list(service.contacts.values_list("pk", flat=True)),
            # Problem reports lose their service (SET_NULL) with the deletion; a restore
            # links them again.
            "problem_reports": list(service.problem_reports.values_list("pk", flat=True)),
        },
    )


def version_links(record) -> dict[str, list]:
    """The links a historical version of a service had: categories and target groups from
    its m2m history, locations (with their notes) from ServiceAtLocation's history as of
    the version's time."""
    at_locations = ServiceAtLocation.history.as_of(record.history_date).filter(service_id=record.id)
    return {
        "categories": [row.category_id for row in record.categories.all()],
        "target_groups": [row.targetgroup_id for row in record.target_groups.all()],
        "locations": [(row.location_id, row.description) for row in at_locations],
    }


def revert_links(service: Service, record) -> None:
    """Give ``service`` the links of the historical version ``record`` (an admin revert)."""
    links = version_links(record)
    with transaction.atomic():
        service.categories.set(links["categories"])
        service.target_groups.set(links["target_groups"])
        _set_locations(service, links["locations"])


def _set_locations(service: Service, locations: list) -> None:
    """Link exactly these (location id, note) pairs, leaving out deleted locations."""
    wanted = dict(locations)
    existing = set(Location.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    for row in ServiceAtLocation.objects.filter(service=service):
        if row.location_id not in existing:
            row.delete()
        elif row.description != wanted[row.location_id]:
            row.description = wanted[row.location_id]
            row.save()
    linked = set(
        ServiceAtLocation.objects.filter(service=service).values_list("location_id", flat=True)
    )
    for location_id in existing - linked:
        ServiceAtLocation.objects.create(
            service=service, location_id=location_id, description=wanted[location_id]
        )


def restore_deleted_service(deletion: ServiceDeletion, *, user=None) -> Service:
    """Bring a deleted service back as it was just before its deletion, with its links.

    The service keeps its id; links to locations and contacts that were deleted
    meanwhile are left out. The restore is recorded in the history.
    """
    if Service.objects.filter(pk=deletion.service_id).exists():
        raise RestoreError(_("“%(name)s” exists (again) already.") % {"name": deletion.name})
    record = (
        Service.history.filter(id=deletion.service_id)
        .exclude(history_type="-")
        .order_by("-history_date", "-history_id")
        .first()
    )
    if record is None:
        raise RestoreError(
            _("The history holds no version of “%(name)s”.") % {"name": deletion.name}
        )
    with transaction.atomic():
        service = record.instance
        service._change_reason = _("restored after deletion")
        if user is not None:
            service._history_user = user
        service.save(force_insert=True)
        links = deletion.links or {}
        service.categories.set(links.get("categories", []))
        service.target_groups.set(links.get("target_groups", []))
        _set_locations(service, links.get("locations", []))
        ProblemReport.objects.filter(pk__in=links.get("problem_reports", []), service=None).update(
            service=service
        )
        for contact in Contact.objects.filter(pk__in=links.get("contacts", []), service=None):
            contact.service = service
            contact.deleted_service_id = None
            contact._change_reason = _("restored with its service")
            contact.save()
        deletion.restored_at = timezone.now()
        deletion.restored_by = user
        deletion.save(update_fields=["restored_at", "restored_by"])
    return service
