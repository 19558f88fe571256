"""The admin as a door of the operations table.

An admin write is an operation call like any other: `OperationActionsMixin` turns each
`operation_action(...)` of a ModelAdmin into a list action over the selected rows and a button on
each object's change page. The form is built from the operation's input serializer (minus the
object's own id and the arguments the action fixes), the permission is the operation's, and the
call goes through `core.operations.invoke` as the signed-in staff member, so validation, error
codes, audit and idempotency are exactly those of REST and MCP. Approval gates bind API keys, not
staff. A destructive operation shows what it would do (`core.operations.simulate`) on its
confirmation page before anything runs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from rest_framework import serializers

from .context import Actor
from .errors import DomainError, ValidationFailed
from .forms import AmountInput, CurrencyChoiceField
from .idempotency import WriteResult
from .money import format_amount
from .operations import Operation, get_operation, invoke, simulate
from .serializers import AmountInField, CurrencyField

if TYPE_CHECKING:
    from django.contrib import admin

    _ModelAdminBase = admin.ModelAdmin[Any]  # generic in the stubs only
else:
    _ModelAdminBase = object  # a mixin at run time, typed against the ModelAdmin it is mixed into

# Objects previewed on one confirmation page; the rest are listed without a preview.
PREVIEW_LIMIT = 10


@dataclass(frozen=True)
class OperationAction:
    operation: str
    label: str
    id_field: str
    fixed: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    button: bool = True
    # When the change-page button is offered for an object (e.g. Capture only while capturable); list
    # actions stay on every row, and the operation itself refuses the rows it does not apply to.
    when: Callable[[Any], bool] | None = None
    # Fields of the call's answer to show the staff member once (a new signing secret), as a message,
    # each under its label in `shown_labels` (else its name).
    shown: tuple[str, ...] = ()
    shown_labels: dict[str, str] = field(default_factory=dict)

    @property
    def op(self) -> Operation:
        return get_operation(self.operation)


def operation_action(operation: str, *, label: str, id_field: str, fixed: dict[str, Any] | None = None,
                     name: str | None = None, button: bool = True,
                     when: Callable[[Any], bool] | None = None,
                     shown: tuple[str, ...] | dict[str, str] = ()) -> OperationAction:
    """Declares an admin action calling `operation` with `id_field` set to each object's pk and the
    `fixed` arguments; the staff member fills in the operation's other inputs. `shown` names the answer's
    fields shown once after the call (a mapping gives each its label in the message)."""
    return OperationAction(operation=operation, label=label, id_field=id_field, fixed=dict(fixed or {}),
                           name=name or operation, button=button, when=when, shown=tuple(shown),
                           shown_labels=dict(shown) if isinstance(shown, dict) else {})


def show_once(modeladmin: Any, request: HttpRequest, action: OperationAction, body: Any, *, about: str = "") -> None:
    """Shows the answer's `action.shown` fields (a new signing secret) to the staff member once, as warnings:
    they are on no page and in no log, only in this message."""
    values = body if isinstance(body, dict) else {}
    for name in action.shown:
        label = action.shown_labels.get(name, name)
        modeladmin.message_user(request, f"{about}{label} (shown only now): {values.get(name)}", messages.WARNING)


# --- what staff read -----------------------------------------------------------------------

# Rendered fields that are amounts in the object's currency.
_AMOUNT_KEYS = ("amount", "amount_capturable", "amount_refundable", "amount_captured", "amount_refunded",
                "balance", "available_balance", "total", "amount_due", "amount_paid")
_STATE_KEYS = ("status", *_AMOUNT_KEYS)
_ERRORS_SENTENCE = re.compile(r"\s*Errors?:[^.]*\.?")


def staff_description(op: Operation) -> str:
    """The operation's description without the error-code list written for API clients and agents."""
    return _ERRORS_SENTENCE.sub("", op.description).replace("`", "").strip()


def readable_state(values: dict[str, Any]) -> str:
    """`{"status": "requires_capture", "amount": "10.00", "currency": "USD"}` as staff read it:
    "status requires capture, amount 10.00 USD"."""
    currency = values.get("currency") or ""
    parts = []
    for key in _STATE_KEYS:
        value = values.get(key)
        if value is None or value == "":
            continue
        text = f"{value} {currency}".strip() if key in _AMOUNT_KEYS else str(value).replace("_", " ")
        parts.append(f"{key.replace('_', ' ')} {text}")
    return ", ".join(parts)


