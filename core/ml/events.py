"""Event types of the model registry (declared once; see core.events): integrators and agents hear
when the model that scores their payments changes."""

from django.db import models

from core.events import declare_events, declare_object, render_as
from core.models import MLModel


@declare_events(scope="risk:read", permission="core.view_mlmodel")
class ModelRegistryEvent(models.TextChoices):
    MODEL_REGISTERED = "model.registered", "A trained model was registered as a candidate"
    MODEL_ACTIVATED = "model.activated", "A model became the active one of its name (promoted, or rolled back to)"
    MODEL_RETIRED = "model.retired", "A model was retired (replaced, rolled back from, or by hand)"


declare_object(MLModel, render_as("retire_model"))
