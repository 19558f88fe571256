"""Answers of the health part's operations."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import UtcDateTimeField

STATES = ["ok", "degraded", "down"]


class ComponentStatusSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="database, cache, broker, worker, beat, outbox, disk, fraud_model, "
                                           "ledger_verification, audit_chain, or one an upper layer registered.")
    state = serializers.ChoiceField(choices=STATES, help_text="ok counts 100 %, degraded 50 %, down 0 % of its weight.")
    weight = serializers.IntegerField(min_value=0, help_text="The component's weight in the score.")
    message = serializers.CharField(help_text="What the check saw, in a sentence (the reason when not ok).")
    duration_ms = serializers.FloatField(help_text="How long the check took, in milliseconds.")


class ComponentHealthSerializer(ComponentStatusSerializer):
    details = serializers.DictField(help_text="The check's numbers: round trips, counts, ages, thresholds, ids.")


class _Report(serializers.Serializer):
    state = serializers.ChoiceField(choices=STATES, help_text="ok when every component is ok, down when the "
                                                              "database is down, degraded otherwise.")
    score = serializers.IntegerField(min_value=0, max_value=100)
    formula = serializers.CharField(help_text="The exact computation of the score, with each component's weight "
                                              "and factor.")
    checked_at = UtcDateTimeField()
    duration_ms = serializers.FloatField(help_text="How long all the checks took together, in milliseconds.")


class HealthCheckSerializer(_Report):
    components = ComponentHealthSerializer(many=True)


class SystemStatusSerializer(_Report):
    components = ComponentStatusSerializer(many=True)
    # A field named `source` (DRF's metaclass moves declared fields off the class; the stubs don't know).
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["recorded", "live"],
        help_text="recorded: the minutely job's last check, at most HEALTH_STATUS_MAX_AGE_SECONDS old; live: now.")
    health_check_id = serializers.CharField(allow_null=True, help_text="The recorded check (hck_), null when live.")
    age_seconds = serializers.IntegerField(min_value=0, help_text="Seconds since checked_at.")
