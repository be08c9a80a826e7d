import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or reset) the demo superuser `admin` and print its login."

    def handle(self, *args, **options):
        secret_file = settings.BASE_DIR / "var" / "demo-admin-password"
        password = os.environ.get("ATLAS_DEMO_ADMIN_PASSWORD")
        if not password:
            if secret_file.exists():
                password = secret_file.read_text().strip()
            else:
                password = secrets.token_urlsafe(12)
                secret_file.parent.mkdir(exist_ok=True)
                secret_file.write_text(password)
                secret_file.chmod(0o600)
        user, _created = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if not user.check_password(password) or not user.is_superuser:
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        self.stdout.write(self.style.SUCCESS(f"Admin login: user “admin”, password “{password}”"))
