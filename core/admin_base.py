"""Admin pieces shared by every app: read-only bases for records that must not change, the loop
an admin action runs over the selected objects, money shown as money (`MoneyAdminMixin`), and the
changelist of a large table without a full `COUNT(*)` (`LargeTableAdminMixin`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.admin.filters import AllValuesFieldListFilter
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html

from .money import format_amount

if TYPE_CHECKING:
    # Django's admin classes are generic in the stubs only (not subscriptable at run time).
    _BaseModelAdmin = admin.options.BaseModelAdmin[Any]
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
else:
    _BaseModelAdmin = object  # MoneyAdminMixin is a mixin: typed against the admin it is mixed into
    _ModelAdmin = admin.ModelAdmin
    _TabularInline = admin.TabularInline

# The wrapped `get_*` methods, so a subclass's own override is wrapped once.
_SWAPPED: set[Callable[..., Any]] = set()


def money_text(minor: int | None, currency: str | None) -> str | None:
    """`8700, "USD"` -> `"87.00 USD"`; None stays None (the admin shows its empty value)."""
    if minor is None or not currency:
        return None if minor is None else str(minor)
    return f"{format_amount(minor, currency)} {currency}"


def latency_text(milliseconds: float) -> str:
    """How long something took, as people read it beside others: `31.4` -> `"31 ms"`, `3.46` -> `"3.5 ms"`
    (below 10 ms a whole number would read 0.4 ms as "0 ms"), `1234.5` -> `"1,235 ms"`."""
    return f"{milliseconds:.1f} ms" if round(milliseconds, 1) < 10 else f"{milliseconds:,.0f} ms"


def latency_display(field: str = "duration_ms", description: str = "Latency") -> Callable[[Any, Model], str]:
    """A ModelAdmin display function showing `obj.<field>` (milliseconds) as `latency_text`, sortable by it."""

    @admin.display(description=description, ordering=field)
    def show(self: Any, obj: Model) -> str:
        return latency_text(getattr(obj, field))

    show.__name__ = f"{field}_text"
    return show


def money_display(field: str, currency_field: str = "currency",
                  description: str | None = None) -> Callable[[Any, Model], str | None]:
    """A ModelAdmin display function showing `obj.<field>` (minor units) as money in
    `obj.<currency_field>`, for `list_display` and `readonly_fields`."""

    @admin.display(description=description or field.replace("_", " ").capitalize(), ordering=field)
    def show(self: Any, obj: Model) -> str | None:
        text = money_text(getattr(obj, field), getattr(obj, currency_field, None))
        # No amount reads as the admin's empty value on change pages too ("-"), as in lists: a read-only
        # display method's None would be printed there as "None".
        return text if text is not None else str(self.get_empty_value_display())

    show.__name__ = f"{field}_money"
    return show


def clipped_display(field: str, description: str | None = None) -> Callable[[Any, Model], str]:
    """A list column for free text of any length (an actor's label): one line cut by CSS (`.bo-clip`), the whole
    text in its title, so a long value cannot widen a changelist past the screen and is still there to read."""

    @admin.display(description=description or field.replace("_", " ").capitalize(), ordering=field)
    def show(self: Any, obj: Model) -> str:
        text = getattr(obj, field)
        if not text:
            return str(self.get_empty_value_display())
        return format_html('<span class="bo-clip" title="{}">{}</span>', text, text)

    show.__name__ = f"{field}_clipped"
    return show


def _swap(admin_obj: Any, names: Iterable[Any], only: set[str]) -> list[Any]:
    swap = {f: f"{f}_money" for f in admin_obj.money_fields if f in only}
    # A tuple in `fields` is a row of fields; a callable stays as it is.
    return [swap.get(n, n) if isinstance(n, str) else tuple(_swap(admin_obj, n, only)) if isinstance(n, (list, tuple))
            else n for n in names]


_Method = Callable[..., Any]


def _readonly_swapped(method: _Method) -> _Method:
    @functools.wraps(method)
    def get_readonly_fields(self: Any, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        names = method(self, request, obj)
        return _swap(self, names, set(names))

    _SWAPPED.add(get_readonly_fields)
    return get_readonly_fields


def _fields_swapped(method: _Method) -> _Method:
    @functools.wraps(method)
    def get_fields(self: Any, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        # Only read-only amounts are swapped; an editable one stays the form's AmountField.
        return _swap(self, method(self, request, obj), self.readonly_money(request, obj))

    _SWAPPED.add(get_fields)
    return get_fields


def _list_swapped(method: _Method) -> _Method:
    @functools.wraps(method)
    def get_list_display(self: Any, request: HttpRequest) -> list[Any]:
        return _swap(self, method(self, request), set(self.money_fields))

    _SWAPPED.add(get_list_display)
    return get_list_display


_WRAPPERS = {"get_readonly_fields": _readonly_swapped, "get_fields": _fields_swapped,
             "get_list_display": _list_swapped}


class MoneyAdminMixin(_BaseModelAdmin):
    """For ModelAdmins and inlines: each field named in `money_fields` (minor units of the object's
    `money_currency_field`) is shown as "87.00 USD" wherever the admin would print the raw integer:
    in `list_display` and among read-only fields (change pages, inlines), under the field's own
    label. Admins list the plain field names as usual, also from their own `get_readonly_fields`
    or `get_fields` (wrapped here); editable amounts use `core.forms.AmountField`."""

    money_fields: tuple[str, ...] = ()
    money_currency_field = "currency"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for field in cls.money_fields:
            if not hasattr(cls, f"{field}_money"):
                setattr(cls, f"{field}_money", money_display(field, cls.money_currency_field))
        for name, wrap in _WRAPPERS.items():
            own = cls.__dict__.get(name)
            if own is not None and own not in _SWAPPED:
                setattr(cls, name, wrap(own))

    @_readonly_swapped
    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Sequence[str]:
        return super().get_readonly_fields(request, obj)

    @_fields_swapped
    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return super().get_fields(request, obj)

    @_list_swapped
    def get_list_display(self, request: HttpRequest) -> Any:
        return super().get_list_display(request)  # type: ignore[misc]  # ModelAdmin's, not BaseModelAdmin's

    def readonly_money(self, request: HttpRequest, obj: Model | None = None) -> set[str]:
        """The money fields shown read-only on this page (their raw field is not on the form)."""
        if obj is not None and not self.has_change_permission(request, obj):
            return set(self.money_fields)  # a view-only page shows every field read-only
        return self._declared_readonly_money(request, obj)

    def _declared_readonly_money(self, request: HttpRequest, obj: Model | None) -> set[str]:
        shown = set(self.get_readonly_fields(request, obj))
        return {f for f in self.money_fields if f"{f}_money" in shown}

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> list[str] | tuple[str, ...] | None:
        # Django keeps read-only names out of the form; the name shown is the display's, so the
        # raw field is excluded here. (A view-only page excludes every field by itself, after
        # listing them from the form: there the raw field must still be listed, to be swapped.)
        raw = self._declared_readonly_money(request, obj)
        excluded = super().get_exclude(request, obj)
        if not raw:
            return excluded
        if excluded is None:
            form_meta = getattr(self.form, "_meta", None)
            excluded = list(getattr(form_meta, "exclude", None) or ())
        return [*excluded, *sorted(raw)]

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False,
                 **kwargs: Any) -> type[forms.ModelForm[Any]]:
        form: type[forms.ModelForm[Any]] = super().get_form(  # type: ignore[misc]  # ModelAdmin's, not BaseModelAdmin's
            request, obj, change=change, **kwargs)
        # A declared AmountField of a read-only amount is dropped too (Django drops declared fields
        # by their read-only name only). The class is new on every call, so this touches no other.
        for name in self._declared_readonly_money(request, obj):
            form.base_fields.pop(name, None)
        return form

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if not self.fieldsets:
            return super().get_fieldsets(request, obj)
        raw = self.readonly_money(request, obj)
        return [(name, {**opts, "fields": _swap(self, opts["fields"], raw)})
                for name, opts in super().get_fieldsets(request, obj)]


class ReadOnlyAdmin(_ModelAdmin):
    """Viewable; never added, edited or deleted from the admin (actions still call services)."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(_TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Below this many rows (by the planner's estimate) a changelist counts exactly: counting is cheap
# there, and a small table's estimate may be stale (or -1 before its first ANALYZE).
EXACT_COUNT_BELOW = 10_000


def estimated_rows(model: type[Model], using: str) -> int | None:
    """PostgreSQL's estimate of the table's rows (`pg_class.reltuples`, kept by ANALYZE and
    autovacuum), or None where there is none (another database, never analyzed)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                       [connection.ops.quote_name(model._meta.db_table)])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]  # generic in the stubs only
    """The admin paginator for large tables: an unfiltered changelist takes the planner's row
    estimate instead of `SELECT COUNT(*)` over millions of rows (seconds on PostgreSQL); a
    filtered or searched list, a small table and SQLite count exactly."""

    @cached_property
    def count(self) -> int:
        queryset: Any = self.object_list
        query = getattr(queryset, "query", None)
        if query is not None and not query.where and not query.distinct and not query.is_sliced:
            estimate = estimated_rows(queryset.model, queryset.db)
            if estimate is not None and estimate >= EXACT_COUNT_BELOW:
                return estimate
        return super().count


class LargeTableAdminMixin(_ModelAdmin):
    """For the changelists of tables with millions of rows: no full count per page view (the
    paginator's estimate above; no second count for "N total"). Such admins also avoid
    `date_hierarchy` (its year list scans the table) and `list_filter` on fields without choices
    (their options are a DISTINCT over the table)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False


class IndexedValuesFilter(AllValuesFieldListFilter):
    """`list_filter = [("field", IndexedValuesFilter)]` for a large table: the field's distinct values
    read by skipping through its index (a recursive CTE, one index probe per value) on PostgreSQL,
    instead of a DISTINCT over every row. The field must lead a b-tree index; no other filter or
    search narrows the options (the same as Django's AllValuesFieldListFilter)."""

    def __init__(self, field: Any, request: HttpRequest, params: Any, model: type[Model],
                 model_admin: Any, field_path: str) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        connection = connections[model_admin.get_queryset(request).db]
        if connection.vendor != "postgresql" or field_path != field.name:
            return  # the default (lazy) DISTINCT: small tables, SQLite, a path through a relation
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(field.column)
        sql = (f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM {table} UNION ALL "
               f"SELECT (SELECT min({column}) FROM {table} WHERE {column} > v.x) FROM v WHERE v.x IS NOT NULL) "
               f"SELECT x FROM v WHERE x IS NOT NULL")
        with connection.cursor() as cursor:
            cursor.execute(sql)
            values = [row[0] for row in cursor.fetchall()]
        if field.null:
            values += [None] if model._default_manager.filter(**{f"{field.name}__isnull": True}).exists() else []
        self.lookup_choices = values  # type: ignore[assignment]  # iterated only, as the queryset was
