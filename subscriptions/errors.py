"""Domain errors of subscriptions (stable codes, see DESIGN.md's error table); a currency mismatch is
`core.money.CurrencyMismatch`, shared by every app."""

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


class NoPaymentMethod(BusinessRefusal):
    """A subscription with neither a wallet nor a provider token: collection counts it as a hard decline."""

    code = "no_payment_method"
    default_message = "The subscription has no payment source."