def _shown_value(bound: forms.BoundField, currency: str | None) -> str:
    value = bound.value()
    field = bound.field
    if isinstance(field, forms.ChoiceField):
        # Django normalises `choices` to (value, label) pairs; the stubs give the setter's wider union.
        labels = {str(key): str(label) for key, label in field.choices}  # type: ignore[misc, union-attr]
        values = value if isinstance(value, list | tuple) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in values)
    if isinstance(field, forms.BooleanField):
        return "Yes" if field.to_python(value) else "No"
    if isinstance(field.widget, AmountInput) and currency:
        return f"{value} {currency}"
    return str(value)


# --- the form, from the operation's input serializer -------------------------------------


def _form_field(field: serializers.Field[Any, Any, Any, Any]) -> forms.Field:
    required = field.required
    help_text = str(field.help_text or "")
    label = str(field.label or "") or None
    common: dict[str, Any] = {"required": required, "help_text": help_text, "label": label}
    if isinstance(field, AmountInField):
        return forms.CharField(widget=AmountInput(), **{**common, "help_text": help_text or
                                                       'In major units of the currency, e.g. "12.50".'})
    if isinstance(field, CurrencyField):
        return CurrencyChoiceField(blank_label=None if required else "---------", **common)
    if isinstance(field, serializers.MultipleChoiceField):
        return forms.MultipleChoiceField(choices=list(field.choices.items()), **common)
    if isinstance(field, serializers.ChoiceField):
        choices = list(field.choices.items())
        if not required:
            choices = [("", "---------"), *choices]
        return forms.ChoiceField(choices=choices, **common)
    if isinstance(field, serializers.BooleanField):
        if field.required or field.default in (True, False):
            # A checkbox says yes or no; it starts as the operation's default (an unticked box is "no").
            return forms.BooleanField(**{**common, "required": False}, initial=field.default is True)
        # Optional without a default (e.g. an update's `enabled`): "unchanged" must be sayable too.
        return forms.NullBooleanField(**{**common, "required": False})
    if isinstance(field, serializers.IntegerField):
        return forms.IntegerField(min_value=field.min_value, max_value=field.max_value, **common)
    if isinstance(field, serializers.DictField | serializers.JSONField):
        # An empty object to fill in, not the word "null" (an empty object is left out of the call).
        return forms.JSONField(initial=dict, **common)
    if isinstance(field, serializers.ListField):
        return forms.CharField(**{**common, "help_text": (help_text + " Comma-separated.").strip()})
    if isinstance(field, serializers.EmailField):
        return forms.EmailField(**common)
    max_length = getattr(field, "max_length", None)
    # Free text gets a text area; an object's id (`customer_id`) is one line whatever its length.
    free_text = (max_length is None or max_length > 200) and not (field.field_name or "").endswith("_id")
    widget = forms.Textarea(attrs={"rows": 2}) if free_text else None
    return forms.CharField(max_length=max_length, widget=widget, strip=True, **common)


def form_class_for(action: OperationAction) -> type[forms.Form]:
    """A Django form of the operation's inputs that the staff member chooses."""
    op = action.op
    fields: dict[str, forms.Field] = {}
    if op.input is not None:
        for name, serializer_field in op.input().fields.items():
            if serializer_field.read_only or name == action.id_field or name in action.fixed:
                continue
            fields[name] = _form_field(serializer_field)
    return type(f"{op.name.title().replace('_', '')}Form", (forms.Form,), fields)


def form_arguments(action: OperationAction, form: forms.Form) -> dict[str, Any]:
    """What the staff member filled in, as the operation's wire arguments: blanks left out (the
    operation's defaults apply, as when a REST client omits a field)."""
    serializer_fields = action.op.input().fields if action.op.input is not None else {}
    data: dict[str, Any] = {}
    for name, value in form.cleaned_data.items():
        if value is None or value in ("", [], {}):  # a blank; an unticked box (False) is an answer
            continue
        if isinstance(serializer_fields.get(name), serializers.ListField) and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        data[name] = value
    return {**data, **action.fixed}


# --- running it ----------------------------------------------------------------------------


def _call(action: OperationAction, request: HttpRequest, obj: Model, arguments: dict[str, Any],
          token: str) -> WriteResult:
    # One key per object and form: a double submit replays instead of running twice.
    key = f"admin:{token}:{obj.pk}"[:255]
    return invoke(action.op, actor=Actor.for_user(request.user), data={action.id_field: obj.pk, **arguments},
                  idempotency_key=None if action.op.read_only else key)


