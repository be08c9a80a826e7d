"""``manage.py send_verification_reminders``: ask organisations to confirm their entries."""

from django.core.management.base import BaseCommand

from providers.verification import send_reminders


class Command(BaseCommand):
    help = (
        "E-mail each organisation whose services were not verified for a while a signed link "
        "to confirm or correct them (Django's e-mail backend; the console in development)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=335,
            help="remind about services not verified for this many days (default 335, "
            "a month before they count as stale)",
        )
        parser.add_argument("--all", action="store_true", help="remind every organisation")
        parser.add_argument("--dry-run", action="store_true", help="list, send nothing")

    def handle(self, *args, **options):
        report = send_reminders(
            options["older_than"], everyone=options["all"], dry_run=options["dry_run"]
        )
        verb = "would be sent" if options["dry_run"] else "sent"
        self.stdout.write(f"{len(report.sent)} reminders {verb}.")
        for line in report.sent:
            self.stdout.write(f"  {line}")
        if report.without_address:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(report.without_address)} organisations have no e-mail address "
                    "(set one in the admin):"
                )
            )
            for name in report.without_address:
                self.stdout.write(f"  {name}")
