from core.rest import api_path, operation_view

PID = {"plan_id": "plan_id"}
SID = {"subscription_id": "subscription_id"}
IID = {"invoice_id": "invoice_id"}

PlansView = operation_view("PlansView", post="create_plan", get="list_plans")
PlanArchiveView = operation_view("PlanArchiveView", path_params=PID, post="archive_plan")
SubscriptionsView = operation_view("SubscriptionsView", post="create_subscription", get="list_subscriptions")
SubscriptionView = operation_view("SubscriptionView", path_params=SID, get="get_subscription")
ChangeView = operation_view("SubscriptionChangeView", path_params=SID, post="update_subscription")
CancelView = operation_view("SubscriptionCancelView", path_params=SID, post="cancel_subscription")
PauseView = operation_view("SubscriptionPauseView", path_params=SID, post="pause_subscription")
ResumeView = operation_view("SubscriptionResumeView", path_params=SID, post="resume_subscription")
InvoicesView = operation_view("InvoicesView", get="list_invoices")
InvoiceView = operation_view("InvoiceView", path_params=IID, get="get_invoice")
PayView = operation_view("InvoicePayView", path_params=IID, post="pay_invoice")
VoidView = operation_view("InvoiceVoidView", path_params=IID, post="void_invoice")
FinalizeView = operation_view("InvoiceFinalizeView", path_params=IID, post="finalize_invoice")
UncollectibleView = operation_view("InvoiceUncollectibleView", path_params=IID, post="mark_invoice_uncollectible")
AnalyticsView = operation_view("SubscriptionAnalyticsView", get="get_subscription_analytics")

urlpatterns = [
    *api_path("plans", PlansView, "plans"),
    *api_path("plans/<str:plan_id>/archive", PlanArchiveView, "plan-archive"),
    *api_path("subscriptions", SubscriptionsView, "subscriptions"),
    *api_path("subscriptions/<str:subscription_id>", SubscriptionView, "subscription"),
    *api_path("subscriptions/<str:subscription_id>/change", ChangeView, "subscription-change"),
    *api_path("subscriptions/<str:subscription_id>/cancel", CancelView, "subscription-cancel"),
    *api_path("subscriptions/<str:subscription_id>/pause", PauseView, "subscription-pause"),
    *api_path("subscriptions/<str:subscription_id>/resume", ResumeView, "subscription-resume"),
    *api_path("invoices", InvoicesView, "invoices"),
    *api_path("invoices/<str:invoice_id>", InvoiceView, "invoice"),
    *api_path("invoices/<str:invoice_id>/pay", PayView, "invoice-pay"),
    *api_path("invoices/<str:invoice_id>/void", VoidView, "invoice-void"),
    *api_path("invoices/<str:invoice_id>/finalize", FinalizeView, "invoice-finalize"),
    *api_path("invoices/<str:invoice_id>/mark-uncollectible", UncollectibleView, "invoice-uncollectible"),
    *api_path("analytics/subscriptions", AnalyticsView, "subscription-analytics"),
]
