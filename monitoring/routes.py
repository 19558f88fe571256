"""What a request is called in metrics, alerts and the request log: its route pattern, never its path."""

from __future__ import annotations

from django.http import HttpRequest

API_PREFIX = "/api/"


def rest_route(request: HttpRequest) -> str | None:
    """'POST /api/v1/wallets/<str:wallet_id>' for an API request, None for anything else.

    The pattern, not the path: one series per route however many ids pass through it, and no id
    (or anything a client put in a path) in a metric's label. A path no route matches is one name.
    """
    if not request.path.startswith(API_PREFIX):
        return None
    match = getattr(request, "resolver_match", None)
    route = f"/{match.route}" if match is not None and match.route else "<unmatched>"
    return f"{request.method} {route}"
