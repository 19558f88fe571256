"""Audit actions of the model registry (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class ModelRegistryAction(models.TextChoices):
    MODEL_REGISTERED = "ml_model.registered", "A trained model was registered as a candidate"
    MODEL_PROMOTED = "ml_model.promoted", "A candidate model became the active model"
    MODEL_PROMOTION_REFUSED = "ml_model.promotion_refused", "The promotion rule kept a candidate a candidate"
    MODEL_RETIRED = "ml_model.retired", "A model was retired"
    MODEL_ROLLED_BACK = "ml_model.rolled_back", "The active model was replaced by the previously active one"
