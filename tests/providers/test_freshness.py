"""Freshness: reminders with signed links, confirming entries, and “report a problem”."""

import datetime
import io
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from providers.models import ProblemReport, Service
from providers.verification import make_token
from tests.factories import OrganizationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

OLD = datetime.date(2020, 1, 1)


def test_reminders_mail_each_organisation_a_signed_link(organization_a, organization_b):
    organization_a.email = "info@traeger-a.example"
    organization_a.save()
    editor = UserFactory(username="ed-b", email="ed@traeger-b.example")
    organization_b.editors.add(editor)
    ServiceFactory(organization=organization_a, name="Altes Angebot", last_verified=OLD)
    ServiceFactory(organization=organization_b, name="Ungeprüft", last_verified=None)
    fresh = OrganizationFactory(name="Frisch e.V.", email="f@example.org")
    ServiceFactory(organization=fresh, last_verified=timezone.localdate())
    silent = OrganizationFactory(name="Ohne Adresse")
    ServiceFactory(organization=silent, last_verified=OLD)

    out = io.StringIO()
    call_command("send_verification_reminders", stdout=out)
    assert "2 reminders sent" in out.getvalue()
    assert "Ohne Adresse" in out.getvalue()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ed@traeger-b.example",
        "info@traeger-a.example",
    ]
    message = next(m for m in mail.outbox if m.to == ["info@traeger-a.example"])
    assert "Altes Angebot" in message.body
    assert re.search(r"/bestaetigen/[^/\s]+/", message.body)


def test_dry_run_sends_nothing(organization_a):
    organization_a.email = "info@a.example"
    organization_a.save()
    ServiceFactory(organization=organization_a, last_verified=OLD)
    out = io.StringIO()
    call_command("send_verification_reminders", "--dry-run", stdout=out)
    assert "1 reminders would be sent" in out.getvalue()
    assert mail.outbox == []


def test_confirm_link_sets_last_verified(client, organization_a, organization_b):
    own = ServiceFactory(organization=organization_a, name="Eigenes", last_verified=OLD)
    other = ServiceFactory(organization=organization_b, name="Fremdes", last_verified=OLD)
    url = reverse("providers:confirm_entries", kwargs={"token": make_token(organization_a)})
    page = client.get(url)
    assert page.status_code == 200
    assert "Eigenes" in page.content.decode() and "Fremdes" not in page.content.decode()
    # A forged checkbox for another organisation's service changes nothing.
    response = client.post(url, {"service": [own.pk, other.pk]})
    assert response.status_code == 200
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.last_verified == timezone.localdate()
    assert other.last_verified == OLD
    # The reason is stored in the active language (German with compiled catalogs).
    assert own.history.latest("history_date").history_change_reason in (
        "confirmed by the organisation through its e-mail link",
        "von der Organisation über den E-Mail-Link bestätigt",
    )


@pytest.mark.parametrize("token", ["nonsense", "eyJvcmdhbml6YXRpb24iOjF9:forged:sig"])
def test_forged_confirm_link_is_refused(client, token):
    response = client.get(reverse("providers:confirm_entries", kwargs={"token": token}))
    assert response.status_code == 400


def test_expired_confirm_link_is_refused(client, organization_a, monkeypatch):
    token = make_token(organization_a)
    from providers import verification

    monkeypatch.setattr(verification, "LINK_VALID_DAYS", -1)
    response = client.get(reverse("providers:confirm_entries", kwargs={"token": token}))
    assert response.status_code == 400


@pytest.fixture
def published():
    return ServiceFactory(name="Familientreff", status=Service.Status.PUBLISHED)


def _report(client, service, **data):
    values = {"kind": "hours", "message": "Montags geschlossen.", "email": ""}
    values.update(data)
    return client.post(reverse("providers:report_problem", kwargs={"pk": service.pk}), values)


def test_report_problem_creates_a_ticket(client, published):
    page = client.get(f"/angebote/{published.pk}/problem/")
    assert page.status_code == 200 and "Familientreff" in page.content.decode()
    response = _report(client, published, email="anna@example.org")
    assert response.status_code == 200
    ticket = ProblemReport.objects.get()
    assert ticket.service == published and ticket.kind == "hours"
    assert ticket.status == "open" and ticket.email == "anna@example.org"
    assert ticket.sender_hash and "127.0.0.1" not in ticket.sender_hash


def test_report_problem_honeypot_stores_nothing(client, published):
    response = _report(client, published, homepage="http://spam.example")
    assert response.status_code == 200
    assert not ProblemReport.objects.exists()


def test_report_problem_is_rate_limited(client, published):
    for _ in range(5):
        assert _report(client, published).status_code == 200
    response = _report(client, published)
    assert response.status_code == 429
    assert ProblemReport.objects.count() == 5


@pytest.mark.parametrize(
    ("data", "field"),
    [({"kind": "nonsense"}, "kind"), ({"message": ""}, "message"), ({"email": "x@"}, "email")],
)
def test_report_problem_bad_input_is_400_naming_the_field(client, published, data, field):
    response = _report(client, published, **data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ProblemReport.objects.exists()


def test_report_problem_only_for_published_services(client):
    draft = ServiceFactory(status=Service.Status.DRAFT)
    assert _report(client, draft).status_code == 404
    assert client.get(f"/angebote/{draft.pk}/problem/").status_code == 404
    assert client.get("/angebote/999999/problem/").status_code == 404


def test_editors_work_through_tickets_in_the_admin(client, editor, published):
    _report(client, published)
    ticket = ProblemReport.objects.get()
    client.force_login(editor)
    listing = client.get(reverse("admin:providers_problemreport_changelist"))
    assert "Familientreff" in listing.content.decode()
    client.post(
        reverse("admin:providers_problemreport_changelist"),
        {"action": "mark_done", "_selected_action": [ticket.pk]},
    )
    ticket.refresh_from_db()
    assert ticket.status == "done"
    assert ticket.history.latest("history_date").history_user == editor
