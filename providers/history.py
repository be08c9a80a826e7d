"""History beyond what django-simple-history records by itself: deleted services and restores."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from .models import Contact, Location, Service, ServiceAtLocation, ServiceDeletion


class RestoreError(Exception):
    """The deleted service cannot be restored; the message says why."""


def _current_user():
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def remember_deletion(service: Service) -> ServiceDeletion:
    """Record a service about to be deleted, with its categories, groups, locations, contacts."""
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
        },
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
        existing = set(
            Location.objects.filter(
                pk__in=[loc for loc, _note in links.get("locations", [])]
            ).values_list("pk", flat=True)
        )
        for location_id, note in links.get("locations", []):
            if location_id in existing:
                ServiceAtLocation.objects.create(
                    service=service, location_id=location_id, description=note
                )
        for contact in Contact.objects.filter(pk__in=links.get("contacts", []), service=None):
            contact.service = service
            contact._change_reason = _("restored with its service")
            contact.save()
        deletion.restored_at = timezone.now()
        deletion.restored_by = user
        deletion.save(update_fields=["restored_at", "restored_by"])
    return service
