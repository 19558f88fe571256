from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User
from accounts.roles import ROLE_NAMES
from core.context import Actor
from core.errors import DomainError


class Command(BaseCommand):
    help = "Creates a staff user with a role and a confirmed TOTP device; prints the otpauth:// URI last."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=ROLE_NAMES)
        parser.add_argument("--email", default="")
        parser.add_argument("--reset", action="store_true",
                            help="If the user exists, replace password, role, TOTP device and backup codes.")

    def handle(self, *args, username, password, role, email, reset, **options):
        actor = Actor.system("create_staff_user")
        existing = User.objects.filter(username=username).first()
        if existing is not None and not reset:
            raise CommandError(f"User {username!r} already exists (use --reset to replace its credentials).")
        try:
            if existing is not None:
                created = services.staff_user_reset_credentials(actor=actor, user=existing, password=password,
                                                                role=role)
            else:
                created = services.staff_user_create(actor=actor, username=username, password=password,
                                                     role=role, email=email)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"Created staff user {username} with role {role}.")
        self.stdout.write("Backup codes (each works once): " + " ".join(created.backup_codes))
        assert created.totp_device is not None  # always made here (with_totp)
        self.stdout.write(created.totp_device.config_url)
