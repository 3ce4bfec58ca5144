"""Who sees the dashboards: managers, heads, head-office risk, auditors and administrators."""

from loanops.org.models import Role

DASHBOARD_ROLES = frozenset({Role.BRANCH_MANAGER, Role.CREDIT_HEAD, Role.RISK, Role.AUDITOR, Role.ADMIN})


def can_view_dashboards(user) -> bool:
    if not user.is_authenticated or not user.is_back_office:
        return False
    return user.is_superuser or user.role in DASHBOARD_ROLES
