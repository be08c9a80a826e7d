import time

from django.core.management.base import BaseCommand, CommandError

from atlas import demo


class Command(BaseCommand):
    help = (
        "Load the Berlin demo data (LOR planning areas with population, youth centres, Kitas, "
        "OSM community centres, fictitious contacts). Idempotent: a second run changes nothing."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            demo.load_all(log=self.stdout.write)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.1f} s")
        )
