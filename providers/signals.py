from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from planning_areas.signals import areas_changed

from .history import remember_deletion
from .models import Location, Service


@receiver(post_save, sender=Location, dispatch_uid="location_refresh_areas")
def location_refresh_areas(sender, instance: Location, raw: bool = False, **kwargs) -> None:
    """Keep a location's stored planning areas in step with its position."""
    if raw:
        return
    Location.objects.filter(pk=instance.pk).refresh_areas()
    instance.is_outside_areas = (
        Location.objects.filter(pk=instance.pk).values_list("is_outside_areas", flat=True).get()
    )


@receiver(pre_delete, sender=Service, dispatch_uid="service_remember_deletion")
def service_remember_deletion(sender, instance: Service, **kwargs) -> None:
    """Keep what a service was linked to, so that the deleted-services page can restore it."""
    remember_deletion(instance)


@receiver(areas_changed, dispatch_uid="locations_follow_changed_areas")
def locations_follow_changed_areas(sender, layer, **kwargs) -> int:
    """Areas were imported or a composed layer (re)built: recompute which areas every
    location lies in; returns the number of links (the area import reports it)."""
    return Location.objects.all().refresh_areas()
