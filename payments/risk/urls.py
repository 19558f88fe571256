from core.rest import api_path, operation_view

ModelsView = operation_view("RiskModelsView", get="list_risk_models")
AssessmentsView = operation_view("RiskAssessmentsView", post="assess_payment_risk")
ReviewQueueView = operation_view("RiskReviewQueueView", get="get_review_queue")
PatternsView = operation_view("RiskPatternsView", get="detect_fraud_patterns")
ReviewView = operation_view("RiskPaymentReviewView", path_params={"payment_id": "payment_id"}, post="review_payment")

urlpatterns = [
    *api_path("risk/models", ModelsView, "risk-models"),
    *api_path("risk/assessments", AssessmentsView, "risk-assessments"),
    *api_path("risk/review-queue", ReviewQueueView, "risk-review-queue"),
    *api_path("risk/patterns", PatternsView, "risk-patterns"),
    *api_path("risk/payments/<str:payment_id>/review", ReviewView, "risk-payment-review"),
]
