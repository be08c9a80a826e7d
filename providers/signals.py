from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Location


@receiver(post_save, sender=Location, dispatch_uid="location_refresh_areas")
def location_refresh_areas(sender, instance: Location, raw: bool = False, **kwargs) -> None:
    """Keep a location's stored planning areas in step with its position."""
    if raw:
        return
    Location.objects.filter(pk=instance.pk).refresh_areas()
    instance.is_outside_areas = (
        Location.objects.filter(pk=instance.pk).values_list("is_outside_areas", flat=True).get()
    )
