"""An API request's objects are freed when it ends, not left in reference cycles for the collector
(core.middleware.release_rendered_context; core.serializers.release_fields for an operation's input serializer;
core.db's commit marker for the work joined to a first transaction)."""

import gc
import io
import json

import pytest
from django.test.client import ClientHandler

from tests.factories import CustomerFactory
from tests.wallets_setup import open_wallet

pytestmark = pytest.mark.django_db

CYCLIC = {"rest_framework.request.Request", "rest_framework.response.Response", "core.rest.TransfersView",
          "django.core.handlers.wsgi.WSGIRequest", "accounts.authentication.ApiKeyAuthentication",
          "wallets.serializers.TransferInput", "rest_framework.utils.serializer_helpers.BindingDict",
          "core.serializers.AmountInField"}


def _call(app, raw_key, method, path, body=None):
    raw = json.dumps(body).encode() if body is not None else b""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": "application/json",
               "HTTP_AUTHORIZATION": f"Bearer {raw_key}", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}
    # Django's WSGI handler as the test client calls it (without closing the test's database connection).
    response = app(environ)
    return response.status_code, response.content


def _left_in_cycles(call) -> set[str]:
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        call()
        gc.collect()
        return {f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage}
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()


def test_a_transfer_leaves_no_request_in_a_cycle(make_key, system_actor):
    key = make_key("*")
    source = open_wallet(actor=system_actor, customer=CustomerFactory(), balance=10_000)
    target = open_wallet(actor=system_actor, customer=CustomerFactory())
    app = ClientHandler()
    body = {"from_wallet_id": source.pk, "to_wallet_id": target.pk, "amount": "1.00", "currency": "USD"}
    assert _call(app, key.raw_key, "POST", "/api/v1/transfers", body)[0] == 201  # imports and caches warmed

    answers = []
    left = _left_in_cycles(lambda: answers.append(_call(app, key.raw_key, "POST", "/api/v1/transfers", body)))
    assert answers[0][0] == 201
    assert json.loads(answers[0][1])["amount"] == "1.00"
    assert left & CYCLIC == set()


def test_a_read_and_a_refusal_leave_none_either(make_key):
    key = make_key("*")
    customer = CustomerFactory()
    app = ClientHandler()
    for path, status in ((f"/api/v1/customers/{customer.pk}", 200), ("/api/v1/customers/cus_nope", 404)):
        answers = []
        left = _left_in_cycles(lambda p=path: answers.append(_call(app, key.raw_key, "GET", p)))
        assert answers[0][0] == status
        assert (path, left & {"rest_framework.request.Request", "rest_framework.response.Response",
                       "django.core.handlers.wsgi.WSGIRequest"}) == (path, set())