def error_text(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        fields = exc.details.get("fields", {})
        parts = [f"{name}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                 for name, msgs in fields.items()]
        return f"{exc.message} {'; '.join(parts)} ({exc.code})"
    return f"{exc.message} ({exc.code})"


def _apply_field_errors(form: forms.Form, exc: DomainError) -> bool:
    """Puts a refusal that names form fields back on the form; whether it did."""
    names = set(exc.details.get("fields", {})) if isinstance(exc, ValidationFailed) else set()
    if not isinstance(exc, ValidationFailed) and isinstance(exc.details.get("field"), str):
        names = {exc.details["field"]}
    placed = False
    for name in names & set(form.fields):
        messages_ = exc.details["fields"][name] if isinstance(exc, ValidationFailed) else [exc.message]
        form.add_error(name, [str(m) for m in (messages_ if isinstance(messages_, list) else [messages_])])
        placed = True
    return placed


def _preview_text(action: OperationAction, preview: dict[str, Any]) -> str:
    if preview.get("error"):
        error = preview["error"]
        return f"Would be refused: {error['message']} ({error['code']})"
    if preview.get("would_succeed") is None:
        state = readable_state(preview.get("target") or {})
        return "Calls the provider" + (f"; now: {state}." if state else ".")
    state = readable_state(preview.get("result") or {})
    return "Would succeed" + (f"; afterwards: {state}." if state else ".")


class OperationActionsMixin(_ModelAdminBase):
    """For ModelAdmins: `operation_actions = (operation_action(...), ...)` become list actions and
    change-page buttons, offered to staff whose role has the operation's permission."""

    operation_actions: tuple[OperationAction, ...] = ()
    operation_action_template = "admin/operation_action.html"
    # True where every change to an object is one of its operations: its page is then Django's view-only page
    # (every field read-only, Close instead of Save, titled "View ...", a posted form refused), whatever the role.
    changed_by_operations_only = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.changed_by_operations_only:
            return False
        return super().has_change_permission(request, obj)

    def _operation_actions(self) -> dict[str, OperationAction]:
        return {action.name: action for action in self.operation_actions}

    def _allowed(self, request: HttpRequest, action: OperationAction) -> bool:
        op = action.op
        return "admin" in op.doors and (op.permission is None or request.user.has_perm(op.permission))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Any: the stubs type an action as returning str; ours answer a response or None, as Django's do.
        actions: dict[str, Any] = super().get_actions(request)
        for action in self.operation_actions:
            if self._allowed(request, action):
                actions[action.name] = (self._list_action(action), action.name, action.label)
        return actions

    def _list_action(self, action: OperationAction) -> Callable[..., HttpResponse | None]:
        def run(modeladmin: OperationActionsMixin, request: HttpRequest,
                queryset: QuerySet[Any]) -> HttpResponse | None:
            return modeladmin.operation_page(request, action, list(queryset), from_list=True)

        run.__name__ = action.name
        return run

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        urls = [path("<path:object_id>/operation/<str:action_name>/",
                     self.admin_site.admin_view(self.operation_object_view),
                     name=f"{opts.app_label}_{opts.model_name}_operation")]
        return urls + super().get_urls()

    def operation_buttons(self, request: HttpRequest, obj: Model) -> list[dict[str, str]]:
        opts = self.model._meta
        return [{"label": action.label,
                 "url": reverse(f"admin:{opts.app_label}_{opts.model_name}_operation",
                                args=[quote(obj.pk), action.name], current_app=self.admin_site.name)}
                for action in self.operation_actions
                if action.button and self._allowed(request, action) and (action.when is None or action.when(obj))]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        extra = {"operation_buttons": self.operation_buttons(request, obj) if obj is not None else []}
        return super().change_view(request, object_id, form_url, extra_context={**extra, **(extra_context or {})})

    def operation_object_view(self, request: HttpRequest, object_id: str, action_name: str) -> HttpResponse:
        action = self._operation_actions().get(action_name)
        if action is None:
            raise Http404("No such action.")
        if not self._allowed(request, action):
            raise DjangoPermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such object.")
        response = self.operation_page(request, action, [obj], from_list=False)
        assert response is not None  # only a list action answers None (back to the list)
        return response

    def operation_page(self, request: HttpRequest, action: OperationAction, objects: list[Any], *,
                       from_list: bool) -> HttpResponse | None:
        """The form first (and, for a destructive operation, what it would do); the calls once the
        staff member submits (and, when destructive, confirms). Nothing changes on a GET."""
        form = form_class_for(action)(request.POST if self._posted(request, action) else None,
                                      initial=self._initial(action, objects))
        currency = self._currency(objects)
        if currency is not None:
            # Amounts are in the object's own currency: say which, next to each amount input.
            for form_field in form.fields.values():
                if isinstance(form_field.widget, AmountInput):
                    form_field.widget.currency = currency
        token = str(request.POST.get("_token", "")) if form.is_bound else ""
        token = token if 8 <= len(token) <= 64 else secrets.token_urlsafe(16)
        previews: list[tuple[Any, str]] = []
        if form.is_bound and form.is_valid():
            arguments = form_arguments(action, form)
            if not action.op.destructive or request.POST.get("_confirm") == "yes":
                return self._run(request, action, objects, arguments, token, form, from_list)
            previews = self._previews(request, action, objects, arguments, form)
        elif from_list and not form.fields and not action.op.destructive:
            # Nothing to fill in or confirm: runs at once, as a stock admin action does.
            return self._run(request, action, objects, dict(action.fixed), token, form, from_list)
        elif not form.fields and action.op.destructive:
            # Nothing to fill in: the first page already says what confirming would do.
            previews = self._previews(request, action, objects, dict(action.fixed), form)
        return self._page(request, action, objects, form, previews, token, from_list)

    @staticmethod
    def _posted(request: HttpRequest, action: OperationAction) -> bool:
        return request.method == "POST" and request.POST.get("_operation") == action.name

    def _page(self, request: HttpRequest, action: OperationAction, objects: list[Any], form: forms.Form,
              previews: list[tuple[Any, str]], token: str, from_list: bool) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request), "title": action.label, "opts": self.model._meta,
            "action": action, "form": form, "objects": objects, "previews": previews, "token": token,
            "from_list": from_list, "confirming": bool(previews), "description": staff_description(action.op),
            "summary": [(bound.label, _shown_value(bound, self._currency(objects))) for bound in form
                        if bound.value() not in (None, "", [], False)] if previews else [],
            "more_objects": max(len(objects) - PREVIEW_LIMIT, 0) if previews else 0,
        }
        return TemplateResponse(request, self.operation_action_template, context)

    @staticmethod
    def _currency(objects: list[Any]) -> str | None:
        """The currency every object shares (None when they differ or have none)."""
        currencies: set[Any] = {getattr(obj, "currency", None) for obj in objects}
        return next(iter(currencies)) if len(currencies) == 1 else None

    def _initial(self, action: OperationAction, objects: list[Any]) -> dict[str, Any]:
        currency = self._currency(objects)
        initial: dict[str, Any] = {}
        if currency is not None and "currency" in form_class_for(action).base_fields:
            initial["currency"] = currency
        return initial

    def _previews(self, request: HttpRequest, action: OperationAction, objects: list[Any], arguments: dict[str, Any],
                  form: forms.Form) -> list[tuple[Any, str]]:
        actor = Actor.for_user(request.user)
        previews: list[tuple[Any, str]] = []
        for obj in objects[:PREVIEW_LIMIT]:
            try:
                preview = simulate(action.op, actor=actor, data={action.id_field: obj.pk, **arguments})
            except DomainError as exc:
                if len(objects) == 1 and _apply_field_errors(form, exc):
                    return []
                previews.append((obj, f"Would be refused: {error_text(exc)}"))
            else:
                previews.append((obj, _preview_text(action, preview)))
        return previews

    def _run(self, request: HttpRequest, action: OperationAction, objects: list[Any], arguments: dict[str, Any],
             token: str, form: forms.Form, from_list: bool) -> HttpResponse | None:
        done = 0
        for obj in objects:
            try:
                result = _call(action, request, obj, arguments, token)
            except DomainError as exc:
                if len(objects) == 1 and not from_list and _apply_field_errors(form, exc):
                    # The staff member corrects the field on the same form (a new call: a new key).
                    return self._page(request, action, objects, form, [], secrets.token_urlsafe(16), from_list)
                self.message_user(request, f"{obj}: {error_text(exc)}", messages.ERROR)
            else:
                done += 1
                show_once(self, request, action, result.body, about=f"{obj}: ")
        if done:
            self.message_user(request, f"{action.label}: {done} done.", messages.SUCCESS)
        if from_list:
            return None
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                            args=[quote(objects[0].pk)], current_app=self.admin_site.name))


def amount_label(minor: int | None, currency: str) -> str:
    """For action labels and messages that name an amount."""
    return "the whole remainder" if minor is None else f"{format_amount(minor, currency)} {currency}"
