"""Public operations on customers (scope area: payments, which includes customers)."""

from core.operations import Operation, register

from . import selectors, services
from .serializers import (
    ApiKeyRevokeInput,
    ApiKeySerializer,
    CustomerCreateInput,
    CustomerGetInput,
    CustomerKycUpdateInput,
    CustomerListInput,
    CustomerSerializer,
    CustomerUpdateInput,
)


def _get(*, actor, customer_id):
    return selectors.customer_get(customer_id=customer_id)


def _kyc_update(*, actor, customer_id, status, note, evidence_reference=""):
    return services.customer_kyc_update(actor=actor, customer_id=customer_id, kyc_status=status, note=note,
                                        evidence_reference=evidence_reference)


def _list(*, actor, **filters):
    return selectors.customer_list(**filters)


register(Operation(
    name="create_customer", title="Create customer",
    description=("Creates an end customer (the merchant's client, not a staff user) and returns it with its "
                 "cus_ id. Side effect: one new customer. Errors: validation_error."),
    handler=services.customer_create, scope="payments:write", permission="accounts.add_customer",
    input=CustomerCreateInput, output=CustomerSerializer, read_only=False, success_status=201,
    tags=("customers",),
))
register(Operation(
    name="get_customer", title="Get customer",
    description="Returns one customer by its cus_ id. Errors: not_found.",
    handler=_get, scope="payments:read", permission="accounts.view_customer",
    input=CustomerGetInput, output=CustomerSerializer, tags=("customers",),
))
register(Operation(
    name="update_customer", title="Update customer",
    description=("Changes a customer's email, name, country, status or metadata; fields left out are kept. "
                 "Errors: not_found, validation_error."),
    handler=services.customer_update, scope="payments:write", permission="accounts.change_customer",
    input=CustomerUpdateInput, output=CustomerSerializer, read_only=False, tags=("customers",),
))
register(Operation(
    name="update_customer_kyc", title="Update customer KYC status",
    description=("Sets a customer's KYC verification status (unverified, pending, verified or rejected) with a "
                 "note saying why and an optional evidence reference; every change is kept as a review, "
                 "audited and evented. The status gates money movement: unverified and pending customers "
                 "cannot withdraw and have a daily limit on outgoing transfers and conversions per currency, "
                 "rejected customers cannot withdraw, transfer or convert (kyc_required). Repeating the "
                 "current status changes nothing. Errors: not_found, validation_error."),
    handler=_kyc_update, scope="compliance:write", permission="accounts.change_customer_kyc",
    input=CustomerKycUpdateInput, output=CustomerSerializer, read_only=False, tags=("customers",),
))
register(Operation(
    name="list_customers", title="List customers",
    description=("Lists customers, newest first, filtered by email, status, country and creation time; "
                 "page with limit (max 100) and cursor."),
    handler=_list, scope="payments:read", permission="accounts.view_customer",
    input=CustomerListInput, output=CustomerSerializer, many=True, tags=("customers",),
))

# Keys are managed by staff: the admin is this operation's one door.
register(Operation(
    name="revoke_api_key", title="Revoke API key",
    description=("Revokes an API key for good: every later call with it is refused (api_key_revoked). Revoking a "
                 "revoked key changes nothing. Errors: not_found."),
    handler=services.api_key_revoke, scope="*", permission="accounts.revoke_apikey", input=ApiKeyRevokeInput,
    output=ApiKeySerializer, read_only=False, destructive=True, tags=("api_keys",), doors=frozenset({"admin"}),
))
