from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import StaffTOTPDevice


class Command(BaseCommand):
    help = "Development aid: prints a staff user's current TOTP code (refused with production settings)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if settings.SETTINGS_MODULE.endswith("production"):
            raise CommandError("Refused with production settings.")
        device = StaffTOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username!r} has no confirmed TOTP device.")
        self.stdout.write(f"{device.totp().token():0{device.digits}d}")
