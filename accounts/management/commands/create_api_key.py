from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User
from core.context import Actor
from core.errors import DomainError


class Command(BaseCommand):
    help = "Creates an API key for a user and prints the key alone on the last line (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username of the key's owner.")
        parser.add_argument("--scopes", required=True,
                            help="Comma-separated, e.g. 'payments:read,wallets:write' or '*'.")
        parser.add_argument("--name", default="")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, user, scopes, name, expires_days, **options):
        owner = User.objects.filter(username=user, is_active=True).first()
        if owner is None:
            raise CommandError(f"No active user {user!r}.")
        try:
            created = services.api_key_create(actor=Actor.system("create_api_key"), owner=owner,
                                              name=name or f"{user} key", scopes=scopes, expires_days=expires_days)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"Created API key {created.api_key.prefix} for {user} with scopes "
                          f"{','.join(created.api_key.scopes)}.")
        self.stdout.write(created.raw_key)
