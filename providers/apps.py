from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = _("Providers and services")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401
        from .feature_store import install_after_migrate

        post_migrate.connect(
            install_after_migrate, sender=self, dispatch_uid="providers_install_feature_store"
        )
