from core.rest import api_path, operation_view

CustomersBehaviorView = operation_view("CustomersBehaviorView", get="analyze_user_behavior")
CustomerBehaviorView = operation_view(
    "CustomerBehaviorView", path_params={"customer_id": "customer_id"}, get="analyze_customer_behavior"
)

urlpatterns = [
    *api_path("analytics/customers", CustomersBehaviorView, "analytics-customers"),
    *api_path("analytics/customers/<str:customer_id>", CustomerBehaviorView, "analytics-customer"),
]
