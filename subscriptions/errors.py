"""Domain errors of subscriptions (stable codes, see DESIGN.md's error table)."""

from core.errors import BusinessRefusal, InvalidStateTransition, NotFound


class PlanNotFound(NotFound):
    default_message = "No such plan."


class SubscriptionNotFound(NotFound):
    default_message = "No such subscription."


class InvoiceNotFound(NotFound):
    default_message = "No such invoice."


class SubscriptionStateError(InvalidStateTransition):
    default_message = "The subscription is not in a state that allows this."


class InvoiceStateError(InvalidStateTransition):
    default_message = "The invoice is not in a state that allows this."


class PlanInactive(BusinessRefusal):
    code = "plan_inactive"
    default_message = "The plan is archived; new subscriptions and changes cannot use it."


class CurrencyMismatch(BusinessRefusal):
    code = "currency_mismatch"
    default_message = "The currencies differ."
