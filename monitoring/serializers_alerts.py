"""Inputs and the canonical rendering of alerts."""

from rest_framework import serializers

from core.serializers import ListQuerySerializer, UtcDateTimeField, validate_metadata

from .models.alerts import SEVERITY_ORDER, Alert

SEVERITY_HELP = "low < medium < high < critical."


class AlertNoteSerializer(serializers.Serializer):
    text = serializers.CharField()
    by = serializers.CharField(source="actor_label", help_text="Who wrote it (a staff user, an API key, a task).")
    created = UtcDateTimeField()


class AlertSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Alert id, prefix alrt_.")
    object = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Alert.Status.choices)
    severity = serializers.ChoiceField(choices=SEVERITY_ORDER, help_text=SEVERITY_HELP)
    source = serializers.CharField(help_text="The rule kind (error_rate, ...), a registered source, or manual.")  # type: ignore[assignment]  # a field named like a Field attribute (DRF moves declared fields off the class)
    rule = serializers.CharField(source="rule.name", allow_null=True, default=None,
                                 help_text="The rule that raised it, if one did.")
    title = serializers.CharField()
    dedup_key = serializers.CharField(help_text="Occurrences with this key fold into this alert while it is active.")
    reason = serializers.CharField(help_text="Why it fired, with the numbers (latest occurrence).")
    details = serializers.DictField()
    rank_score = serializers.IntegerField(help_text="0-100: abnormality (0-50) + volume (0-25) + amount (0-25).")
    rank_reason = serializers.CharField(help_text="Why it has its severity.")
    impact = serializers.DictField(help_text='{"volume": n, "volume_label": "...", "amounts": {"USD": "10.50"}}.')
    occurrence_count = serializers.IntegerField()
    first_seen = UtcDateTimeField()
    last_seen = UtcDateTimeField()
    acknowledged_by = serializers.CharField()
    acknowledged_at = UtcDateTimeField(allow_null=True)
    resolved_by = serializers.CharField()
    resolved_at = UtcDateTimeField(allow_null=True)
    notes = AlertNoteSerializer(many=True, source="notes.all")
    created = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "alert"


class AlertIdInput(serializers.Serializer):
    alert_id = serializers.CharField(max_length=64, help_text="Alert id (alrt_...).")


class AlertAcknowledgeInput(AlertIdInput):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AlertResolveInput(AlertIdInput):
    note = serializers.CharField(max_length=2000, help_text="What was done, or why it is resolved.")


class AlertCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=SEVERITY_ORDER, help_text=SEVERITY_HELP)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="",
                                   help_text="Why, with the numbers (default: the title).")
    source = serializers.RegexField(r"^[a-z0-9_.:-]{1,60}$", required=False, default="manual",  # type: ignore[assignment]  # a field named like a Field attribute (DRF moves declared fields off the class)
                                    help_text="Who raises it (lowercase, digits, _ . : -); default manual.")
    dedup_key = serializers.CharField(max_length=255, required=False, allow_blank=True, default="", help_text=(
        "Raising again with the key of an open or acknowledged alert folds into it (occurrence_count + 1) "
        "instead of opening another; default: a new key."))
    details = serializers.DictField(required=False, default=dict, validators=[validate_metadata],
                                    help_text="Scalar values, at most 50 keys.")


class AlertListInput(ListQuerySerializer):
    status = serializers.ChoiceField(choices=Alert.Status.choices, required=False)
    severity = serializers.ChoiceField(choices=SEVERITY_ORDER, required=False)
    source = serializers.CharField(max_length=60, required=False)  # type: ignore[assignment]  # a field named like a Field attribute (DRF moves declared fields off the class)


class ActiveAlertsInput(serializers.Serializer):
    severity = serializers.ChoiceField(choices=SEVERITY_ORDER, required=False)
    source = serializers.CharField(max_length=60, required=False)  # type: ignore[assignment]  # a field named like a Field attribute (DRF moves declared fields off the class)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


class ActiveAlertsSerializer(serializers.Serializer):
    object = serializers.CharField(help_text="Always `list`.")
    data = AlertSerializer(many=True, help_text="Most severe first, then rank score, then latest seen.")  # type: ignore[assignment]  # a field named like a Field attribute (DRF moves declared fields off the class)
