"""Every class of error under /api/ has the shape {"error": {"code", "message", "details"}}."""

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import Customer
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.foundation.urls")]


def error_of(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_validation_error_names_the_fields(api):
    err = error_of(api.post("/api/v1/customers", {"email": "not-an-email", "country": "GBR"}, format="json"), 400)
    assert err["code"] == "validation_error"
    assert set(err["details"]["fields"]) == {"email", "country"}
    assert Customer.objects.count() == 0


def test_missing_required_field(api):
    err = error_of(api.post("/api/v1/customers", {}, format="json"), 400)
    assert err["details"]["fields"] == {"email": ["This field is required."]}


def test_invalid_json(api):
    err = error_of(api.post("/api/v1/customers", "{not json", content_type="application/json"), 400)
    assert err["code"] == "invalid_json"


def test_body_not_an_object(api):
    err = error_of(api.post("/api/v1/customers", [1, 2], format="json"), 400)
    assert err["code"] == "validation_error"


def test_unsupported_media_type(api):
    err = error_of(api.post("/api/v1/customers", "email=a@b.c", content_type="application/x-www-form-urlencoded"),
                   415)
    assert err["code"] == "unsupported_media_type"


def test_raw_card_number_refused_and_named(api):
    body = {"email": "a@example.com", "metadata": {"note": "4242 4242 4242 4242"}}
    err = error_of(api.post("/api/v1/customers", body, format="json"), 400)
    assert err == {"code": "raw_card_data_not_allowed", "message": err["message"],
                   "details": {"field": "metadata.note"}}
    assert Customer.objects.count() == 0


def test_not_authenticated_401():
    err = error_of(APIClient().get("/api/v1/customers"), 401)
    assert err["code"] == "not_authenticated"


def test_domain_not_found(api):
    err = error_of(api.get("/api/v1/customers/cus_doesnotexist0000000000000"), 404)
    assert err["code"] == "not_found"
    assert err["details"] == {"customer_id": "cus_doesnotexist0000000000000"}


def test_django_404_under_api(api):
    err = error_of(api.get("/api/v1/no-such-thing"), 404)
    assert err["code"] == "not_found"
    err = error_of(APIClient().get("/api/nothing/here"), 404)
    assert err["code"] == "not_found"


def test_drf_405(api):
    response = api.delete("/api/v1/customers")
    err = error_of(response, 405)
    assert err["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_django_405(api):
    response = api.post("/api/test/plain-get-only")
    err = error_of(response, 405)
    assert err["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_django_csrf_403_under_api():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/api/test/plain-get-only", {"a": "b"})
    err = error_of(response, 403)
    assert err["code"] == "permission_denied"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_413_request_too_large(api):
    big = {"email": "a@example.com", "metadata": {"k": "x" * 400, "l": "y" * 400, "m": "z" * 400}}
    err = error_of(api.post("/api/v1/customers", big, format="json"), 413)
    assert err["code"] == "request_too_large"
    assert Customer.objects.count() == 0


def test_rest_bodies_are_limited_to_one_mebibyte_like_mcp(api):
    from mcp_gateway.rpc import MAX_BODY_BYTES

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == MAX_BODY_BYTES == 1024 * 1024
    big = {"email": "a@example.com", "metadata": {"k": "x" * (1024 * 1024)}}
    err = error_of(api.post("/api/v1/customers", big, format="json"), 413)
    assert err["code"] == "request_too_large"
    assert Customer.objects.count() == 0


def test_a_query_parameter_given_twice_is_a_validation_error(api):
    CustomerFactory()
    response = api.get("/api/v1/customers?limit=1&limit=100")
    err = error_of(response, 400)
    assert err["code"] == "validation_error"
    assert err["details"]["fields"] == {"limit": ["Given more than once: give each query parameter once."]}


def test_500_has_request_id_and_no_internals(api):
    response = api.get("/api/test/crash", HTTP_X_REQUEST_ID="crash-req-000001")
    err = error_of(response, 500)
    assert err == {"code": "internal_error", "message": "An unexpected error occurred.",
                   "details": {"request_id": "crash-req-000001"}}
    assert response["X-Request-ID"] == "crash-req-000001"
    for leak in (b"secret", b"hunter2", b"Traceback", b"/srv/app", b"RuntimeError"):
        assert leak not in response.content


def test_500_from_a_plain_django_view():
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/test/plain-crash", HTTP_X_REQUEST_ID="plain-crash-0001")
    err = error_of(response, 500)
    assert err["details"] == {"request_id": "plain-crash-0001"}
    assert b"secret" not in response.content


def test_503_on_operational_error(api):
    response = api.get("/api/test/db-down", HTTP_X_REQUEST_ID="db-down-0000001")
    err = error_of(response, 503)
    assert err["code"] == "service_unavailable"
    assert err["details"] == {"request_id": "db-down-0000001"}
    assert b"secret-host" not in response.content


def test_503_from_a_plain_django_view():
    client = APIClient(raise_request_exception=False)
    err = error_of(client.get("/api/test/plain-db-down"), 503)
    assert err["code"] == "service_unavailable"
    assert err["details"]["request_id"].startswith("req_")


def test_pages_outside_api_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_unstorable_text_is_a_validation_error_not_a_500(api):
    response = api.post("/api/v1/customers", {"email": "n@example.com", "metadata": {"note": "a\x00b"}},
                        format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]["fields"] == {
        "metadata.note": ["Text may not contain NUL characters or unpaired surrogates."]}
    assert Customer.objects.count() == 0
