"""Who sees and signs what in oversight (one place, never inline role checks)."""

from loanops.org.models import HEAD_OFFICE_ROLES, Role

# Managers and head office read the reports; their branch scope limits the lines they see.
VIEWER_ROLES = frozenset({Role.BRANCH_MANAGER, Role.CREDIT_HEAD, *HEAD_OFFICE_ROLES})


def can_view_oversight(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.role in VIEWER_ROLES))


def can_view_dealers(user) -> bool:
    """Dealer rates are portfolio-wide figures: managers and head office."""
    return can_view_oversight(user)


def can_sign_restrictions(user) -> bool:
    """Head-office risk signs restriction changes off."""
    return bool(user.is_authenticated and user.is_active and user.role == Role.RISK)
