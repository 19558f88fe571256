"""Inbound provider webhooks (not an operation: the caller is the provider, proven by signature)."""

from __future__ import annotations

import stripe
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.context import Actor

from . import providers
from .services import webhooks


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    name = next((n for n, o in providers.configured().items() if o.get("type") == "stripe"), None)
    if name is None:
        return _error(404, "not_found", "Stripe is not configured.")
    try:
        event, is_new = webhooks.webhook_receive(provider_name=name, payload=request.body,
                                                 signature=request.headers.get("Stripe-Signature", ""))
    except stripe.SignatureVerificationError:
        return _error(400, "invalid_signature", "The Stripe-Signature header does not verify (bad or stale).")
    except ValueError:
        return _error(400, "validation_error", "The body is not a Stripe event.")
    if is_new:
        event = webhooks.webhook_apply(actor=Actor.system(f"webhook:{name}"), event_id=event.id)
    return JsonResponse({"received": True, "id": event.id, "status": event.status, "duplicate": not is_new})


urlpatterns = [
    path("stripe/", stripe_webhook, name="webhook-stripe"),
    path("stripe", stripe_webhook),
]
