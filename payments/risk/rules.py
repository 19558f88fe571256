"""Staff rules beside the model (`RiskRule`): a condition over the payment's fields and features, or a
block list of one field's values. A condition is a small expression language, checked on save:

    card_country != ip_country and amount > 500
    count_1h >= 5 or (new_device == 1 and amount_ratio > 4)
    ip_country in ["RU", "NG"]

Names are the features (docs/RISK.md) and the fields `amount` (major units), `currency`, `method`,
`channel`, `ip_country`, `card_country`, `device_id`, `merchant_reference`, `customer_id`; operators
`and`, `or`, `not`, comparisons and `in` / `not in` a list of constants. A comparison with an unknown
value (a missing feature) is false.
"""

from __future__ import annotations

import ast
import functools
import math
import operator

from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.models import stamp
from core.money import CURRENCY_EXPONENTS

from ..audit import PaymentsAction
from ..errors import InvalidRiskRule
from .caches import RULES
from .features import FEATURES

FIELDS = ("amount", "currency", "method", "channel", "ip_country", "card_country", "device_id",
          "merchant_reference", "customer_id")
NAMES = frozenset(FIELDS) | frozenset(FEATURES)
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}


def parse(condition: str) -> ast.Expression:
    try:
        tree = ast.parse(condition, mode="eval")
    except SyntaxError as exc:
        raise InvalidRiskRule({"condition": [f"Not an expression: {exc.msg}."]}) from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in NAMES:
            raise InvalidRiskRule({"condition": [f"Unknown name {node.id!r}."]})
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float)):
            raise InvalidRiskRule({"condition": ["Constants are numbers or strings."]})
        if not isinstance(node, (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Compare,
                                 ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, *_COMPARE)):
            raise InvalidRiskRule({"condition": [f"Not allowed in a rule: {type(node).__name__}."]})
    return tree


@functools.lru_cache(maxsize=512)
def _parsed(condition: str) -> ast.Expression:
    """A saved condition's tree, parsed and checked once per process (scoring runs every enabled rule on
    every payment); the tree is only read, never changed, so sharing it is safe."""
    return parse(condition)


def _value(node, env):
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(e, env) for e in node.elts]
    return _truth(node, env)


def _known(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _truth(node, env) -> bool:
    if isinstance(node, ast.Expression):
        return _truth(node.body, env)
    if isinstance(node, ast.BoolOp):
        results = (_truth(v, env) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp):
        return not _truth(node.operand, env)
    if isinstance(node, ast.Compare):
        left = _value(node.left, env)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _value(right_node, env)
            if not (_known(left) and _known(right)):
                return False
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:  # a number against a string: the rule does not hold
                return False
            left = right
        return True
    return bool(_value(node, env))


def environment(ctx, features: dict | None) -> dict:
    env = dict(features or {})
    env.update(amount=ctx.amount / 10 ** CURRENCY_EXPONENTS.get(ctx.currency, 2), currency=ctx.currency,
               method=ctx.method, channel=ctx.channel, ip_country=ctx.ip_country, card_country=ctx.card_country,
               device_id=ctx.device_id, merchant_reference=ctx.merchant_reference, customer_id=ctx.customer_id)
    return {k: (v if v != "" else None) for k, v in env.items()}




def enabled_rules() -> list:
    """The enabled staff rules in name order, cached (stale when a rule is saved: payments/risk/signals.py)."""
    from payments.models import RiskRule

    return RULES.get("enabled", lambda: list(RiskRule.objects.filter(enabled=True)))


def fired_rules(ctx, features: dict | None, card_fingerprint: str = "") -> list:
    """The enabled rules that hold for this payment, in name order."""
    from payments.models import RiskRule

    rules = enabled_rules()
    if not rules:
        return []
    env = environment(ctx, features)
    env["card_fingerprint"] = card_fingerprint or None
    fired = []
    for rule in rules:
        if rule.kind == RiskRule.Kind.BLOCK_LIST:
            holds = env.get(rule.field) is not None and env.get(rule.field) in set(rule.values or [])
        else:
            holds = _truth(_parsed(rule.condition), env)
        if holds:
            fired.append(rule)
    return fired


@use_case
def risk_rule_save(*, actor: Actor, rule):
    from payments.models import RiskRule

    if rule.kind == RiskRule.Kind.CONDITION:
        if not rule.condition.strip():
            raise InvalidRiskRule({"condition": ["A condition rule needs a condition."]})
        parse(rule.condition)
    else:
        if rule.field not in RiskRule.Field.values:
            raise InvalidRiskRule({"field": ["A block list names one field."]})
        if not isinstance(rule.values, list) or not all(isinstance(v, str) and v for v in rule.values):
            raise InvalidRiskRule({"values": ["A block list is a list of non-empty strings."]})
    created = rule.pk is None
    stamp(rule)
    rule.save()
    audit_record(action=PaymentsAction.RISK_RULE_CREATED if created else PaymentsAction.RISK_RULE_UPDATED,
                 actor=actor, obj=rule, details={"name": rule.name, "kind": rule.kind, "action": rule.action,
                                                 "condition": rule.condition, "field": rule.field,
                                                 "values": rule.values, "enabled": rule.enabled})
    return rule
