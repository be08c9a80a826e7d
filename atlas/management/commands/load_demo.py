import time

from django.core.management.base import BaseCommand, CommandError

from atlas import demo


class Command(BaseCommand):
    help = (
        "Load the Berlin demo data (LOR planning areas with population, youth centres, Kitas, "
        "OSM community centres, fictitious contacts, the address index). "
        "Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip-addresses",
            action="store_true",
            help="Leave out the 401,032 Berlin addresses (for fast test set-ups).",
        )

    def handle(self, *args, skip_addresses=False, **options):
        started = time.monotonic()
        try:
            demo.load_all(log=self.stdout.write, addresses=not skip_addresses)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.1f} s")
        )
