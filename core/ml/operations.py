"""Staff operations of the model registry (the admin's buttons and actions on machine-learned models)."""

from typing import Any

from rest_framework import serializers

from core.context import Actor
from core.models import MLModel
from core.operations import Operation, register
from core.serializers import UtcDateTimeField

from . import registry

STAFF_ONLY = frozenset({"admin"})


class ModelIdInput(serializers.Serializer[Any]):
    model_id = serializers.CharField(help_text="Model id (mdl_...).")


class ModelSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()
    status = serializers.CharField()
    promotion = serializers.DictField()
    activated_at = UtcDateTimeField(allow_null=True)


def _promote(*, actor: Actor, model_id: str) -> MLModel:
    model, _, _ = registry.model_promote(actor=actor, model_id=model_id)
    return model


def _rollback(*, actor: Actor, model_id: str) -> MLModel:
    return registry.model_rollback(actor=actor, name=registry.model_get(model_id).name)


register(Operation(
    name="promote_model", title="Promote by the promotion rule",
    description=("Applies the promotion rule to a candidate model, from its stored metrics: it becomes active "
                 "only when better than chance, better than the rules baseline and not worse than the active "
                 "model on the same evaluation set; otherwise it stays a candidate and the reason is kept. "
                 "Errors: not_found, model_not_comparable."),
    handler=_promote, scope="risk:write", permission="core.change_mlmodel", input=ModelIdInput,
    output=ModelSerializer, read_only=False, doors=STAFF_ONLY, tags=("risk",),
))
register(Operation(
    name="rollback_model", title="Roll back to the previous model",
    description=("Retires the active model of this model's name and makes the previously active one (better "
                 "than chance) active again. Errors: not_found, no_active_model, no_previous_model."),
    handler=_rollback, scope="risk:write", permission="core.change_mlmodel", input=ModelIdInput,
    output=ModelSerializer, read_only=False, doors=STAFF_ONLY, tags=("risk",),
))
register(Operation(
    name="retire_model", title="Retire",
    description="Retires a model: it is never used until promoted again. Errors: not_found.",
    handler=registry.model_retire, scope="risk:write", permission="core.change_mlmodel", input=ModelIdInput,
    output=ModelSerializer, read_only=False, destructive=True, doors=STAFF_ONLY, tags=("risk",),
))
