from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from . import event_operations  # noqa: F401

        # Each app's event types, declared in its events.py (as audit actions are in audit.py).
        autodiscover_modules("events")
        from . import beat_audit, key_rotation  # noqa: F401  (key_rotation: its audit action)
        from .ml import audit, events, operations  # noqa: F401  (the registry's audit actions, events, staff operations)

        beat_audit.connect()
        from django.db.backends.signals import connection_created

        from .pgbinding import cache_longer_statements, on_connection_created

        connection_created.connect(on_connection_created, dispatch_uid="core.pgbinding")
        cache_longer_statements()
