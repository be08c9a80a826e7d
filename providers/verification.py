"""Freshness: signed links that let an organisation confirm its entries, and the reminders."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from .models import Organization, Service

SALT = "atlas.verification"
LINK_VALID_DAYS = 60


def make_token(organization: Organization) -> str:
    return signing.dumps({"organization": organization.pk}, salt=SALT, compress=True)


def read_token(token: str) -> Organization | None:
    """The organisation of a valid, unexpired link; None for a forged or old one."""
    try:
        data = signing.loads(token, salt=SALT, max_age=datetime.timedelta(days=LINK_VALID_DAYS))
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return Organization.objects.filter(pk=data.get("organization")).first()


def confirm_link(organization: Organization) -> str:
    path = reverse("providers:confirm_entries", kwargs={"token": make_token(organization)})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def entries_of(organization: Organization):
    return organization.services.exclude(status=Service.Status.ARCHIVED).order_by("name")


def confirm(organization: Organization, services) -> int:
    """Set today as last verified on these services of ``organization``; recorded in history."""
    today = timezone.localdate()
    chosen = list(entries_of(organization).filter(pk__in=[s.pk for s in services]))
    for service in chosen:
        service.last_verified = today
    bulk_update_with_history(
        chosen,
        Service,
        ["last_verified"],
        default_change_reason=_("confirmed by the organisation through its e-mail link"),
    )
    return len(chosen)


@dataclass
class ReminderReport:
    sent: list[str] = field(default_factory=list)
    without_address: list[str] = field(default_factory=list)


def organizations_to_remind(older_than_days: int, *, everyone: bool = False):
    services = Service.objects.exclude(status=Service.Status.ARCHIVED)
    if not everyone:
        limit = timezone.localdate() - datetime.timedelta(days=older_than_days)
        services = services.filter(Q(last_verified__isnull=True) | Q(last_verified__lt=limit))
    return Organization.objects.filter(pk__in=services.values("organization_id")).order_by("name")


def recipients(organization: Organization) -> list[str]:
    addresses = [organization.email] if organization.email else []
    addresses += [e for e in organization.editors.values_list("email", flat=True) if e]
    return list(dict.fromkeys(addresses))


def send_reminders(
    older_than_days: int, *, everyone: bool = False, dry_run: bool = False
) -> ReminderReport:
    """E-mail each organisation concerned a signed link to confirm or correct its entries."""
    report = ReminderReport()
    for organization in organizations_to_remind(older_than_days, everyone=everyone):
        to = recipients(organization)
        if not to:
            report.without_address.append(organization.name)
            continue
        context = {
            "organization": organization,
            "services": entries_of(organization),
            "link": confirm_link(organization),
            "valid_days": LINK_VALID_DAYS,
        }
        if not dry_run:
            send_mail(
                subject=_("Please check your entries in the social-space atlas"),
                message=render_to_string("providers/email/verification_reminder.txt", context),
                from_email=None,
                recipient_list=to,
            )
        report.sent.append(f"{organization.name} <{', '.join(to)}>")
    return report
