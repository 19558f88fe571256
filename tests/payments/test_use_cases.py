"""Every public payments service says where its transaction boundary is (docs/CONVENTIONS.md, 1)."""

from payments import services
from payments.services import reconciliation, settings, webhooks

# Steps: they call a provider (or apply many items) between commits of their own; never wrapped.
STEPS = {"payment_create", "payment_create_batch", "payment_create_from_request", "payment_capture",
         "payment_cancel", "payment_verify", "payment_review", "payment_expire_authorisations",
         "payment_settle_unknown", "refund_create", "reconciliation_run", "webhook_receive",
         "webhook_retry_failed"}
TRANSACTION = {"refund_apply_result", "mismatch_resolve", "webhook_apply", "routing_rule_save", "fee_schedule_save"}


def _public(module):
    return {name: fn for name, fn in vars(module).items()
            if callable(fn) and not name.startswith("_") and getattr(fn, "__module__", "").startswith(
                "payments.services") and not isinstance(fn, type)}


def test_each_public_service_is_a_use_case_of_the_right_kind():
    found = {}
    for module in (services, reconciliation, settings, webhooks):
        found.update({name: getattr(fn, "use_case", None) for name, fn in _public(module).items()
                      if fn.__module__ == module.__name__ or module is services})
    assert found == {**dict.fromkeys(STEPS, "steps"), **dict.fromkeys(TRANSACTION, "transaction")}
