from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and customers"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import audit, operations, signals  # noqa: F401
        from .roles import ensure_roles_after_migrate

        # Later apps add models (and so permissions) in later migrations; keep roles complete.
        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="accounts.ensure_roles")
