"""Audit actions of staff, keys and customers (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class AccountsAction(models.TextChoices):
    CUSTOMER_CREATED = "customer.created", "A customer was created"
    CUSTOMER_UPDATED = "customer.updated", "A customer's details or status changed"
    CUSTOMER_KYC_UPDATED = "customer.kyc_updated", "A customer's KYC status changed"
    API_KEY_CREATED = "api_key.created", "An API key was created"
    API_KEY_REVOKED = "api_key.revoked", "An API key was revoked"
    STAFF_USER_CREATED = "staff_user.created", "A staff user was created"
    STAFF_USER_ROLE_CHANGED = "staff_user.role_changed", "A staff user's role changed"
    STAFF_USER_CREDENTIALS_RESET = "staff_user.credentials_reset", "A staff user's credentials were reset"
    OTP_ENROLLED = "otp.enrolled", "A staff user enrolled an authenticator app"
    LOGIN_SUCCEEDED = "login.succeeded", "A staff user logged in (password and second factor)"
    LOGIN_PASSWORD_FAILED = "login.password_failed", "A login failed at the password"
    LOGIN_OTP_FAILED = "login.otp_failed", "A login failed at the second factor"
