"""Test-only views that fail, next to the real URLs (`@pytest.mark.urls("tests.monitoring.errors_urls")`)."""

import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.views import APIView

from config.urls import urlpatterns as real_urlpatterns
from core.models import AuditEvent

logger = logging.getLogger("tests.monitoring.views")


def crash(request: HttpRequest) -> HttpResponse:
    raise ValueError(f"crash number {request.GET.get('n', '0')}")


def crash_other(request: HttpRequest) -> HttpResponse:
    raise KeyError("other")


class DrfCrash(APIView):
    def get(self, request):
        raise RuntimeError(f"drf crash {request.GET.get('n', '0')}")


def rolled_back(request: HttpRequest) -> HttpResponse:
    """Writes, logs an error and fails inside one transaction: the write rolls back, the error stays."""
    with transaction.atomic():
        AuditEvent.objects.filter(pk="none").exists()
        logger.error("order %s could not be settled", request.GET.get("n", "0"))
        raise LookupError("settlement failed")


def committed(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        logger.error("reminder %s not sent", request.GET.get("n", "0"))
    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/test-crash", crash),
    path("api/v1/test-crash-other", crash_other),
    path("api/v1/test-drf-crash", DrfCrash.as_view()),
    path("test-crash", crash),
    path("test-rolled-back", rolled_back),
    path("test-committed", committed),
    *real_urlpatterns,
]
