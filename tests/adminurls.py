"""Admin URLs of objects, escaped the way the admin's own links escape them.

The admin reads `_XX` in an object id as an escaped character (`_3F` is `?`, `_5F` is `_`), so a
public id whose random part starts with one of those 20 pairs (`cus_3Fab...`, about one id in 190)
is "not found" at `/admin/.../<raw id>/change/`. Build admin URLs of public ids with these helpers.
"""

from django.contrib.admin.utils import quote
from django.urls import reverse


def admin_url(obj, view: str = "change") -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(obj.pk)])


def operation_url(obj, name: str) -> str:
    """The page of operation `name` for `obj` (core.admin_ops: a change-page button)."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_operation", args=[quote(obj.pk), name])
