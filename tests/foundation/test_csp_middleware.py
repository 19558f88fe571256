"""core.middleware.CSPMiddleware writes the headers django-csp's own middleware writes, response for response,
with the unchanged policy built once per settings."""

import pytest
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCspMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from core.middleware import CSPMiddleware

POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'"], "object-src": ["'none'"]}}


def _headers(middleware_class, path="/api/v1/wallets", prepare=None, use_nonce=False):
    request = RequestFactory().get(path)
    response = HttpResponse("ok")
    if prepare:
        prepare(response)
    middleware = middleware_class(lambda r: response)
    middleware.process_request(request)
    nonce = str(request.csp_nonce) if use_nonce else None
    middleware.process_response(request, response)
    with pytest.raises(CSPNonceError) if not use_nonce else _nothing():
        str(request.csp_nonce)  # too late to ask for one
    found = {h: response.get(h) for h in ("Content-Security-Policy", "Content-Security-Policy-Report-Only")}
    # A nonce is random: compared as a placeholder.
    return {h: v.replace(nonce, "NONCE") if v and nonce else v for h, v in found.items()}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _update(response):
    response._csp_update = {"style-src": ["'unsafe-inline'"]}


def _exempt(response):
    response._csp_exempt = True


def _own_header(response):
    response["Content-Security-Policy"] = "default-src 'none'"


@pytest.mark.parametrize(("path", "prepare", "use_nonce"), [
    ("/api/v1/wallets", None, False),
    ("/admin/", None, True),
    ("/api/redoc/", _update, False),
    ("/api/v1/wallets", _exempt, False),
    ("/api/v1/wallets", _own_header, False),
    ("/static/x.css", None, False),
])
def test_the_same_headers_as_django_csp(path, prepare, use_nonce):
    with override_settings(CONTENT_SECURITY_POLICY=POLICY,
                           CONTENT_SECURITY_POLICY_REPORT_ONLY={**POLICY, "EXCLUDE_URL_PREFIXES": ["/static/"]}):
        ours = _headers(CSPMiddleware, path, prepare, use_nonce)
        assert ours == _headers(DjangoCspMiddleware, path, prepare, use_nonce)
    assert ours["Content-Security-Policy"] is not None or prepare is _exempt


def test_a_changed_setting_changes_the_header():
    with override_settings(CONTENT_SECURITY_POLICY=POLICY):
        before = _headers(CSPMiddleware)["Content-Security-Policy"]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}}):
        after = _headers(CSPMiddleware)["Content-Security-Policy"]
    assert sorted(before.split("; ")) == ["default-src 'self'", "object-src 'none'", "script-src 'self'"]
    assert after == "default-src 'none'"
