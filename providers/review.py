"""Review: organisation editors propose, editors approve; the public sees the published version.

A save by an organisation editor in the admin becomes a ``PendingChange`` holding
the proposed values. ``approve`` applies them in one transaction (recorded in the
history as the reviewer's change, naming the author); ``reject`` keeps the object.
"""

from __future__ import annotations

import datetime
import decimal

from django.contrib.contenttypes.models import ContentType
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from atlas.core.roles import ORGANIZATION_EDITOR, in_group

from .editorial import PendingChange
from .rules import can_edit_everything, organization_of


class ReviewError(Exception):
    """The change cannot be applied (any more); the message says why."""


def needs_review(user) -> bool:
    """Changes by organisation editors wait for review; editors' and admins' do not."""
    return in_group(user, ORGANIZATION_EDITOR) and not can_edit_everything(user)


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
    concrete = {f.name for f in obj._meta.get_fields() if getattr(f, "editable", False)}
    data = {n: _serialise(form.cleaned_data[n]) for n in names if n in concrete}
    organization = organization_of(obj)
    return PendingChange.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk if change else None,
        object_repr=str(obj)[:255],
        organization=organization,
        data=data,
        changed_fields=sorted(data),
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
    with transaction.atomic():
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
        author = pending.author.get_username() if pending.author else "?"
        obj._change_reason = _("approved change proposed by %(author)s") % {"author": author}
        obj._history_user = reviewer
        obj.save()
        for name, ids in many.items():
            getattr(obj, name).set(ids)
        pending.status = PendingChange.Status.APPROVED
        pending.object_id = obj.pk
        pending.reviewed_by = reviewer
        pending.reviewed_at = timezone.now()
        pending.save()
    return obj


def reject(pending: PendingChange, reviewer, note: str = "") -> None:
    if pending.status != PendingChange.Status.PENDING:
        raise ReviewError(_("This change has been reviewed already."))
    pending.status = PendingChange.Status.REJECTED
    pending.reviewed_by = reviewer
    pending.reviewed_at = timezone.now()
    pending.review_note = note
    pending.save()
