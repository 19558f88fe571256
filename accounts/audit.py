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
    # Access control changes, whichever door made them (admin forms, shell, services): recorded by the
    # signal receivers in accounts/signals.py, in the transaction of the change.
    LOGOUT = "staff_user.logged_out", "A staff user logged out"
    STAFF_USER_ADDED = "staff_user.added", "A user was added in the admin"
    STAFF_USER_ACCESS_CHANGED = "staff_user.access_changed", "A user's is_active, is_staff or is_superuser changed"
    STAFF_USER_PASSWORD_CHANGED = "staff_user.password_changed", "A user's password was changed"
    STAFF_USER_DELETED = "staff_user.deleted", "A user was deleted"
    STAFF_USER_GROUPS_CHANGED = "staff_user.groups_changed", "A user's groups (roles) changed"
    STAFF_USER_PERMISSIONS_CHANGED = "staff_user.permissions_changed", "A user's own permissions changed"
    GROUP_SAVED = "group.saved", "A group (role) was created or renamed"
    GROUP_DELETED = "group.deleted", "A group (role) was deleted"
    GROUP_PERMISSIONS_CHANGED = "group.permissions_changed", "A group's (role's) permissions changed"
    OTP_DEVICE_SAVED = "otp.device_saved", "A second-factor device was added or changed outside enrolment"
    OTP_DEVICE_DELETED = "otp.device_deleted", "A second-factor device was deleted"
    LOGIN_THROTTLE_CHANGED = "login_throttle.changed", "A login lockout counter was edited or cleared by staff"
