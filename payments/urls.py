from core.rest import api_path, operation_view

PaymentsView = operation_view("PaymentsView", post="create_payment", get="list_payments")
PaymentView = operation_view("PaymentView", path_params={"payment_id": "payment_id"}, get="get_payment_status")
CaptureView = operation_view("PaymentCaptureView", path_params={"payment_id": "payment_id"}, post="capture_payment")
CancelView = operation_view("PaymentCancelView", path_params={"payment_id": "payment_id"}, post="cancel_payment")
VerifyView = operation_view("PaymentVerifyView", path_params={"payment_id": "payment_id"}, post="verify_payment")
RefundsView = operation_view("PaymentRefundsView", path_params={"payment_id": "payment_id"}, post="refund_payment")
RefundView = operation_view("RefundView", path_params={"refund_id": "refund_id"}, get="get_refund")
TopUpView = operation_view("WalletTopUpView", path_params={"wallet_id": "wallet_id"}, post="top_up_wallet")

urlpatterns = [
    *api_path("payments", PaymentsView, "payments"),
    *api_path("payments/<str:payment_id>", PaymentView, "payment"),
    *api_path("payments/<str:payment_id>/capture", CaptureView, "payment-capture"),
    *api_path("payments/<str:payment_id>/cancel", CancelView, "payment-cancel"),
    *api_path("payments/<str:payment_id>/verify", VerifyView, "payment-verify"),
    *api_path("payments/<str:payment_id>/refunds", RefundsView, "payment-refunds"),
    *api_path("refunds/<str:refund_id>", RefundView, "refund"),
    *api_path("wallets/<str:wallet_id>/top-ups", TopUpView, "wallet-top-ups"),
]
