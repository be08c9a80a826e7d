from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningAreasConfig(AppConfig):
    name = "planning_areas"
    verbose_name = _("Planning areas")
