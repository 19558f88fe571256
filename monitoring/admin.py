from . import admin_metrics  # noqa: F401
