from core.rest import api_path, operation_view

RevenueAnalyticsView = operation_view("RevenueAnalyticsView", get="generate_revenue_analytics")

urlpatterns = [*api_path("analytics/revenue", RevenueAnalyticsView, "analytics-revenue")]
