"""The wallets app's domain errors; codes are contracts (DESIGN.md error table). A currency mismatch is
`core.money.CurrencyMismatch`, the one of every app."""

from core.errors import BusinessRefusal, DomainError, InvalidStateTransition


class InsufficientFunds(BusinessRefusal):
    code = "insufficient_funds"
    default_message = "The account's available balance is too low for this amount."


class LimitExceeded(BusinessRefusal):
    code = "limit_exceeded"
    default_message = "This would exceed the wallet's daily outgoing limit."


class WalletFrozen(DomainError):
    code = "wallet_frozen"
    status = 409
    default_message = "The wallet is frozen or closed."


class UnbalancedEntry(DomainError):
    """A programming error in a caller: postings must sum to zero per currency."""

    code = "unbalanced_entry"
    status = 400
    default_message = "The postings of an entry must sum to zero per currency."


class HoldNotPending(InvalidStateTransition):
    default_message = "The hold is no longer pending."


class HoldAmountExceeded(BusinessRefusal):
    code = "hold_amount_exceeded"
    default_message = "The capture amount is larger than the hold."


class EntryAlreadyReversed(InvalidStateTransition):
    code = "entry_already_reversed"
    default_message = "This entry has already been reversed."


class WalletExists(DomainError):
    code = "wallet_exists"
    status = 409
    default_message = "The customer already has a wallet in this currency."


class RateNotFound(BusinessRefusal):
    code = "rate_not_found"
    default_message = "No exchange rate is stored for this currency pair."


class WalletNotEmpty(InvalidStateTransition):
    code = "wallet_not_empty"
    default_message = "Only a wallet with a zero balance and no pending holds can be closed."


class AmountTooSmall(BusinessRefusal):
    code = "amount_too_small"
    default_message = "The amount converts to less than one minor unit."


class KycRequired(BusinessRefusal):
    code = "kyc_required"
    default_message = "The customer's KYC status does not allow this movement (or this much of it today)."
