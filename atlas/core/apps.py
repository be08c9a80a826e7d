from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def create_cache_tables(sender, using: str = "default", **kwargs) -> None:
    """The tables of database caches (the map's by default, ATLAS_MAP_CACHE_URL): made by
    every ``migrate``, so a new database, a test database and a changed setting all have
    them. Tables that exist are left alone."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "atlas.core"
    label = "core"
    verbose_name = _("Infrastructure")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(
            create_cache_tables, sender=self, dispatch_uid="core_create_cache_tables"
        )
