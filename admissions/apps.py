from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdmissionsConfig(AppConfig):
    name = "admissions"
    verbose_name = _("招生录取")

    def ready(self) -> None:
        from callback_office.nav import NAV_ITEMS, NavItem
        from callback_office.roles import Role

        NAV_ITEMS.append(NavItem(_("数据导入"), "imports:index", frozenset({Role.OFFICE})))
