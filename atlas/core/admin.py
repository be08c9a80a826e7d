"""Admin base classes every app shares: django-rules answers each permission question."""

from __future__ import annotations


class RulesPermissionMixin:
    """Ask django-rules, with the object, for every admin permission."""

    def _perm(self, action: str) -> str:
        return f"{self.opts.app_label}.{action}_{self.opts.model_name}"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(self._perm("view"), obj) or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(self._perm("change"), obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(self._perm("delete"), obj)
