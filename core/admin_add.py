"""The admin's add pages as doors of the operations table.

`operation_add = operation_create("create_wallet")` on a ModelAdmin (with `OperationAddMixin`)
makes its add page the operation's form: the fields come from the operation's input serializer
(amounts as money inputs), the add permission is the operation's (no add button without it), and
the submitted form is one `core.operations.invoke` call as the signed-in staff member, so
validation, error codes, audit and idempotency are those of REST and MCP. Each rendered form
carries its own idempotency key: a double submit replays the first call instead of creating a
second object. A refusal is shown on the form (on the fields it names, else above them) with the
API's message and code; on success the staff member lands on the new object's change page.
`shown=("secret",)` shows those fields of the answer once (a new signing secret), as the message
confirming the add, the way `operation_action(shown=...)` does for actions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from .admin_ops import (
    OperationAction,
    error_text,
    form_arguments,
    form_class_for,
    show_once,
    staff_description,
)
from .context import Actor
from .errors import DomainError, ValidationFailed
from .operations import invoke

if TYPE_CHECKING:
    from django.contrib import admin

    _ModelAdminBase = admin.ModelAdmin[Any]  # generic in the stubs only
else:
    _ModelAdminBase = object


@dataclass(frozen=True)
class OperationCreate(OperationAction):
    """An add page calling an operation: an `OperationAction` without an object (`id_field` "")."""


def operation_create(operation: str, *, label: str | None = None, fixed: dict[str, Any] | None = None,
                     shown: tuple[str, ...] | dict[str, str] = ()) -> OperationCreate:
    """Declares a ModelAdmin's add page as a call of `operation`, whose output has the new object's `id`;
    `fixed` arguments are sent with every call and not shown on the form. `shown` names the answer's fields
    shown once on success (a mapping gives each its label in the message), instead of the "was added" message."""
    return OperationCreate(operation=operation, label=label or "", id_field="", fixed=dict(fixed or {}),
                           name="add", button=False, shown=tuple(shown),
                           shown_labels=dict(shown) if isinstance(shown, dict) else {})


def show_refusal(form: forms.Form, exc: DomainError) -> None:
    """Puts a refusal on the fields it names (the API's messages, its code as the error's code) and the
    rest above the fields, so nothing the API said is lost."""
    named: Any = exc.details.get("fields") if isinstance(exc, ValidationFailed) else None
    if not isinstance(named, dict):
        field = exc.details.get("field")
        named = {field: [exc.message]} if isinstance(field, str) else {}
    placed = False
    for name, texts in named.items():
        if name not in form.fields:
            continue
        for text in texts if isinstance(texts, list) else [texts]:
            form.add_error(name, forms.ValidationError(str(text), code=exc.code))
        placed = True
    if not placed or set(named) - set(form.fields):
        form.add_error(None, forms.ValidationError(error_text(exc), code=exc.code))


class OperationAddMixin(_ModelAdminBase):
    """For ModelAdmins whose objects are created by an operation: `operation_add = operation_create(...)`."""

    operation_add: OperationCreate | None = None
    operation_add_template = "admin/operation_add.html"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self.operation_add is None:
            return super().has_add_permission(request)
        op = self.operation_add.op
        return "admin" in op.doors and (op.permission is None or request.user.has_perm(op.permission))

    def add_view(self, request: HttpRequest, form_url: str = "",
                 extra_context: dict[str, Any] | None = None) -> HttpResponse:
        action = self.operation_add
        if action is None:
            return super().add_view(request, form_url, extra_context)
        if not self.has_add_permission(request):
            raise DjangoPermissionDenied
        form = form_class_for(action)(request.POST if request.method == "POST" else None)
        token = str(request.POST.get("_token", "")) if form.is_bound else ""
        token = token if 8 <= len(token) <= 64 else secrets.token_urlsafe(16)
        if form.is_bound and form.is_valid():
            try:
                result = invoke(action.op, actor=Actor.for_user(request.user), data=form_arguments(action, form),
                                idempotency_key=f"admin-add:{self.model._meta.label_lower}:{token}")
            except DomainError as exc:
                show_refusal(form, exc)
                token = secrets.token_urlsafe(16)  # the corrected form is a new call: a new key
            else:
                if action.shown:
                    show_once(self, request, action, result.body)
                    return self._change_page(str(result.body["id"]))
                return self._added(request, str(result.body["id"]), replayed=result.replayed)
        opts = self.model._meta
        context = {**self.admin_site.each_context(request), "opts": opts, "form": form, "token": token,
                   "title": action.label or f"Add {opts.verbose_name}", "action": action,
                   "description": staff_description(action.op), **(extra_context or {})}
        return TemplateResponse(request, self.operation_add_template, context)

    def _added(self, request: HttpRequest, object_id: str, *, replayed: bool) -> HttpResponse:
        opts = self.model._meta
        obj = self.model._default_manager.filter(pk=object_id).first()
        shown = str(obj) if obj is not None else object_id
        text = (f"The {opts.verbose_name} “{shown}” was already added by this form."
                if replayed else f"The {opts.verbose_name} “{shown}” was added.")
        self.message_user(request, text, messages.SUCCESS)
        return self._change_page(object_id)

    def _change_page(self, object_id: str) -> HttpResponse:
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                            args=[quote(object_id)], current_app=self.admin_site.name))
