"""Public pages of the providers app. The service detail page itself lives in ``atlas``."""

from __future__ import annotations

import datetime
import hashlib
import hmac

from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from atlas.core.throttles import client_ip

from .editorial import ProblemReport
from .forms import ProblemReportForm
from .models import Service
from .verification import confirm, entries_of, read_token

REPORTS_PER_HOUR = 5


def _sender_hash(request) -> str:
    # A keyed hash of the address: enough for a rate limit, useless as personal data.
    address = client_ip(request)
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


@require_http_methods(["GET", "POST"])
def report_problem(request, pk: int):
    """“Report a problem” for a published service: creates a ticket for the editors."""
    service = get_object_or_404(Service.objects.published(), pk=pk)
    form = ProblemReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        sender = _sender_hash(request)
        since = timezone.now() - datetime.timedelta(hours=1)
        recent = ProblemReport.objects.filter(sender_hash=sender, created_at__gte=since).count()
        if recent >= REPORTS_PER_HOUR:
            form.add_error(
                None, _("You have sent several reports just now. Please try again in an hour.")
            )
            status = 429
        elif form.is_spam():
            # Pretend success: a bot learns nothing, and nothing is stored.
            return render(request, "providers/report_problem_done.html", {"service": service})
        elif form.is_valid():
            report = form.save(commit=False)
            report.service = service
            report.sender_hash = sender
            report.save()
            return render(request, "providers/report_problem_done.html", {"service": service})
        else:
            status = 400
    return render(
        request,
        "providers/report_problem.html",
        {"service": service, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def confirm_entries(request, token: str):
    """The page behind the reminder e-mail's signed link: confirm the entries or report errors."""
    organization = read_token(token)
    if organization is None:
        return render(request, "providers/confirm_invalid.html", status=400)
    services = entries_of(organization)
    confirmed = None
    if request.method == "POST":
        chosen = services.filter(pk__in=request.POST.getlist("service"))
        confirmed = confirm(organization, chosen)
        services = entries_of(organization)
    return render(
        request,
        "providers/confirm_entries.html",
        {"organization": organization, "services": services, "confirmed": confirmed},
    )
