"""REST door: DRF views generated from operations, so REST and MCP share one declaration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .cards import contains_pan, refuse_card_data_in_headers
from .context import Actor, bind_context
from .errors import ValidationFailed
from .idempotency import validate_key
from .operations import get_operation, invoke
from .schema import operation_schema


def actor_for_request(request: Request) -> Actor:
    api_key = getattr(request, "auth", None)
    if api_key is not None and hasattr(api_key, "scopes"):
        actor = Actor.for_api_key(api_key)
    else:
        actor = Actor.for_user(request.user)
    bind_context(actor=actor)
    return actor


def _query_data(request: Request) -> dict[str, Any]:
    # `?limit=1&limit=500` would otherwise mean whichever one a parser keeps; no filter takes a list.
    repeated = sorted(key for key, values in request.query_params.lists() if len(values) > 1)
    if repeated:
        raise ValidationFailed({key: ["Given more than once: give each query parameter once."] for key in repeated})
    return {key: request.query_params.get(key) for key in request.query_params}


def _body_data(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed({"non_field_errors": ["The body must be a JSON object."]})
    return dict(data)


def _handler_for(op_name: str, http_method: str, path_params: dict[str, str],
                 operation_id: str | None = None) -> Callable[..., Response]:
    def handler(self: APIView, request: Request, **kwargs: str) -> Response:
        op = get_operation(op_name)
        key = request.headers.get("Idempotency-Key")
        if key is not None and (not op.read_only or contains_pan(key)):
            validate_key(key, field="Idempotency-Key")  # before anything could store or echo it
        refuse_card_data_in_headers(request.headers)
        data = _query_data(request) if http_method in ("get", "delete") else _body_data(request)
        # The path names the object; the same name in the body or query would be silently replaced.
        clash = [field for field in path_params.values() if field in data]
        if clash:
            raise ValidationFailed({field: ["Unknown field: this id is given in the path."] for field in clash})
        for url_kwarg, field in path_params.items():
            data[field] = kwargs[url_kwarg]
        result = invoke(op, actor=actor_for_request(request), data=data,
                        idempotency_key=None if op.read_only else key)
        response = Response(result.body, status=result.status)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    return operation_schema(get_operation(op_name), http_method, path_params, operation_id)(handler)


def operation_view(name: str, *, path_params: dict[str, str] | None = None, **methods: str) -> type[APIView]:
    """A DRF view class answering each HTTP method with one operation."""
    path_params = path_params or {}
    attrs: dict[str, Any] = {}
    seen: set[str] = set()
    for method, op_name in methods.items():
        # One operation on two methods (POST and PATCH): OpenAPI operation ids must stay unique.
        operation_id = op_name if op_name not in seen else f"{op_name}_{method}"
        seen.add(op_name)
        attrs[method] = _handler_for(op_name, method, path_params, operation_id)
    attrs["__module__"] = __name__
    return type(name, (APIView,), attrs)


def schema_without_slashed_aliases(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """drf-spectacular preprocessing hook: the slashed alias of each path is not documented twice."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


def api_path(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    """The route without a trailing slash, and the slashed form too (clients don't follow a
    redirected POST, so no redirect)."""
    view_fn = view.as_view()
    return [path(route, view_fn, name=name), path(route + "/", view_fn)]
