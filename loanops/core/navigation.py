"""Role-based navigation. Which roles see an entry is decided here, never in templates."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loanops.org.models import Role

ALL = None
HEAD_OFFICE = {Role.RISK, Role.AUDITOR, Role.ADMIN}


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset | None  # None: every staff role

    def visible_to(self, user) -> bool:
        return user.is_superuser or self.roles is None or user.role in self.roles


NAV_ITEMS = [
    NavItem(_("Home"), "home", ALL),
    NavItem(_("Loans"), "loans:list", frozenset(set(Role) - {Role.API_CLIENT})),
    NavItem(_("Audit trail"), "core:audit", frozenset(HEAD_OFFICE)),
    NavItem(_("Administration"), "admin:index", frozenset({Role.ADMIN})),
]


def navigation_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [{"label": item.label, "url": reverse(item.url_name)} for item in NAV_ITEMS if item.visible_to(user)]
