"""The navigation menu: each app adds its entries here, each entry names the roles that see it."""

from __future__ import annotations

from dataclasses import dataclass

from callback_office.roles import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[Role]


# Apps append entries at import time of this list's users (see NAV_ITEMS below); kept as data so
# the menu and the access rules can be checked side by side.
NAV_ITEMS: list[NavItem] = []


def items_for(roles: frozenset[Role]) -> list[NavItem]:
    return [item for item in NAV_ITEMS if item.roles & roles]
