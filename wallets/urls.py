from core.rest import api_path, operation_view

WID = {"wallet_id": "wallet_id"}

WalletsView = operation_view("WalletsView", post="create_wallet", get="list_wallets")
WalletView = operation_view("WalletView", path_params=WID, get="get_wallet_balance")
TransactionsView = operation_view("WalletTransactionsView", path_params=WID, get="wallet_transaction_history")
InsightsView = operation_view("WalletInsightsView", path_params=WID, get="wallet_insights")
AdjustmentsView = operation_view("WalletAdjustmentsView", path_params=WID, post="adjust_wallet")
FreezeView = operation_view("WalletFreezeView", path_params=WID, post="freeze_wallet")
UnfreezeView = operation_view("WalletUnfreezeView", path_params=WID, post="unfreeze_wallet")
CloseView = operation_view("WalletCloseView", path_params=WID, post="close_wallet")
WithdrawalsView = operation_view("WalletWithdrawalsView", path_params=WID, post="withdraw_funds")
TransfersView = operation_view("TransfersView", post="transfer_funds")
ConversionsView = operation_view("ConversionsView", post="convert_funds")

urlpatterns = [
    *api_path("wallets", WalletsView, "wallets"),
    *api_path("wallets/<str:wallet_id>", WalletView, "wallet"),
    *api_path("wallets/<str:wallet_id>/transactions", TransactionsView, "wallet-transactions"),
    *api_path("wallets/<str:wallet_id>/insights", InsightsView, "wallet-insights"),
    *api_path("wallets/<str:wallet_id>/adjustments", AdjustmentsView, "wallet-adjustments"),
    *api_path("wallets/<str:wallet_id>/freeze", FreezeView, "wallet-freeze"),
    *api_path("wallets/<str:wallet_id>/unfreeze", UnfreezeView, "wallet-unfreeze"),
    *api_path("wallets/<str:wallet_id>/close", CloseView, "wallet-close"),
    *api_path("wallets/<str:wallet_id>/withdrawals", WithdrawalsView, "wallet-withdrawals"),
    *api_path("transfers", TransfersView, "transfers"),
    *api_path("conversions", ConversionsView, "conversions"),
]
