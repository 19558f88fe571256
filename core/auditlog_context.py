"""django-auditlog's request context (actor, remote address and port on each field-history entry) without its
per-request signal: its middleware connects a `pre_save` receiver for every request and disconnects it after,
and each connect and disconnect empties the signal's receiver cache, so every model saved in any request
looked its receivers up again; with a server's threads each request's receiver is connected beside the
others'. That was ~3 % of a REST transfer's instructions (callgrind, `bench/profile_request.py`).

Here one receiver, connected once, reads the context each request sets: the same data, read by auditlog's own
receiver function (`_set_extra_data`, which also applies the actor `accounts.authentication` puts there for an
API key). A nested `auditlog.context.set_actor` block still works as before: it sets its own context with its
own id and connects its own receiver, which is the one that acts inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from auditlog import get_logentry_model
from auditlog.cid import set_cid
from auditlog.context import _set_extra_data, auditlog_value
from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware
from django.db.models.signals import pre_save
from django.http import HttpRequest, HttpResponseBase

_SIGNAL_ID = ("core.auditlog_context", 0)


class AuditlogMiddleware(_AuditlogMiddleware):  # type: ignore[misc]  # django-auditlog ships no types
    """In place of `auditlog.middleware.AuditlogMiddleware`, with the same context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        super().__init__(get_response)
        pre_save.connect(partial(_set_extra_data, signal_duid=_SIGNAL_ID), sender=get_logentry_model(),
                         dispatch_uid=_SIGNAL_ID, weak=False)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        set_cid(request)
        token = auditlog_value.set({**self.get_extra_data(request), "signal_duid": _SIGNAL_ID})
        try:
            response: HttpResponseBase = self.get_response(request)
            return response
        finally:
            auditlog_value.reset(token)
