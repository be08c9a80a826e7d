"""The admin's upload → preview (dry run) → confirm flow, shared by every import page.

The flow is the same whatever is imported: a first POST stores the files and shows the dry
run; a second POST with the token commits the stored files once and discards them. Each page
supplies only its form, its run function and how its errors read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from . import uploads


@dataclass
class UploadFlow:
    form: Any
    report: Any = None
    error: str | None = None
    token: str | None = None


def preview_then_commit(
    request,
    form_class,
    run: Callable[[dict, bool], Any],
    errors: tuple[type[Exception], ...],
    error_text: Callable[[Exception], str] = str,
    files: Callable[[Any], dict] = lambda form: {"file": form.cleaned_data["file"]},
    refusal: Callable[[Any], str | None] = lambda report: None,
) -> UploadFlow:
    """Run one step of the flow for this request. ``run(entry, commit)`` imports the stored
    upload; ``refusal(report)`` says why a dry run's report must not be confirmed."""
    flow = UploadFlow(form=form_class())
    token = request.POST.get("token") if request.method == "POST" else None
    if token:
        entry = uploads.load(request, token)
        if entry is None:
            flow.error = _("The uploaded file is no longer there; upload it again.")
            return flow
        try:
            flow.report = run(entry, True)
        except errors as exc:
            flow.error = error_text(exc)
        uploads.discard(request, token)
    elif request.method == "POST":
        flow.form = form_class(request.POST, request.FILES)
        if flow.form.is_valid():
            flow.token = uploads.store(request, files(flow.form), flow.form.options())
            try:
                flow.report = run(uploads.load(request, flow.token), False)
                flow.error = refusal(flow.report)
            except errors as exc:
                flow.error = error_text(exc)
            if flow.error:
                uploads.discard(request, flow.token)
                flow.token = None
    return flow


def render_flow(model_admin, request, flow: UploadFlow, template: str, title, **extra):
    """The page of the flow: 400 for an error or an invalid form, else 200."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "form": flow.form,
        "report": flow.report,
        "error": flow.error,
        "token": flow.token,
        **extra,
    }
    invalid_form = flow.form.is_bound and not flow.form.is_valid()
    status = 400 if flow.error or invalid_form else 200
    return TemplateResponse(request, template, context, status=status)
