"""Review: organisation editors propose, editors approve; the public sees the published version.

``authorise_write`` is the one permission gate for writes to organisations' data: the admin,
the API and the import pages ask it before any create, change or deletion. It refuses what
the rules (``providers.rules``) do not allow and says whether the write must wait for review.
A write by an organisation editor becomes a ``PendingChange`` holding the proposed values
(or the proposed deletion). ``approve`` applies it in one transaction (recorded in the
history as the reviewer's change, naming the author); ``reject`` keeps the object.
"""

from __future__ import annotations

import datetime
import decimal

from django.contrib.contenttypes.models import ContentType
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from atlas.core.roles import ORGANIZATION_EDITOR, in_group

from .editorial import PendingChange
from .models import Contact, Location, Organization, Service
from .rules import can_edit_everything, organization_of

# Models whose writes by organisation editors wait for review.
REVIEWED_MODELS = (Organization, Service, Location, Contact)
UNCHANGED = object()  # ``organization`` not given: the write keeps the object's organisation


class ReviewError(Exception):
    """The change cannot be applied (any more); the message says why."""


class WriteRefused(PermissionDenied):
    """The user may not make this write (the API answers 403, the admin its 403 page)."""


def needs_review(user) -> bool:
    """Changes by organisation editors wait for review; editors' and admins' do not."""
    return in_group(user, ORGANIZATION_EDITOR) and not can_edit_everything(user)


def authorise_write(
    user, action: str, model: type[models.Model], *, instance=None, organization=UNCHANGED
) -> bool:
    """The one gate for creating (``add``), changing and deleting organisations' data.

    Raises :class:`WriteRefused` when the rules do not allow the write: anonymous users,
    caseworkers, organisation editors acting on another organisation's objects or moving
    one into another organisation, anyone but the Redaktion creating objects without an
    organisation. Returns True when the write must become a pending change (organisation
    editors), False when it may be applied now (editors and admins).
    """
    opts = model._meta
    if not (user and user.is_authenticated) or not user.has_perm(
        f"{opts.app_label}.{action}_{opts.model_name}", instance
    ):
        raise WriteRefused(_("You may not make this change."))
    moves = organization is not UNCHANGED and (
        instance is None or organization != organization_of(instance)
    )
    if moves and model is not Organization:
        if organization is None:
            if not can_edit_everything(user):
                raise WriteRefused(_("Give the organisation the object belongs to."))
        elif not user.has_perm(f"{opts.app_label}.add_{opts.model_name}", organization):
            raise WriteRefused(_("You may not edit the data of this organisation."))
    return write_needs_review(user, model)


def write_needs_review(user, model: type[models.Model]) -> bool:
    """Whether ``user``'s allowed writes to ``model`` wait for review."""
    return model in REVIEWED_MODELS and needs_review(user)


def _serialise(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set):
        return [_serialise(v) for v in value]
    if isinstance(value, GEOSGeometry):
        return value.ewkt
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def propose_change(obj: models.Model, form, user, *, change: bool) -> PendingChange:
    """Store what ``form`` would save to ``obj`` as a pending change, without saving it."""
    names = form.changed_data if change else list(form.cleaned_data)
    return propose(obj, {n: form.cleaned_data[n] for n in names}, user, change=change)


def propose(obj: models.Model, values: dict, user, *, change: bool) -> PendingChange:
    """Store ``values`` (cleaned field values) for ``obj`` as a pending change, unsaved."""
    concrete = {f.name for f in obj._meta.get_fields() if getattr(f, "editable", False)}
    data = {n: _serialise(v) for n, v in values.items() if n in concrete}
    return PendingChange.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk if change else None,
        object_repr=str(obj)[:255],
        organization=organization_of(obj),
        data=data,
        changed_fields=sorted(data),
        author=user,
    )


def propose_deletion(obj: models.Model, user) -> PendingChange:
    """Ask the editors to delete ``obj``; it stays until they approve."""
    return PendingChange.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_repr=str(obj)[:255],
        organization=organization_of(obj),
        kind=PendingChange.Kind.DELETION,
        author=user,
    )


def _python_value(field, value):
    if isinstance(field, GeometryField):
        return GEOSGeometry(value) if value else None
    if field.is_relation:
        return value
    return field.to_python(value)


def current_values(pending: PendingChange) -> dict[str, object]:
    """The object's current values of the fields the change touches (for the review page)."""
    model = pending.content_type.model_class()
    obj = model.objects.filter(pk=pending.object_id).first() if pending.object_id else None
    values = {}
    for name in pending.data:
        field = model._meta.get_field(name)
        if obj is None:
            values[name] = None
        elif field.many_to_many:
            values[name] = sorted(getattr(obj, name).values_list("pk", flat=True))
        elif field.is_relation:
            values[name] = getattr(obj, field.attname)
        else:
            values[name] = _serialise(getattr(obj, name))
    return values


def approve(pending: PendingChange, reviewer) -> models.Model:
    """Apply a pending change; the object is validated as a whole before it is saved."""
    if pending.status != PendingChange.Status.PENDING:
        raise ReviewError(_("This change has been reviewed already."))
    model = pending.content_type.model_class()
    author = pending.author.get_username() if pending.author else "?"
    with transaction.atomic():
        if pending.kind == PendingChange.Kind.DELETION:
            obj = model.objects.select_for_update().filter(pk=pending.object_id).first()
            if obj is None:
                raise ReviewError(_("The object has been deleted meanwhile."))
            obj._change_reason = _("approved deletion proposed by %(author)s") % {"author": author}
            obj._history_user = reviewer
            obj.delete()
            _mark_approved(pending, reviewer)
            return obj
        if pending.object_id is None:
            obj = model()
        else:
            obj = model.objects.select_for_update().filter(pk=pending.object_id).first()
            if obj is None:
                raise ReviewError(_("The object has been deleted meanwhile."))
        many = {}
        for name, value in pending.data.items():
            field = model._meta.get_field(name)
            if field.many_to_many:
                many[name] = value
            elif field.is_relation:
                setattr(obj, field.attname, value)
            else:
                setattr(obj, name, _python_value(field, value))
        try:
            obj.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise ReviewError(
                _("The change is no longer valid: %(errors)s")
                % {"errors": "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())}
            ) from exc
        obj._change_reason = _("approved change proposed by %(author)s") % {"author": author}
        obj._history_user = reviewer
        obj.save()
        for name, ids in many.items():
            getattr(obj, name).set(ids)
        pending.object_id = obj.pk
        _mark_approved(pending, reviewer)
    return obj


def _mark_approved(pending: PendingChange, reviewer) -> None:
    pending.status = PendingChange.Status.APPROVED
    pending.reviewed_by = reviewer
    pending.reviewed_at = timezone.now()
    pending.save()


def reject(pending: PendingChange, reviewer, note: str = "") -> None:
    if pending.status != PendingChange.Status.PENDING:
        raise ReviewError(_("This change has been reviewed already."))
    pending.status = PendingChange.Status.REJECTED
    pending.reviewed_by = reviewer
    pending.reviewed_at = timezone.now()
    pending.review_note = note
    pending.save()
