"""Admin page: import services from an uploaded file with a column mapping (preview first)."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from atlas.core import uploads

from ..models import Service
from ..review import write_needs_review
from .service_import import Mapping, ServiceImportError, import_services

MAPPINGS_DIR = Path(settings.BASE_DIR) / "fixtures" / "mappings"


def shipped_mappings() -> list[tuple[str, str]]:
    return [("", _("– upload a mapping file –"))] + [
        (p.name, p.stem) for p in sorted(MAPPINGS_DIR.glob("*.toml"))
    ]


class ServiceImportForm(forms.Form):
    file = forms.FileField(
        validators=[uploads.validate_upload_size],
        label=_("file"),
        help_text=_("CSV, Excel (.xlsx) or GeoJSON, in any coordinate system."),
    )
    mapping_file = forms.FileField(
        validators=[uploads.validate_upload_size],
        label=_("mapping file"),
        required=False,
        help_text=_("TOML file that says which column holds which field."),
    )
    shipped_mapping = forms.ChoiceField(label=_("or a shipped mapping"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shipped_mapping"].choices = shipped_mappings()

    def clean(self):
        data = super().clean()
        if not data.get("mapping_file") and not data.get("shipped_mapping"):
            raise forms.ValidationError(_("Upload a mapping file or choose a shipped mapping."))
        return data


def _mapping(entry: dict) -> Mapping:
    path = entry["paths"].get("mapping_file")
    if path is None:
        name = entry["options"]["shipped_mapping"]
        path = MAPPINGS_DIR / Path(name).name
    return Mapping.load(path)


def service_import_view(model_admin, request):
    """Upload → preview (dry run) → import. Organisation editors may check their files."""
    if not request.user.has_perm("providers.import_services"):
        raise PermissionDenied
    may_commit = not write_needs_review(request.user, Service)
    form = ServiceImportForm()
    report = error = token = None
    if request.method == "POST" and request.POST.get("token"):
        report, error = _commit(request, request.POST["token"], may_commit)
    elif request.method == "POST":
        form = ServiceImportForm(request.POST, request.FILES)
        if form.is_valid():
            report, error, token = _preview(request, form)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Import services"),
        "may_commit": may_commit,
        "form": form,
        "report": report,
        "error": error,
        "token": token,
    }
    status = 400 if error or (report is not None and not report.ok) else 200
    return TemplateResponse(request, "admin/providers/import_services.html", context, status=status)


def _commit(request, token: str, may_commit: bool):
    """Import a previewed upload of this session; the files are removed either way."""
    entry = uploads.load(request, token)
    if entry is None:
        return None, _("The uploaded file is no longer there; upload it again.")
    if not may_commit:
        raise PermissionDenied
    try:
        report = import_services(
            entry["paths"]["file"], _mapping(entry), commit=True, user=request.user
        )
    except ServiceImportError as exc:
        return None, str(exc)
    finally:
        uploads.discard(request, token)
    return report, None


def _preview(request, form: ServiceImportForm):
    """Store the upload and dry-run it; keep it (under the returned token) only if it passed."""
    allowed = (
        set(request.user.edited_organizations.values_list("pk", flat=True))
        if write_needs_review(request.user, Service)
        else None
    )
    token = uploads.store(
        request,
        {"file": form.cleaned_data["file"], "mapping_file": form.cleaned_data["mapping_file"]},
        {"shipped_mapping": form.cleaned_data["shipped_mapping"]},
    )
    entry = uploads.load(request, token)
    report = error = None
    try:
        report = import_services(
            entry["paths"]["file"], _mapping(entry), commit=False, allowed_organizations=allowed
        )
    except ServiceImportError as exc:
        error = str(exc)
    if error or not report.ok:
        uploads.discard(request, token)
        token = None
    return report, error, token
