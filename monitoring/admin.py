from . import admin_requestlog  # noqa: F401
