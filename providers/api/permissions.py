"""DRF permissions backed by the django-rules object permissions in ``providers.rules``."""

from __future__ import annotations

from rest_framework import permissions

ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


class ReadAnyoneWriteByRules(permissions.BasePermission):
    """Reading is public; writing needs a login and the model's rules permission on the object.

    For creation the object is the target organisation, checked by the view once the
    payload is validated (``check_organization``).
    """

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if not (request.user and request.user.is_authenticated):
            return False
        return request.user.has_perm(_perm(view, request.method))

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user.has_perm(_perm(view, request.method), obj)


def _perm(view, method: str) -> str:
    opts = view.get_queryset().model._meta
    return f"{opts.app_label}.{ACTIONS[method]}_{opts.model_name}"
