"""Test-only endpoints under /api/test/: a write held on a threading.Event, crashes, refusals."""

import threading

from django.db import OperationalError
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer
from core import clock
from core.errors import BusinessRefusal
from core.operations import Operation, invoke
from core.rest import actor_for_request

started = threading.Event()
release = threading.Event()
effects: list[str] = []


class NoteInput(serializers.Serializer):
    note = serializers.CharField()


def _held(*, actor, note):
    """Writes a row, then waits until the test lets it finish."""
    now = clock.now()
    customer = Customer.objects.create(email=f"{note}@held.example", created=now, updated=now)
    effects.append(note)
    started.set()
    if not release.wait(timeout=20):
        raise RuntimeError("test never released the held write")
    return {"customer_id": customer.pk, "note": note}


def _refuse(*, actor, note):
    now = clock.now()
    Customer.objects.create(email=f"{note}@refused.example", created=now, updated=now)
    effects.append(note)
    raise BusinessRefusal("Refused for the test.", code="test_refused", details={"note": note})


HELD_DB = Operation(name="test_held_db", title="t", description="t", handler=_held, scope="payments:write",
                    input=NoteInput, read_only=False, success_status=201)
HELD_LEASE = Operation(name="test_held_lease", title="t", description="t", handler=_held, scope="payments:write",
                       input=NoteInput, read_only=False, success_status=201, idempotency_mode="lease")
REFUSE = Operation(name="test_refuse", title="t", description="t", handler=_refuse, scope="payments:write",
                   input=NoteInput, read_only=False, success_status=201)


def _op_view(op):
    class View(APIView):
        def post(self, request):
            result = invoke(op, actor=actor_for_request(request), data=dict(request.data),
                            idempotency_key=request.headers.get("Idempotency-Key"))
            response = Response(result.body, status=result.status)
            if result.replayed:
                response["Idempotent-Replayed"] = "true"
            return response

    return View.as_view()


class Crash(APIView):
    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2 at /srv/app/core.py")


class DbDown(APIView):
    def get(self, request):
        raise OperationalError("connection to server at 10.0.0.5 failed: secret-host")


def plain_crash(request):
    raise RuntimeError("secret internals from a plain Django view")


def plain_db_down(request):
    raise OperationalError("connection to server failed: secret-host")


@require_GET
def plain_get_only(request):
    return JsonResponse({"ok": True})


test_api = [
    path("held-db", _op_view(HELD_DB)),
    path("held-lease", _op_view(HELD_LEASE)),
    path("refuse", _op_view(REFUSE)),
    path("crash", Crash.as_view()),
    path("db-down", DbDown.as_view()),
    path("plain-crash", plain_crash),
    path("plain-db-down", plain_db_down),
    path("plain-get-only", plain_get_only),
]
