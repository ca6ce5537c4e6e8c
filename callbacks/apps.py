from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallbacksConfig(AppConfig):
    name = "callbacks"
    verbose_name = _("电话回访")

    def ready(self) -> None:
        from callback_office.nav import NAV_ITEMS, NavItem
        from callback_office.roles import Role

        NAV_ITEMS.extend(
            [
                NavItem(
                    _("我的考生"),
                    "callbacks:my_candidates",
                    frozenset({Role.CALLER, Role.LEADER, Role.STRIKE}),
                ),
                NavItem(_("录检池"), "callbacks:pool", frozenset({Role.CALLER, Role.LEADER})),
                NavItem(_("台账"), "callbacks:ledger", frozenset({Role.CALLER, Role.LEADER, Role.STRIKE})),
                NavItem(_("本组"), "callbacks:team", frozenset({Role.LEADER})),
                NavItem(_("分配"), "callbacks:distribute", frozenset({Role.OFFICE})),
                NavItem(_("账号与密码"), "accounts:password_links", frozenset({Role.OFFICE})),
            ]
        )
        # Casework (withdrawal requests, strike-team cases): its menu entries and the strike
        # holder's grant to log contacts (callbacks.selectors.CONTACT_LOG_GRANTS).
        from callbacks.casework_views import casework_ready

        casework_ready()
