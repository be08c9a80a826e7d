from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningAreasConfig(AppConfig):
    name = "planning_areas"
    verbose_name = _("Planning areas")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django.urls import register_converter

        from .converters import AreaCodeConverter

        register_converter(AreaCodeConverter, "area_code")

        from .point_lookup import install_after_migrate

        post_migrate.connect(
            install_after_migrate, sender=self, dispatch_uid="planning_areas_point_lookup"
        )
