import time

from django.core.management.base import BaseCommand, CommandError

from atlas.demo import BERLIN_PROFILE, data_dir
from atlas.profile import Profile, ProfileError, load_profile


class Command(BaseCommand):
    help = (
        "Load the Berlin demo: the profile fixtures/berlin/profile.toml (LOR planning areas "
        "with population and indicators, postcode areas, youth centres, Kitas, OSM community "
        "centres, fictitious contacts, the address index, crosswalks) with the open data of "
        "ATLAS_DEMO_DATA or ../shared/data, committed. Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip-addresses",
            action="store_true",
            help="Leave out the 401,032 Berlin addresses and the crosswalks counted from them "
            "(for fast test set-ups).",
        )

    def handle(self, *args, skip_addresses=False, **options):
        started = time.monotonic()
        try:
            profile = Profile.load(BERLIN_PROFILE, data=data_dir())
            load_profile(profile, commit=True, addresses=not skip_addresses, log=self.stdout.write)
        except (FileNotFoundError, ProfileError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.1f} s")
        )
