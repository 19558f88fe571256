import datetime as dt

import pytest

from core.context import Actor
from core.models import AuditEvent
from payments.errors import InvalidRiskRule
from payments.models import RiskRule
from payments.risk import RiskContext
from payments.risk import model as fraud_model
from payments.risk.rules import _truth as holds
from payments.risk.rules import environment, parse, risk_rule_save
from payments.risk.scorer import model_scorer
from payments.risk.thresholds import decide
from tests.factories import CustomerFactory

ACTOR = Actor.system("tests")


def _ctx(customer_id="cus_x", **kw):
    fields = dict(customer_id=customer_id, customer_status="active", amount=60_000, currency="USD", method="card",
                  channel="web", device_id="d1", ip_country="RU", card_country="US", payment_method="tok_1",
                  at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    fields.update(kw)
    return RiskContext(**fields)


def test_conditions_read_fields_and_features():
    env = environment(_ctx(), {"count_1h": 6.0, "new_device": float("nan")})
    assert holds(parse("card_country != ip_country and amount > 500"), env) is True
    assert holds(parse("amount > 600"), env) is False
    assert holds(parse('count_1h >= 5 or ip_country in ["NG"]'), env) is True
    assert holds(parse("new_device == 1"), env) is False  # unknown: the rule does not hold
    assert holds(parse("not new_device == 1"), env) is True
    assert holds(parse('amount > "x"'), env) is False


@pytest.mark.parametrize(("condition", "message"), [
    ("amount >", "Not an expression"),
    ("balance > 5", "Unknown name 'balance'."),
    ("__import__('os')", "Not allowed in a rule: Call."),
    ("amount.real > 1", "Not allowed in a rule: Attribute."),
])
def test_bad_conditions_are_refused_and_nothing_is_saved(db, condition, message):
    with pytest.raises(InvalidRiskRule) as err:
        risk_rule_save(actor=ACTOR, rule=RiskRule(name="r", condition=condition))
    assert err.value.code == "invalid_risk_rule"
    assert err.value.details["fields"]["condition"][0].startswith(message)
    assert not RiskRule.objects.exists() and not AuditEvent.objects.filter(action__startswith="risk_rule.")


def test_block_lists_are_validated(db):
    with pytest.raises(InvalidRiskRule):
        risk_rule_save(actor=ACTOR, rule=RiskRule(name="b", kind="block_list", field="device_id", values=[""]))
    rule = risk_rule_save(actor=ACTOR, rule=RiskRule(name="b", kind="block_list", field="device_id", values=["d1"],
                                                     action="block"))
    event = AuditEvent.objects.get(action="risk_rule.created")
    assert event.object_id == str(rule.pk) and event.details["values"] == ["d1"]


def test_rules_fire_beside_the_model_and_only_tighten(db, small_frame):
    customer = CustomerFactory()
    risk_rule_save(actor=ACTOR, rule=RiskRule(name="mismatch-large", condition="card_country != ip_country and "
                                                                                "amount > 500"))
    # Without a model the rule set scores; the staff rule still holds the payment for review.
    result = model_scorer(_ctx(customer.id))
    assert (result.model_version, result.decision, result.rules_fired) == ("rules-1", "review", ["mismatch-large"])
    fraud_model.register(actor=ACTOR, trained=fraud_model.train(small_frame), data_fingerprint="a" * 64,
                         activate=True)
    risk_rule_save(actor=ACTOR, rule=RiskRule(name="bad-card", kind="block_list", field="card_fingerprint",
                                              values=["tok_1"], action="block"))
    result = model_scorer(_ctx(customer.id))
    assert result.model_version.startswith("fraud-")
    assert (result.decision, result.level, result.rules_fired) == ("block", "highest", ["bad-card", "mismatch-large"])
    quiet = model_scorer(_ctx(customer.id, ip_country="US", payment_method="tok_2", amount=1_000))
    assert quiet.rules_fired == [] and (quiet.level, quiet.decision) == decide(quiet.score)  # the model's own


def test_explanation_texts_handle_any_value():
    from payments.risk.explain import text

    assert text("merchant_labelled", 120000.0, {}) == "120000 of the merchant's payments have a known outcome"
    assert text("amount_log", 4.61512, {}) == "amount 100.00"
    assert text("count_1h", float("nan"), {}) == "count_1h unknown"
    assert text("country_mismatch", 1.0, {}) == "IP country differs from the card's country"
