from rest_framework import serializers

from core.serializers import UtcDateTimeField


# --- PCI self-assessment ---------------------------------------------------------------------------
class PciCheckSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id of the check, e.g. staff_second_factor.")
    requirement = serializers.CharField(help_text="The PCI DSS v4.0.1 requirement it maps to, e.g. 8.4.2.")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=["passed", "failed", "not_applicable"])
    evidence = serializers.CharField(help_text="What the check saw: counts, names, setting values, sample sizes. "
                                               "Card numbers are named by place and last four digits only.")


class PciComplianceSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=100,
                                     help_text="Share of applicable checks (passed or failed) that passed, 0-100.")
    checks = PciCheckSerializer(many=True)
    assessed_at = UtcDateTimeField()


class PciAssessmentSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Assessment id, prefix pci_.")
    object = serializers.SerializerMethodField()
    score = serializers.IntegerField(min_value=0, max_value=100)
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    not_applicable = serializers.IntegerField()
    checks = PciCheckSerializer(many=True)
    actor_label = serializers.CharField(help_text="Who ran it.")
    created = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "pci_assessment"
