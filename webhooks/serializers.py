from rest_framework import serializers

from core.serializers import DateTimeInField, ListQuerySerializer, UtcDateTimeField

from .models import WebhookDelivery

EVENTS_HELP = 'Event types to send (docs/EVENTS.md); ["*"] (the default) for every type the caller may read.'


class WebhookEndpointSerializer(serializers.Serializer):
    """The canonical endpoint object; never its secret (that is shown once, on creation and rotation)."""

    id = serializers.CharField(help_text="Endpoint id, prefix we_.")
    object = serializers.SerializerMethodField()
    url = serializers.CharField()
    description = serializers.CharField()
    enabled_events = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why the endpoint was disabled automatically, if it was.")
    previous_secret_expires_at = UtcDateTimeField(allow_null=True, help_text=(
        "Until when the secret before the last rotation still signs deliveries (a second signature)."))
    created = UtcDateTimeField()
    updated = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "webhook_endpoint"


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_...): shown only in this answer. Store it.")


class EndpointCreateInput(serializers.Serializer):
    url = serializers.CharField(max_length=2048, help_text="https:// URL that receives the events (POST).")
    enabled_events = serializers.ListField(child=serializers.CharField(max_length=80), required=False,
                                           min_length=1, max_length=200, help_text=EVENTS_HELP)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)


class EndpointIdInput(serializers.Serializer):
    endpoint_id = serializers.CharField(max_length=64, help_text="Webhook endpoint id (we_...).")


class EndpointUpdateInput(EndpointIdInput):
    url = serializers.CharField(max_length=2048, required=False)
    enabled_events = serializers.ListField(child=serializers.CharField(max_length=80), required=False,
                                           min_length=1, max_length=200, help_text=EVENTS_HELP)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, help_text="false stops deliveries; true resumes them.")


class EndpointListInput(ListQuerySerializer):
    pass


class ReplayInput(EndpointIdInput):
    created_gte = DateTimeInField(help_text="Events created at or after this time.")
    created_lte = DateTimeInField(help_text="Events created at or before this time.")
    types = serializers.ListField(child=serializers.CharField(max_length=80), required=False, max_length=200,
                                  help_text="Only these event types (default: every type the endpoint receives).")

    def validate(self, attrs):
        if attrs["created_gte"] > attrs["created_lte"]:
            raise serializers.ValidationError({"created_lte": ["Must not be before created_gte."]})
        return attrs


class ReplaySerializer(serializers.Serializer):
    object = serializers.CharField(help_text="Always `webhook_replay`.")
    endpoint_id = serializers.CharField()
    events = serializers.IntegerField(help_text="How many events were scheduled for delivery.")


class RedeliverInput(serializers.Serializer):
    event_id = serializers.CharField(max_length=64, help_text="Event id (evt_...).")
    endpoint_id = serializers.CharField(max_length=64, help_text="Webhook endpoint id (we_...).")


class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Delivery id, prefix whd_.")
    object = serializers.SerializerMethodField()
    endpoint_id = serializers.CharField()
    event_id = serializers.CharField()
    # Text, not an enum: the schema's `ReasonEnum` is the refund reason's name.
    reason = serializers.CharField(help_text="Why it was sent: event, test, replay or redeliver.")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = UtcDateTimeField(allow_null=True)
    created = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "webhook_delivery"


class AttemptListInput(EndpointIdInput, ListQuerySerializer):
    event_id = serializers.CharField(max_length=64, required=False, help_text="Only attempts of this event.")


class AttemptSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Attempt id, prefix wha_.")
    object = serializers.SerializerMethodField()
    delivery_id = serializers.CharField()
    event_id = serializers.CharField()
    event_type = serializers.CharField(source="event.type")
    attempt = serializers.IntegerField(source="number")
    status_code = serializers.IntegerField(allow_null=True, help_text="The endpoint's HTTP status (null: no answer).")
    succeeded = serializers.BooleanField()
    latency_ms = serializers.IntegerField()
    response_body = serializers.CharField(help_text="The first 1 KB of the endpoint's answer.")
    error = serializers.CharField(help_text="Why no answer came (timeout, refused address, ...).")
    next_retry_at = UtcDateTimeField(allow_null=True)
    created = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "webhook_attempt"
