from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("督查")

    def ready(self) -> None:
        from callback_office.nav import NAV_ITEMS, NavItem
        from callback_office.roles import Role

        NAV_ITEMS.append(NavItem(_("督查"), "supervision:home", frozenset({Role.SUPERVISOR, Role.OFFICE})))
        NAV_ITEMS.append(
            NavItem(_("我的整改"), "supervision:my_findings", frozenset({Role.CALLER, Role.LEADER}))
        )
