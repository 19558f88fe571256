"""REST door: DRF views generated from operations, so REST and MCP share one declaration."""

from __future__ import annotations

import copy
from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .cards import contains_pan
from .context import Actor, bind_context
from .errors import ValidationFailed
from .idempotency import validate_key
from .operations import Operation, get_operation, invoke


def actor_for_request(request) -> Actor:
    api_key = getattr(request, "auth", None)
    if api_key is not None and hasattr(api_key, "scopes"):
        actor = Actor.for_api_key(api_key)
    else:
        actor = Actor.for_user(request.user)
    bind_context(actor=actor)
    return actor


def _query_data(request) -> dict[str, Any]:
    return {key: request.query_params.get(key) for key in request.query_params}


def _body_data(request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed({"non_field_errors": ["The body must be a JSON object."]})
    return dict(data)


class _Envelope(serializers.Serializer):
    pass


def _list_envelope(op: Operation):
    return type(f"{op.output.__name__.removesuffix('Serializer')}List", (serializers.Serializer,), {
        "data": op.output(many=True),
        "has_more": serializers.BooleanField(),
        "next_cursor": serializers.CharField(allow_null=True),
        "__module__": op.output.__module__,
    })


def _handler_for(op_name: str, http_method: str, path_params: dict[str, str], operation_id: str | None = None):
    def handler(self, request, **kwargs):
        op = get_operation(op_name)
        key = request.headers.get("Idempotency-Key")
        if key is not None and (not op.read_only or contains_pan(key)):
            validate_key(key, field="Idempotency-Key")  # before anything could store or echo it
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

    op = get_operation(op_name)
    params = [OpenApiParameter(name=kw, type=str, location=OpenApiParameter.PATH) for kw in path_params]
    if not op.read_only:
        params.append(OpenApiParameter(name="Idempotency-Key", type=str, location=OpenApiParameter.HEADER,
                                       required=False, description="Makes a retried write safe (24 h)."))
    request_serializer = None
    if op.input is not None and http_method in ("get", "delete"):
        params.append(op.input)
    elif op.input is not None:
        excluded = set(path_params.values())
        fields = {name: copy.deepcopy(f) for name, f in op.input().fields.items()
                  if name not in excluded}
        if fields:
            request_serializer = type(f"{op.input.__name__.removesuffix('Serializer')}Body",
                                      (serializers.Serializer,), {**fields, "__module__": op.input.__module__})
    response_serializer = _list_envelope(op) if op.many and op.output else op.output
    responses = {op.success_status: response_serializer}
    if op.approvable:
        responses[202] = _Envelope
    return extend_schema(
        operation_id=operation_id or op.name, summary=op.title, description=op.description, tags=list(op.tags) or None,
        request=request_serializer, responses=responses, parameters=params,
    )(handler)


def operation_view(name: str, *, path_params: dict[str, str] | None = None, **methods: str) -> type[APIView]:
    """A DRF view class answering each HTTP method with one operation."""
    path_params = path_params or {}
    attrs = {}
    seen: set[str] = set()
    for method, op_name in methods.items():
        # One operation on two methods (POST and PATCH): OpenAPI operation ids must stay unique.
        operation_id = op_name if op_name not in seen else f"{op_name}_{method}"
        seen.add(op_name)
        attrs[method] = _handler_for(op_name, method, path_params, operation_id)
    attrs["__module__"] = __name__
    return type(name, (APIView,), attrs)


def schema_without_slashed_aliases(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: the slashed alias of each path is not documented twice."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


def api_path(route: str, view: type[APIView], name: str):
    """The route without a trailing slash, and the slashed form too (clients don't follow a
    redirected POST, so no redirect)."""
    view_fn = view.as_view()
    return [path(route, view_fn, name=name), path(route + "/", view_fn)]
