"""The dunning timeline under a controlled clock."""

import pytest
from django.core import mail

from subscriptions import selectors, services
from subscriptions.models import Invoice, InvoiceAttempt, Notification, Subscription

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def renewing(actor, customer, make_plan, travel):
    """A monthly subscription paid on 1 January whose card is then replaced by `token`."""
    def make(token):
        travel(at(2026, 1, 1))
        plan = make_plan(amount=4900)
        sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                           payment_method="tok_visa")
        Subscription.objects.filter(pk=sub.pk).update(payment_method=token)
        return sub
    return make


def _state(sub):
    sub.refresh_from_db()
    invoice = sub.invoices.filter(billing_reason="subscription_cycle").first()
    return sub.status, invoice.status, invoice.attempt_count, invoice.next_payment_attempt


def test_default_schedule_four_retries_over_14_days_then_unpaid(actor, renewing, travel):
    sub = renewing("tok_decline_insufficient_funds")
    timeline = []
    for moment in [at(2026, 2, 1), at(2026, 2, 1, 23, 59), at(2026, 2, 2), at(2026, 2, 4), at(2026, 2, 8),
                   at(2026, 2, 14, 23), at(2026, 2, 15), at(2026, 3, 1)]:
        travel(moment)
        services.billing_run(actor=actor)
        timeline.append((moment.strftime("%m-%d %H:%M"), *_state(sub)))
    assert timeline == [
        ("02-01 00:00", "past_due", "open", 1, at(2026, 2, 2)),
        ("02-01 23:59", "past_due", "open", 1, at(2026, 2, 2)),
        ("02-02 00:00", "past_due", "open", 2, at(2026, 2, 4)),
        ("02-04 00:00", "past_due", "open", 3, at(2026, 2, 8)),
        ("02-08 00:00", "past_due", "open", 4, at(2026, 2, 15)),
        ("02-14 23:00", "past_due", "open", 4, at(2026, 2, 15)),
        ("02-15 00:00", "unpaid", "open", 5, None),
        # Unpaid subscriptions are not renewed.
        ("03-01 00:00", "unpaid", "open", 5, None),
    ]
    assert sub.invoices.count() == 2
    assert [n.kind for n in Notification.objects.order_by("id")] == ["payment_failed"] * 4 + ["subscription_unpaid"]
    assert len(mail.outbox) == 5
    assert mail.outbox[0].to == [sub.customer.email]
    assert "2026-02-02" in mail.outbox[0].body
    assert list(InvoiceAttempt.objects.filter(invoice__billing_reason="subscription_cycle")
                .values_list("failure_code", flat=True)) == ["insufficient_funds"] * 5


def test_later_success_returns_to_active(actor, renewing, travel):
    sub = renewing("tok_decline_generic")
    travel(at(2026, 2, 1))
    services.billing_run(actor=actor)
    travel(at(2026, 2, 2))
    services.billing_run(actor=actor)
    Subscription.objects.filter(pk=sub.pk).update(payment_method="tok_visa")
    travel(at(2026, 2, 4))
    run = services.billing_run(actor=actor)
    assert (run.payments_attempted, run.payments_succeeded) == (1, 1)
    assert _state(sub) == ("active", "paid", 3, None)
    assert [n.kind for n in Notification.objects.order_by("id")] == ["payment_failed", "payment_failed",
                                                                     "payment_recovered"]


def test_hard_decline_skips_retries(actor, renewing, travel):
    sub = renewing("tok_decline_expired")
    travel(at(2026, 2, 1))
    run = services.billing_run(actor=actor)
    assert (run.payments_attempted, run.payments_failed) == (1, 1)
    assert _state(sub) == ("unpaid", "open", 1, None)
    attempt = InvoiceAttempt.objects.get(invoice__billing_reason="subscription_cycle")
    assert (attempt.failure_code, attempt.hard_decline) == ("expired_card", True)
    travel(at(2026, 2, 20))
    assert services.billing_run(actor=actor).payments_attempted == 0
    assert [n.kind for n in Notification.objects.all()] == ["subscription_unpaid"]


def test_staff_schedule_and_cancel_at_the_end(actor, renewing, travel):
    services.dunning_settings_save(actor=actor, retry_days=[2, 5], final_action="canceled",
                                   mark_uncollectible=True)
    sub = renewing("tok_decline_insufficient_funds")
    seen = []
    for moment in [at(2026, 2, 1), at(2026, 2, 3), at(2026, 2, 6)]:
        travel(moment)
        services.billing_run(actor=actor)
        seen.append(_state(sub))
    assert seen == [("past_due", "open", 1, at(2026, 2, 3)), ("past_due", "open", 2, at(2026, 2, 6)),
                    ("canceled", "uncollectible", 3, None)]
    assert sub.canceled_at == at(2026, 2, 6)


def test_bad_schedule_refused_and_nothing_saved(actor):
    from core.errors import ValidationFailed
    from subscriptions.models import DunningSettings

    for days in ([3, 1], [0], ["1"], [1, 1]):
        with pytest.raises(ValidationFailed):
            services.dunning_settings_save(actor=actor, retry_days=days, final_action="unpaid")
    with pytest.raises(ValidationFailed):
        services.dunning_settings_save(actor=actor, retry_days=[1], final_action="explode")
    assert DunningSettings.objects.count() == 0
    assert selectors.dunning_settings_get().retry_days == [1, 3, 7, 14]


def test_manual_pay_of_unpaid_invoice_recovers(actor, renewing, travel):
    sub = renewing("tok_decline_expired")
    travel(at(2026, 2, 1))
    services.billing_run(actor=actor)
    Subscription.objects.filter(pk=sub.pk).update(payment_method="tok_mastercard")
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    services.invoice_pay(actor=actor, invoice_id=invoice.id)
    assert _state(sub) == ("active", "paid", 2, None)


class _MailServerDown:
    """An e-mail backend whose server refuses connections (what smtplib raises then)."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")


def test_an_e_mail_the_mail_server_refused_is_sent_once_by_its_outbox_task(actor, renewing, travel, settings):
    from core.models import OutboxMessage
    from core.outbox import run_due_locally

    sub = renewing("tok_decline_insufficient_funds")
    settings.EMAIL_BACKEND = f"{__name__}._MailServerDown"
    travel(at(2026, 2, 1))
    services.billing_run(actor=actor)
    note = Notification.objects.get()
    assert (note.kind, note.sent, len(mail.outbox)) == ("payment_failed", None, 0)
    task = OutboxMessage.objects.get(task="subscriptions.send_notification")
    assert task.args == [note.pk]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert run_due_locally() >= 1
    note.refresh_from_db()
    assert note.sent is not None and [m.to for m in mail.outbox] == [[sub.customer.email]]
    # Sent is sent: the task delivered again (at-least-once) sends nothing more.
    from subscriptions.tasks import send_notification

    assert send_notification.apply(args=[note.pk]).get() == 0
    assert len(mail.outbox) == 1


def test_an_e_mail_sent_right_away_is_not_sent_again_by_its_task(actor, renewing, travel):
    from core.outbox import run_due_locally

    renewing("tok_decline_insufficient_funds")
    travel(at(2026, 2, 1))
    services.billing_run(actor=actor)
    assert len(mail.outbox) == 1
    run_due_locally()
    assert len(mail.outbox) == 1
