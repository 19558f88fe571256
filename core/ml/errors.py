from core.errors import BusinessRefusal, NotFound


class ModelNotFound(NotFound):
    code = "model_not_found"
    default_message = "No such model."


class NoActiveModel(NotFound):
    code = "no_active_model"
    default_message = "No model of this name is active."


class ModelNotComparable(BusinessRefusal):
    code = "model_not_comparable"
    default_message = "The candidate and the active model were not measured on the same evaluation set."


class NoPreviousModel(BusinessRefusal):
    code = "no_previous_model"
    default_message = "There is no previously active model to roll back to."
