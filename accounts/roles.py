"""Staff roles as Groups, with permissions matched by pattern (`app_label.codename`).

Patterns rather than a fixed list, because each later app brings its own models and
permissions: `ensure_roles()` runs in the data migration and again after every migrate, so
a role is always complete. `docs/SECURITY.md` shows the same table for people.
"""

from __future__ import annotations

import contextvars
from fnmatch import fnmatch

_READ_EVERYTHING = ["*.view_*"]
# Denied to every role but admin, whatever its allow patterns say: viewing these reveals
# second-factor devices (TOTP seeds, backup codes: encrypted or hashed at rest, still the keys to a
# login) or live session data.
SECRET_PERMISSIONS = ["accounts.*_stafftotpdevice", "accounts.*_backupcodedevice", "accounts.*_backupcode",
                      "sessions.*"]

ROLE_RULES: dict[str, dict[str, list[str]]] = {
    "admin": {"allow": ["*.*"], "deny": []},
    "operator": {
        "allow": _READ_EVERYTHING + [
            "accounts.add_customer", "accounts.change_customer",
            "wallets.add_wallet", "wallets.change_wallet", "wallets.freeze_wallet", "wallets.transfer_funds",
            "wallets.convert_funds", "wallets.withdraw_funds", "wallets.topup_wallet",
            "payments.add_payment", "payments.change_payment", "payments.capture_payment",
            "payments.cancel_payment", "payments.refund_payment", "payments.verify_payment",
            "payments.add_refund",
            "subscriptions.*",
            "monitoring.add_alert", "monitoring.acknowledge_alert", "monitoring.resolve_alert",
        ],
        "deny": ["accounts.view_apikey", "accounts.view_loginthrottle", "subscriptions.delete_*"],
    },
    "risk_analyst": {
        "allow": _READ_EVERYTHING + [
            "accounts.change_customer", "payments.review_payment", "payments.cancel_payment",
            "payments.change_riskrule", "payments.add_riskrule", "payments.label_payment",
            "payments.add_riskthresholds", "payments.change_riskthresholds", "core.change_mlmodel",
            "wallets.freeze_wallet", "accounts.change_customer_kyc",
        ],
        "deny": ["accounts.view_apikey", "accounts.view_loginthrottle"],
    },
    "finance": {
        "allow": _READ_EVERYTHING + [
            "wallets.adjust_wallet", "wallets.reverse_journalentry", "wallets.add_exchangerate",
            "wallets.change_exchangerate", "wallets.freeze_wallet",
            "payments.refund_payment", "payments.add_refund", "payments.change_feeschedule",
            "payments.add_feeschedule", "payments.resolve_reconciliationmismatch",
            "subscriptions.*invoice*", "subscriptions.change_dunning*",
            "compliance.*",
            # Agents' held calls are mostly money movements above a threshold: finance decides them.
            "approvals.decide_approvalrequest",
        ],
        "deny": ["accounts.view_apikey", "accounts.view_loginthrottle"],
    },
    "support": {
        "allow": [
            "accounts.view_customer", "accounts.change_customer",
            "wallets.view_wallet", "payments.view_payment", "payments.view_refund",
            "subscriptions.view_subscription", "subscriptions.view_invoice", "subscriptions.view_plan",
        ],
        "deny": [],
    },
    "auditor": {
        "allow": _READ_EVERYTHING + ["compliance.export_compliance_data"],
        "deny": [],
    },
}
ROLE_NAMES = tuple(ROLE_RULES)


def permissions_for(role: str, all_permissions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rules = ROLE_RULES[role]
    deny = rules["deny"] + ([] if role == "admin" else SECRET_PERMISSIONS)
    chosen = []
    for app_label, codename in all_permissions:
        name = f"{app_label}.{codename}"
        if any(fnmatch(name, p) for p in rules["allow"]) and not any(fnmatch(name, p) for p in deny):
            chosen.append((app_label, codename))
    return chosen


# True while the roles are (re)built from ROLE_RULES: the role definitions are code, reviewed and
# versioned with each release (a deploy's migrate, a test database's setup), not a staff member's
# change, so the access-change receivers (accounts/signals.py) do not record them.
SEEDING_ROLES: contextvars.ContextVar[bool] = contextvars.ContextVar("seeding_roles", default=False)


def ensure_roles(group_model, permission_model) -> None:
    """Creates the role groups and sets each one's permissions exactly (idempotent)."""
    perms = list(permission_model.objects.select_related("content_type"))
    index = {(p.content_type.app_label, p.codename): p for p in perms}
    token = SEEDING_ROLES.set(True)
    try:
        for role in ROLE_NAMES:
            group, _ = group_model.objects.get_or_create(name=role)
            wanted = [index[key] for key in permissions_for(role, list(index))]
            group.permissions.set(wanted)
    finally:
        SEEDING_ROLES.reset(token)


def ensure_roles_now() -> None:
    from django.contrib.auth.models import Group, Permission

    ensure_roles(Group, Permission)


def ensure_roles_after_migrate(sender, using="default", **kwargs) -> None:
    # Runs once per app after migrate; the last app's call sees every permission.
    if sender.label != "mcp_gateway":
        return
    from django.contrib.auth.models import Group, Permission

    if Permission.objects.using(using).exists():
        ensure_roles(Group, Permission)


def render_role_table() -> str:
    """The role table of docs/SECURITY.md, generated from ROLE_RULES (a test keeps it current)."""
    lines = ["| role | allowed (`app_label.codename` patterns) | denied |", "|---|---|---|"]
    for role in ROLE_NAMES:
        rules = ROLE_RULES[role]
        deny = rules["deny"] + ([] if role == "admin" else SECRET_PERMISSIONS)
        allow = ", ".join(f"`{p}`" for p in rules["allow"])
        denied = ", ".join(f"`{p}`" for p in deny) or "nothing"
        lines.append(f"| {role} | {allow} | {denied} |")
    return "\n".join(lines)
