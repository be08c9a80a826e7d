"""``manage.py load_profile PATH [--commit]``: load a municipality described by a profile."""

from django.core.management.base import BaseCommand, CommandError

from atlas.profile import Profile, ProfileError, load_profile


class Command(BaseCommand):
    help = (
        "Load a municipality profile (TOML: layers, addresses, categories, service files, "
        "demo contacts; see the README). A dry run that runs every step and rolls back, "
        "printing what each step did and how long it took, unless --commit is given; with "
        "--commit one transaction, all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the profile (.toml)")
        parser.add_argument(
            "--data", help="folder the profile's files lie in (default: the profile's data)"
        )
        parser.add_argument(
            "--skip-addresses", action="store_true", help="leave out the address index"
        )
        parser.add_argument("--commit", action="store_true", help="write everything")

    def handle(self, *args, path, data, skip_addresses, commit, **options):
        try:
            profile = Profile.load(path, data=data)
            report = load_profile(
                profile, commit=commit, addresses=not skip_addresses, log=self.stdout.write
            )
        except ProfileError as exc:
            raise CommandError(f"Nothing was written. {exc}") from exc
        self.stdout.write(report.lines()[-2])
        self.stdout.write(self.style.SUCCESS(report.lines()[-1]) if commit else report.lines()[-1])
