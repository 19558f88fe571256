from rest_framework import serializers

from core.serializers import CountryField, DateTimeInField, ListQuerySerializer, UtcDateTimeField, validate_metadata

from .models import Customer


class CustomerSerializer(serializers.Serializer):
    """The canonical customer object, the same in REST, MCP and events."""

    id = serializers.CharField(help_text="Customer id, prefix cus_.")
    object = serializers.SerializerMethodField()
    email = serializers.EmailField()
    name = serializers.CharField()
    country = serializers.CharField()
    status = serializers.ChoiceField(choices=Customer.Status.choices)
    kyc_status = serializers.ChoiceField(choices=Customer.KycStatus.choices)
    metadata = serializers.DictField()
    created = UtcDateTimeField()
    updated = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "customer"


class CustomerCreateInput(serializers.Serializer):
    email = serializers.EmailField(help_text="The customer's e-mail address.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    country = CountryField(required=False, allow_blank=True, default="")
    metadata = serializers.DictField(required=False, default=dict, validators=[validate_metadata])


class CustomerUpdateInput(serializers.Serializer):
    customer_id = serializers.CharField(help_text="Customer id (cus_...).")
    email = serializers.EmailField(required=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    country = CountryField(required=False)
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    metadata = serializers.DictField(required=False, validators=[validate_metadata])


class CustomerKycUpdateInput(serializers.Serializer):
    customer_id = serializers.CharField(help_text="Customer id (cus_...).")
    status = serializers.ChoiceField(choices=Customer.KycStatus.choices, help_text="The new KYC status.")
    note = serializers.CharField(max_length=1000, help_text="Why the status changes (kept with the review).")
    evidence_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="Where the evidence is kept, e.g. a case or document id (no documents themselves).")


class CustomerGetInput(serializers.Serializer):
    customer_id = serializers.CharField(help_text="Customer id (cus_...).")


class CustomerListInput(ListQuerySerializer):
    email = serializers.EmailField(required=False)
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    country = CountryField(required=False)
    created_gte = DateTimeInField(required=False)
    created_lte = DateTimeInField(required=False)


class ApiKeyRevokeInput(serializers.Serializer):
    api_key_id = serializers.CharField(help_text="API key id (key_...).")


class ApiKeySerializer(serializers.Serializer):
    """An API key as staff see it: never its secret."""

    id = serializers.CharField(help_text="API key id, prefix key_.")
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    created = UtcDateTimeField()
    expires_at = UtcDateTimeField(allow_null=True)
    revoked_at = UtcDateTimeField(allow_null=True)
