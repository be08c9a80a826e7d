"""The few tables of the infrastructure layer."""

from django.db import models


class ThrottleHit(models.Model):
    """One request a throttle let pass: ``key`` is scope and client address. Shared by every
    server process (a per-process memory cache let 3 workers pass 3 times the limit); rows
    older than the longest throttle period are deleted now and then."""

    key = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["key", "at"], name="throttlehit_key_at")]

    def __str__(self) -> str:
        return f"{self.key} at {self.at:%Y-%m-%d %H:%M:%S}"
