from core.rest import api_path, operation_view

CustomersView = operation_view("CustomersView", post="create_customer", get="list_customers")
CustomerView = operation_view("CustomerView", path_params={"customer_id": "customer_id"},
                              get="get_customer", post="update_customer", patch="update_customer")
CustomerKycView = operation_view("CustomerKycView", path_params={"customer_id": "customer_id"},
                                 post="update_customer_kyc")

urlpatterns = [
    *api_path("customers", CustomersView, "customers"),
    *api_path("customers/<str:customer_id>", CustomerView, "customer"),
    *api_path("customers/<str:customer_id>/kyc", CustomerKycView, "customer-kyc"),
]
