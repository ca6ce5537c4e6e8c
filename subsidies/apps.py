from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidiesConfig(AppConfig):
    name = "subsidies"
    verbose_name = _("补贴与奖励")

    def ready(self) -> None:
        from callback_office.nav import NAV_ITEMS, NavItem
        from callback_office.roles import Role

        NAV_ITEMS.append(NavItem(_("补贴核算"), "subsidies:runs", frozenset({Role.OFFICE})))
        NAV_ITEMS.append(
            NavItem(
                _("我的补贴"),
                "subsidies:my_statement",
                frozenset({Role.CALLER, Role.LEADER, Role.SUPERVISOR, Role.STRIKE}),
            )
        )
