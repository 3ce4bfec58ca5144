"""Role-based navigation. Who sees an entry is decided in Python (each app's permission
helpers), never in templates. Apps add their entries in `AppConfig.ready()`."""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loanops.org.models import HEAD_OFFICE_ROLES, Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    visible_to: Callable[[object], bool]
    order: int


def _staff(user) -> bool:
    return user.is_back_office


def _head_office(user) -> bool:
    return user.is_superuser or user.role in HEAD_OFFICE_ROLES


def _admin(user) -> bool:
    return user.is_superuser or user.role == Role.ADMIN


NAV_ITEMS: list[NavItem] = [
    NavItem(_("Home"), "home", _staff, 0),
    NavItem(_("Audit trail"), "core:audit", _head_office, 90),
    NavItem(_("Administration"), "admin:index", _admin, 100),
]


def register_nav(label, url_name: str, visible_to: Callable[[object], bool], *, order: int) -> None:
    if not any(item.url_name == url_name for item in NAV_ITEMS):
        NAV_ITEMS.append(NavItem(label, url_name, visible_to, order))
        NAV_ITEMS.sort(key=lambda item: item.order)


def navigation_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [{"label": item.label, "url": reverse(item.url_name)} for item in NAV_ITEMS if item.visible_to(user)]
