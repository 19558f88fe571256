"""The monitoring app in the admin, one module per part."""

from . import admin_errors  # noqa: F401
