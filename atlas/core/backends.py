"""HTTP Basic authentication for the API that turns away credentials with NUL characters."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import BasicScheme
from rest_framework import authentication, exceptions


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's BasicAuthentication, refusing NUL characters before any database lookup.

    PostgreSQL cannot store or compare strings containing NUL, so both the user
    lookup and django-axes' failed-login record raised a server error for
    credentials such as ``"a\\x00b"``; they are now an ordinary 401.
    """

    def authenticate_credentials(self, userid, password, request=None):
        if "\x00" in userid or "\x00" in password:
            raise exceptions.AuthenticationFailed(_("Invalid username/password."))
        return super().authenticate_credentials(userid, password, request)


class BasicAuthenticationScheme(BasicScheme):
    """Describes the class above in the OpenAPI schema as plain HTTP Basic (drf-spectacular
    knows only DRF's own class and warned about ours once per view)."""

    target_class = "atlas.core.backends.BasicAuthentication"
