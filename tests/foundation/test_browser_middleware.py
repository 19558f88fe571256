"""The session, authentication, OTP and messages middleware step over API and MCP requests without the session
cookie (core.browser_middleware), and only those."""

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from core import browser_middleware
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# What each middleware leaves on the request when it runs.
LEFT_BY = [(browser_middleware.SessionMiddleware, "session"),
           (browser_middleware.AuthenticationMiddleware, "user"),
           (browser_middleware.MessageMiddleware, "_messages")]


def _through(middleware_class, request, prepare=None):
    seen = {}

    def view(req):
        seen["request"] = req
        return HttpResponse("ok")

    if prepare is not None:
        prepare(request)
    response = middleware_class(view)(request)
    assert (response.status_code, response.content) == (200, b"ok")
    return seen["request"]


def _prepared(request):
    # What the middleware above the messages one leave: a session (and a user for OTP).
    browser_middleware.SessionMiddleware(lambda r: HttpResponse())(request)
    request.user = AnonymousUser()


@pytest.mark.parametrize(("middleware_class", "attribute"), LEFT_BY)
@pytest.mark.parametrize("path", ["/api/v1/payments", "/mcp", "/mcp/"])
def test_a_sessionless_api_request_passes_straight_through(middleware_class, attribute, path):
    prepare = _prepared if middleware_class is browser_middleware.MessageMiddleware else None
    request = _through(middleware_class, RequestFactory().post(path), prepare)
    assert not hasattr(request, attribute)


@pytest.mark.parametrize(("middleware_class", "attribute"), LEFT_BY)
@pytest.mark.parametrize(("path", "cookies"), [("/api/v1/payments", {settings.SESSION_COOKIE_NAME: "abc"}),
                                               ("/admin/", {}), ("/apix", {}), ("/mcpx", {}), ("/", {})])
def test_a_session_or_a_page_goes_through_the_middleware(middleware_class, attribute, path, cookies):
    factory = RequestFactory()
    for name, value in cookies.items():
        factory.cookies[name] = value
    prepare = _prepared if middleware_class is not browser_middleware.SessionMiddleware else None
    request = _through(middleware_class, factory.get(path), prepare)
    assert hasattr(request, attribute)


def test_otp_wraps_the_user_only_where_a_session_can_have_one():
    def run(path, cookies):
        factory = RequestFactory()
        for name, value in cookies.items():
            factory.cookies[name] = value
        request = factory.get(path)
        user = request.user = AnonymousUser()
        return _through(browser_middleware.OTPMiddleware, request).user is not user

    assert run("/api/v1/payments", {}) is False
    assert run("/mcp", {}) is False
    assert run("/api/v1/payments", {settings.SESSION_COOKIE_NAME: "abc"}) is True
    assert run("/admin/", {}) is True


def test_an_api_key_request_is_answered_without_session_or_cookie(api):
    customer = CustomerFactory()
    response = api.get(f"/api/v1/customers/{customer.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == customer.pk
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies
    assert not hasattr(response.wsgi_request, "session")


def test_an_api_key_request_with_a_stale_session_cookie_still_authenticates_by_key(api):
    customer = CustomerFactory()
    api.cookies[settings.SESSION_COOKIE_NAME] = "no-such-session"
    response = api.get(f"/api/v1/customers/{customer.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == customer.pk
    assert hasattr(response.wsgi_request, "session")  # with the cookie, the middleware ran


def test_without_key_or_session_the_api_answers_401(client):
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not hasattr(response.wsgi_request, "session")


def test_a_staff_session_uses_the_api(staff_client):
    customer = CustomerFactory()
    response = staff_client("admin").get(f"/api/v1/customers/{customer.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == customer.pk


def test_the_second_factor_check_finds_the_subclass():
    from django_otp.middleware import OTPMiddleware

    from compliance.pci import _installed

    assert "django_otp.middleware.OTPMiddleware" not in settings.MIDDLEWARE
    assert _installed(OTPMiddleware) is True
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "MIDDLEWARE", [m for m in settings.MIDDLEWARE if "OTP" not in m])
        assert _installed(OTPMiddleware) is False
