"""The few tables of the infrastructure layer."""

from django.db import models


class ThrottleCount(models.Model):
    """How many requests a throttle let pass for one ``key`` (scope and client address) in
    the time bucket starting at ``bucket`` (Unix seconds; a bucket is 1/60 of the
    throttle's period, at least a second). Shared by every server process (a per-process
    memory cache let 3 workers pass 3 times the limit). One row per key and bucket, so a
    check sums at most 61 rows however many requests a client sent: a row per request
    made the check grow with the client's traffic (0.65 ms at 300 hits in the hour, 1.25 ms
    at 900, and a client near 6,000/hour would pay ~8 ms per request). Buckets older than
    the longest throttle period are deleted now and then."""

    pk = models.CompositePrimaryKey("key", "bucket")
    key = models.CharField(max_length=200)
    bucket = models.BigIntegerField()
    hits = models.PositiveIntegerField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.key}: {self.hits} from {self.bucket}"
