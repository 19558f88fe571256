import pytest
from django.contrib.admin.utils import quote
from django.contrib.messages import get_messages
from django.urls import reverse

from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.216.34/hooks"


def test_add_page_creates_through_the_operation_and_shows_the_secret_once(staff_client):
    client = staff_client("admin")
    url = reverse("admin:webhooks_webhookendpoint_add")
    page = client.get(url)
    assert page.status_code == 200 and 'name="url"' in page.content.decode()
    refused = client.post(url, {"url": "https://10.0.0.1/x", "_token": "tok-aaaaaaaaaaaa"})
    assert refused.status_code == 200 and "webhook_target_refused" in refused.content.decode()
    assert WebhookEndpoint.objects.count() == 0
    done = client.post(url, {"url": PUBLIC, "enabled_events": "test.customer_poked", "_token": "tok-bbbbbbbbbbbb"})
    endpoint = WebhookEndpoint.objects.get()
    assert done["Location"] == reverse("admin:webhooks_webhookendpoint_change", args=[quote(endpoint.pk)])
    assert (endpoint.url, endpoint.enabled_events, endpoint.actor_type) == (PUBLIC, ["test.customer_poked"], "user")
    shown = [str(m) for m in get_messages(done.wsgi_request)]
    assert shown == [f"Signing secret (shown only now): {endpoint.secret}"]


def test_change_page_actions_rotate_and_show_the_new_secret(staff_client, system_actor):
    from webhooks.services import webhook_endpoint_create

    endpoint = webhook_endpoint_create(actor=system_actor, url=PUBLIC)
    client = staff_client("admin")
    change = client.get(reverse("admin:webhooks_webhookendpoint_change", args=[quote(endpoint.pk)])).content.decode()
    assert endpoint.secret not in change
    for name in ("rotate_webhook_secret", "send_test_webhook", "replay_webhook_events", "delete_webhook_endpoint",
                 "disable_webhook_endpoint"):
        assert reverse("admin:webhooks_webhookendpoint_operation", args=[quote(endpoint.pk), name]) in change
    url = reverse("admin:webhooks_webhookendpoint_operation", args=[quote(endpoint.pk), "rotate_webhook_secret"])
    done = client.post(url, {"_operation": "rotate_webhook_secret", "_token": "tok-cccccccccccc"})
    assert done.status_code == 302
    endpoint.refresh_from_db()
    assert any(endpoint.secret in str(m) for m in get_messages(done.wsgi_request))


def test_an_auditor_sees_no_add_page(staff_client):
    assert staff_client("auditor").get(reverse("admin:webhooks_webhookendpoint_add")).status_code == 403


def test_the_add_form_ticks_enabled_as_the_api_defaults_and_an_unticked_box_means_disabled(staff_client):
    from core.admin_ops import form_class_for
    from webhooks.admin import WebhookEndpointAdmin

    form = form_class_for(WebhookEndpointAdmin.operation_add)()
    assert form.fields["enabled"].initial is True
    client = staff_client("admin")
    url = reverse("admin:webhooks_webhookendpoint_add")
    client.post(url, {"url": PUBLIC, "_token": "tok-dddddddddddd"})  # a browser sends no unticked box
    client.post(url, {"url": PUBLIC + "2", "enabled": "on", "_token": "tok-eeeeeeeeeeee"})
    assert sorted(WebhookEndpoint.objects.values_list("url", "enabled")) == [(PUBLIC, False), (PUBLIC + "2", True)]
