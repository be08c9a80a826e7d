from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningAreasConfig(AppConfig):
    name = "planning_areas"
    verbose_name = _("Planning areas")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate, post_save
        from django.urls import register_converter

        from .converters import AreaCodeConverter
        from .map_view import forget_map_view
        from .models import Area, Layer
        from .point_lookup import install_after_migrate
        from .signals import areas_changed

        register_converter(AreaCodeConverter, "area_code")
        for signal in (post_save, post_delete):
            for model in (Area, Layer):
                uid = f"map_view_{model.__name__}"
                signal.connect(forget_map_view, sender=model, dispatch_uid=uid)
        areas_changed.connect(forget_map_view, dispatch_uid="map_view_areas_changed")

        post_migrate.connect(
            install_after_migrate, sender=self, dispatch_uid="planning_areas_point_lookup"
        )
