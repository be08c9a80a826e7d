"""API writes through the one write gate (``providers.review.authorise_write``).

Editors' and admins' writes apply at once (201/200/204); an organisation editor's create,
change or deletion becomes a pending change for the Redaktion (HTTP 202 with its id), and
refused writes answer 403, exactly as in the admin. Each write is one transaction: the row,
its many-to-many links, its history and derived data commit together or not at all.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response

from ..review import UNCHANGED, authorise_write, propose, propose_deletion


class ReviewedWritesMixin:
    """For ModelViewSets of organisations' data (services, locations, contacts, organisations)."""

    def _authorise(self, action: str, instance, data: dict) -> bool:
        model = self.get_queryset().model
        organization = data.get("organization", UNCHANGED) if data else UNCHANGED
        if (
            action == "add"
            and organization is UNCHANGED
            and model._meta.model_name != ("organization")
        ):
            organization = None  # created without one: only the Redaktion may
        return authorise_write(
            self.request.user, action, model, instance=instance, organization=organization
        )

    def _proposed(self, pending) -> Response:
        return Response(
            {
                "pending_change": pending.pk,
                "detail": _(
                    "Your change has been sent to the editors for review. The published"
                    " version stays visible until they approve it."
                ),
            },
            status=status.HTTP_202_ACCEPTED,
        )

    @transaction.atomic
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if self._authorise("add", None, data):
            model = self.get_queryset().model
            unsaved = model(**{k: v for k, v in data.items() if not _is_many(model, k)})
            return self._proposed(propose(unsaved, data, request.user, change=False))
        self.perform_create(serializer)
        headers = self.get_success_headers(serializer.data)
        return Response(serializer.data, status=status.HTTP_201_CREATED, headers=headers)

    @transaction.atomic
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if self._authorise("change", instance, serializer.validated_data):
            return self._proposed(
                propose(instance, serializer.validated_data, request.user, change=True)
            )
        self.perform_update(serializer)
        return Response(serializer.data)

    @transaction.atomic
    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        if self._authorise("delete", instance, {}):
            return self._proposed(propose_deletion(instance, request.user))
        self.perform_destroy(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _is_many(model, name: str) -> bool:
    try:
        return model._meta.get_field(name).many_to_many
    except Exception:  # FieldDoesNotExist: serializer-only values stay out of the instance
        return True
