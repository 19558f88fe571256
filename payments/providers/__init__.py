"""Provider registry: named providers built from settings.PAYMENTS_PROVIDERS.

Each entry is `{"type": "sandbox" | "stripe", ...options}`; several sandboxes with different
behaviour may be configured side by side. Instances are cached per configuration so a
sandbox's random generator keeps its state between calls.
"""

from __future__ import annotations

import json

from django.conf import settings

from .base import (
    AuthRequest,
    CardDetails,
    Provider,
    ProviderResult,
    ProviderTimeout,
    ProviderUnreachable,
    RefundResult,
    WebhookPayload,
)

__all__ = ["AuthRequest", "CardDetails", "Provider", "ProviderResult", "ProviderTimeout", "ProviderUnreachable",
           "RefundResult", "WebhookPayload", "configured", "get_provider"]

_cache: dict[tuple[str, str], Provider] = {}


def configured() -> dict[str, dict]:
    return dict(getattr(settings, "PAYMENTS_PROVIDERS", {}))


def _build(name: str, options: dict) -> Provider:
    options = dict(options)
    kind = options.pop("type", "sandbox")
    if kind == "sandbox":
        from .sandbox import SandboxProvider

        return SandboxProvider(name, **options)
    if kind == "stripe":
        from .stripe import StripeProvider

        return StripeProvider(name, **options)
    raise ValueError(f"Unknown provider type {kind!r} for {name!r}.")


def get_provider(name: str) -> Provider:
    options = configured().get(name)
    if options is None:
        raise LookupError(f"Provider {name!r} is not configured.")
    key = (name, json.dumps(options, sort_keys=True, default=str))
    if key not in _cache:
        _cache[key] = _build(name, options)
    return _cache[key]
