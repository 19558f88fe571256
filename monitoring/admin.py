"""The monitoring admin, one module per part."""

from . import admin_alerts  # noqa: F401
